"""CLV interval cost: ``clv_outputs`` with 200 draws per history (cintel-clv's setting).

    python bench/bench_clv_interval.py                          # 200,000 rows, this tree
    python bench/bench_clv_interval.py --baseline 9a92922       # and training/ at a commit

Rows: the btyd_* columns of ``--snapshot`` (a cintel snapshot Parquet; by default the
1,000,000-customer Spark bench snapshot when it is there) sampled to ``--rows`` customers
with a purchase, BG/NBD and Gamma-Gamma fitted on them; without a snapshot, histories
simulated as in bench_btyd. Each tree (this one, and each baseline's ``training/`` taken
with ``git archive``) runs in its own process, the runs interleaved, best of ``--repeat``
wall and CPU seconds. Also printed: whether each tree gives every customer the same p10/p90
when the rows are shuffled and scored in batches of 1,000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "bench/results/spark_out_1000000/snapshot.parquet"
COLUMNS = ("btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary")


def rows(snapshot: Path, n: int) -> pd.DataFrame:
    """n customers with a purchase: snapshot rows if the file exists, else simulated."""
    if snapshot.exists():
        frame = pd.read_parquet(snapshot, columns=list(COLUMNS))
        frame = frame[frame["btyd_T"] > 0]
        return frame.sample(n=min(n, len(frame)), random_state=1).reset_index(drop=True)
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_btyd import simulate

    s = simulate(n, 1)
    return s.set_axis(list(COLUMNS), axis=1)


def worker(data: Path, repeat: int, check: bool) -> None:
    """Time clv_outputs on the pickled rows with the training package on sys.path."""
    import training
    from training.clv.btyd_part import BTYD_COLUMNS, fit_btyd
    from training.clv.outputs import clv_outputs

    frame = pd.read_pickle(data)
    params = fit_btyd(frame, "spend")
    bg, gg = params.purchases(), params.spend()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        out = clv_outputs(frame, bg, gg, n_draws=200, columns=BTYD_COLUMNS)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    result: dict[str, object] = {"wall": walls, "cpu": cpus, "training": training.__file__}
    if check:
        cols = ["clv_12m_p10", "clv_12m_p90"]
        shuffled = frame.sample(frac=1.0, random_state=2)
        parts = [
            clv_outputs(shuffled.iloc[i : i + 1000], bg, gg, n_draws=200, columns=BTYD_COLUMNS)
            for i in range(0, len(shuffled), 1000)
        ]
        again = pd.concat(parts)[cols].sort_index()
        result["batch_independent"] = bool(np.array_equal(again.to_numpy(), out[cols].to_numpy()))
    print(json.dumps(result))


def tree(commit: str, folder: Path) -> Path:
    """``training/`` as it was at the commit, unpacked under folder."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "training"], check=True, capture_output=True
    ).stdout
    target = folder / commit
    target.mkdir()
    with tempfile.TemporaryFile() as f:
        f.write(archive)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(target, filter="data")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--baseline", action="append", default=[], help="a git commit")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), args.repeat, args.worker[1] == "check")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "rows.pkl"
        rows(args.snapshot, args.rows).to_pickle(data)
        trees = {"this tree": ROOT, **{c: tree(c, Path(tmp)) for c in args.baseline}}
        best: dict[str, dict] = {}
        for rep in range(args.repeat):
            for name, path in trees.items():
                check = "check" if rep == 0 else "-"
                cmd = [sys.executable, __file__, "--worker", str(data), check, "--repeat", "1"]
                env = {**os.environ, "PYTHONPATH": str(path)}
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                res = json.loads(out.stdout.strip().splitlines()[-1])
                b = best.setdefault(name, {"wall": np.inf, "cpu": np.inf, "from": res["training"]})
                b["wall"] = min(b["wall"], res["wall"][0])
                b["cpu"] = min(b["cpu"], res["cpu"][0])
                if "batch_independent" in res:
                    b["batch_independent"] = res["batch_independent"]
        print(f"{args.rows:,} rows, 200 draws each; best of {args.repeat} (wall / CPU seconds)")
        for name, b in best.items():
            ratio = best["this tree"]["cpu"] / b["cpu"]
            times = f"{b['wall']:6.2f} s / {b['cpu']:6.2f} s"
            print(f"{name:>12}: {times}  (CPU, this tree / it: {ratio:.2f})")
            same = b["batch_independent"]
            print(f"{'':>14}{Path(b['from']).parent}; same p10/p90 in shuffled batches: {same}")


if __name__ == "__main__":
    main()
