"""A few customers scored without pandas: the models' batch recipes on numpy columns.

``predict_frame`` on a handful of rows costs 10-35 ms per model, almost all of it pandas
set-up (column assignments, ``to_numeric`` per column, frame concatenation), not
arithmetic. The event path scores one to a few customers per update, so it scores them
here: the same learned state, the same numeric cores (XGBoost on the same float32 matrix
and DMatrix, the BTYD formulas, the CLV interval keyed by history, the isotonic map, the
reason templates), on ``Columns`` (name -> 1-D array). The outputs equal
``serving.batch.materialize.score_all``'s (a test checks every column of 300 customers);
a model this module does not know is scored by its ``predict_frame``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import xgboost as xgb

from serving import fast_predict
from serving.rowscore_clv import clv_columns
from serving.scoring import REASONS_FROM, model_outputs
from training.churn.btyd import BTYD_FEATURES, logit_offset
from training.churn.calibration import apply_isotonic
from training.churn.encoding import Encoding, dmatrix
from training.churn.reasons import _template_fields, _values, describe
from training.clv.btyd_part import BTYD_COLUMNS
from training.clv.holdout import probability_no_purchase
from training.tasks import CHURN_HEADS, FittedModel

Columns = dict[str, np.ndarray]


def columns_of(frame: pd.DataFrame) -> Columns:
    """The frame's columns as arrays (their own dtypes), once per update."""
    return {str(c): frame[c].to_numpy() for c in frame.columns}


def num(cols: Mapping[str, np.ndarray], name: str, n: int) -> np.ndarray:
    """A column as float64, as ``pd.to_numeric(errors="coerce")`` gives it; all NaN when
    absent (the callers that need it check first)."""
    values = cols.get(name)
    if values is None:
        return np.full(n, np.nan)
    if values.dtype.kind in "fiub":
        return values.astype("float64")
    return cast(np.ndarray, pd.to_numeric(pd.Series(values), errors="coerce").to_numpy("float64"))


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):  # a list-like value is not missing
        return False


def _text(values: np.ndarray) -> list[str | None]:
    """Attribute values as the encoders read them: missing -> None, else ``str(v)``."""
    return [None if _missing(v) else str(v) for v in values.tolist()]


def design_x(enc: Encoding, cols: Mapping[str, np.ndarray], n: int, model: str) -> np.ndarray:
    """``training.churn.encoding.design_matrix`` on columns (float32, the booster's order)."""
    missing = [c for c in enc.feature_names if c not in cols]
    if missing:
        raise ValueError(f"{model} model needs feature columns {missing} that the input lacks")
    out = np.empty((n, len(enc.feature_names)), dtype=np.float32)
    for j, (name, kind) in enumerate(zip(enc.feature_names, enc.feature_types, strict=True)):
        if kind == "c":
            index = {c: i for i, c in enumerate(enc.categories[name])}
            codes = [index.get(t, -1) if t is not None else -1 for t in _text(cols[name])]
            out[:, j] = np.where(np.asarray(codes) >= 0, codes, np.nan)
        else:
            out[:, j] = num(cols, name, n)
    return out


# ---- churn ---------------------------------------------------------------------------
def _purchase_history(cols: Mapping[str, np.ndarray], n: int) -> tuple[np.ndarray, list]:
    t = num(cols, "btyd_T", n)
    ok = np.isfinite(t) & (t >= 0)  # clv.btyd_part.has_purchase: T = 0 included
    return ok, [num(cols, c, n)[ok] for c in BTYD_COLUMNS[:3]]


def churn_btyd(model: Any, cols: Mapping[str, np.ndarray], n: int) -> Columns:
    """``training.churn.btyd.btyd_features`` on columns."""
    out = {name: np.full(n, np.nan) for name in BTYD_FEATURES}
    ok, hist = _purchase_history(cols, n)
    days = model.btyd_days
    if ok.any():
        alive = model.btyd.alive()
        out["btyd_prob_alive"][ok] = alive.conditional_probability_alive(*hist)
        out["btyd_p_no_purchase"][ok] = probability_no_purchase(alive, days, *hist)
        out["btyd_expected_purchases"][ok] = alive.conditional_expected_purchases(days, *hist)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["recency_over_gap"] = num(cols, "recency_days", n) / num(cols, "ipt_mean_days", n)
        out["purchase_rate"] = num(cols, "n_purchase_days", n) / (num(cols, "btyd_T", n) + 1.0)
    return out


def _churn_dmatrix(model: Any, frame: Mapping[str, np.ndarray], n: int) -> xgb.DMatrix:
    dm = dmatrix(model.encoding, design_x(model.encoding, frame, n, "churn"))
    if model.btyd is not None and model.config.btyd_offset:
        p0 = frame["btyd_p_no_purchase"].astype("float64")
        dm.set_base_margin(logit_offset(p0, model.offset_fallback))
    return dm


def _rescale(model: Any, p: np.ndarray, cols: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """``ChurnModel.predict_proba``'s horizon step (``training.churn.horizon.rescale``)."""
    label_days, days = model.label_days, model.served_days
    if days == label_days or not label_days:
        return p
    out = np.clip(p, 0.0, 1.0) ** (days / label_days)
    if model.btyd is not None and n:
        ok, hist = _purchase_history(cols, n)
        if ok.any():
            alive = model.btyd.alive()
            at_days = probability_no_purchase(alive, days, *hist)
            at_label = probability_no_purchase(alive, label_days, *hist)
            out[ok] = np.clip(p[ok] * at_days / np.maximum(at_label, 1e-12), 0.0, 1.0)
    return cast(np.ndarray, out)


def _take(frame: Mapping[str, np.ndarray], rows: np.ndarray) -> Columns:
    return {k: v[rows] for k, v in frame.items()}


def _reasons(
    model: Any, frame: Mapping[str, np.ndarray], rows: np.ndarray, approx: bool
) -> list[str]:
    """``ChurnModel.reasons`` joined as ``predict_frame`` joins them, for ``rows``."""
    from training.churn.model import REASON_SEPARATOR

    sub, m = _take(frame, rows), len(rows)
    contribs = model.booster.predict(
        _churn_dmatrix(model, sub, m),
        pred_contribs=True,
        approx_contribs=approx,
        validate_features=False,  # the encoding's names, in its order
    )
    names = list(model.encoding.feature_names)
    table, top = model.reason_table, model.config.reason_top
    contribs = np.asarray(contribs)[:, : len(names)]
    order = np.argsort(-contribs, axis=1, kind="stable")[:, : max(top * 3, top)]
    used = [c for c in sub if c in set(names) | _template_fields(table)]
    lists = {c: sub[c].tolist() for c in used}  # Python values, as to_dict("records")
    out = []
    for i in range(m):
        row: dict[str, object] = {c: lists[c][i] for c in used}
        texts: list[str] = []
        values = _values(row, table) if contribs[i, order[i, 0]] > 0 else {}
        for j in order[i]:
            if contribs[i, j] <= 0 or len(texts) == top:
                break
            text = describe(names[j], row, table, values)
            if text is not None and text not in texts:
                texts.append(text)
        out.append(REASON_SEPARATOR.join(texts))
    return out


def churn_columns(
    model: Any, cols: Columns, n: int, reasons_from: float, approx_reasons: bool
) -> Columns:
    """``ChurnModel.predict_frame`` on columns, either head: ``<prefix>_probability`` and
    ``<prefix>_reasons`` (``churn`` or ``churn_partial``)."""
    frame = cols if model.btyd is None else {**cols, **churn_btyd(model, cols, n)}
    dm = _churn_dmatrix(model, frame, n)
    raw = fast_predict.predict(model.booster, dm).astype("float64")
    tie_break = model.config.calibration_tie_break
    calibrated = apply_isotonic(raw, model.calib_x, model.calib_y, tie_break)
    if model.config.target == "churn":
        proba = _rescale(model, calibrated, cols, n)
    elif model.label_days:  # ChurnModel.defined: partial churn needs a recent purchase
        defined = num(cols, "recency_days", n) <= model.label_days
        proba = np.where(defined, calibrated, np.nan)
    else:
        proba = calibrated
    text = np.full(n, "", dtype=object)
    wanted = np.flatnonzero(proba >= reasons_from)
    if len(wanted):
        text[wanted] = _reasons(model, frame, wanted, approx_reasons)
    prefix = model.output_prefix
    return {f"{prefix}_probability": proba, f"{prefix}_reasons": text}


# ---- propensity and segments ---------------------------------------------------------
def propensity_columns(model: Any, cols: Columns, n: int) -> Columns:
    """``PropensityModel.predict_frame`` on columns (the design matrix of ``Design``)."""
    design = model.design
    missing = [c for c in design.numeric if c not in cols]
    if missing:
        raise ValueError(f"features missing for the propensity model: {', '.join(missing)}")
    parts = [np.column_stack([num(cols, c, n) for c in design.numeric])]
    for col, values in design.categories.items():
        text = np.array(_text(cols[col]) if col in cols else [None] * n, dtype=object)
        parts.append((text[:, None] == np.array(values, dtype=object)[None, :]).astype(float))
    x = np.hstack(parts)
    from training.propensity.model import KINDS, output_column

    # one DMatrix for the 8-20 boosters: the same predictions as inplace_predict on x
    # (a test checks them against score_all), a third less per-call set-up than 8-20
    # inplace calls; its names are the design's, those the boosters were trained with
    dm = xgb.DMatrix(x, feature_names=design.names, nthread=1) if n else None
    out: Columns = {}
    for kind in KINDS:
        for s in model.slugs:
            key = f"{kind}:{s}"
            pred = np.full(n, np.nan)
            if key in model.boosters_ and dm is not None:
                booster = model.boosters_[key]
                pred = fast_predict.predict(booster, dm).astype("float64")
            if kind == "first":
                pred = np.where(num(cols, f"fam_count__{s}", n) > 0, np.nan, pred)
            out[output_column(kind, s)] = pred
    return out


def segments_columns(model: Any, cols: Columns, n: int) -> Columns:
    """``SegmentsModel.predict_frame`` on columns: RFM, value tier, segment, probabilities."""
    from training.segments.behaviour import nearest
    from training.segments.config import TIERS
    from training.segments.membership import softmax_proba
    from training.segments.model import LOW_ACTIVITY

    missing = [c for c in model.required_columns() if c not in cols]
    if missing:
        raise ValueError(f"segments: input is missing columns {missing}")
    freq = num(cols, "frequency", n)
    buyers = np.nan_to_num(freq, nan=0.0) > 0
    out: Columns = {}
    monetary = model.config.monetary_column
    for key, col in (("r", "recency_days"), ("f", "frequency"), ("m", monetary)):
        values = num(cols, col, n)
        idx = np.searchsorted(np.asarray(model.rfm_edges[key]), values, side="left")
        s = 5 - idx if key == "r" else 1 + idx
        out[f"rfm_{key}"] = np.where(buyers & np.isfinite(values), s, 1).astype("int64")
    text = (out["rfm_r"] * 100 + out["rfm_f"] * 10 + out["rfm_m"]).astype(str)
    out["rfm_score"] = text.astype(object)
    margin = np.nan_to_num(num(cols, "margin_365d", n), nan=0.0)
    platinum, gold, silver = model.tier_cuts
    out["value_tier"] = np.select(
        [margin <= 0, margin >= platinum, margin >= gold, margin >= silver],
        [TIERS[4], TIERS[0], TIERS[1], TIERS[2]],
        default=TIERS[3],
    ).astype(object)
    raw = np.column_stack([num(cols, c, n) for c in model.features])
    z = (np.where(np.isfinite(raw), raw, model.fill) - model.scale_mean) / model.scale_std
    gross = np.nan_to_num(num(cols, "gross_spend", n), nan=0.0)
    active = (np.nan_to_num(freq, nan=0.0) >= model.config.min_purchases) & (
        gross > model.config.min_gross_spend
    )
    seg = np.where(active, nearest(z, model.centers), -1)
    out["segment"] = np.array([*model.names, LOW_ACTIVITY], dtype=object)[seg]
    out["segment_id"] = np.array([*model.ids, LOW_ACTIVITY], dtype=object)[seg]
    probs = softmax_proba(z, model.coef, model.intercept)
    out.update({c: probs[:, j] for j, c in enumerate(model.prob_columns)})
    return out


def _scorer(name: str, model: object) -> Callable[..., Columns] | None:
    """The column scorer of a model of a class this module knows, else None."""
    kind = type(model).__name__
    if kind == "ChurnModel" and name in CHURN_HEADS.values():
        return churn_columns
    return {
        "PropensityModel": propensity_columns,
        "SegmentsModel": segments_columns,
        "ClvModel": clv_columns,
    }.get(kind)


def score_columns(
    features: pd.DataFrame | Columns,
    scorers: Mapping[str, FittedModel],
    keep: Sequence[str],
    reasons_from: float = REASONS_FROM,
    approx_reasons: bool = False,
) -> Columns:
    """``score_all(features, scorers)`` as columns: the ``keep`` features, then every
    model's outputs by model name, in materialize's order."""
    cols = columns_of(features) if isinstance(features, pd.DataFrame) else features
    n = len(cols["customer_id"])
    out: Columns = {c: cols[c] for c in keep}
    for name in sorted(scorers):
        model = scorers[name]
        scorer = _scorer(name, model)
        if scorer is None:  # a model class without a column path: its own predict_frame
            frame = model_outputs(name, model, pd.DataFrame(cols), reasons_from, approx_reasons)
            out.update({str(c): frame[c].to_numpy() for c in frame.columns})
        elif scorer is churn_columns:
            out.update(churn_columns(model, cols, n, reasons_from, approx_reasons))
        else:
            out.update(scorer(model, cols, n))
    return out
