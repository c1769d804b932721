"""The partial-churn head: a hand-built table with a known answer, its own bundle kind and
columns, no rescaling to another horizon, and the simulator's partial churners."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from tests.training.churn.conftest import AS_OF, CHANNELS, FAMILIES
from training.churn import ChurnConfig, ChurnModel, evaluate, fit
from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import Snapshot
from training.pipeline import build_snapshots
from training.tasks import CHURN_HEADS, DEFAULT_MODELS, MODELS, load_bundle, task

PARTIAL = ChurnConfig(target="partial_churn", n_estimators=80)


def true_partial_probability(trend: np.ndarray) -> np.ndarray:
    """The known answer of ``falling_spend``: the faster spend fell, the likelier the drop."""
    return 1.0 / (1.0 + np.exp(4.0 * trend))


def falling_spend(n: int, seed: int) -> Snapshot:
    """Customers who bought in the last 90 days; partial churn depends on the spend trend
    alone among those still buying (the rest is noise); total churn is rare and random."""
    rng = np.random.default_rng(seed)
    last90 = rng.gamma(2.0, 50.0, n)
    prev90 = rng.gamma(2.0, 50.0, n)
    trend = (last90 - prev90) / (last90 + prev90)
    frequency = rng.poisson(4, n) + 1.0
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n) + seed * 1_000_000,
            "recency_days": rng.uniform(1, 90, n).round(),
            "frequency": frequency,
            "spend_last_90d": last90,
            "spend_prev_90d": prev90,
            "spend_trend": trend,
            "return_rate": rng.beta(1, 8, n),
            "tenure_days": rng.uniform(100, 800, n),
            "fam_share__fresh": rng.uniform(0, 1, n),
        }
    )
    churn = (rng.uniform(size=n) < 0.05).astype("float64")
    # still buying, but less: a total churner is no partial churner
    partial = (churn == 0) & (rng.uniform(size=n) < true_partial_probability(trend))
    frame = frame.assign(label_churn=churn, label_partial_churn=partial.astype("float64"))
    return Snapshot(frame, AS_OF, 90, True, FAMILIES, CHANNELS)


def test_partial_head_learns_the_known_drop_in_spend() -> None:
    model = fit(falling_spend(3000, 1), PARTIAL)
    test = falling_spend(2000, 2)
    p = model.predict_proba(test.frame)
    truth = true_partial_probability(test.frame["spend_trend"].to_numpy())
    assert spearmanr(p, truth).statistic > 0.85
    metrics = evaluate(model, test)  # judged on its own label, label_partial_churn
    best = roc_auc_score(test.frame["label_partial_churn"], truth)
    assert metrics["roc_auc"] > best - 0.03
    # calibrated: the mean probability is the observed rate of partial churn
    assert p.mean() == pytest.approx(test.frame["label_partial_churn"].mean(), abs=0.03)
    reasons = model.reasons(test.frame.iloc[[int(np.argmax(p))]])[0]
    assert any("spend" in r.lower() for r in reasons), reasons


def test_partial_head_is_its_own_bundle_kind_with_its_own_columns(tmp_path: Path) -> None:
    model = fit(falling_spend(1000, 3), PARTIAL)
    rows = falling_spend(50, 4).frame
    lapsed = rows.assign(recency_days=np.where(rows.index < 5, 200.0, rows["recency_days"]))
    frame = model.predict_frame(lapsed, reasons_from=0.3)
    # undefined for a customer without a purchase in the 90 days before: null, no reasons
    assert frame["churn_partial_probability"].isna().tolist() == [True] * 5 + [False] * 45
    assert (frame["churn_partial_reasons"][:5] == "").all()
    frame = model.predict_frame(rows, reasons_from=0.3)
    assert list(frame.columns) == [
        "customer_id",
        "churn_partial_probability",
        "churn_partial_reasons",
    ]
    # reasons the same way as total churn: only from the threshold, '; '-joined
    high = frame["churn_partial_probability"] >= 0.3
    assert (frame.loc[~high, "churn_partial_reasons"] == "").all()
    assert (frame.loc[high, "churn_partial_reasons"] != "").all()
    model.save(tmp_path / "bundle")
    again = load_bundle(tmp_path / "bundle")
    assert isinstance(again, ChurnModel) and again.config.target == "partial_churn"
    assert again.manifest()["kind"] == task("churn-partial").registered_name
    pd.testing.assert_frame_equal(again.predict_frame(falling_spend(50, 4).frame, 0.3), frame)


def test_partial_head_is_optional_and_trained_by_default() -> None:
    assert CHURN_HEADS == {"total": "churn", "partial": "churn-partial"}
    assert "churn-partial" in DEFAULT_MODELS and "churn-partial" not in MODELS
    assert task("cintel-churn-partial").labels(falling_spend(10, 5)) == ["label_partial_churn"]


def test_partial_churn_is_not_rescaled_to_another_horizon() -> None:
    model = fit(falling_spend(1000, 6), PARTIAL)
    assert model.at_horizon(90).served_days == 90
    with pytest.raises(ValueError, match="learned on 90-day windows, it cannot answer for 180"):
        model.at_horizon(180)
    total = fit(falling_spend(1000, 6), ChurnConfig(n_estimators=20))
    assert total.at_horizon(180).served_days == 180  # total churn still rescales


@pytest.fixture(scope="module")
def simulated() -> tuple[Snapshot, Snapshot, pd.DataFrame]:
    sim = synthesize(SynthConfig(n_customers=3000, end="2025-06-30", seed=7))
    train_snap, eval_snap = build_snapshots(validate(sim.transactions, sim.customers), None, 90)
    return train_snap, eval_snap, sim.ground_truth


def test_partial_head_finds_the_simulators_spend_drops_the_total_head_misses(
    simulated: tuple[Snapshot, Snapshot, pd.DataFrame],
) -> None:
    """On the simulator (partial churners' spend decays after an onset), the partial head
    ranks next-window spend drops better than the total-churn head does."""
    train_snap, eval_snap, _ = simulated
    partial = fit(train_snap, ChurnConfig(target="partial_churn"))
    total = fit(train_snap, ChurnConfig())
    rows = eval_snap.frame.loc[eval_snap.frame["label_partial_churn"].notna()]
    y = rows["label_partial_churn"].to_numpy()
    auc_partial = roc_auc_score(y, partial.predict_proba(rows))
    auc_total = roc_auc_score(y, total.predict_proba(rows))
    assert auc_partial > 0.6
    assert auc_partial > auc_total + 0.02
