"""Lifecycle stage of every customer at ``as_of``, by documented and configurable rules.

The first rule that holds gives the stage (``gap`` is the customer's own median gap between
purchase days, ``default_gap_days`` with fewer than two; ``recency`` the days since the
last purchase):

1. new        tenure < ``new_days``                          since the sign-up
2. lapsed     never bought, or recency > max(``lapsed_factor`` x gap, ``lapsed_min_days``)
                                                             since the day that threshold passed
3. at risk    recency > max(``at_risk_factor`` x gap, ``at_risk_min_days``)
              or churn probability >= ``at_risk_churn``     since that day (a churn score: as_of)
4. won back   bought again after a gap longer than the lapse threshold, that purchase
              within ``won_back_days``                      since that purchase
5. developing spend trend (last vs previous ``trend_days``) >= ``developing_trend``
                                                             since as_of − ``trend_days``
6. active     otherwise                                      since the latest of: end of "new",
                                                             first purchase, end of "won back"

Pure and vectorised over transactions (purchase rows: amount > 0, ts < as_of).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.data.features import NS_PER_DAY

STAGES = ("new", "active", "developing", "at risk", "lapsed", "won back")


@dataclass(frozen=True)
class LifecycleRules:
    """Thresholds of the rules above (days unless named otherwise)."""

    new_days: float = 90.0
    default_gap_days: float = 60.0
    lapsed_factor: float = 4.0
    lapsed_min_days: float = 180.0
    at_risk_factor: float = 2.0
    at_risk_min_days: float = 60.0
    at_risk_churn: float = 0.7
    won_back_days: float = 90.0
    trend_days: float = 90.0
    developing_trend: float = 0.3

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value >= 0:
                raise ValueError(f"lifecycle rule {name} must be >= 0, got {value!r}")


def _median_gap(codes: np.ndarray, gaps: np.ndarray, n: int, default: float) -> np.ndarray:
    """Each customer's median gap between purchase days (``default`` without a gap): the
    median, so one long lapse does not make the customer's own rhythm look slow."""
    order = np.lexsort((gaps, codes))
    codes, gaps = codes[order], gaps[order]
    m = np.bincount(codes, minlength=n)
    start = np.r_[0, np.cumsum(m)[:-1]]
    has = m > 0
    lo = np.where(has, start + (m - 1) // 2, 0)
    hi = np.where(has, start + m // 2, 0)
    if len(gaps) == 0:
        return np.full(n, default)
    return np.where(has, (gaps[lo] + gaps[hi]) / 2.0, default)


def lifecycle(
    tx: pd.DataFrame,
    signup: pd.Series,
    ids: pd.Index,
    as_of: pd.Timestamp,
    churn: np.ndarray | None = None,
    rules: LifecycleRules | None = None,
) -> pd.DataFrame:
    """``lifecycle_stage`` and ``lifecycle_since`` (ISO date) for ``ids`` at ``as_of``.

    ``signup`` is the sign-up date by customer id (missing: the first purchase);
    ``churn`` the churn probability per customer of ``ids`` (None: rule 3 uses recency
    only). Inputs are not modified."""
    ts = tx["ts"].to_numpy().view("int64")
    keep = (ts < as_of.value) & (tx["amount"].to_numpy() > 0)
    codes = ids.get_indexer(pd.Index(tx["customer_id"].to_numpy()[keep]))
    ok = codes >= 0
    signup = signup.reindex(ids)
    columns = stage_arrays(
        codes[ok].astype(np.int64), ts[keep][ok], tx["amount"].to_numpy()[keep][ok], len(ids),
        as_of, pd.to_datetime(signup).to_numpy().view("int64"),
        np.asarray(pd.isna(signup)), churn=churn, rules=rules,
    )  # fmt: skip
    return pd.DataFrame(columns, index=ids)


def stage_arrays(
    codes: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    n: int,
    as_of: pd.Timestamp,
    signup_ns: np.ndarray,
    signup_missing: np.ndarray,
    churn: np.ndarray | None = None,
    rules: LifecycleRules | None = None,
) -> dict[str, np.ndarray]:
    """``lifecycle_stage`` and ``lifecycle_since`` of ``n`` customers from their purchase
    rows (amount > 0, ts < as_of) as arrays: ``codes`` the row's customer (0..n-1), ``ts``
    int64 ns; ``signup_ns`` per customer (ignored where ``signup_missing``).

    The one implementation of the rules: ``lifecycle`` (every customer) and the event path
    (``serving.event_economics``: a few customers) both call it."""
    r = rules or LifecycleRules()
    now = as_of.value / NS_PER_DAY
    day = ts // NS_PER_DAY
    key = np.sort(codes * 1_000_000 + (day - (day.min() if len(day) else 0)))
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key  # sort, not hash
    ucode, uday = key // 1_000_000, key % 1_000_000 + (day.min() if len(day) else 0)
    n_days = np.bincount(ucode, minlength=n)
    bought = n_days > 0
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    np.fmin.at(first, ucode, uday.astype(float))
    np.fmax.at(last, ucode, uday.astype(float))
    same = np.r_[False, ucode[1:] == ucode[:-1]]
    steps = np.diff(uday, prepend=uday[:1]).astype(float)
    gap = _median_gap(ucode[same], steps[same], n, r.default_gap_days)
    lapse = np.maximum(r.lapsed_factor * gap, r.lapsed_min_days)
    risk = np.maximum(r.at_risk_factor * gap, r.at_risk_min_days)
    recency = now - last - 1.0  # days since the end of the last purchase day

    # the latest purchase day that ended a gap longer than the lapse threshold
    ended = same & (steps > lapse[ucode])
    back = np.full(n, np.nan)
    np.fmax.at(back, ucode[ended], uday[ended].astype(float))

    t = np.asarray(ts, dtype=np.int64)
    last90 = t >= as_of.value - r.trend_days * NS_PER_DAY
    prev90 = (t >= as_of.value - 2 * r.trend_days * NS_PER_DAY) & ~last90
    s_last = np.bincount(codes[last90], amount[last90], n)
    s_prev = np.bincount(codes[prev90], amount[prev90], n)
    den = np.abs(s_last) + np.abs(s_prev)
    trend = np.divide(s_last - s_prev, den, out=np.zeros(n), where=den > 1e-9)

    sign = np.where(signup_missing, first, signup_ns / NS_PER_DAY)
    tenure = now - sign
    churn_hit = np.zeros(n, bool)
    if churn is not None:
        churn_hit = np.nan_to_num(np.asarray(churn, dtype=float), nan=0.0) >= r.at_risk_churn

    conditions = [
        tenure < r.new_days,
        ~bought | (recency > lapse),
        (recency > risk) | churn_hit,
        bought & (now - back <= r.won_back_days),
        bought & (n_days > 1) & (trend >= r.developing_trend),
    ]
    names = ["new", "lapsed", "at risk", "won back", "developing"]
    stage = np.select(conditions, names, default="active")
    active_since = np.fmax(np.fmax(sign + r.new_days, first), back + r.won_back_days)
    since = np.select(
        conditions,
        [
            sign,
            np.where(bought, last + 1.0 + lapse, sign + r.new_days),
            np.where(recency > risk, last + 1.0 + risk, np.floor(now)),
            back,
            np.full(n, np.floor(now) - r.trend_days),
        ],
        default=active_since,
    )
    since = np.minimum(since, np.floor(now))
    if np.isfinite(since).all():  # numpy's dates: pandas' strftime costs ~1 ms a call
        dates = np.floor(since).astype("int64").astype("datetime64[D]").astype(str).tolist()
    else:
        dates = pd.to_datetime(np.floor(since) * NS_PER_DAY, unit="ns").strftime("%Y-%m-%d")
    return {
        "lifecycle_stage": stage.astype(object),
        "lifecycle_since": np.asarray(dates, object),
    }


def transitions(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Customers by stage at the earlier snapshot (rows; "not yet a customer" for those
    unknown then) and at the later one (columns), every stage listed."""
    rows = before.reindex(after.index).fillna("not yet a customer")
    table = pd.crosstab(rows.rename("from"), after.rename("to"))
    return table.reindex(
        index=[*STAGES, "not yet a customer"], columns=list(STAGES), fill_value=0
    ).astype(int)
