"""The head of each drift report: title, context and the columns by drift score."""

from __future__ import annotations

from datetime import UTC, datetime

from monitoring.report_page import header_html, summary_rows, with_header
from monitoring.reports import DriftConfig, DriftSummary


def _summary() -> DriftSummary:
    def col(score: float, drifted: bool) -> dict[str, object]:
        return {"score": score, "method": "wasserstein", "threshold": 0.1, "drifted": drifted}

    return DriftSummary(
        "drift",
        "2 of 3 input columns drifted (share 0.67 >= 0.3)",
        5000,
        1800,
        n_sampled_reference=5000,
        n_sampled_current=1800,
        drift_share=2 / 3,
        drifted_columns=["share_wine", "recency_days"],
        column_drift={
            "recency_days": col(0.12, True),
            "frequency": col(0.02, False),
            "share_wine": col(0.31, True),
        },
        prediction_drift={"churn_probability": col(0.2, True)},
    )


def test_columns_are_ordered_by_drift_score_inputs_and_predictions_together() -> None:
    rows = summary_rows(_summary())
    assert [(r["column"], r["kind"]) for r in rows] == [
        ("share_wine", "input"),
        ("churn_probability", "prediction"),
        ("recency_days", "input"),
        ("frequency", "input"),
    ]


def test_the_header_gives_title_context_and_table_before_evidentlys_report() -> None:
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    head = header_html("requests", _summary(), DriftConfig(), {"churn": "3", "clv": "2"}, at)
    assert "<h1>cintel drift report: requests, 2026-11-20 12:00 UTC — drift</h1>" in head
    assert "1,800 rows" in head and "churn v3, clv v2" in head and "5,000 rows" in head
    assert "reaches 0.3" in head and "cintel-cycles" in head
    assert head.index("share_wine") < head.index("churn_probability") < head.index("frequency")
    page = with_header("<html><head></head><body><div id='root'></div></body></html>", head)
    assert page.index("<body>") < page.index("cintel drift report") < page.index("id='root'")
