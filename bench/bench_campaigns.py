"""``cintel campaigns`` over 1 M decision records against a named baseline, in one run.

Setup (cached under ``bench/results/campaigns_<n>/``, not timed): a simulated shop
(``--customers``, default 200,000), an online store with value tier and segment, and
``--records`` decision records (default 1,000,000) in the service's log format, made by
``training.data.simulator.decisions.build_decisions``: each customer decided about
``records / customers`` times over the data's last 60-30 days (so every response window
is covered), 2-4 of 5 offers shown or withheld (holdout 10 %), plus 100,000 feedback lines.

Timed:

- ``cintel campaigns`` as a user runs it: a fresh process, from the command line to the
  written CSV, HTML, reports index and MLflow run (embedded sqlite store, created before);
- inside it, by phase (same process, ``monitoring.campaign_run`` pieces);
- baseline ``orjson_lines``: parsing every decision line with ``orjson.loads`` and
  nothing else, the floor for any Python reader of the log (the target is ≤ 30 s).

Run: ``.venv/bin/python bench/bench_campaigns.py [--records 1000000] [--customers 200000]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ROOT = HERE.parent


def setup(n_records: int, n_customers: int) -> Path:
    """The data folder, home (store, decisions, feedback) for the benchmark; cached."""
    from training.data.simulator.decisions import OfferSpec, build_decisions, write_decisions
    from training.data.simulator.simulate import SynthConfig, synthesize, write_synth

    root = RESULTS / f"campaigns_{n_records}_{n_customers}"
    done = root / ".ready"
    if done.exists():
        return root
    t = time.perf_counter()
    data = synthesize(SynthConfig(n_customers=n_customers, seed=3))
    write_synth(data, root / "data")
    home = root / "home"
    rng = np.random.default_rng(0)
    ids = np.arange(1, n_customers + 1)
    (home / "store").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "customer_id": ids.astype(str),
            "value_tier": rng.choice(["platinum", "gold", "silver", "bronze"], n_customers),
            "segment": rng.choice(["loyal", "new", "at_risk", "bargain"], n_customers),
        }
    ).to_parquet(home / "store" / "profiles.parquet")
    offers = (
        OfferSpec("xs_wine_intro", "cross_sell", "wine", 10.0),
        OfferSpec("xs_bakery_intro", "cross_sell", "bakery", 5.0),
        OfferSpec("xs_beauty_intro", "cross_sell", "beauty", 12.0),
        OfferSpec("retain_voucher", "retention", None, 3.0),
        OfferSpec("upsell_bulk_pack", "up_sell", None, 6.0),
    )
    customer = rng.integers(1, n_customers + 1, n_records)
    frame = pd.DataFrame(
        {
            "customer_id": customer,
            "channel": rng.choice(["web", "store", "phone", "call_centre"], n_records),
        }
    )
    for o in offers:
        p = rng.beta(2, 8, n_records)
        frame[f"er:{o.offer_id}"] = np.where(rng.random(n_records) < 0.6, p, np.nan)
    end = data.transactions["ts"].max().normalize()
    ts = end - pd.Timedelta(days=60) + pd.to_timedelta(rng.uniform(0, 30 * 86400, n_records), "s")
    batch = 200_000
    for i in range(0, n_records, batch):
        part = frame.iloc[i : i + batch]
        records = build_decisions(
            part, offers, {"cross_sell": 0.1, "retention": 0.1, "up_sell": 0.1},
            pd.Series(ts[i : i + batch]), seed=i,
        )  # fmt: skip
        write_decisions(records, home / "decisions")
        if i == 0:
            feedback = [
                {"decision_id": r["decision_id"], "offer_id": r["offers"][0]["offer_id"],
                 "outcome": "accepted", "ts": r["ts"], "customer_id": r["customer_id"],
                 "channel": r["channel"]}
                for r in records[:100_000] if r["offers"]
            ]  # fmt: skip
            write_decisions(feedback, home / "feedback")
    done.write_text("ok\n")
    size = sum(p.stat().st_size for p in (home / "decisions").glob("*.jsonl"))
    print(f"  setup: {n_records:,} records ({size / 1e6:,.0f} MB) in "
          f"{time.perf_counter() - t:.0f} s -> {root}", flush=True)  # fmt: skip
    return root


def baseline_orjson(folder: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds to parse every line with orjson, and the line count."""
    import orjson

    t, c = time.perf_counter(), time.process_time()
    n = 0
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, "rb") as fh:
            for line in fh:
                orjson.loads(line)
                n += 1
    return time.perf_counter() - t, time.process_time() - c, n


def phases(root: Path) -> dict[str, float]:
    """The command's steps, timed one by one in this process."""
    from monitoring.campaign_run import offer_costs, read_profiles, true_effects
    from monitoring.campaigns import campaign_report
    from training.data.decision_log import read_decisions, read_feedback
    from training.data.io import load_data
    from training.data.outcomes import responses

    home, data_dir = root / "home", root / "data"
    out: dict[str, float] = {}
    t = time.perf_counter()
    decisions = read_decisions(home / "decisions", first_only=True)  # as the command reads
    out["read_decisions"] = time.perf_counter() - t
    t = time.perf_counter()
    feedback = read_feedback(home / "feedback")
    data = load_data(data_dir)
    out["load_data_and_feedback"] = time.perf_counter() - t
    t = time.perf_counter()
    rows = responses(decisions, data.transactions, feedback, first_only=True)
    out["responses"] = time.perf_counter() - t
    t = time.perf_counter()
    truth = true_effects(rows, data_dir)
    report = campaign_report(rows, offer_costs(), read_profiles(home / "store"), truth)
    out["report"] = time.perf_counter() - t
    out["rows"] = float(len(decisions))
    out["report_rows"] = float(len(report))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    args = parser.parse_args()
    root = setup(args.records, args.customers)
    home = root / "home"
    env = {**os.environ, "CINTEL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    # the embedded MLflow store exists before the timed run (created once, ~5 s)
    subprocess.run(
        [sys.executable, "-c", "from training.mlops.tracking import configure_tracking; "
         "configure_tracking()"], env=env, check=True, cwd=ROOT,
    )  # fmt: skip
    base_s, base_cpu, n_lines = baseline_orjson(home / "decisions")
    cintel = Path(sys.executable).with_name("cintel")
    command = [str(cintel), "campaigns", "--data", str(root / "data")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    cmd_s = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if run.returncode:
        print(run.stdout, run.stderr)
        return 1
    split = phases(root)
    print(f"decision records: {n_lines:,} ({int(split['rows']):,} offer rows), "
          f"report rows: {int(split['report_rows']):,}")  # fmt: skip
    print(f"  load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"  cintel campaigns (whole command, fresh process): {cmd_s:6.1f} s wall, "
        f"{cmd_cpu:6.1f} s CPU  [target <= 30 s: {'met' if cmd_s <= 30 else 'MISSED'}]"
    )
    print(
        f"  baseline orjson_lines (parse every line, nothing else): {base_s:6.1f} s wall, "
        f"{base_cpu:6.1f} s CPU"
    )
    print(f"  ratio command / baseline: {cmd_s / base_s:.2f} wall, {cmd_cpu / base_cpu:.2f} CPU")
    for name in ("read_decisions", "load_data_and_feedback", "responses", "report"):
        print(f"    phase {name:<24} {split[name]:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
