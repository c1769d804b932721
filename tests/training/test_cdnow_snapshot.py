"""The project's own pipeline (contract -> snapshot) reproduces the published CDNOW fits."""

from __future__ import annotations

import pytest

from training.clv import BetaGeo, GammaGamma
from training.data.cdnow import load_cdnow
from training.data.contract import validate
from training.data.snapshot import build_snapshot


def test_snapshot_btyd_columns_reproduce_fader_hardie_lee() -> None:
    tx, customers = load_cdnow(sample=True)
    data = validate(tx, customers)
    assert not [w for w in data.report.warnings if "duplicate" in w.message]
    snap = build_snapshot(data, "1997-10-01", 273, time_unit_days=7)
    f = snap.frame
    assert len(f) == 2357
    bg = BetaGeo().fit(f["btyd_frequency"], f["btyd_recency"], f["btyd_T"])
    assert (round(bg.r_, 3), round(bg.alpha_, 3), round(bg.a_, 3), round(bg.b_, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert bg.loglik_ == pytest.approx(-9582.43, abs=0.01)
    repeat = f[f["btyd_frequency"] > 0]
    assert len(repeat) == 946
    gg = GammaGamma().fit(repeat["btyd_frequency"], repeat["btyd_monetary"])
    assert (round(gg.p_, 2), round(gg.q_, 2), round(gg.v_, 2)) == (6.25, 3.74, 15.44)
    assert gg.loglik_ == pytest.approx(-4055.92, abs=0.01)
    # the holdout window (weeks 40-78) is the label window: 1,882 repeat purchases... as days
    assert f["future_purchases"].sum() > 0
