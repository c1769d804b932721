"""Benchmark data caches are named by every generator parameter (issue 17, part 5)."""

from __future__ import annotations

from pathlib import Path

from bench.runenv import cached, mark, synth_dir, synth_name
from training.data.simulator.simulate import SynthConfig


def test_two_simulations_of_the_same_size_never_share_a_cache(tmp_path: Path) -> None:
    snapshot = SynthConfig(n_customers=100_000, start="2024-01-01", end="2025-12-31")
    materialize = SynthConfig(n_customers=100_000, end="2025-06-30", seed=11)
    drifted = SynthConfig(100_000, drift="churn")
    names = {
        synth_name(snapshot, "write_synth"),
        synth_name(materialize, "to_parquet"),
        synth_name(snapshot, "blocks"),
        synth_name(drifted),
    }
    assert len(names) == 4 and "synth_100000" not in names
    assert synth_name(snapshot) == synth_name(SynthConfig(100_000, "2024-01-01", "2025-12-31"))


def test_a_cache_is_used_only_for_the_parameters_it_was_written_with(tmp_path: Path) -> None:
    config = SynthConfig(n_customers=50)
    folder = synth_dir(config, root=tmp_path)
    assert not cached(folder, config)
    mark(folder, config)
    (folder / "customers.parquet").write_bytes(b"")
    assert cached(folder, config)
    assert not cached(folder, SynthConfig(n_customers=50, seed=1))
