"""Synthetic customers, transactions and ground truth from latent buy-till-you-die archetypes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from training.data.simulator import archetypes as sa
from training.data.simulator.lines import Customers, Lines, make_lines, make_returns
from training.data.simulator.process import (
    WeeklyClock,
    sample_categories,
    segment_offsets,
    simulate_purchases,
)
from training.data.simulator.responses import true_responses

DRIFTS = ("price", "mix", "churn")
NS_PER_SECOND = 1_000_000_000
MAX_CUSTOMERS = 50_000_000
CHUNK_CUSTOMERS = 100_000
TABLES = ("transactions", "customers", "ground_truth", "ground_truth_responses")
OUTPUT_FIELDS = ("customer", "seconds", "amount", "margin", "family", "channel", "quantity")


@dataclass(frozen=True)
class SynthConfig:
    """What to generate; every field has a default that gives a realistic small shop."""

    n_customers: int = 5000
    start: str = "2024-01-01"
    end: str = "2025-12-31"
    n_families: int = 6
    seed: int = 0
    drift: str | None = None
    drift_start: str | None = None
    horizon_days: int = 90


@dataclass(frozen=True)
class SynthData:
    """The observed tables (``transactions``, ``customers``), the latent ``ground_truth`` and
    the true response to offers (``ground_truth_responses``, see ``simulator.responses``)."""

    transactions: pd.DataFrame
    customers: pd.DataFrame
    ground_truth: pd.DataFrame
    ground_truth_responses: pd.DataFrame


@dataclass(frozen=True)
class _Times:
    """The config's dates as seconds since ``epoch`` (a Monday 00:00 on or before start)."""

    epoch: pd.Timestamp
    start: int
    end: int
    future_end: int
    drift: int | None


def _timestamp(value: str, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a date like 2024-01-31, got {value!r}") from exc
    if ts is pd.NaT or ts.tzinfo is not None:
        raise ValueError(f"{name} must be a date without time zone like 2024-01-31, got {value!r}")
    return ts


def _check_config(config: SynthConfig) -> _Times:
    """Raise ValueError naming the parameter and its allowed values; return the dates."""
    if not 1 <= config.n_customers <= MAX_CUSTOMERS:
        raise ValueError(
            f"n_customers must be between 1 and {MAX_CUSTOMERS:,}, got {config.n_customers}"
        )
    if not sa.MIN_FAMILIES <= config.n_families <= sa.MAX_FAMILIES:
        raise ValueError(
            f"n_families must be between {sa.MIN_FAMILIES} and {sa.MAX_FAMILIES}, "
            f"got {config.n_families}"
        )
    if not 1 <= config.horizon_days <= 3650:
        raise ValueError(f"horizon_days must be between 1 and 3650, got {config.horizon_days}")
    if config.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {config.seed}")
    start, end = _timestamp(config.start, "start"), _timestamp(config.end, "end")
    if not start + pd.Timedelta(days=7) <= end <= start + pd.Timedelta(days=36500):
        raise ValueError(
            f"end must be 7 days to 100 years after start, got start={config.start} "
            f"end={config.end}"
        )
    if config.drift not in (None, *DRIFTS):
        raise ValueError(f"drift must be None or one of {', '.join(DRIFTS)}, got {config.drift!r}")
    if (config.drift is None) != (config.drift_start is None):
        raise ValueError("drift_start is required with drift, and allowed only with drift")
    epoch = start.normalize() - pd.Timedelta(days=start.dayofweek)

    def seconds(ts: pd.Timestamp) -> int:
        return int((ts - epoch) // pd.Timedelta(seconds=1))

    drift = None
    if config.drift_start is not None:
        drift_ts = _timestamp(config.drift_start, "drift_start")
        if not start < drift_ts <= end:
            raise ValueError(
                f"drift_start must lie in (start, end] = ({config.start}, {config.end}], "
                f"got {config.drift_start}"
            )
        drift = seconds(drift_ts)
    future_end = end + pd.Timedelta(days=config.horizon_days)
    return _Times(epoch, seconds(start), seconds(end), seconds(future_end), drift)


def _draw_customers(rng: np.random.Generator, n: int) -> Customers:
    """Archetype and latent traits of every customer."""
    arch = rng.choice(len(sa.ARCHETYPES), size=n, p=[a.share for a in sa.ARCHETYPES])

    def param(field: str) -> np.ndarray:
        return np.array([getattr(a, field) for a in sa.ARCHETYPES])[arch]

    shape = param("rate_shape")
    rate = rng.gamma(shape, param("rate_mean") / shape)
    dropout = rng.beta(param("dropout_a"), param("dropout_b"))
    destroyer = rng.random(n) < param("p_value_destroyer")
    mean_discount = param("discount_mean")
    discount = np.minimum(rng.beta(2.0, 2.0 / mean_discount - 2.0), 0.3)
    discount = np.where(destroyer, rng.uniform(*sa.DESTROYER_DISCOUNT, size=n), discount)
    gamma_mix = rng.gamma(20.0 * np.array([a.channel_mix for a in sa.ARCHETYPES])[arch])
    return Customers(
        archetype=arch.astype(np.int8),
        rate_per_year=rate,
        dropout=dropout,
        spend=rng.gamma(6.0, 1.0 / 6.0, size=n),
        discount=discount,
        return_rate=np.where(destroyer, sa.DESTROYER_RETURN_RATE, param("return_rate")),
        destroyer=destroyer,
        partial=rng.random(n) < param("p_partial_churn"),
        decay_onset=rng.random(n),  # share of the customer's span, scaled later
        decay_days=rng.uniform(*sa.DECAY_DAYS, size=n),
        channel_cdf=np.cumsum(gamma_mix / gamma_mix.sum(axis=1, keepdims=True), axis=1),
    )


def _categorical(codes: np.ndarray, labels: tuple[str, ...]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes.astype(np.int8, copy=False), categories=pd.Index(labels))


def _attributes(rng: np.random.Generator, arch: np.ndarray) -> dict[str, pd.Categorical[str]]:
    """Observed attributes drawn from archetype-specific distributions."""
    out = {}
    for column, field, labels in (
        ("age_band", "age_mix", sa.AGE_BANDS),
        ("region", "region_mix", sa.REGIONS),
        ("acquisition_channel", "acquisition_mix", sa.ACQUISITION),
    ):
        codes = sample_categories(sa.attribute_mix(field), arch, rng.random(len(arch)))
        out[column] = _categorical(codes, labels)
    return out


def _to_datetime(epoch: pd.Timestamp, seconds: np.ndarray) -> np.ndarray:
    nanoseconds = seconds.astype(np.int64) * NS_PER_SECOND
    nanoseconds += epoch.value
    return nanoseconds.view("datetime64[ns]")


def _sorted_rows(
    purchases: Lines, returns: Lines, keep: np.ndarray, keep_ret: np.ndarray
) -> dict[str, np.ndarray]:
    """Output columns of the kept purchase and return rows in (customer, time) order.

    Purchases are already in that order; only the few returns are sorted, then inserted.
    """
    ret_idx = np.flatnonzero(keep_ret)
    ret_idx = ret_idx[np.argsort(returns.sort_key()[ret_idx], kind="stable")]
    ret_pos = np.searchsorted(
        purchases.sort_key()[keep], returns.sort_key()[ret_idx], side="right"
    ) + np.arange(len(ret_idx))
    from_p = np.ones(int(keep.sum()) + len(ret_idx), dtype=bool)
    from_p[ret_pos] = False
    out = {}
    for name in OUTPUT_FIELDS:
        p, r = getattr(purchases, name), getattr(returns, name)
        col = np.empty(len(from_p), dtype=p.dtype)
        col[from_p] = p[keep]
        col[ret_pos] = r[ret_idx]
        out[name] = col
    return out


def synthesize(config: SynthConfig) -> SynthData:
    """Generate transactions, customers and the latent ground truth for ``config``.

    The same config (seed included) always gives identical frames. Transactions end at
    ``end``; the process is simulated ``horizon_days`` further to measure the truth.
    Customers are generated in fixed blocks of ``CHUNK_CUSTOMERS``, each vectorised with
    its own random streams: arrays that fit the caches are faster and need less memory.
    """
    times = _check_config(config)
    starts = range(0, config.n_customers, CHUNK_CUSTOMERS)
    seeds = np.random.SeedSequence(config.seed).spawn(len(starts))
    parts = [
        _synthesize_block(config, times, first_id, seed)
        for first_id, seed in zip(starts, seeds, strict=True)
    ]
    if len(parts) == 1:
        return parts[0]
    return SynthData(*(_concat([getattr(p, name) for p in parts]) for name in TABLES))


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack frames with the same columns and dtypes; ~10x faster than ``pd.concat`` here."""
    columns: dict[str, object] = {}
    for name, dtype in frames[0].dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            codes = np.concatenate([f[name].cat.codes.to_numpy() for f in frames])
            columns[str(name)] = pd.Categorical.from_codes(codes, dtype=dtype)
        else:
            columns[str(name)] = np.concatenate([f[name].to_numpy() for f in frames])
    return pd.DataFrame(columns, copy=False)


def _synthesize_block(
    config: SynthConfig, times: _Times, first_id: int, seed: np.random.SeedSequence
) -> SynthData:
    """Customers ``first_id + 1`` to ``first_id + CHUNK_CUSTOMERS`` and their rows."""
    # a 7th stream for the response truth, an 8th for the wallet: spawn(n) starts with the
    # same children as spawn(n - 1), so adding a stream changes none of the others
    streams = [np.random.default_rng(s) for s in seed.spawn(8)]
    n = min(CHUNK_CUSTOMERS, config.n_customers - first_id)
    cust = _draw_customers(streams[0], n)
    arch = cust.archetype.astype(np.int64)
    clock = WeeklyClock(sa.weekly_profile())
    rows = np.arange(len(sa.ARCHETYPES))

    def op(seconds: int) -> np.ndarray:  # operational hours of a date, per customer
        return clock.to_operational(np.full(len(rows), seconds / 3600.0), rows)[arch]

    op_start, op_end, op_future = op(times.start), op(times.end), op(times.future_end)
    first = op_start + streams[1].random(n) * (op_end - op_start)
    rate_op = cust.rate_per_year / sa.HOURS_PER_YEAR
    count, died, tau = simulate_purchases(streams[1], rate_op, cust.dropout, first, op_future)
    basket_cust = np.repeat(np.arange(n), count)
    basket_s = np.floor(clock.to_real(tau, arch[basket_cust]) * 3600.0).astype(np.int64)
    lines, keep_basket, killed = make_lines(
        streams[2], streams[5], config.n_families, config.drift, times.drift,
        cust, basket_cust, basket_s, times.future_end,
    )  # fmt: skip
    returns = make_returns(streams[3], cust, lines)
    keep = keep_basket[lines.link]
    keep_ret = keep[returns.link] & (returns.seconds <= times.future_end)
    observed = _sorted_rows(lines, returns, keep & (lines.seconds <= times.end),
                            keep_ret & (returns.seconds <= times.end))  # fmt: skip
    observed["customer"] += first_id + 1  # ids start at 1
    transactions = pd.DataFrame(
        {
            "customer_id": observed["customer"],
            "ts": _to_datetime(times.epoch, observed["seconds"]),
            "amount": observed["amount"],
            "margin": observed["margin"],
            "family": _categorical(observed["family"], sa.family_names(config.n_families)),
            "channel": _categorical(observed["channel"], sa.CHANNELS),
            "quantity": observed["quantity"],
        },
        copy=False,  # the arrays are fresh; copying would only consolidate blocks
    )
    first_s = np.floor(clock.to_real(first, arch) * 3600.0).astype(np.int64)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(first_id + 1, first_id + n + 1, dtype=np.int64),
            "signup_date": _to_datetime(times.epoch, first_s).astype("datetime64[D]")
            .astype("datetime64[ns]"),
            **_attributes(streams[4], arch),
        }
    )  # fmt: skip
    truth = _ground_truth(config, times, cust, lines, returns, keep, keep_ret, died | killed)
    truth["customer_id"] += first_id
    truth["oracle_churn_prob"] = np.where(
        truth["alive_at_end"].to_numpy(), np.exp(-rate_op * (op_future - op_end)), 1.0
    )
    spend_12m = _spend_12m(observed, first_id, n, times.end)
    wallet = _wallet(streams[7], cust, spend_12m)
    truth["true_wallet_12m"] = wallet
    truth["true_share_of_wallet"] = np.where(wallet > 0, np.clip(spend_12m / wallet, 0, 1), 0.0)
    alive = truth["alive_at_end"].to_numpy()
    responses = true_responses(
        streams[6], cust.archetype, cust.rate_per_year, cust.discount, cust.destroyer, alive,
        config.n_families,
    )  # fmt: skip
    responses["customer_id"] += first_id
    return SynthData(transactions, customers, truth, responses)


def _spend_12m(observed: dict[str, np.ndarray], first_id: int, n: int, end: int) -> np.ndarray:
    """Each customer's net spend with us in the 365 days up to ``end`` (>= 0)."""
    recent = observed["seconds"] > end - 365 * 86_400
    who = observed["customer"][recent] - first_id - 1
    return np.clip(np.bincount(who, weights=observed["amount"][recent], minlength=n), 0, None)


def _wallet(rng: np.random.Generator, cust: Customers, spend_12m: np.ndarray) -> np.ndarray:
    """The true yearly wallet: the archetype's need per unit of basket size x the customer's
    basket-size trait x lognormal noise, and never less than what they spent with us."""
    per_spend = np.array([sa.WALLET_PER_SPEND[a] for a in sa.ARCHETYPE_NAMES])
    need = per_spend[cust.archetype] * cust.spend
    need = need * np.exp(sa.WALLET_NOISE * rng.standard_normal(len(need)))
    wallet: np.ndarray = np.round(np.maximum(need, spend_12m), 2)
    return wallet


def _ground_truth(
    config: SynthConfig,
    times: _Times,
    cust: Customers,
    lines: Lines,
    returns: Lines,
    keep: np.ndarray,
    keep_ret: np.ndarray,
    died: np.ndarray,
) -> pd.DataFrame:
    """Latent state at ``end`` and what really happens in (end, end + horizon]."""
    n = len(cust.archetype)
    kept_s = lines.seconds[keep]
    last_s = kept_s[segment_offsets(np.bincount(lines.customer[keep], minlength=n))[1:] - 1]
    dead_at_end = died & (last_s <= times.end)
    death = np.where(dead_at_end, last_s, 0)
    death_date = pd.Series(_to_datetime(times.epoch, death)).where(dead_at_end)

    def future(rows: Lines, mask: np.ndarray) -> np.ndarray:
        return mask & (rows.seconds > times.end) & (rows.seconds <= times.future_end)

    fut, fut_ret = future(lines, keep), future(returns, keep_ret)

    def total(values: np.ndarray, ret_values: np.ndarray) -> np.ndarray:
        a = np.bincount(lines.customer[fut], weights=values[fut], minlength=n)
        b = np.bincount(returns.customer[fut_ret], weights=ret_values[fut_ret], minlength=n)
        return np.round(a + b, 2)

    first_line = fut & lines.first_in_basket
    churn_after = np.minimum(cust.dropout * sa.CHURN_DRIFT_FACTOR, sa.CHURN_DRIFT_MAX_P)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "archetype": _categorical(cust.archetype, sa.ARCHETYPE_NAMES),
            "rate_per_year": cust.rate_per_year,
            "dropout_prob": cust.dropout,
            "dropout_prob_after_drift": churn_after if config.drift == "churn" else cust.dropout,
            "death_date": death_date.to_numpy(dtype="datetime64[ns]"),
            "alive_at_end": ~dead_at_end,
            "partial_churner": cust.partial,
            "value_destroyer": cust.destroyer,
            "future_purchases": np.bincount(lines.customer[first_line], minlength=n),
            "future_spend": total(lines.amount, returns.amount),
            "future_margin": total(lines.margin, returns.margin),
        }
    )


def write_synth(data: SynthData, out_dir: Path) -> list[Path]:
    """Write the four tables as Parquet files in ``out_dir`` (created if missing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLES:
        path = out_dir / f"{name}.parquet"
        getattr(data, name).to_parquet(path, index=False)
        paths.append(path)
    return paths
