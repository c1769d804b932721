"""BG/NBD and Gamma-Gamma fit time: cintel's estimators against lifetimes 0.11.3.

    python bench/bench_btyd.py                      # CDNOW master + 1,000,000 simulated
    python bench/bench_btyd.py --customers 200000 --lifetimes-limit 120

Data: the CDNOW master file summarised in days (23,570 customers, observation end
1998-06-30) and customers simulated from BG/NBD (and Gamma-Gamma spends) with numpy, times
in whole days so histories repeat, as in a real daily snapshot. For each data set: wall time
of our fit, of lifetimes' BetaGeoFitter / GammaGammaFitter on the raw customers (what a
lifetimes user runs) and, for reference, lifetimes on the collapsed rows with weights. The
maximum absolute parameter difference is printed. Lifetimes is first timed on a subset; if
the full size would take longer than ``--lifetimes-limit`` seconds (linear extrapolation)
it is not run there and the printed figure is the extrapolation, labelled as such.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

TRUE_BG = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.5}  # time in days
TRUE_GG = {"p": 6.0, "q": 3.8, "v": 15.0}


def simulate(n: int, seed: int) -> pd.DataFrame:
    """BG/NBD histories (whole days, T up to one year) and Gamma-Gamma mean spends in cents."""
    rng = np.random.default_rng(seed)
    T = rng.integers(7, 366, n).astype(np.float64)
    lam = rng.gamma(TRUE_BG["r"], 1.0 / TRUE_BG["alpha"], n)
    p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    x = np.zeros(n)
    t_last = np.zeros(n)
    now = np.zeros(n)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1.0 / lam[active])
        bought = now[active] < T[active]
        active = active[bought]
        x[active] += 1
        t_last[active] = now[active]
        active = active[rng.random(active.size) >= p[active]]
    nu = rng.gamma(TRUE_GG["q"], 1.0 / TRUE_GG["v"], n)
    total = rng.gamma(TRUE_GG["p"] * np.maximum(x, 1), 1.0 / nu)
    monetary = np.where(x > 0, np.round(total / np.maximum(x, 1), 2), 0.0)
    return pd.DataFrame(
        {"frequency": x, "recency": np.floor(t_last), "T": T, "monetary_value": monetary}
    )


def cdnow_master() -> pd.DataFrame:
    from training.clv import rfm_summary
    from training.data.cdnow import load_cdnow

    return rfm_summary(load_cdnow()[0], "1998-06-30", unit_days=1).reset_index(drop=True)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def ours(s: pd.DataFrame) -> tuple[dict[str, float], float, dict[str, float], float]:
    from training.clv import BetaGeo, GammaGamma

    bg, t_bg = timed(lambda: BetaGeo().fit(s["frequency"], s["recency"], s["T"]))
    gg, t_gg = timed(lambda: GammaGamma().fit(s["frequency"], s["monetary_value"]))
    return bg.params_, t_bg, gg.params_, t_gg


def lifetimes_fit(
    s: pd.DataFrame, collapsed: bool
) -> tuple[dict[str, float], float, dict[str, float], float]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if collapsed:
            rows = s.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
            bg, t_bg = timed(
                lambda: BetaGeoFitter().fit(
                    rows["frequency"], rows["recency"], rows["T"], weights=rows["w"]
                )
            )
        else:
            bg, t_bg = timed(lambda: BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"]))
        rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
        gg, t_gg = timed(lambda: GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"]))
    return dict(bg.params_), t_bg, dict(gg.params_), t_gg


def max_diff(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[k] - b[k]) for k in a)


def report(name: str, s: pd.DataFrame, limit: float, probe: int, seed: int) -> None:
    n = len(s)
    histories = len(s.drop_duplicates(["frequency", "recency", "T"]))
    print(f"\n== {name}: {n:,} customers, {histories:,} distinct (x, t_x, T) histories")
    bg, t_bg, gg, t_gg = ours(s)
    print(f"ours       BG/NBD {t_bg:8.2f} s  {fmt(bg)}")
    print(f"ours       GG     {t_gg:8.2f} s  {fmt(gg)}")

    lbg, lt_bg, lgg, lt_gg = lifetimes_fit(s.iloc[: min(n, probe)], collapsed=False)
    label = "measured"
    if n > probe:
        scale = n / probe
        estimate = (lt_bg + lt_gg) * scale
        print(
            f"lifetimes on {probe:,} customers: BG/NBD {lt_bg:.2f} s, GG {lt_gg:.2f} s "
            f"-> {estimate:.0f} s expected at {n:,}"
        )
        if estimate <= limit:
            lbg, lt_bg, lgg, lt_gg = lifetimes_fit(s, collapsed=False)
        else:
            lt_bg, lt_gg = lt_bg * scale, lt_gg * scale
            label = f"EXTRAPOLATED x{scale:.0f} from {probe:,} (over the {limit:.0f} s limit)"
    print(f"lifetimes  BG/NBD {lt_bg:8.2f} s  {fmt(lbg)}  [{label}]")
    print(f"lifetimes  GG     {lt_gg:8.2f} s  {fmt(lgg)}  [{label}]")
    cbg, ct_bg, _, _ = lifetimes_fit(s, collapsed=True)
    print(f"lifetimes on collapsed rows with weights: BG/NBD {ct_bg:.2f} s  {fmt(cbg)}")
    same = label == "measured"
    where = "same data" if same else f"first {min(n, probe):,} customers for lifetimes"
    print(f"max |param diff| BG/NBD vs lifetimes ({where}): {max_diff(bg, lbg):.2e}")
    print(f"max |param diff| BG/NBD vs lifetimes collapsed (same data): {max_diff(bg, cbg):.2e}")
    print(f"max |param diff| GG vs lifetimes ({where}): {max_diff(gg, lgg):.2e}")
    if not same:
        sub = s.iloc[:probe]
        sbg, _, sgg, _ = ours(sub)
        print(
            f"  same {probe:,}-customer subset: BG/NBD diff {max_diff(sbg, lbg):.2e}, "
            f"GG diff {max_diff(sgg, lgg):.2e}"
        )
    print(
        f"speed-up lifetimes/ours: BG/NBD {lt_bg / t_bg:.1f}x, GG {lt_gg / t_gg:.1f}x, "
        f"BG/NBD vs lifetimes-with-weights {ct_bg / t_bg:.1f}x"
        + ("" if same else "  (lifetimes times extrapolated)")
    )


def fmt(params: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.6f}" for k, v in params.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-limit", type=float, default=300.0)
    parser.add_argument(
        "--probe", type=int, default=100_000, help="customers lifetimes is first timed on"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report("CDNOW master (days)", cdnow_master(), args.lifetimes_limit, args.probe, args.seed)
    sim, t_sim = timed(lambda: simulate(args.customers, args.seed))
    print(
        f"\n(simulated {args.customers:,} BG/NBD customers in {t_sim:.1f} s; "
        f"true {fmt(TRUE_BG)} {fmt(TRUE_GG)})"
    )
    report("simulated", sim, args.lifetimes_limit, args.probe, args.seed)


if __name__ == "__main__":
    main()
