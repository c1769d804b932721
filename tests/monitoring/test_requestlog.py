"""Reading the durable request log: flattening, windows, truncated lines, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from monitoring.request_reader import RequestLogWarning, read_requests, served_by
from tests.monitoring.logwriter import request_record, write_requests, write_truncated

T0 = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)


def _log(tmp_path: Path, n: int = 4, step: timedelta = timedelta(minutes=20)) -> Path:
    log_dir = tmp_path / "requests"
    write_requests(log_dir, [request_record(T0 + i * step, customer_id=i) for i in range(n)])
    return log_dir


def test_flattens_features_outputs_and_versions(tmp_path: Path) -> None:
    frame = read_requests(_log(tmp_path))
    assert len(frame) == 4
    for column in (
        "ts",
        "endpoint",
        "customer_id",
        "cold_start",
        "latency_ms",
        "recency_days",
        "channel",
        "churn_probability",
        "segment",
        "propensity_any__wine",
        "version.churn",
    ):
        assert column in frame.columns, column
    assert str(frame["ts"].dt.tz) == "UTC"
    assert frame["ts"].is_monotonic_increasing
    assert frame["version.churn"].eq("3").all()
    assert frame.attrs["skipped_lines"] == 0


def test_reads_across_day_files_and_filters_the_window(tmp_path: Path) -> None:
    log_dir = _log(tmp_path, n=6)  # 23:30, 23:50, 00:10, 00:30, 00:50, 01:10 -> two day files
    assert sorted(p.name for p in log_dir.iterdir()) == ["2026-11-02.jsonl", "2026-11-03.jsonl"]
    frame = read_requests(log_dir, since=T0 + timedelta(minutes=20), until="2026-11-03T00:50Z")
    assert frame["customer_id"].tolist() == [1, 2, 3]  # since inclusive, until exclusive
    naive = read_requests(log_dir, since=datetime(2026, 11, 3))  # naive = UTC
    assert naive["customer_id"].tolist() == [2, 3, 4, 5]


def test_window_without_requests_is_an_empty_frame(tmp_path: Path) -> None:
    frame = read_requests(_log(tmp_path), since="2027-01-01")
    assert frame.empty and "ts" in frame.columns


def test_truncated_last_line_is_skipped_with_a_counted_warning(tmp_path: Path) -> None:
    log_dir = _log(tmp_path, n=2)
    write_truncated(log_dir / "2026-11-02.jsonl", request_record(T0, customer_id=99))
    with pytest.warns(RequestLogWarning, match="skipped 1 unreadable line"):
        frame = read_requests(log_dir)
    assert frame["customer_id"].tolist() == [0, 1]
    assert frame.attrs["skipped_lines"] == 1


def test_crash_then_restart_leaves_a_bad_line_in_the_middle(tmp_path: Path) -> None:
    log_dir = _log(tmp_path, n=3)
    path = log_dir / "2026-11-02.jsonl"
    write_truncated(path, request_record(T0, customer_id=99))
    write_requests(log_dir, [request_record(T0 + timedelta(minutes=5), customer_id=7)])
    write_requests(log_dir, [request_record(T0 + timedelta(minutes=6), customer_id=8)])
    with pytest.warns(RequestLogWarning, match="2026-11-02.jsonl:3"):
        frame = read_requests(log_dir)
    assert 8 in frame["customer_id"].tolist() and 99 not in frame["customer_id"].tolist()


@pytest.mark.parametrize("make", [lambda p: p / "absent", lambda p: p])
def test_missing_or_empty_folder_is_a_clear_error(tmp_path: Path, make) -> None:
    (tmp_path / "notes.txt").write_text("not a log")
    with pytest.raises(FileNotFoundError, match="request"):
        read_requests(make(tmp_path))


def test_a_file_that_is_not_a_request_log_is_refused(tmp_path: Path) -> None:
    (tmp_path / "2026-11-02.jsonl").write_text("hello\nworld\n[1, 2]\n")
    with pytest.raises(ValueError, match="not request records"):
        read_requests(tmp_path)


def test_an_output_named_like_a_feature_moves_aside(tmp_path: Path) -> None:
    record = request_record(T0, features={"segment": "x"}, outputs={"segment": "loyal"})
    write_requests(tmp_path, [record])
    frame = read_requests(tmp_path)
    assert frame.loc[0, "segment"] == "x" and frame.loc[0, "output.segment"] == "loyal"


def test_null_features_and_mixed_ids_survive(tmp_path: Path) -> None:
    records = [
        request_record(T0, customer_id=None, features={"recency_days": None}),
        request_record(T0, customer_id="c-1", features={"recency_days": 3}),
    ]
    write_requests(tmp_path, records)
    frame = read_requests(tmp_path)
    assert pd.isna(frame.loc[0, "recency_days"]) and frame.loc[1, "customer_id"] == "c-1"


def test_served_by_keeps_only_the_requests_of_those_versions(tmp_path: Path) -> None:
    records = [request_record(T0 + timedelta(minutes=i), customer_id=i) for i in range(6)]
    for record in records[:2]:  # answered before the publish of churn 4
        record["versions"] = {"churn": "3", "segments": "1"}
    for record in records[2:]:
        record["versions"] = {"churn": "4", "segments": "1"}
    records[5]["versions"] = {"churn": "4"}  # no segments version: not that publish
    frame = read_requests(_log_records(tmp_path, records))
    kept = served_by(frame, {"churn": "4", "segments": "1"})
    assert kept["customer_id"].tolist() == [2, 3, 4]
    assert served_by(frame, {"churn": "9"}).empty
    assert served_by(frame, {"uplift": "1"}).empty  # no version.uplift column at all
    assert len(served_by(frame, {})) == 6


def _log_records(tmp_path: Path, records: list[dict]) -> Path:
    log_dir = tmp_path / "requests"
    write_requests(log_dir, records)
    return log_dir
