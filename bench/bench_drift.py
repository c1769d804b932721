"""Drift report on 100k x 60 (56 numeric, 4 categorical) against two named baselines.

Stages, each in its own subprocess so peak memory (ru_maxrss) is its own:

- ``cintel``: ``monitoring.reports.drift_report`` with the defaults (each side sampled to
  20,000 rows, data summary on) plus the HTML and full-JSON export run_monitor writes;
- ``evidently_full``: the same report on the unsampled 100k rows (what sampling saves);
- ``scipy_ks``: scipy two-sample K-S per numeric column and chi-square per categorical
  column on the full frames, no report (the floor).

Ten numeric columns of the current frame are shifted by 0.5 sigma; each stage says how
many columns it flags. Run: ``.venv/bin/python bench/bench_drift.py [--rows 100000]
[--skip-full]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_NUMERIC, N_CATEGORICAL, N_SHIFTED = 56, 4, 10


def make(n: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {
        f"num_{i:02d}": rng.normal(size=n) + (shift if i < N_SHIFTED else 0.0)
        for i in range(N_NUMERIC - 2)
    }
    data["churn_probability"] = rng.beta(2, 5, n)
    data["clv_12m"] = rng.gamma(2.0, 50.0, n)
    for j in range(N_CATEGORICAL - 1):
        data[f"cat_{j}"] = rng.choice(["a", "b", "c", "d", "e"], n)
    data["segment"] = rng.choice(["loyal", "new", "at_risk"], n)
    return pd.DataFrame(data)


def stage_cintel(cur: pd.DataFrame, ref: pd.DataFrame, max_rows: int) -> dict:
    import tempfile

    from monitoring.reports import DriftConfig, drift_report

    t0 = time.perf_counter()
    summary, snapshot = drift_report(cur, ref, DriftConfig(max_rows=max_rows))
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        snapshot.save_html(str(Path(tmp) / "report.html"))
        (Path(tmp) / "snapshot.json").write_text(snapshot.dumps())
    export = time.perf_counter() - t1
    return {
        "seconds": t1 - t0 + export,
        "report_s": t1 - t0,
        "export_s": export,
        "sampled_rows": summary.n_sampled_current,
        "flagged": len(summary.drifted_columns)
        + sum(d["drifted"] for d in summary.prediction_drift.values()),
    }


def stage_scipy(cur: pd.DataFrame, ref: pd.DataFrame) -> dict:
    from scipy import stats

    t0 = time.perf_counter()
    flagged = 0
    for col in ref.columns:
        if pd.api.types.is_numeric_dtype(ref[col]):
            p = stats.ks_2samp(ref[col].to_numpy(), cur[col].to_numpy()).pvalue
        else:
            table = pd.crosstab(
                np.r_[np.zeros(len(ref)), np.ones(len(cur))],
                np.r_[ref[col].to_numpy(), cur[col].to_numpy()],
            )
            p = stats.chi2_contingency(table.to_numpy())[1]
        flagged += bool(p < 0.05)
    return {"seconds": time.perf_counter() - t0, "sampled_rows": len(cur), "flagged": flagged}


def child(stage: str, rows: int) -> None:
    ref, cur = make(rows, 1, 0.0), make(rows, 2, 0.5)
    if stage == "cintel":
        result = stage_cintel(cur, ref, 20_000)
    elif stage == "evidently_full":
        result = stage_cintel(cur, ref, rows)
    else:
        result = stage_scipy(cur, ref)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-full", action="store_true", help="skip the unsampled baseline")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        child(args.stage, args.rows)
        return
    stages = ["cintel", "scipy_ks"] + ([] if args.skip_full else ["evidently_full"])
    results = {}
    print(
        f"{args.rows:,} rows x {N_NUMERIC + N_CATEGORICAL} columns per side, "
        f"{N_SHIFTED} numeric columns shifted by 0.5 sigma"
    )
    for stage in stages:
        out = subprocess.run(
            [sys.executable, __file__, "--stage", stage, "--rows", str(args.rows)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[stage] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[stage]
        print(
            f"{stage:15s} {r['seconds']:7.1f} s  peak {r['peak_mb']:7.0f} MB  "
            f"rows/side {r['sampled_rows']:>7,}  columns flagged {r['flagged']}"
            + (
                f"  (report {r['report_s']:.1f} s + export {r['export_s']:.1f} s)"
                if "report_s" in r
                else ""
            ),
            flush=True,
        )
    base = results["cintel"]["seconds"]
    for stage in stages[1:]:
        print(f"cintel / {stage}: {base / results[stage]['seconds']:.2f}x wall time")
    print("target: cintel under 60 s:", "met" if base < 60 else "MISSED")


if __name__ == "__main__":
    main()
