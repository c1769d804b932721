"""What worked: the campaigns report from the response rows (``training.data.outcomes``).

Per campaign and offer, and broken down by channel, value tier, segment and micro-segment
(``training.economics.cells``; a store without them leaves that breakdown out): treated and
control sizes, response rates, the expected response rate (mean predicted probability of
the treated) and actual / expected with a 95 % interval, lift (treated − control) with a
95 % interval, incremental margin, cost, ROI and one plain sentence. Only matured rows
(the data covers their whole response window) count.

Intervals: Wilson score intervals for each rate; the lift interval is Newcombe's hybrid
score interval for a difference of proportions (Newcombe 1998, method 10), which keeps its
coverage for small groups and rates near 0 or 1 where the normal approximation does not.
Actual / expected is the treated rate's Wilson interval divided by the expected rate.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from training.data.decision_log import CONTROL, TREATED, with_none

BREAKDOWNS = ("channel", "value_tier", "segment", "micro_segment")
KEYS = ["campaign", "offer_id"]
FIGURES = [
    "treated", "control", "response_rate_treated", "response_rate_control",
    "expected_response_rate", "actual_vs_expected", "actual_vs_expected_ci_low",
    "actual_vs_expected_ci_high", "lift", "lift_ci_low", "lift_ci_high",
    "incremental_margin", "cost", "roi", "true_lift",
]  # fmt: skip
COLUMNS = [*KEYS, "breakdown", "level", *FIGURES, "verdict", "expectation"]
CI_METHOD = "Newcombe hybrid score (Wilson) interval for the difference of two proportions"


@dataclass(frozen=True)
class CampaignConfig:
    """How the report judges: the confidence level and the smallest group it judges."""

    confidence: float = 0.95
    min_group: int = 30


def wilson(successes: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion (NaN where ``n`` is 0)."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.asarray(successes, dtype=np.float64) / n
        denom = 1.0 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def newcombe(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval of p1 − p2 (NaN where either group is empty)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = x1 / np.asarray(n1, dtype=np.float64), x2 / np.asarray(n2, dtype=np.float64)
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def _points(x: float) -> str:
    return f"{100 * x:.1f}"


def _interval(lo: float, hi: float) -> str:
    joint = "–" if lo >= 0 else " to "
    return f"{_points(lo)}{joint}{_points(hi)}"


def verdict(row: Mapping[Any, Any], config: CampaignConfig) -> str:
    """The plain sentence about a row's lift."""
    treated, control = int(row["treated"]), int(row["control"])
    level = f"{config.confidence:.0%}".replace("%", " %")
    if treated == 0:
        return "no treated customers: everyone was held out"
    if control == 0:
        return "lift unknown: no control group"
    if control < config.min_group:
        return f"control too small to say ({control} in control, {config.min_group} needed)"
    if treated < config.min_group:
        return f"too few treated to say ({treated} treated, {config.min_group} needed)"
    lo, hi = row["lift_ci_low"], row["lift_ci_high"]
    if lo > 0:
        end = "the offer works"
    elif hi < 0:
        end = "the offer backfires: customers respond less when offered it"
    else:
        end = "no clear effect"
    return f"lift {_points(row['lift'])} points, {level} CI {_interval(lo, hi)}: {end}"


def expectation(row: Mapping[Any, Any], config: CampaignConfig) -> str:
    """The plain sentence about actual against expected response."""
    if int(row["treated"]) == 0 or not np.isfinite(row["actual_vs_expected"]):
        return "no expectation to compare"
    lo, hi = row["actual_vs_expected_ci_low"], row["actual_vs_expected_ci_high"]
    if lo > 1:
        end = "above expectations"
    elif hi < 1:
        end = "below expectations"
    else:
        end = "as expected"
    return (
        f"response {_points(row['response_rate_treated'])} % vs "
        f"{_points(row['expected_response_rate'])} % expected "
        f"({row['actual_vs_expected']:.2f}×, CI {lo:.2f}–{hi:.2f}): {end}"
    )


_SUMS = ("treated", "control", "resp_t", "resp_c", "margin_t", "margin_c", "expected_t",
         "true_t")  # fmt: skip


Keys = dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (codes, sorted labels)


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, labels = pd.factorize(values, sort=True)
    return codes, np.asarray(labels, dtype=object)


def _aggregate(arms: dict[str, np.ndarray], keys: Keys) -> pd.DataFrame:
    """Counts and sums per group of ``keys``, one row per group, in label order.

    Groups by one combined integer code and ``np.bincount``: a million rows per grouping
    cost one ``np.unique``, where a pandas groupby-agg over eight columns cost seconds."""
    code = np.zeros(len(next(iter(keys.values()))[0]), dtype=np.int64)
    for codes, labels in keys.values():
        code = code * (len(labels) + 1) + codes + 1
    groups, inverse = np.unique(code, return_inverse=True)
    first = np.zeros(len(groups), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(code))[::-1]  # a row of each group
    out = {}
    for name, (codes, labels) in keys.items():
        out[name] = with_none(labels)[codes[first]]  # code -1 (missing): None
    for name in _SUMS:
        out[name] = np.bincount(inverse, weights=arms[name], minlength=len(groups))
    return pd.DataFrame(out)


def _figures(agg: pd.DataFrame, costs: Mapping[str, float], z: float) -> pd.DataFrame:
    """Rates, intervals, margin, cost and ROI from the counts; NaN where undefined."""
    t = agg["treated"].to_numpy(np.float64)
    c = agg["control"].to_numpy(np.float64)
    rt, rc = agg["resp_t"].to_numpy(np.float64), agg["resp_c"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_t = np.where(t > 0, rt / t, np.nan)
        rate_c = np.where(c > 0, rc / c, np.nan)
        expected = np.where(t > 0, agg["expected_t"].to_numpy() / t, np.nan)
        ratio = np.where(expected > 0, rate_t / expected, np.nan)
        lo_t, hi_t = wilson(rt, t, z)
        ratio_lo = np.where(expected > 0, lo_t / expected, np.nan)
        ratio_hi = np.where(expected > 0, hi_t / expected, np.nan)
        both = (t > 0) & (c > 0)
        lift = np.where(both, rate_t - rate_c, np.nan)
        lift_lo, lift_hi = newcombe(rt, t, rc, c, z)
        per_t = np.where(t > 0, agg["margin_t"].to_numpy() / t, np.nan)
        per_c = np.where(c > 0, agg["margin_c"].to_numpy() / c, np.nan)
        incremental = np.where(both, (per_t - per_c) * t, np.nan)
        unit_cost = agg["offer_id"].map(lambda o: costs.get(o, np.nan)).to_numpy(np.float64)
        cost = unit_cost * t
        roi = np.where(both & (cost > 0), (incremental - cost) / cost, np.nan)
        true_lift = np.where(t > 0, agg["true_t"].to_numpy() / t, np.nan)
    return agg.assign(
        treated=t.astype(np.int64),
        control=c.astype(np.int64),
        response_rate_treated=rate_t,
        response_rate_control=rate_c,
        expected_response_rate=expected,
        actual_vs_expected=ratio,
        actual_vs_expected_ci_low=ratio_lo,
        actual_vs_expected_ci_high=ratio_hi,
        lift=lift,
        lift_ci_low=np.where(both, lift_lo, np.nan),
        lift_ci_high=np.where(both, lift_hi, np.nan),
        incremental_margin=incremental,
        cost=cost,
        roi=roi,
        true_lift=true_lift,
    )


def campaign_report(
    responses: pd.DataFrame,
    costs: Mapping[str, float] | None = None,
    profiles: pd.DataFrame | None = None,
    true_effect: pd.Series | None = None,
    config: CampaignConfig | None = None,
) -> pd.DataFrame:
    """One row per campaign and offer (``breakdown`` ``all``), then one per channel, value
    tier, segment and micro-segment level (``breakdown`` the column, ``level`` its value), columns
    ``COLUMNS``. Only matured rows count.

    ``costs``: offer id -> cost per offer made (the catalogue's; unknown: NaN cost and
    ROI). ``profiles``: customer_id, value_tier, segment, micro_segment (the online store;
    any of the last three may be missing); without it
    those breakdowns are left out. ``true_effect``: p_buy_treated − p_buy_control per
    response row (aligned with ``responses``; the simulator's truth): gives ``true_lift``,
    the mean over the treated; without it the column is left out.
    """
    config = config or CampaignConfig()
    z = float(norm.ppf(0.5 + config.confidence / 2))
    matured = responses["matured"].to_numpy(dtype=bool)
    rows = responses[matured]
    columns = [c for c in COLUMNS if c != "true_lift" or true_effect is not None]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    is_t = rows["group"].to_numpy() == TREATED
    is_c = rows["group"].to_numpy() == CONTROL
    responded = rows["responded"].to_numpy(dtype=bool)
    margin = rows["response_margin"].to_numpy(dtype=np.float64)
    effect = (
        np.zeros(len(rows))
        if true_effect is None
        else np.nan_to_num(true_effect.to_numpy(dtype=np.float64)[matured])
    )
    arms = {
        "treated": is_t.astype(np.float64),
        "control": is_c.astype(np.float64),
        "resp_t": (responded & is_t).astype(np.float64),
        "resp_c": (responded & is_c).astype(np.float64),
        "margin_t": np.where(is_t, margin, 0.0),
        "margin_c": np.where(is_c, margin, 0.0),
        "expected_t": np.where(is_t, rows["expected_response"].to_numpy(np.float64), 0.0),
        "true_t": np.where(is_t, effect, 0.0),
    }
    base = {k: _codes(rows[k].to_numpy(dtype=object)) for k in KEYS}
    levels = {"channel": _codes(rows["channel"].to_numpy(dtype=object))}
    if profiles is not None:
        have = [b for b in BREAKDOWNS[1:] if b in profiles]
        unique = profiles.drop_duplicates("customer_id")
        who, ids = pd.factorize(rows["customer_id"].to_numpy(dtype=object))
        at = pd.Index(unique["customer_id"].astype(str)).get_indexer(pd.Index(ids).astype(str))
        at = np.where(who >= 0, at[np.maximum(who, 0)], -1)
        for name in have:
            levels[name] = _codes(with_none(unique[name].to_numpy(dtype=object))[at])
    parts = [_figures(_aggregate(arms, base), costs or {}, z).assign(breakdown="all", level="all")]
    for name, (codes, labels) in levels.items():
        labels = np.append(labels, "unknown")  # missing values -> "unknown"
        codes = np.where(codes >= 0, codes, len(labels) - 1)
        agg = _aggregate(arms, {**base, "level": (codes, labels)})
        parts.append(_figures(agg, costs or {}, z).assign(breakdown=name))
    report = pd.concat(parts, ignore_index=True)
    records = report.to_dict("records")
    report["verdict"] = [verdict(r, config) for r in records]
    report["expectation"] = [expectation(r, config) for r in records]
    return report[columns].reset_index(drop=True)


# --- the page -------------------------------------------------------------------------------


def _cell(value: object, name: str) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        if not np.isfinite(value):
            return "–"
        if name.startswith(("response_rate", "expected_response", "lift", "true_lift")):
            return f"{100 * value:.1f} %" if "rate" in name else f"{100 * value:+.1f}"
        if name.startswith("actual_vs"):
            return f"{value:.2f}"
        if name == "roi":
            return f"{value:+.0%}"
        return f"{value:,.0f}"
    return html.escape(str(value))


PAGE_COLUMNS = [
    ("offer_id", "offer"), ("treated", "treated"), ("control", "control"),
    ("response_rate_treated", "response treated"), ("response_rate_control", "response control"),
    ("expected_response_rate", "expected"), ("actual_vs_expected", "actual / expected"),
    ("lift", "lift (points)"), ("lift_ci_low", "CI low"), ("lift_ci_high", "CI high"),
    ("true_lift", "true lift"), ("incremental_margin", "incremental margin"),
    ("cost", "cost"), ("roi", "ROI"), ("verdict", "verdict"), ("expectation", "expected?"),
]  # fmt: skip


def _table(frame: pd.DataFrame, first: tuple[str, str] | None) -> str:
    cols = [(c, h) for c, h in PAGE_COLUMNS if c in frame]
    if first is not None:
        cols = [cols[0], first, *cols[1:]]
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in cols)
    body = []
    for record in frame.to_dict("records"):
        works = str(record.get("verdict", ""))
        cls = "good" if works.endswith("works") else "bad" if "backfires" in works else ""
        cells = "".join(f"<td>{_cell(record[c], c)}</td>" for c, _ in cols)
        body.append(f'<tr class="{cls}">{cells}</tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(report: pd.DataFrame, title: str, notes: list[str]) -> str:
    """A self-contained page: the campaign and offer rows, then each breakdown."""
    sections = []
    for campaign, part in report.groupby("campaign", sort=True):
        overall = part[part["breakdown"] == "all"]
        sections.append(f"<h2>{html.escape(str(campaign))}</h2>{_table(overall, None)}")
        for name in BREAKDOWNS:
            sub = part[part["breakdown"] == name]
            if len(sub):
                label = name.replace("_", " ")
                sections.append(f"<h3>by {label}</h3>{_table(sub, ('level', label))}")
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{padding:3px 7px;text-align:right}"
        "td:first-child,th:first-child,td:nth-last-child(-n+2){text-align:left}"
        "tr.good{background:#e3f6e3}tr.bad{background:#fde2e2}table{border-collapse:collapse}"
        "tr:nth-child(even){filter:brightness(0.97)}</style>"
        f"<h1>{html.escape(title)}</h1><ul>{items}</ul>{''.join(sections) or '<p>no rows</p>'}"
    )
