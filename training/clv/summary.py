"""RFM summary of a transaction log in BTYD units (frequency, recency, T, monetary value)."""

from __future__ import annotations

import pandas as pd


def rfm_summary(
    transactions: pd.DataFrame,
    observation_end: pd.Timestamp | str,
    unit_days: float = 7.0,
    value: str = "amount",
) -> pd.DataFrame:
    """Per-customer BTYD summary of the purchases made on or before ``observation_end``.

    Purchases are counted per calendar day (several rows on one day are one purchase,
    their values summed), as lifetimes' ``summary_data_from_transaction_data(freq='D')``.
    frequency = purchase days − 1; recency = last − first purchase day; T = end − first
    day, both in units of ``unit_days``; monetary_value = mean value of the repeat purchase
    days (0 without repeats). Indexed by customer_id, sorted.
    """
    end = pd.Timestamp(observation_end).normalize()
    tx = transactions.loc[transactions["ts"] <= end + pd.Timedelta(days=1) - pd.Timedelta(1)]
    days = (
        tx.assign(day=tx["ts"].dt.normalize())
        .groupby(["customer_id", "day"], sort=True, observed=True)[value]
        .sum()
        .reset_index()
    )
    g = days.groupby("customer_id", sort=True)
    first = g["day"].min()
    last = g["day"].max()
    n_days = g.size()
    repeat = days.loc[g.cumcount().to_numpy() > 0]
    repeat_mean = repeat.groupby("customer_id")[value].mean().reindex(first.index, fill_value=0.0)
    return pd.DataFrame(
        {
            "frequency": (n_days - 1).astype("int64"),
            "recency": (last - first).dt.days / unit_days,
            "T": (end - first).dt.days / unit_days,
            "monetary_value": repeat_mean.astype("float64"),
        }
    )
