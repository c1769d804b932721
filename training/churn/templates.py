"""The reason-code table: sentence templates and readable names per churn feature.

See ``training.churn.reasons`` for the template language; everything here is plain JSON
data stored in the model manifest.
"""

from __future__ import annotations

from training.data.features import slug

DERIVED: dict[str, list[str]] = {
    "spend_drop_pct": ["pct_drop", "spend_last_90d", "spend_prev_90d"],
    "return_rate_pct": ["percent", "return_rate"],
}
_SPEND_DOWN: dict = {
    "text": "spend down {spend_drop_pct:.0f}% over the last 90 days",
    "when": [["spend_drop_pct", ">=", 10]],
}
_NOTHING_90D: dict = {
    "text": "nothing bought in the last 90 days",
    "when": [["spend_last_90d", "<=", 0]],
}
_FEW_BUYS: list[dict] = [
    {"text": "only bought 1 time", "when": [["frequency", "<=", 1]]},
    {"text": "only bought {frequency:.0f} times", "when": [["frequency", "<", "median"]]},
]
_ONE_DAY: dict = {"text": "all purchases on a single day", "when": [["n_purchase_days", "<=", 1]]}
# a short usual gap raises risk only together with a long silence: the same story as recency,
# told in the same words so the duplicate is dropped and the next driver shows
_STOPPED_HABIT: dict = {
    "text": "no purchase for {recency_days:.0f} days, usual gap {ipt_mean_days:.0f}",
    "when": [["recency_days", ">", "ipt_mean_days"], ["ipt_mean_days", "<", "median"]],
}
TEMPLATES: dict[str, list[dict]] = {
    "recency_days": [
        {
            "text": "no purchase for {recency_days:.0f} days, usual gap {ipt_mean_days:.0f}",
            "when": [["recency_days", ">", "ipt_mean_days"]],
        },
        {"text": "no purchase for {recency_days:.0f} days", "when": []},
    ],
    "spend_trend": [_NOTHING_90D, _SPEND_DOWN],
    "spend_last_90d": [_NOTHING_90D, _SPEND_DOWN],
    "spend_prev_90d": [_SPEND_DOWN],
    "return_rate": [
        {"text": "returns {return_rate_pct:.0f}% of purchases", "when": [["return_rate", ">", 0]]}
    ],
    "frequency": _FEW_BUYS,
    "n_transactions": _FEW_BUYS,
    "n_purchase_days": _FEW_BUYS,
    "btyd_frequency": _FEW_BUYS,
    "tenure_days": [
        {
            "text": "customer for only {tenure_days:.0f} days",
            "when": [["tenure_days", "<", "median"]],
        }
    ],
    "ipt_mean_days": [
        _ONE_DAY,
        _STOPPED_HABIT,
        {
            "text": "usually buys only every {ipt_mean_days:.0f} days",
            "when": [["ipt_mean_days", ">", "median"]],
        },
    ],
    "ipt_std_days": [
        _ONE_DAY,
        _STOPPED_HABIT,
        {"text": "only bought on 2 days so far", "when": [["n_purchase_days", "<=", 2]]},
        {
            "text": "irregular buyer: gaps vary by {ipt_std_days:.0f} days",
            "when": [["ipt_std_days", ">", "median"]],
        },
    ],
    "monetary_mean": [
        {
            "text": "small baskets: {monetary_mean:.0f} per purchase on average",
            "when": [["monetary_mean", "<", "median"]],
        }
    ],
    "spend_365d": [
        {
            "text": "spent only {spend_365d:.0f} in the last 12 months",
            "when": [["spend_365d", "<", "median"]],
        }
    ],
}
LABELS: dict[str, str] = {
    "recency_days": "days since last purchase",
    "frequency": "number of purchases",
    "n_transactions": "number of transactions",
    "monetary_mean": "average basket",
    "spend_total": "total spend",
    "gross_spend": "gross spend",
    "margin_total": "total margin",
    "margin_365d": "margin in the last 12 months",
    "spend_365d": "spend in the last 12 months",
    "tenure_days": "days as a customer",
    "days_since_first": "days since first purchase",
    "return_rate": "share of returns",
    "spend_last_90d": "spend in the last 90 days",
    "spend_prev_90d": "spend in the 90 days before",
    "spend_trend": "spend trend (last 90 vs previous 90 days)",
    "weekend_share": "share of weekend shopping",
    "n_purchase_days": "number of purchase days",
    "btyd_frequency": "number of repeat purchase days",
    "btyd_recency": "days between first and last purchase",
    "btyd_T": "days since first purchase",
    "btyd_monetary": "average repeat-day spend",
    "ipt_mean_days": "usual gap between purchases (days)",
    "ipt_std_days": "variation of the gap between purchases (days)",
    "btyd_prob_alive": "chance of still being an active customer",
    "btyd_p_no_purchase": "chance of no purchase in the horizon from the buying pattern",
    "btyd_expected_purchases": "expected purchases from the buying pattern",
}


def readable_labels(
    feature_names: list[str], families: tuple[str, ...], channels: tuple[str, ...]
) -> dict[str, str]:
    """A readable name per feature; family and channel columns use the original names."""
    fam = {slug(f): str(f) for f in families}
    chan = {slug(c): str(c) for c in channels}
    out: dict[str, str] = {}
    for name in feature_names:
        head, _, tail = name.partition("__")
        if name in LABELS:
            out[name] = LABELS[name]
        elif head == "fam_share":
            out[name] = f"share of spend on {fam.get(tail, tail)}"
        elif head == "fam_count":
            out[name] = f"purchases of {fam.get(tail, tail)}"
        elif head == "chan_share":
            out[name] = f"share of purchases via {chan.get(tail, tail)}"
        elif name.startswith("attr_"):
            out[name] = name.removeprefix("attr_").replace("_", " ")
        else:
            out[name] = name.replace("_", " ")
    return out
