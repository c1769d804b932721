"""Accuracy of cintel-clv (learned) against BG/NBD × Gamma-Gamma and a naive run rate.

    python bench/bench_clv_accuracy.py                   # CDNOW master + sample + synth 20k
    python bench/bench_clv_accuracy.py --customers 50000 --out bench/results/clv_accuracy.csv

CDNOW (no margin column, so margin = amount): the classical holdout is calibration
1997-01-01..1997-09-30 and holdout weeks 40–78, i.e. the snapshot at as_of 1997-10-01 with a
273-day horizon. An out-of-time learned model needs labels before that holdout, so the model
(BTYD + boosters) is fitted on the snapshot at 1997-07-01 with a 92-day horizon (labels
1997-07-01..1997-09-30, inside the calibration period) and evaluated on the 1997-10-01
snapshot: its 92-day value is carried to 273 days by the BG/NBD ratio of expected purchases
(E[X(273)] / E[X(92)] per customer). Rows:
- learned, btyd, naive: ``evaluate(model, eval_snapshot)`` (BTYD params from 1997-07-01);
- btyd_refit: BG/NBD × Gamma-Gamma refitted on the 1997-10-01 features (the published
  Fader–Hardie–Lee setup; uses no holdout data);
- learned_refit: the same boosters with those refitted BTYD parameters as their inputs.
Simulated data (training.data.simulator, default 2024–2025): the pipeline's protocol, fit at
end − 2H and evaluate at end − H with H = 90 days.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from training import clv
from training.clv.btyd_part import fit_btyd
from training.clv.metrics import METRICS
from training.data.cdnow import load_cdnow
from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import Snapshot, build_snapshot, default_as_of


def rows_for(
    name: str, train: Snapshot, evaluation: Snapshot, refit: bool
) -> list[dict[str, object]]:
    """One row per model with the metrics, fit time and sizes."""
    start = time.perf_counter()
    model = clv.fit(train)
    fit_s = time.perf_counter() - start
    results = {"": clv.evaluate(model, evaluation)}
    if refit:
        params = fit_btyd(evaluation.frame, model.config.target)
        results["_refit"] = clv.evaluate(replace(model, btyd=params), evaluation)
    out = []
    for suffix, metrics in results.items():
        for m in ("learned", "btyd") if suffix else ("learned", "btyd", "naive"):
            out.append(
                {
                    "data": name,
                    "model": m + suffix,
                    **{k: metrics[f"{k}_{m}"] for k in METRICS},
                    "n_train": len(train.frame),
                    "n_eval": int(metrics["n_eval_customers"]),
                    "fit_s": round(fit_s, 2),
                    "chosen": model.chosen,
                }
            )
    return out


def cdnow(sample: bool) -> tuple[Snapshot, Snapshot]:
    tx, customers = load_cdnow(sample=sample)
    data = validate(tx, customers)
    train = build_snapshot(data, "1997-07-01", 92, require_labels=True)
    evaluation = build_snapshot(data, "1997-10-01", 273, require_labels=True)
    return train, evaluation


def synth(n: int, seed: int, horizon: int = 90) -> tuple[Snapshot, Snapshot]:
    d = synthesize(SynthConfig(n_customers=n, seed=seed))
    data: CleanData = validate(d.transactions, d.customers)
    end = default_as_of(data)
    h = pd.Timedelta(days=horizon)
    train = build_snapshot(data, end - 2 * h, horizon, require_labels=True)
    evaluation = build_snapshot(data, end - h, horizon, require_labels=True)
    return train, evaluation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    rows += rows_for("cdnow_master", *cdnow(sample=False), refit=True)
    rows += rows_for("cdnow_sample", *cdnow(sample=True), refit=True)
    rows += rows_for(f"synth_{args.customers}", *synth(args.customers, args.seed), refit=False)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(4).to_string(index=False))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
