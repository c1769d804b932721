"""What every benchmark sets before it measures: thread counts and its data's cache name.

``pin_threads()`` runs before numpy, scipy or xgboost is imported (first thing in a bench):
OpenMP, OpenBLAS, MKL and numexpr get ``BENCH_THREADS`` threads (default 1), set
explicitly rather than left to each library's guess of the machine, which oversubscribes
a shared 2-core box (BG/NBD fits slowed 16-100x in one busy run). Child processes (the
servers of the HTTP benches, ``cintel`` commands) inherit the environment.

``synth_dir(config)`` names a simulated data set by every parameter of its generator, so
two benches that simulate different data never share a cache (``bench_snapshot`` and
``bench_materialize`` once both used ``synth_100000`` for different simulations).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
RESULTS = Path(__file__).parent / "results"


def pin_threads() -> int:
    """Set the numeric libraries' thread counts to ``BENCH_THREADS`` (default 1)."""
    n = int(os.environ.get("BENCH_THREADS", "1"))
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    return n


def synth_name(config: Any, writer: str = "synthesize") -> str:
    """``synth_<customers>_<start>_<end>_seed<seed>_<hash>``: the hash covers every field
    of the ``SynthConfig`` and the function that wrote the files."""
    params = {**asdict(config), "writer": writer}
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    c = config
    return f"synth_{c.n_customers}_{c.start}_{c.end}_seed{c.seed}_{digest[:8]}"


def synth_dir(config: Any, writer: str = "synthesize", root: Path = RESULTS) -> Path:
    """The cache folder of ``config``'s data; ``generator.json`` in it records the
    parameters (written by ``mark``) and is checked on reuse."""
    return root / synth_name(config, writer)


def mark(folder: Path, config: Any, writer: str = "synthesize") -> None:
    """Record the generator parameters beside cached data."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({**asdict(config), "writer": writer}, indent=1, default=str)
    (folder / "generator.json").write_text(text)


def cached(folder: Path, config: Any, writer: str = "synthesize") -> bool:
    """Whether ``folder`` holds complete data written from ``config``."""
    meta = folder / "generator.json"
    if not (meta.exists() and (folder / "customers.parquet").exists()):
        return False
    return bool(json.loads(meta.read_text()) == {**asdict(config), "writer": writer})
