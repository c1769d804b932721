"""Uplift model vs ranking by propensity, and X- vs T-learner, on randomized responses.

    python bench/bench_uplift.py [--customers 4000] [--seeds 5] [--shares 0.5,0.9]

Data: the simulator's customers with a known heterogeneous offer effect per arm (bakery
cross-sell and a retention offer; persuadables, sure things, lost causes, sleeping dogs:
``tests/training/uplift/synthetic.py``), a random assignment with ``share`` treated (0.9 is
the catalogue's default 10 % holdout), outcomes drawn from the true probabilities. The uplift
table is split by customer as in ``cintel train --models uplift`` (30 % held out).

Figures on the held-out customers, mean ± sd over the seeds:
- ``qini`` / ``qini_prop``: the gate's mean Qini coefficient of the model, and of ranking by
  the true baseline propensity (a perfect propensity model), from the observed outcomes;
- ``true_gain``: the same normalized area computed from the *true* effects (p_treated −
  p_control) of the customers in the model's order: free of outcome noise, it says which
  learner ranks better;
- ``rmse``: of the predicted against the true uplift.
Also null runs (the same effect for every customer): how often the gate's floors
(``min_qini`` and ``qini_above_random`` ≥ 0, see ``training.uplift.metrics``) let such a
model through.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def true_gain(true_uplift: np.ndarray, score: np.ndarray) -> float:
    """Normalized area of the cumulative true uplift in the order of ``score`` (0 random,
    1 the order of the true effects)."""

    def area(order: np.ndarray) -> float:
        curve = np.r_[0.0, np.cumsum(true_uplift[order])]
        return float(np.sum(curve[1:] + curve[:-1]) / 2.0)

    random = len(true_uplift) * true_uplift.sum() / 2.0
    best = area(np.argsort(-true_uplift, kind="stable"))
    return (area(np.argsort(-score, kind="stable")) - random) / (best - random)


def run(n: int, seed: int, share: float, learner: str, null: bool = False) -> dict[str, float]:
    from tests.training.uplift.synthetic import NO_EFFECT, synthetic
    from training.uplift import UpliftConfig, evaluate, fit, tables_from_responses

    syn = synthetic(n, seed=seed, treated_share=share, effects=NO_EFFECT if null else None)
    train, held = tables_from_responses(syn.data, syn.responses, decisions=syn.decisions)
    started = time.perf_counter()
    model = fit(train, UpliftConfig(learner=learner))
    seconds = time.perf_counter() - started
    metrics = evaluate(model, held)
    pred = model.predict_frame(held.frame)
    gains, errors = [], []
    for arm in model.boosters_:
        truth = syn.truth[syn.truth["arm"] == arm].set_index("customer_id")
        true_uplift = (truth["p_treated"] - truth["p_control"]).reindex(pred["customer_id"])
        score = pred[f"uplift_{arm}"].to_numpy()
        tu = true_uplift.to_numpy()
        if not null:
            gains.append(true_gain(tu, score))
        errors.append(float(np.sqrt(np.mean((score - tu) ** 2))))
    return {
        "qini": metrics["mean_qini"],
        "qini_prop": metrics["mean_qini_propensity"],
        "above_random": metrics["qini_above_random"],
        "true_gain": float(np.mean(gains)) if gains else float("nan"),
        "rmse": float(np.mean(errors)),
        "fit_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--shares", default="0.5,0.9")
    parser.add_argument("--null-seeds", type=int, default=20)
    args = parser.parse_args()
    seeds = range(args.seeds)
    print(f"{args.customers:,} simulated customers, seeds 0..{args.seeds - 1}, 30 % held out")
    print(f"{'treated':>8} {'learner':>7} {'qini':>13} {'qini_prop':>13} {'true_gain':>13} "
          f"{'rmse':>13} {'fit s':>6}")  # fmt: skip
    with threadpool_limits(limits=1):
        for share in [float(s) for s in args.shares.split(",")]:
            for learner in ("x", "t"):
                rows = [run(args.customers, s, share, learner) for s in seeds]
                cells = []
                for key in ("qini", "qini_prop", "true_gain", "rmse"):
                    v = np.array([r[key] for r in rows])
                    cells.append(f"{v.mean():>6.3f} ± {v.std():.3f}")
                fit_s = np.mean([r["fit_s"] for r in rows])
                print(f"{share:>8.0%} {learner:>7} {' '.join(cells)} {fit_s:>6.1f}")
        from training.uplift import FLOORS

        for share in [float(s) for s in args.shares.split(",")]:
            runs = [run(args.customers, s, share, "x", null=True) for s in range(args.null_seeds)]
            q = np.array([r["qini"] for r in runs])
            passed = sum(r["qini"] >= FLOORS["mean_qini"] and r["above_random"] >= 0 for r in runs)
            print(
                f"null effect, {share:.0%} treated, x: mean Qini {q.mean():.3f} ± {q.std():.3f}, "
                f"max {q.max():.3f}; passed the gate's floors in {passed} of {len(runs)} runs"
            )


if __name__ == "__main__":
    main()
