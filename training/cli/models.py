"""``cintel train``: snapshots, fits, the gate and what the run printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from training.cli.common import (
    CintelError,
    console,
    data_option,
    engine_options,
    origins_option,
    parse_date,
    require_spark,
    show_report,
    spark_table,
    status_progress,
    stdout,
    user_errors,
)
from training.minimums import DEFAULT_MIN_NEGATIVES, DEFAULT_MIN_POSITIVES, Minimums
from training.tasks import ALL_MODELS, CHURN_HEADS, DEFAULT_MODELS, TASKS


@click.command()
@data_option(
    "Data folder with transactions and customers (Parquet or CSV; Parquet at any Spark "
    "path with --engine spark).",
    uri=True,
)
@click.option(
    "--until",
    "until",
    default=None,
    help="Use only the data before DATE: the evaluation labels end there, the training "
    "labels one horizon earlier. [default: the day after the last transaction]",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    hidden=True,
    help="Old name of --until (for snapshot, --as-of is the feature cutoff).",
)
@click.option(
    "--horizon-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Length of the label window.",
)
@click.option(
    "--models",
    default=None,
    help=f"Comma-separated models to train, of {','.join(ALL_MODELS)}. "
    f"[default: {','.join(DEFAULT_MODELS)}, plus uplift with --decisions]",
)
@click.option(
    "--churn",
    "churn_heads",
    type=click.Choice(["total", "partial", "both"]),
    default=None,
    help="Which churn heads to train: total churn (cintel-churn: no purchase in the "
    "horizon), partial churn (cintel-churn-partial: still buying, spend in the horizon "
    "below half of the equal window before it) or both; replaces the churn heads "
    "--models names (or adds them). [default: both with the default models]",
)
@click.option(
    "--decisions",
    "decisions_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The decision log folder the uplift model learns from (with the outcomes in the "
    "data's later transactions). [default for --models uplift: CINTEL_HOME/decisions]",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.005,
    show_default=True,
    help="The challenger may be this much worse than the champion on the main "
    "metric and still be promoted.",
)
@click.option(
    "--holdout-from",
    "holdout_from",
    default=None,
    help="Refuse the run when a label window (training or evaluation) reaches DATE or "
    "later: the data from DATE on stays untouched for a final test.",
)
@origins_option()
@engine_options("Compute the snapshots and fit churn, propensity and CLV")
@click.option(
    "--driver-rows",
    type=click.IntRange(min=1000),
    default=1_000_000,
    show_default=True,
    help="With --engine spark: at most this many customers (a seeded sample) reach this "
    "machine for the segments fit, the evaluation, the gate and MLflow logging.",
)
@click.option(
    "--min-positives",
    type=click.IntRange(min=1),
    default=None,
    help="Fewest positives every label a model depends on needs in the training and the "
    "evaluation snapshot (propensity: per family); below it the model is skipped and "
    f"nothing is registered. [default: {DEFAULT_MIN_POSITIVES}, the models' table]",
)
@click.option(
    "--min-negatives",
    type=click.IntRange(min=1),
    default=None,
    help=f"The same for negatives. [default: {DEFAULT_MIN_NEGATIVES}]",
)
@user_errors
def train(
    data_dir: str,
    until: str | None,
    as_of: str | None,
    horizon_days: int,
    models: str | None,
    churn_heads: str | None,
    decisions_dir: Path | None,
    tolerance: float,
    holdout_from: str | None,
    origins: int,
    engine: str,
    spark_master: str | None,
    driver_rows: int,
    min_positives: int | None,
    min_negatives: int | None,
) -> None:
    """Train models out-of-time, log them to MLflow, register @challenger and run the gate.

    Fits on the snapshot two horizons before --until, evaluates challenger and champion on
    the snapshot one horizon before it, and promotes only a challenger that is no worse
    (within --tolerance) and passes the absolute floors. When the history is too short for
    two horizons, the training labels take the longest window that fits (stated) and churn
    probabilities are rescaled to --horizon-days. The windows are printed first.

    With --engine spark both snapshots are computed on Spark, and churn, propensity and
    CLV are fitted with xgboost.spark on the whole training snapshot. A seeded sample of
    at most --driver-rows customers of each snapshot then comes to this machine for the
    segments fit, the evaluation and the gate, and MLflow logging (the propensity report
    has no basket rules). Spark Connect cannot train: use a classic --spark-master.

    Churn has two heads, both trained by default (--churn total|partial|both): total churn
    (cintel-churn, no purchase in the horizon; required by the service) and partial churn
    (cintel-churn-partial, optional: among customers who bought in the horizon-long window
    before the snapshot, still buying in the horizon but spending below half of that
    window's), each with its
    own gate and champion. Partial churn is not rescaled to another horizon: when the
    history is too short for two full horizons it is skipped with the reason.

    The potential model (potential value, share of wallet) is trained by default but is
    optional: the service does not require it. With ground_truth.parquet in the data folder
    (cintel synth) its rank correlations with the true share of wallet are logged and
    printed. The segments run logs lifecycle transitions and value concentration, with net
    contribution priced by the data folder's costs.yaml when there is one.

    The prospect model (look-alike score, first-year value and first offer of people from
    their attributes alone) is trained by default too, optional, on signup cohorts rather
    than the snapshots: fitted on the customers who signed up before E - 547 days (E: the
    data's end or --until), judged on the next 182 days of sign-ups by the AUC of becoming
    top tier within a year; skipped with a warning when the data is shorter or the
    customers table has no attributes. `cintel prospects` and POST /prospect use it.

    The uplift model learns from the decision log and the matured outcomes in the data
    (purchases in each offer's response window), not from the snapshots: it is trained when
    named in --models or when --decisions is given, and skipped with the reason when there
    is no log or no matured outcome yet.

    Every model needs --min-positives and --min-negatives of the labels it depends on
    (churn: churned and retained; propensity: buyers and non-buyers of a family, per
    family; segments and CLV: customers who bought in the horizon and who did not) in
    both snapshots. A model that could not be trained is listed with its reason and
    makes the exit code 1; the others still train."""
    import training.pipeline
    from training.data.io import load_data, stated_data_end
    from training.tasks import TaskInputs, task

    named = models is not None
    if models is None:
        models = ",".join(
            [*DEFAULT_MODELS, "uplift"] if decisions_dir is not None else DEFAULT_MODELS
        )
    selected = [m.strip() for m in models.split(",") if m.strip()]
    from training.economics.cells_config import load_cells

    named_models = set(selected) if named else set()
    if churn_heads is not None:
        selected = choose_churn_heads(selected, churn_heads)
        named_models |= {m for m in selected if m in CHURN_HEADS.values()}
    from training.economics.costs import load_costs
    from training.settings import get_settings

    inputs = TaskInputs(
        decisions=decisions_dir or _default_decisions(),
        complete_before=stated_data_end(data_dir),  # simulate-responses states its end
        ground_truth=_ground_truth(data_dir),
        costs=load_costs(data_dir),
        cells=load_cells(data_dir, get_settings().home),
    )
    if as_of is not None and until is not None:
        raise CintelError("--as-of is the old name of --until: give one of them")
    if as_of is not None:
        console.print("[yellow]--as-of is now --until for train[/] (same meaning)")
    cutoff = parse_date(until or as_of, "--until")
    minimums = None
    if min_positives is not None or min_negatives is not None:
        minimums = Minimums(
            min_positives or DEFAULT_MIN_POSITIVES, min_negatives or DEFAULT_MIN_NEGATIVES
        )
    if engine == "spark":
        if minimums is not None:
            raise CintelError("--min-positives/--min-negatives: not available with --engine spark")
        if holdout_from is not None or origins > 1:
            raise CintelError("--holdout-from/--origins: not available with --engine spark")
        require_spark(spark_master)
        tx_path, cu_path = spark_table(data_dir, "transactions"), spark_table(data_dir, "customers")
        from training.spark.session import get_spark
        from training.spark.train import train_spark

        with console.status("Starting Spark…") as status:
            results = train_spark(
                tx_path,
                cu_path,
                get_spark(spark_master),
                cutoff,
                horizon_days,
                selected,
                tolerance,
                progress=status_progress(status),
                driver_rows=driver_rows,
            )
        print_results(results)
        fail_on_skipped(results, named_models)
        return
    holdout = parse_date(holdout_from, "--holdout-from")
    with console.status("Reading and validating data…") as status:
        data = load_data(Path(data_dir))
        show_report(data.report)
        if any(not task(m).needs for m in selected):
            plan = training.pipeline.plan_windows(data, cutoff, horizon_days, holdout)
            for line in plan.lines():
                console.print(f"  {line}")
            stacked = training.pipeline.training_origins(plan, origins)
            if len(stacked) > 1:
                dates = ", ".join(f"{d:%Y-%m-%d}" for d in stacked)
                console.print(f"  training origins     {dates} (stacked)")
        results = training.pipeline.train(
            data,
            cutoff,
            horizon_days,
            selected,
            tolerance,
            progress=status_progress(status),
            inputs=inputs,
            minimums=minimums,
            holdout_from=holdout,
            origins=origins,
        )
    print_results(results)
    fail_on_skipped(results, named_models)


def choose_churn_heads(selected: list[str], heads: str) -> list[str]:
    """``selected`` with its churn heads replaced by those ``--churn`` names (total,
    partial or both), at the place of the first one (first when it names none)."""
    chosen = list(CHURN_HEADS.values()) if heads == "both" else [CHURN_HEADS[heads]]
    names = [m.removeprefix("cintel-") for m in selected]
    at = next((i for i, m in enumerate(names) if m in CHURN_HEADS.values()), 0)
    rest = [m for m in names if m not in CHURN_HEADS.values()]
    return [*rest[:at], *chosen, *rest[at:]]


def fail_on_skipped(results: list[Any], named: bool | set[str] = True) -> None:
    """Exit 1 naming every model that was asked for and could not be trained; an optional
    model (potential, churn-partial) trained only by default (not in ``named``: True for
    every model, False or a set of model names) is a warning instead."""
    optional = {t.name for t in TASKS if t.optional}

    def asked(model: str) -> bool:
        return named if isinstance(named, bool) else model in named

    for r in results:
        if r.decision == "skipped" and not asked(r.model) and r.model in optional:
            console.print(f"[yellow]warning:[/] optional model {r.model} not trained: {r.reason}")
    skipped = [
        r
        for r in results
        if r.decision == "skipped" and (asked(r.model) or r.model not in optional)
    ]
    if skipped:
        names = "; ".join(f"{r.model} ({r.reason})" for r in skipped)
        raise CintelError(f"not trained: {names}")


def _ground_truth(data_dir: str) -> Any:
    """The simulator's ``ground_truth.parquet`` of the data folder (a DataFrame), or None."""
    path = Path(data_dir) / "ground_truth.parquet"
    if not path.exists():
        return None
    import pandas as pd

    return pd.read_parquet(path)


def _default_decisions() -> Path:
    """Where the service and ``cintel targets`` write the decision log."""
    from training.settings import get_settings

    return get_settings().home / "decisions"


def print_results(results: list[Any]) -> None:
    """The summary table: model, version, metric, champion before/after, decision."""
    from rich.table import Table

    table = Table(title="Training summary")
    for col in (
        "model",
        "version",
        "metric",
        "score",
        "champion before",
        "champion after",
        "decision",
        "reason",
    ):
        table.add_column(col, overflow="fold")
    for r in results:
        score = "" if r.score is None else f"{r.score:.4f}"
        table.add_row(
            r.model,
            r.version or "-",
            r.metric,
            score,
            r.champion_before or "-",
            r.champion_after or "-",
            r.decision,
            r.reason,
        )
    Console(file=stdout.file, width=max(stdout.width, 160)).print(table)
    for r in results:
        for name, value in getattr(r, "truth", {}).items():
            if not name.startswith("truth_n"):
                label = name.removeprefix("truth_")
                stdout.print(f"{r.model}: {label} vs the simulator's truth = {value:.3f}")
