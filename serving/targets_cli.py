"""``cintel targets``: a campaign's outbound list from the online store, with decision records."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

import click

from training.cli.common import (
    CintelError,
    console,
    engine_options,
    require_spark,
    stdout,
    user_errors,
)


@click.command()
@click.option(
    "--campaign",
    type=click.Choice(["retention", "cross-sell", "upgrade", "win-back"]),
    required=True,
    help="retention: churn risk x CLV; cross-sell: the best cross-sell offer; upgrade: "
    "potential headroom x the best cross-sell or up-sell offer's expected response; "
    "win-back: lapsed customers worth more than --min-value, by save rate x worth - cost.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Number of customers in the list.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="CSV (or .parquet) file to write."
)
@click.option("--channel", default=None, help="Only offers allowed on this channel.")
@click.option(
    "--churn",
    "risk",
    type=click.Choice(["total", "partial"]),
    default="total",
    show_default=True,
    help="With --campaign retention: aim at total churners (cintel-churn) or at partial "
    "churners (cintel-churn-partial: still buying, but below half the spend of the window "
    "before); the retention offers' churn rules and the ranking then take that probability.",
)
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    type=click.Choice(["retain", "develop", "maintain", "reduce_cost_to_serve"]),
    help="Only customers whose cell has this strategy (cells.yaml); repeat for several.",
)
@click.option(
    "--min-value",
    type=float,
    default=0.0,
    show_default=True,
    help="win-back: the least worth (potential value a year, else the last 12 months' "
    "spend) of a lapsed customer worth winning back.",
)
@engine_options("Rank the store's profiles")
@user_errors
def targets(
    campaign: str,
    top: int,
    out: Path,
    channel: str | None,
    risk: str,
    strategies: tuple[str, ...],
    min_value: float,
    engine: str,
    spark_master: str | None,
) -> None:
    """Write the outbound list for a campaign, highest priority first, from the online store.

    Customers in the control group of their offer's campaign are listed with group
    "control": do not contact them (they are the comparison the campaigns report needs).
    Every listed customer gets a decision record in CINTEL_HOME/decisions (endpoint
    "targets"; none with CINTEL_DECISIONS=off). With --engine spark the file store's
    profiles are ranked on Spark, batch by batch.

    --campaign retention --churn partial lists partial churners instead: customers whose
    spend is likely to fall below half (cintel-churn-partial; the list adds its
    churn_partial_probability column). The store must hold that head's scores."""
    import json
    from datetime import UTC, datetime

    import pandas as pd

    from serving.batch.targets import Campaign, campaign_targets, decision_lines
    from serving.catalogue import load_catalogue
    from serving.jsonlog import JsonLog
    from serving.settings import settings_for_store
    from serving.store import META_FILE, PROFILES_FILE

    settings = settings_for_store()
    path = settings.store_dir / PROFILES_FILE
    if not path.exists():
        raise CintelError(f"{path}: no online store; run `cintel materialize` first")
    kind = cast(Campaign, campaign)
    aim = cast(Literal["total", "partial"], risk)
    catalogue = load_catalogue(settings.offers_path)
    if aim == "partial" and campaign != "retention":
        raise CintelError(
            "--churn partial: partial churners are a retention list (--campaign retention)"
        )
    if aim == "partial":
        import pyarrow.parquet as pq

        from serving.batch.targets import PARTIAL

        if PARTIAL not in pq.read_schema(path).names:
            raise CintelError(
                f"{path}: the store has no partial-churn scores ({PARTIAL}): train the partial "
                "head (`cintel train --churn partial`) and run `cintel materialize` again "
                "(either engine)"
            )
    # what both engines rank by
    ranking: dict[str, Any] = {
        "channel": channel, "risk": aim, "strategies": strategies or None, "min_value": min_value,
    }  # fmt: skip
    if engine == "spark":
        require_spark(spark_master)
        from serving.batch.spark_materialize import targets_spark
        from training.spark.session import get_spark

        with console.status("Ranking customers on Spark…"):
            spark = get_spark(spark_master)
            try:
                table = targets_spark(str(path), kind, top, catalogue, spark, **ranking)
            except ValueError as exc:
                raise CintelError(f"{path}: {exc}") from exc
    else:
        with console.status("Ranking the store's customers…"):
            profiles = pd.read_parquet(path)
            try:
                table = campaign_targets(profiles, kind, top, catalogue, **ranking)
            except ValueError as exc:
                raise CintelError(f"{path}: {exc}") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    control = int((table["group"] == "control").sum()) if len(table) else 0
    aimed = " (partial churners)" if aim == "partial" else ""
    stdout.print(
        f"{len(table):,} {campaign}{aimed} targets written to {out}: {len(table) - control:,} to "
        f"contact, {control:,} in a control group (group = control: do not contact)"
    )
    if settings.decisions == "on" and len(table):
        meta_path = settings.store_dir / META_FILE
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        lines = decision_lines(table, catalogue, meta, ts, channel)
        JsonLog(settings.decision_log_dir).write_through(b"".join(lines), ts, len(lines))
        stdout.print(f"  {len(lines):,} decision records in {settings.decision_log_dir}")
