"""Signup cohorts and their first year: the tables cintel-prospect is fitted and judged on.

A row is a customer who signed up in a window, with the attributes of the customers table
(``attr_<name>``, as in snapshots) and what happened in their first 365 days: margin,
spend, the families they bought, and whether that first year made them a top-tier customer
(``label_top_tier``: first-year margin at or above the gold cut of the value tiers, i.e.
platinum or gold among every customer's last-12-month margin on the day the cohort's
labels end). Only the attributes are inputs; nothing of a customer's purchases is.

Out of time by signup: with E the end of the data, the evaluation cohort signed up in
[E − 365 − C, E − 365) (its first years end by E) and the training cohort before
E − 365 − C (first years, and the tier cut, from data before E − C). C is
``cohort_days``. Pure: frames in, frames out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from training.data.contract import CleanData
from training.data.features import slugs
from training.data.snapshot import Snapshot, default_as_of
from training.segments.config import SegmentsConfig
from training.segments.tiers import fit_cuts

FIRST_YEAR_DAYS = 365
LABEL = "label_top_tier"
MARGIN = "future_first_year_margin"
SPEND = "future_first_year_spend"
BUY_PREFIX = "label_first_buy__"
ATTR_PREFIX = "attr_"
NOT_ATTRIBUTES = ("customer_id", "signup_date")
MIN_TRAIN = 50

if TYPE_CHECKING:
    from training.tasks import TaskInputs


@dataclass(frozen=True)
class CohortWindows:
    """Signup windows: training [start, split), evaluation [split, eval_end); labels by end."""

    start: pd.Timestamp
    split: pd.Timestamp
    eval_end: pd.Timestamp
    end: pd.Timestamp

    @property
    def train_labels_end(self) -> pd.Timestamp:
        return self.split + pd.Timedelta(days=FIRST_YEAR_DAYS)


def attribute_names(customers: pd.DataFrame) -> list[str]:
    """The customers table's attribute columns (everything but the id and the sign-up)."""
    return [str(c) for c in customers.columns if c not in NOT_ATTRIBUTES]


def attribute_frame(customers: pd.DataFrame) -> pd.DataFrame:
    """``attr_<slug>`` columns in the customers' order, categories as plain strings."""
    names = attribute_names(customers)
    attr_cols = slugs(names)
    out = {}
    for name, col in zip(names, attr_cols, strict=True):
        values = customers[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        out[f"{ATTR_PREFIX}{col}"] = values.to_numpy()
    return pd.DataFrame(out, index=customers.index)


def plan_windows(data: CleanData, until: pd.Timestamp | None, cohort_days: int) -> CohortWindows:
    """The cohorts' windows for data ending at ``until`` (default: after the last
    transaction); ValueError saying how much history is needed when it does not fit."""
    end = default_as_of(data)
    end = end if until is None else min(pd.Timestamp(until), end)  # labels need the data
    eval_end = end - pd.Timedelta(days=FIRST_YEAR_DAYS)
    split = eval_end - pd.Timedelta(days=cohort_days)
    start = pd.Timestamp(data.customers["signup_date"].min())
    if not start < split:
        need = FIRST_YEAR_DAYS + cohort_days
        raise ValueError(
            f"prospect: the first sign-up ({start:%Y-%m-%d}) is not before {split:%Y-%m-%d}; "
            f"a look-alike needs customers who signed up more than {need} days before the "
            f"data ends ({end:%Y-%m-%d}): {cohort_days} days of evaluation cohort whose "
            "first year is complete, and an earlier training cohort"
        )
    return CohortWindows(start, split, eval_end, end)


def tier_cut(tx: pd.DataFrame, at: pd.Timestamp, shares: tuple[float, float, float]) -> float:
    """The gold cut of the value tiers on ``at``: the least last-12-month margin of a
    platinum or gold customer (inf when nobody has a positive margin)."""
    year = (tx["ts"] >= at - pd.Timedelta(days=FIRST_YEAR_DAYS)) & (tx["ts"] < at)
    margin = tx.loc[year].groupby("customer_id", sort=False, observed=True)["margin"].sum()
    return fit_cuts(pd.DataFrame({"margin_365d": margin.to_numpy()}), shares)[1]


def first_year(
    data: CleanData, signup_from: pd.Timestamp, signup_to: pd.Timestamp, cut: float
) -> pd.DataFrame:
    """Customers who signed up in [signup_from, signup_to): attributes and first year."""
    cust = data.customers
    keep = ((cust["signup_date"] >= signup_from) & (cust["signup_date"] < signup_to)).to_numpy()
    cohort = cust.loc[keep].reset_index(drop=True)
    n = len(cohort)
    ids = pd.Index(cohort["customer_id"].to_numpy())
    tx = data.transactions
    code = ids.get_indexer(pd.Index(tx["customer_id"].to_numpy()))
    mine = code >= 0
    code = code[mine]
    ts = tx["ts"].to_numpy()[mine]
    signup = cohort["signup_date"].to_numpy()[code]
    inside = (ts >= signup) & (ts < signup + np.timedelta64(FIRST_YEAR_DAYS, "D"))
    code = code[inside]
    amount = tx["amount"].to_numpy()[mine][inside]
    margin = np.bincount(code, tx["margin"].to_numpy()[mine][inside], minlength=n)
    families = list(data.families)
    fam = pd.Categorical(tx["family"].to_numpy()[mine][inside], categories=families).codes
    bought = amount > 0
    nf = len(families)
    counts = np.bincount(code[bought] * nf + fam[bought], minlength=n * nf).reshape(n, nf)
    out = pd.concat([cohort[["customer_id"]], attribute_frame(cohort)], axis=1)
    out[LABEL] = ((margin > 0) & (margin >= cut)).astype("int8")
    out[MARGIN] = margin
    out[SPEND] = np.bincount(code, amount, minlength=n)
    for j, col in enumerate(slugs(families)):
        out[f"{BUY_PREFIX}{col}"] = (counts[:, j] > 0).astype("int8")
    names = attribute_names(cust)
    out.attrs["attributes"] = dict(zip(names, attribute_frame(cust.head(0)).columns, strict=True))
    out.attrs["tier_cut"] = float(cut)
    return out


def cohort_snapshot(frame: pd.DataFrame, data: CleanData, signup_from: pd.Timestamp) -> Snapshot:
    """A cohort table as a Snapshot (as_of: the window's first sign-up day; horizon a year)."""
    return Snapshot(
        frame,
        signup_from,
        FIRST_YEAR_DAYS,
        True,
        tuple(data.families),
        tuple(data.channels),
    )


def build_cohorts(
    data: CleanData,
    until: pd.Timestamp | None = None,
    cohort_days: int = 182,
    shares: tuple[float, float, float] = SegmentsConfig().tier_shares,
) -> tuple[Snapshot, Snapshot]:
    """(training, evaluation) cohort tables; ValueError when the data is too short, has no
    attributes, or the training cohort has fewer than ``MIN_TRAIN`` customers."""
    if not attribute_names(data.customers):
        raise ValueError(
            "prospect: the customers table has no attribute columns besides customer_id and "
            "signup_date; a look-alike of people without history needs some"
        )
    w = plan_windows(data, until, cohort_days)
    tx = data.transactions.loc[data.transactions["ts"] < w.end]
    train_data = CleanData(tx.loc[tx["ts"] < w.train_labels_end], data.customers, data.report)
    train = first_year(
        train_data, w.start, w.split, tier_cut(train_data.transactions, w.train_labels_end, shares)
    )
    eval_data = CleanData(tx, data.customers, data.report)
    evaluation = first_year(eval_data, w.split, w.eval_end, tier_cut(tx, w.end, shares))
    if len(train) < MIN_TRAIN:
        raise ValueError(
            f"prospect: {len(train)} customers signed up before {w.split:%Y-%m-%d}; "
            f"need at least {MIN_TRAIN} with a complete first year to fit on"
        )
    return cohort_snapshot(train, data, w.start), cohort_snapshot(evaluation, data, w.split)


def attribute_columns(frame: pd.DataFrame) -> list[str]:
    """The attribute inputs of a cohort or prospects table."""
    return [c for c in frame.columns if str(c).startswith(ATTR_PREFIX)]


def build_tables(data: CleanData, inputs: TaskInputs) -> tuple[Snapshot, Snapshot]:
    """The model table's hook (``TaskParts.tables``): the cohorts of the data before
    ``inputs.until``, and before ``inputs.holdout_from`` (no first year reaches into it)."""
    end = inputs.until
    if inputs.holdout_from is not None:
        held = pd.Timestamp(inputs.holdout_from)
        end = held if end is None else min(pd.Timestamp(end), held)
    return build_cohorts(data, end)
