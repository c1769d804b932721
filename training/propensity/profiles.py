"""Who buys each family: lift of each attribute value and channel among its buyers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data.features import slugs
from training.data.snapshot import Snapshot

PROFILE_COLUMNS = [
    "family",
    "dimension",
    "value",
    "share_buyers",
    "share_all",
    "lift",
    "n_buyers",
    "n_all",
]
MISSING = "(missing)"
MAX_VALUES = 20


def _attribute_values(series: pd.Series, max_values: int) -> pd.Series:
    """Strings per customer: categories as they are, numbers as quartile bins, NaN shown."""
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric and series.nunique() > max_values:
        series = pd.qcut(series, 4, duplicates="drop")
    text = series.astype(object).where(series.notna(), MISSING).astype(str)
    keep = text.value_counts().index[:max_values]
    return text.where(text.isin(keep), "(other)")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=np.broadcast_to(den, out.shape) != 0)
    return out


def _tidy(
    families: list[str], dimension: str, values: list[str], arrays: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Arrays shaped (values, families) into long rows."""
    n_v, n_f = len(values), len(families)
    return pd.DataFrame(
        {
            "family": np.tile(np.array(families, dtype=object), n_v),
            "dimension": dimension,
            "value": np.repeat(np.array(values, dtype=object), n_f),
            **{k: np.broadcast_to(v, (n_v, n_f)).ravel() for k, v in arrays.items()},
        }
    )


def family_profiles(snapshot: Snapshot, max_values: int = MAX_VALUES) -> pd.DataFrame:
    """For every family, value and dimension: share among the family's buyers, among all
    customers, and their ratio (``lift`` > 1: over-represented among the buyers).

    Buyers are customers with ``fam_count__<fam> > 0`` before ``as_of``. Attributes compare
    head counts; channels compare the mean channel share of the buyers' transactions with
    that of every customer who has transactions. Sorted by family, dimension, value.
    """
    frame = snapshot.frame
    families = list(snapshot.families)
    fam_slugs = slugs(families)
    buyers = np.column_stack(
        [frame[f"fam_count__{s}"].to_numpy(dtype="float64") > 0 for s in fam_slugs]
    ).astype("float64")
    n_buyers = buyers.sum(axis=0)
    n_all = float(len(frame))
    parts = []
    for col in [c for c in frame.columns if c.startswith("attr_")]:
        text = _attribute_values(frame[col], max_values)
        codes, uniques = pd.factorize(text, sort=True)
        onehot = np.eye(len(uniques))[codes]
        in_buyers = onehot.T @ buyers
        in_all = onehot.sum(axis=0)[:, None]
        share_b = _ratio(in_buyers, n_buyers[None, :])
        share_a = in_all / n_all
        arrays = {
            "share_buyers": share_b,
            "share_all": share_a,
            "lift": _ratio(share_b, share_a),
            "n_buyers": in_buyers,
            "n_all": in_all,
        }
        parts.append(_tidy(families, col.removeprefix("attr_"), list(uniques), arrays))
    chan_cols = [c for c in frame.columns if c.startswith("chan_share__")]
    if chan_cols:
        share = frame[chan_cols].to_numpy(dtype="float64")
        has = ~np.isnan(share)
        filled = np.where(has, share, 0.0)
        share_b = _ratio(filled.T @ buyers, has.T.astype("float64") @ buyers)
        share_a = _ratio(filled.sum(axis=0), has.sum(axis=0))[:, None]
        arrays = {
            "share_buyers": share_b,
            "share_all": share_a,
            "lift": _ratio(share_b, share_a),
            "n_buyers": has.T.astype("float64") @ buyers,
            "n_all": has.sum(axis=0)[:, None].astype("float64"),
        }
        values = [c.removeprefix("chan_share__") for c in chan_cols]
        parts.append(_tidy(families, "channel", values, arrays))
    if not parts:
        return pd.DataFrame({c: [] for c in PROFILE_COLUMNS})
    table = pd.concat(parts, ignore_index=True)[PROFILE_COLUMNS]
    table = table.astype({"n_buyers": "int64", "n_all": "int64"})
    return table.sort_values(["family", "dimension", "value"], kind="stable").reset_index(drop=True)


def lift_matrix(profiles: pd.DataFrame) -> pd.DataFrame:
    """Families x ``dimension=value`` lifts, the layout of the heat map."""
    key = profiles["dimension"] + "=" + profiles["value"].astype(str)
    wide = profiles.assign(key=key).pivot(index="family", columns="key", values="lift")
    order = profiles.assign(key=key).drop_duplicates("key")
    return wide.reindex(columns=order["key"].to_list())
