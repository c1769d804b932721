"""``cintel prospects``: the acquisition list of a prospects file, best first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from training.cli.common import CintelError, console, show_report, stdout, user_errors

SUFFIXES = (".csv", ".csv.gz", ".parquet")


def load_prospect_champion() -> tuple[Any, str]:
    """The ``cintel-prospect`` @champion through the service's cache and smoke test;
    LookupError saying what to run when there is none."""
    from serving.follower import ModelManager
    from serving.prospects import MODEL
    from serving.scoring import smoke_test
    from serving.settings import ServiceSettings

    settings = ServiceSettings()
    manager = ModelManager(
        settings.model_cache_dir, settings.tracking_uri, smoke_test, models=(MODEL,), required=()
    )
    manager.refresh()
    scorer = manager.current.scorers.get(MODEL)
    if scorer is None:
        detail = f" (last error: {manager.last_error})" if manager.last_error else ""
        raise LookupError(
            f"no usable cintel-prospect @champion{detail}; run `cintel train` first (it "
            "trains the prospect model by default when the customers table has attributes)"
        )
    return scorer, manager.current.versions[MODEL]


def _offer(value: Any) -> str:
    """An offer id of the list (NaN or None: no offer)."""
    return value if isinstance(value, str) else "no offer"


def _suffix(path: Path, option: str) -> str:
    name = path.name.lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix
    raise CintelError(f"{option} {path}: expected a .csv or .parquet file")


@click.command()
@click.option(
    "--in",
    "in_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Prospects (CSV or Parquet): prospect_id (or customer_id) and the customers "
    "table's attribute columns, no transactions. An empty value is scored as unknown.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The acquisition list to write (CSV or .parquet), highest expected value first.",
)
@click.option("--top", type=click.IntRange(min=1), default=None, help="Write only the best N.")
@user_errors
def prospects(in_path: Path, out_path: Path, top: int | None) -> None:
    """Score people who are not customers yet from their attributes alone, with the
    cintel-prospect champion ("cloning" the best customers).

    Each gets a look-alike score (probability of becoming a top-tier customer, platinum
    or gold, within a year of signing up; lift = that over new customers' rate), the
    expected first-year value (mean first-year margin of similar customers) and the best
    first offer (the family the profile most over-indexes on, with its first-year
    purchase probability, and the offer catalogue's offer of that family a newcomer can
    get, first_offer_id; CINTEL_OFFERS_PATH names the catalogue). Rows are ranked by
    expected value. Unknown or missing columns,
    empty or duplicate ids, an empty file and values never seen in training are errors
    naming the column and rows."""
    from serving.catalogue import load_catalogue
    from serving.prospects import score_table
    from serving.settings import ServiceSettings
    from training.data.io import read_table

    _suffix(in_path, "--in")
    out_suffix = _suffix(out_path, "--out")
    if not in_path.exists():
        raise CintelError(f"--in {in_path}: no such file")
    with console.status("Loading the cintel-prospect champion…"):
        model, version = load_prospect_champion()
    frame = read_table(in_path)
    catalogue = load_catalogue(ServiceSettings().offers_path)
    table, report = score_table(model, frame, in_path.name, catalogue)
    show_report(report)
    if top is not None:
        table = table.head(top)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if out_suffix == ".parquet":
        table.to_parquet(out_path, index=False)
    else:
        table.to_csv(out_path, index=False)
    stdout.print(
        f"{len(table):,} prospects written to {out_path}, best first (cintel-prospect "
        f"v{version}; base top-tier rate of new customers {model.info['base_rate']:.1%})"
    )
    for row in table.head(5).itertuples(index=False):
        value = row.expected_first_year_value
        stdout.print(
            f"  {row.rank:>3}. {row.prospect_id}: expected value {value:,.2f}, "
            f"look-alike {row.lookalike_score:.2f} (x{row.lookalike_lift:.2f}), "
            f"first offer {row.first_offer_family} ({_offer(row.first_offer_id)})",
            highlight=False,
        )


COMMANDS = (prospects,)
