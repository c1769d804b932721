"""The CDNOW sample summarised as in Fader, Hardie & Lee (2005): weeks 1–39 calibration."""

from __future__ import annotations

import pandas as pd
import pytest

from training.clv import BetaGeo, GammaGamma, rfm_summary
from training.data.cdnow import load_cdnow

CALIBRATION_END = "1997-09-30"


@pytest.fixture(scope="session")
def cdnow_sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_cdnow(sample=True)


@pytest.fixture(scope="session")
def cdnow_summary(cdnow_sample: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """frequency, recency, T in weeks and mean repeat spend, per sample customer."""
    return rfm_summary(cdnow_sample[0], CALIBRATION_END, unit_days=7)


@pytest.fixture(scope="session")
def cdnow_bgnbd(cdnow_summary: pd.DataFrame) -> BetaGeo:
    s = cdnow_summary
    return BetaGeo().fit(s["frequency"], s["recency"], s["T"])


@pytest.fixture(scope="session")
def cdnow_gg(cdnow_summary: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(cdnow_summary["frequency"], cdnow_summary["monetary_value"])
