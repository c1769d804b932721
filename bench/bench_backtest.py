"""`cintel backtest` wall time against the issue's targets, one fresh process per run.

    python bench/bench_backtest.py                      # CDNOW (23,570 customers), target 60 s
    python bench/bench_backtest.py --customers 1000000  # simulated, target 600 s

Each run is the real command (every default model, the latest cutoff the horizon allows,
90 days) in a child process with its own CINTEL_HOME; wall time, the child's CPU time and
the machine's load average are printed and written to bench/results/backtest.json, with
the ratio to the target (< 1 meets it). Simulated data is written once and cached under
a name made of every generator parameter (``runenv.synth_dir``, as bench_snapshot does);
CDNOW comes from the shipped file. Numeric libraries get ``BENCH_THREADS`` threads
(default 1), in this process and the command it runs.
"""

from __future__ import annotations

from runenv import cached, mark, pin_threads, synth_dir

pin_threads()  # before numpy: explicit thread counts, here and in the child command

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
TARGETS_S = {"cdnow": 60.0, "simulated": 600.0}


def cdnow_data(home: Path) -> Path:
    """The full CDNOW set in the data contract, written by `cintel cdnow`."""
    out = home / "cdnow"
    subprocess.run([*cintel(), "cdnow", "--out", str(out)], check=True, capture_output=True)
    return out


def synth_data(n: int) -> Path:
    """``n`` simulated customers (2024-2025), written once and kept for later runs."""
    from training.data.simulator.simulate import SynthConfig, synthesize, write_synth

    config = SynthConfig(n_customers=n)
    out = synth_dir(config, "write_synth")
    if not cached(out, config, "write_synth"):
        t = time.perf_counter()
        write_synth(synthesize(config), out)
        mark(out, config, "write_synth")
        print(f"  simulated {n:,} customers in {time.perf_counter() - t:.1f} s -> {out}")
    return out


def cintel() -> list[str]:
    """The console script beside this interpreter (the venv's ``cintel``)."""
    return [str(Path(sys.executable).parent / "cintel")]


def run(data_dir: Path, home: Path, extra: list[str]) -> dict[str, float]:
    """One `cintel backtest` in a child process: wall and CPU seconds, exit code."""
    env = {**os.environ, "CINTEL_HOME": str(home)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [*cintel(), "backtest", "--data", str(data_dir), "--out", str(home / "bt"), *extra],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "exit_code": float(proc.returncode)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=0, help="simulated customers (0: CDNOW)")
    parser.add_argument("--data", type=Path, default=None, help="a simulated data folder to reuse")
    parser.add_argument("--models", default=None, help="models to fit (default: the command's)")
    args = parser.parse_args()
    extra = [] if args.models is None else ["--models", args.models]
    kind = "simulated" if args.customers else "cdnow"
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        home = Path(tmp)
        if args.data is not None:
            data_dir = args.data
        else:
            data_dir = synth_data(args.customers) if args.customers else cdnow_data(home)
        load_before = os.getloadavg()[0]
        figures = run(data_dir, home, extra)
    target = TARGETS_S[kind]
    row = {
        "data": kind,
        "customers": args.customers or 23570,
        "models": args.models or "default",
        **figures,
        "target_s": target,
        "wall_over_target": figures["wall_s"] / target,
        "load_average_1m": load_before,
        "cores": os.cpu_count() or 0,
    }
    print(json.dumps(row, indent=2))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "backtest.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    key = (kind, row["customers"], row["models"])
    rows = [r for r in rows if (r["data"], r["customers"], r["models"]) != key]
    path.write_text(json.dumps([*rows, row], indent=2) + "\n")


if __name__ == "__main__":
    main()
