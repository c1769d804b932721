"""Drift reports: quiet on noise, loud on shifts, honest about what they could not judge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.columns import align
from monitoring.reports import DriftConfig, drift_report
from tests.monitoring.conftest import make_frame

FAST = DriftConfig(data_summary=False)


def test_same_distribution_at_5000_rows_is_ok() -> None:
    summary, snapshot = drift_report(make_frame(5000, 1), make_frame(5000, 2), FAST)
    assert summary.status == "ok", summary.reason
    assert summary.drifted_columns == [] and summary.drift_share == 0.0
    assert not any(d["drifted"] for d in summary.prediction_drift.values())
    assert snapshot is not None
    assert (summary.n_reference, summary.n_current) == (5000, 5000)
    assert "customer_id" not in summary.column_drift  # an id is never compared


def test_half_sigma_shift_in_10_of_20_columns_is_drift_and_named() -> None:
    current = make_frame(5000, 3, shift=0.5, shifted=10)
    summary, _ = drift_report(current, make_frame(5000, 4), FAST)
    assert summary.status == "drift"
    assert summary.drifted_columns == [f"f{i:02d}" for i in range(10)]
    assert summary.drift_share == pytest.approx(10 / 21)  # 20 numbers + channel
    assert "10 of 21 input columns drifted" in summary.reason
    assert not any(d["drifted"] for d in summary.prediction_drift.values())


def test_churn_probability_shift_is_prediction_drift() -> None:
    summary, _ = drift_report(make_frame(5000, 5, churn_shift=0.15), make_frame(5000, 6), FAST)
    assert summary.status == "drift"
    churn = summary.prediction_drift["churn_probability"]
    assert churn["drifted"] and churn["score"] > 0.1 and churn["method"] == "wasserstein"
    assert set(summary.prediction_drift) == {
        "churn_probability",
        "clv_12m",
        "segment",
        "propensity_any__wine",
    }
    assert summary.drifted_columns == [] and "churn_probability" in summary.reason
    # the reason says the inputs did not drift, so a drift of 0 % inputs reads as one
    assert summary.reason.endswith("0 of 21 input columns drifted (share 0.00 < 0.3)")


def test_segment_mix_change_is_prediction_drift() -> None:
    current = make_frame(5000, 7).assign(
        segment=lambda f: np.where(np.arange(len(f)) % 2 == 0, "at_risk", f["segment"])
    )
    summary, _ = drift_report(current, make_frame(5000, 8), FAST)
    assert summary.prediction_drift["segment"]["drifted"]


@pytest.mark.parametrize("n", [0, 999])
def test_small_or_empty_window_is_insufficient_data(n: int) -> None:
    summary, snapshot = drift_report(make_frame(5000, 1).head(n), make_frame(5000, 2), FAST)
    assert summary.status == "insufficient_data" and snapshot is None
    assert f"only {n} current rows" in summary.reason and summary.drift_share is None


def test_empty_frame_without_columns_and_empty_reference_do_not_crash() -> None:
    assert drift_report(pd.DataFrame(), make_frame(2000, 1), FAST)[0].status == "insufficient_data"
    summary, _ = drift_report(make_frame(2000, 1), pd.DataFrame(), FAST)
    assert summary.status == "insufficient_data" and "reference" in summary.reason


def test_disjoint_columns_are_insufficient_data_with_the_missing_named() -> None:
    current = pd.DataFrame({"other": np.arange(2000.0)})
    summary, _ = drift_report(current, make_frame(2000, 1)[["f00", "f01"]], FAST)
    assert summary.status == "insufficient_data"
    assert summary.missing_columns == ["f00", "f01"] and summary.extra_columns == ["other"]


def test_missing_and_extra_columns_are_reported_and_the_rest_judged() -> None:
    current = make_frame(2000, 1).drop(columns=["f05", "clv_12m"]).assign(new_feature=1.0)
    summary, _ = drift_report(current, make_frame(2000, 2), FAST)
    assert summary.status == "ok"
    assert summary.missing_columns == ["f05", "clv_12m"]
    assert summary.extra_columns == ["new_feature"]
    assert "f05" not in summary.column_drift and "clv_12m" not in summary.prediction_drift


def test_sampling_caps_each_side_and_states_the_size() -> None:
    config = DriftConfig(data_summary=False, max_rows=1500)
    summary, _ = drift_report(make_frame(3000, 1), make_frame(4000, 2), config)
    assert (summary.n_current, summary.n_reference) == (3000, 4000)
    assert (summary.n_sampled_current, summary.n_sampled_reference) == (1500, 1500)


def test_align_coerces_types_and_skips_empty_and_text_columns() -> None:
    reference = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0],
            "flag": [True, False, True],
            "note": [f"n{i}" for i in range(3)],
            "gone": [1.0, 2.0, 3.0],
        }
    )
    current = pd.DataFrame(
        {
            "x": ["1", "oops", "3"],
            "flag": ["True", "False", None],
            "note": ["a", "b", "c"],
            "gone": [None, None, None],
        }
    )
    before = current.copy()
    al = align(current, reference, max_categories=2)
    pd.testing.assert_frame_equal(current, before)  # inputs untouched
    assert al.numerical == ["x"] and al.categorical == ["flag"]
    assert al.current["x"].isna().tolist() == [False, True, False]
    assert set(al.skipped) == {"note", "gone"} and "current" in al.skipped["gone"]


def test_a_column_of_one_value_on_both_sides_is_skipped_without_a_warning() -> None:
    """The P&L costs of a home without costs.yaml are 0 everywhere: nothing to compare, and
    their zero spread divided Evidently's correlation of the inputs by zero (RuntimeWarning
    "invalid value encountered in divide" on the demo's stderr)."""
    import warnings

    reference = make_frame(1500, 1, n_features=4).assign(acquisition_cost=0.0)
    current = make_frame(1500, 2, n_features=4).assign(acquisition_cost=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        summary, snapshot = drift_report(current, reference, FAST)
    assert snapshot is not None and summary.status == "ok"
    assert summary.skipped_columns == {
        "acquisition_cost": "one value on both sides (0.0): nothing to compare"
    }
    assert "acquisition_cost" not in summary.column_drift
    # one value on one side only is a change, judged as before
    moved = current.assign(acquisition_cost=np.linspace(0, 5, len(current)))
    assert "acquisition_cost" in drift_report(moved, reference, FAST)[0].column_drift


def _with_issue15_scores(frame: pd.DataFrame, seed: int, partial_shift: float) -> pd.DataFrame:
    """The optional models' outputs as the store serves them (partial churn, potential)."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    potential = rng.gamma(3.0, 200.0, n)
    share = rng.beta(3, 2, n)
    return frame.assign(
        churn_partial_probability=np.clip(rng.beta(2, 6, n) + partial_shift, 0, 1),
        potential_value_12m=potential,
        share_of_wallet=share,
        potential_headroom=potential * (1 - share),
    )


def test_partial_churn_and_potential_are_judged_as_predictions() -> None:
    """A shift of the partial-churn probability alone is prediction drift named in the
    reason; it does not count among the inputs, and potential's outputs are judged too."""
    current = _with_issue15_scores(make_frame(2000, 9), 1, partial_shift=0.15)
    reference = _with_issue15_scores(make_frame(2000, 10), 2, partial_shift=0.0)
    summary, _ = drift_report(current, reference, FAST)
    assert summary.status == "drift"
    partial = summary.prediction_drift["churn_partial_probability"]
    assert partial["drifted"] and partial["score"] > 0.1
    for column in ("potential_value_12m", "share_of_wallet", "potential_headroom"):
        assert not summary.prediction_drift[column]["drifted"], column
        assert column not in summary.column_drift
    assert "churn_partial_probability" not in summary.column_drift
    assert summary.drifted_columns == [] and "churn_partial_probability" in summary.reason


def _drift(score: float, threshold: float = 0.1) -> dict[str, object]:
    return {
        "score": score,
        "method": "wasserstein",
        "threshold": threshold,
        "drifted": score >= threshold,
    }


def test_the_headline_of_a_prediction_only_drift_does_not_contradict_itself() -> None:
    """Reported from the demo at 1,000 customers: "drift (drift share 0%)". The status was
    drift because one prediction (propensity_first__beauty, score 0.100 at the 0.1
    threshold) drifted while no input did; the headline says which side drifted."""
    from monitoring.reports import DriftSummary, headline

    inputs = {f"f{i}": _drift(0.01) for i in range(23)}
    preds = {"churn_probability": _drift(0.02), "propensity_first__beauty": _drift(0.1)}
    summary = DriftSummary(
        "drift",
        "predictions drifted: propensity_first__beauty",
        1000,
        1000,
        drift_share=0.0,
        column_drift=inputs,
        prediction_drift=preds,
    )
    assert headline(summary) == (
        "drift: 1 prediction(s) drifted (propensity_first__beauty 0.100); "
        "0 of 23 input columns drifted (0%)"
    )
    quiet = DriftSummary(
        "ok",
        "",
        1000,
        1000,
        drift_share=0.0,
        column_drift=inputs,
        prediction_drift={"churn_probability": _drift(0.02)},
    )
    assert headline(quiet) == "ok: 0 of 23 input columns drifted (0%), no prediction drifted"
    moved = {**inputs, **{f"f{i}": _drift(0.3) for i in range(10)}}
    loud = DriftSummary(
        "drift",
        "",
        1000,
        1000,
        drift_share=10 / 23,
        column_drift=moved,
        drifted_columns=[f"f{i}" for i in range(10)],
        prediction_drift={f"p{i}": _drift(0.2 + i / 100) for i in range(6)},
    )
    assert headline(loud) == (
        "drift: 6 prediction(s) drifted (p0 0.200, p1 0.210, p2 0.220, p3 0.230 and 2 more); "
        "10 of 23 input columns drifted (43%)"
    )
    unjudged = DriftSummary("insufficient_data", "only 10 current rows", 1000, 10)
    assert headline(unjudged) == "insufficient_data: only 10 current rows"
