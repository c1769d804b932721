"""Coverage of the campaigns report on the simulator: how often the 95 % lift interval holds
the true lift, and actual / expected holds 1, over seeds; and how --drift breaks the latter.

4,000 simulated customers (seed 11), 6 cross-sell offers and a retention offer shown to
everyone with a 30 % holdout per campaign, expected responses equal to the true
probabilities (perfect models), channels web/store/phone at random. Each seed changes the
campaign ids (hence the assignment) and the outcome draws. Rows judged: the report's rows
(all, and by channel) with at least 200 treated and 200 control.

Run: ``.venv/bin/python bench/campaign_coverage.py [--seeds 20]`` (uses tests/loop.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from monitoring.campaigns import campaign_report
from tests.loop import COSTS, Loop, run_loop, world

HOLDOUT = {"cross_sell": 0.3, "retention": 0.3}


def _report(loop: Loop) -> pd.DataFrame:
    return campaign_report(loop.responses, COSTS, true_effect=loop.true_effect)


def _covers(rows: pd.DataFrame) -> pd.Series:
    return (rows["lift_ci_low"] <= rows["true_lift"]) & (rows["true_lift"] <= rows["lift_ci_high"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    n_seeds = parser.parse_args().seeds
    data = world(4000, seed=11)
    big, enough = [], []
    for seed in range(n_seeds):
        report = _report(run_loop(data, HOLDOUT, seed, campaign_suffix=f"_{seed}"))
        big.append(report[(report["treated"] >= 200) & (report["control"] >= 200)])
        enough.append(report[report["treated"] >= 200])
    b, e = pd.concat(big), pd.concat(enough)
    inside = (e["actual_vs_expected_ci_low"] <= 1) & (e["actual_vs_expected_ci_high"] >= 1)
    width = 100 * (b["lift_ci_high"] - b["lift_ci_low"]).median()
    print(f"{n_seeds} seeds: the 95 % lift interval covers the true lift in "
          f"{_covers(b).sum()}/{len(b)} = {_covers(b).mean():.1%} of rows "
          f"(>= 200 treated and control; median width {width:.1f} points)")  # fmt: skip
    print(f"actual / expected: 1 inside its interval in {inside.sum()}/{len(e)} = "
          f"{inside.mean():.1%} of rows (>= 200 treated)")  # fmt: skip
    for drift in (0.6, 0.8, 1.25):
        reports = [
            _report(run_loop(data, HOLDOUT, 100 + s, drift=drift, campaign_suffix=f"_d{s}"))
            for s in range(5)
        ]
        r = pd.concat(reports)
        e = r[r["treated"] >= 200]
        b = r[(r["treated"] >= 200) & (r["control"] >= 200)]
        print(f"--drift {drift} (5 seeds): actual / expected interval below 1 in "
              f"{(e['actual_vs_expected_ci_high'] < 1).sum()}/{len(e)}, above 1 in "
              f"{(e['actual_vs_expected_ci_low'] > 1).sum()}/{len(e)}; the lift interval "
              f"covers the (drifted) true lift in {_covers(b).sum()}/{len(b)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
