"""Run every benchmark in turn (``make bench``); each prints its own ratios and baselines.

python bench/run_all.py            # all, at their default sizes (tens of minutes)
python bench/run_all.py snapshot   # only the named ones
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from runenv import pin_threads

HERE = Path(__file__).parent
BENCHES = {
    "synth": ["bench_synth.py"],
    "snapshot": ["bench_snapshot.py"],
    "btyd": ["bench_btyd.py"],
    "clv_accuracy": ["bench_clv_accuracy.py"],
    "materialize": ["bench_materialize.py"],
    "service": ["bench_service.py"],
    "decisions": ["bench_decisions.py"],
    "drift": ["bench_drift.py"],
    "train": ["bench_train.py"],
    "spark": ["bench_spark.py"],
    "uplift": ["bench_uplift.py"],
    "campaigns": ["bench_campaigns.py"],
    "campaign_coverage": ["campaign_coverage.py"],
}


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHES)}")
        return 2
    pin_threads()  # every bench's process (and what it starts) inherits explicit thread counts
    failed = []
    for name in names or list(BENCHES):
        script, *args = BENCHES[name]
        print(f"\n=== {name} ({script}) ===", flush=True)
        started = time.time()
        rc = subprocess.run([sys.executable, str(HERE / script), *args], check=False).returncode
        print(f"=== {name}: exit {rc} in {time.time() - started:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
