"""The demo loop's campaign world: its own decision log (``monitoring.loop_world``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from monitoring.loop_world import decisions_since, describe_truth


def _record(ts: str, customer: str) -> bytes:
    return orjson.dumps({"decision_id": customer, "ts": ts, "customer_id": customer, "offers": []})


def test_only_the_campaign_decisions_are_kept(tmp_path: Path) -> None:
    src, dst = tmp_path / "decisions", tmp_path / "campaign"
    src.mkdir()
    lines = [
        _record("2026-12-01T10:00:00.000000+00:00", "earlier-traffic"),
        _record("2026-12-01T12:00:00.000000+00:00", "a"),
        b'{"decision_id": "torn", "ts": "2026-12-01T12:0',  # a torn line after a crash
        _record("2026-12-01T12:00:01+00:00", "b"),
        _record("2026-12-01T12:00:02", "naive-ts"),  # not a log the service writes
    ]
    (src / "2026-12-01.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (src / "2026-11-30.jsonl").write_bytes(_record("2026-11-30T23:00:00+00:00", "old") + b"\n")
    since = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert decisions_since(src, dst, since) == 2
    assert [p.name for p in dst.iterdir()] == ["2026-12-01.jsonl"]
    kept = [orjson.loads(x)["customer_id"] for x in (dst / "2026-12-01.jsonl").read_bytes().split()]
    assert kept == ["a", "b"]


def test_the_truth_line_says_what_was_compared() -> None:
    line = describe_truth(
        {
            "spearman_true": 0.25,
            "true_gain": 0.29,
            "true_ate": 0.125,
            "n_truth": 3498,
            "true_ate__bakery": 0.08,
            "true_ate__wine": 0.16,
            "true_ate__any": -0.01,
        }
    )
    assert "rank correlation +0.25" in line and "3,498" in line
    assert "+12.5 points (8 to 16 by family)" in line
    assert "no simulator truth" in describe_truth({})


def test_truth_figures_are_logged_on_the_uplift_versions_run(mlflow_home) -> None:
    import mlflow
    from mlflow import MlflowClient

    from monitoring.loop_world import log_truth

    mlflow.set_experiment("cintel-uplift")
    with mlflow.start_run() as run:
        mlflow.log_metric("mean_qini", 0.13)
    client = MlflowClient()
    client.create_registered_model("cintel-uplift")
    version = client.create_model_version(
        "cintel-uplift", f"runs:/{run.info.run_id}/m", run.info.run_id
    )
    log_truth(str(version.version), {"spearman_true": 0.25, "true_ate": 0.125})
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics["truth.spearman_true"] == 0.25 and metrics["truth.true_ate"] == 0.125
    assert metrics["mean_qini"] == 0.13
