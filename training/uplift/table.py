"""The uplift training table: matured responses joined with each customer's features at
decision time, one row per customer, and the held-out split. Pure functions on frames.

Input: the rows of ``training/data/outcomes.py::responses`` (issue 14's column contract:
``decision_id, ts, customer_id, campaign, offer_id, family, kind, group, expected_response,
response_window_days, responded, matured, ...``). Each row belongs to an *arm*: the offer's
family (slug) for family offers, ``any`` for the kinds in ``UpliftConfig.any_purchase_kinds``
(retention: the response is any purchase); other rows are left out.

Output layout, one row per customer (a Snapshot frame, so every Snapshot consumer works):
the features at the customer's earliest decision's ``store_as_of`` (what the service saw
then; never after the decision's ``ts``), and per arm the outcome side, prefixed ``label_``
so ``Snapshot.feature_columns`` keeps it out of the model inputs:
``label_treated__<arm>`` (1/0), ``label_responded__<arm>`` (1/0) and
``label_expected_response__<arm>`` (the probability the service expected, i.e. the
propensity ranking to compare with), NaN where the customer had no decision for the arm.
A customer counts once per arm: their first decision for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from training.data.features import slug
from training.uplift.config import ANY_ARM, UpliftConfig

REQUIRED = (
    "decision_id",
    "ts",
    "customer_id",
    "offer_id",
    "family",
    "kind",
    "group",
    "expected_response",
    "response_window_days",
    "responded",
    "matured",
)
GROUPS = ("treated", "control")
_PREFIXES = {
    "treated": "label_treated__",
    "responded": "label_responded__",
    "expected": "label_expected_response__",
}


def treated_column(arm: str) -> str:
    return f"{_PREFIXES['treated']}{arm}"


def responded_column(arm: str) -> str:
    return f"{_PREFIXES['responded']}{arm}"


def expected_column(arm: str) -> str:
    return f"{_PREFIXES['expected']}{arm}"


def table_arms(columns: Iterable[str]) -> list[str]:
    """The arms of a training table, in column order."""
    prefix = _PREFIXES["treated"]
    return [c[len(prefix) :] for c in columns if c.startswith(prefix)]


def _check(responses: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in responses.columns]
    if missing:
        raise ValueError(
            f"responses: required column(s) {', '.join(missing)} missing; build them with "
            "training.data.outcomes.responses(decisions, transactions)"
        )
    bad = responses.loc[~responses["group"].isin(GROUPS), "group"]
    if len(bad):
        raise ValueError(
            f"responses: column group must be treated or control; {len(bad)} row(s) are not, "
            f"e.g. row {bad.index[0]}: {bad.iloc[0]!r}"
        )


def arm_of(responses: pd.DataFrame, config: UpliftConfig) -> pd.Series:
    """Each row's arm: the family slug, ``any`` for any-purchase kinds, None otherwise."""
    family = responses["family"]
    has_family = family.notna() & (family.astype(str) != "")
    slugs = family.where(has_family).map(lambda f: slug(f) if isinstance(f, str) else None)
    anyp = ~has_family & responses["kind"].isin(config.any_purchase_kinds)
    arm = pd.Series(np.where(anyp, ANY_ARM, slugs.astype(object)), index=responses.index)
    return arm.where(has_family | anyp, None)


def _utc_naive(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, utc=True)
    return stamps.dt.tz_convert(None)


def decision_as_of(responses: pd.DataFrame, decisions: pd.DataFrame | None = None) -> pd.Series:
    """The feature date of each row: the decision's ``store_as_of`` (from the responses, else
    from the decisions frame by decision_id), else the decision's day; never after ``ts``."""
    ts = _utc_naive(responses["ts"])
    if "store_as_of" in responses.columns:
        store = responses["store_as_of"]
    elif decisions is not None and {"decision_id", "store_as_of"} <= set(decisions.columns):
        lookup = decisions.drop_duplicates("decision_id").set_index("decision_id")["store_as_of"]
        store = responses["decision_id"].map(lookup)
    else:
        store = pd.Series(pd.NaT, index=responses.index)
    as_of = _utc_naive(store).dt.normalize().fillna(ts.dt.normalize())
    out: pd.Series = as_of.where(as_of <= ts, ts.dt.normalize())
    return out


def first_rows(
    responses: pd.DataFrame, config: UpliftConfig, decisions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Matured rows with an arm and a customer: the first decision per (customer, arm), as
    ``customer_id, arm, as_of, treated, responded, expected_response, window_days``."""
    _check(responses)
    arm = arm_of(responses, config)
    keep = responses["matured"].fillna(False).astype(bool) & arm.notna()
    keep &= responses["customer_id"].notna()
    rows = responses.loc[keep]
    out = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "arm": arm[keep].to_numpy(),
            "ts": _utc_naive(rows["ts"]).to_numpy(),
            "as_of": decision_as_of(rows, decisions).to_numpy(),
            "decision_id": rows["decision_id"].astype(str).to_numpy(),
            "offer_id": rows["offer_id"].astype(str).to_numpy(),
            "treated": (rows["group"] == "treated").to_numpy(dtype="float64"),
            "responded": rows["responded"].fillna(False).astype(bool).to_numpy(dtype="float64"),
            "expected_response": pd.to_numeric(rows["expected_response"]).to_numpy("float64"),
            "window_days": pd.to_numeric(rows["response_window_days"]).to_numpy("float64"),
        }
    )
    out = out.sort_values(["ts", "decision_id", "offer_id"], kind="stable")
    out = out.drop_duplicates(["customer_id", "arm"], keep="first")
    return out.drop(columns=["decision_id", "offer_id"]).reset_index(drop=True)


def align_ids(ids: pd.Series, like: pd.Series) -> pd.Series:
    """Decision ids (JSON strings) in the features' id type; unparsable ones become NA."""
    if pd.api.types.is_integer_dtype(like):
        return pd.to_numeric(ids.astype(str), errors="coerce").astype("Int64")
    return ids.astype(str)


def training_table(
    rows: pd.DataFrame, features_by_as_of: Mapping[pd.Timestamp, pd.DataFrame]
) -> pd.DataFrame:
    """One row per customer: features at their earliest ``as_of`` and the outcome columns
    per arm (see the module docstring). Customers without features then are dropped."""
    if rows.empty:
        raise ValueError("no matured responses with an uplift arm to train on")
    some = next(iter(features_by_as_of.values()))
    rows = rows.assign(customer_id=align_ids(rows["customer_id"], some["customer_id"]))
    rows = rows[rows["customer_id"].notna()]
    feature_date = rows.groupby("customer_id", sort=True)["as_of"].min()
    parts = []
    for as_of, ids in feature_date.groupby(feature_date):
        if as_of not in features_by_as_of:
            raise ValueError(f"no features given for as_of {as_of:%Y-%m-%d}")
        frame = features_by_as_of[as_of]
        parts.append(frame[frame["customer_id"].isin(ids.index)])
    features = pd.concat(parts, ignore_index=True)
    wide = rows.pivot(index="customer_id", columns="arm")
    out = features
    arms = sorted(rows["arm"].unique(), key=lambda a: (a == ANY_ARM, a))
    for arm in arms:
        outcome = pd.DataFrame(
            {
                "customer_id": wide.index.to_numpy(),
                treated_column(arm): wide[("treated", arm)].to_numpy(dtype="float64"),
                responded_column(arm): wide[("responded", arm)].to_numpy(dtype="float64"),
                expected_column(arm): wide[("expected_response", arm)].to_numpy(dtype="float64"),
            }
        ).astype({"customer_id": features["customer_id"].dtype})
        out = out.merge(outcome, on="customer_id", how="left", validate="one_to_one")
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def held_out(customer_ids: pd.Series, fraction: float, salt: str) -> np.ndarray:
    """A stable customer split: ``u < fraction`` with u from a salted blake2b of the id, so a
    customer is held out in every run (the champion never trained on today's held-out)."""
    scale = float(2**64)

    def u(customer: object) -> float:
        digest = hashlib.blake2b(f"{salt}\x1f{customer}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / scale

    return np.fromiter((u(c) < fraction for c in customer_ids), dtype=bool, count=len(customer_ids))


def split_table(table: pd.DataFrame, config: UpliftConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, held-out rows) of a training table, split by customer."""
    mask = held_out(table["customer_id"], config.eval_fraction, config.split_salt)
    return table[~mask].reset_index(drop=True), table[mask].reset_index(drop=True)
