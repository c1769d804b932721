"""The demo's customer-economics block (issue 15), after the cycle's publish.

A few customers as the running service answers them (net contribution, share of wallet and
headroom, cell and strategy, lifecycle stage, partial-churn probability), the acquisition
list of a small prospects file made from the simulator's customers table (attributes only,
as ``cintel prospects`` ranks it), and the published share of wallet against the
simulator's truth (Spearman rank correlation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

# what an order, a return and an acquisition cost in the demo's world (money), so the net
# contribution differs from the margin; written to the data folders as costs.yaml
DEMO_COSTS = """\
# written by cintel demo: the cost to serve and to acquire a customer
per_order: {default: 0.5, store: 1.5, online: 1.0, phone: 3.0}
per_return: 4.0
acquisition:
  by: acquisition_channel
  costs: {default: 10.0, web: 20.0, app: 15.0, referral: 5.0, partner: 25.0}
"""
PROSPECTS = 200  # people in the demo's prospects file
FULL_YEAR = 365  # the share of wallet is judged on customers of a full year (README)


@dataclass
class EconomicsShown:
    """What the block showed, for the demo's test."""

    customers: list[dict[str, Any]] = field(default_factory=list)  # /profile figures
    sow_spearman: float | None = None
    sow_n: int = 0
    prospect: dict[str, Any] | None = None  # the prospect model's training result
    acquisition: pd.DataFrame | None = None  # the ranked list (every prospect)
    acquisition_csv: Path | None = None
    prospects_csv: Path | None = None
    # the published store the block read (the loop's campaign world replaces it later)
    profiles: pd.DataFrame | None = None


def write_costs(*folders: Path) -> None:
    """The demo's costs.yaml in each data folder."""
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "costs.yaml").write_text(DEMO_COSTS)


def write_prospects(customers: pd.DataFrame, path: Path, n: int = PROSPECTS) -> Path:
    """``n`` people of the customers table as prospects: an id and the attribute columns,
    never their sign-up date or transactions (the latest sign-ups, ``lead-<id>``)."""
    people = customers.sort_values(["signup_date", "customer_id"]).tail(n)
    attributes = [c for c in people.columns if c not in ("customer_id", "signup_date")]
    leads = people[attributes].assign(prospect_id=[f"lead-{i}" for i in people["customer_id"]])[
        ["prospect_id", *attributes]
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    leads.to_csv(path, index=False)
    return path


def share_of_wallet_truth(
    profiles: pd.DataFrame, ground_truth: pd.DataFrame
) -> tuple[float | None, int]:
    """Spearman of the published share of wallet with the true one (yearly spend ÷ the
    simulator's ``true_wallet_12m``, at most 1), over the customers of a full year who
    bought in it, as ``cintel train`` measures it; (None, n) below 10 such customers."""
    if "share_of_wallet" not in profiles.columns or "true_wallet_12m" not in ground_truth:
        return None, 0
    wallet = ground_truth.set_index(ground_truth["customer_id"].astype(str))["true_wallet_12m"]
    frame = profiles.assign(
        true_wallet=wallet.reindex(profiles["customer_id"].astype(str)).to_numpy()
    )
    rows = frame[
        (frame["tenure_days"] >= FULL_YEAR)
        & (frame["spend_365d"] > 0)
        & frame["share_of_wallet"].notna()
        & (frame["true_wallet"] > 0)
    ]
    if len(rows) < 10:
        return None, len(rows)
    true_share = (rows["spend_365d"] / rows["true_wallet"]).clip(0, 1)
    # Spearman: the Pearson correlation of the ranks (without importing scipy)
    rho = rows["share_of_wallet"].rank().corr(true_share.rank())
    return float(rho), len(rows)


def pick_customers(profiles: pd.DataFrame) -> list[tuple[str, str]]:
    """Three telling customers (id, why): the largest net contribution, the largest
    headroom, the highest partial-churn probability (distinct; fewer when columns lack)."""
    picks: list[tuple[str, str]] = []
    for column, why in (
        ("net_contribution_12m", "largest net contribution"),
        ("potential_headroom", "largest headroom"),
        ("churn_partial_probability", "highest partial-churn risk"),
    ):
        if column not in profiles.columns:
            continue
        taken = {cid for cid, _ in picks}
        ranked = profiles[~profiles["customer_id"].astype(str).isin(taken)]
        ranked = ranked.dropna(subset=[column]).sort_values(
            [column, "customer_id"], ascending=[False, True], kind="stable"
        )
        if len(ranked):
            picks.append((str(ranked["customer_id"].iloc[0]), why))
    return picks


def figures(answer: dict[str, Any]) -> dict[str, Any]:
    """The block's figures of one /profile answer."""
    potential = answer.get("potential") or {}
    cell = answer.get("cell") or {}
    return {
        "customer_id": answer["customer_id"],
        "net_contribution_12m": (answer.get("economics") or {}).get("net_contribution_12m"),
        "cost_to_serve_12m": (answer.get("economics") or {}).get("cost_to_serve_12m"),
        "share_of_wallet": potential.get("share_of_wallet"),
        "headroom": potential.get("headroom"),
        "cell": cell.get("id"),
        "strategy": cell.get("strategy"),
        "stage": (answer.get("lifecycle") or {}).get("stage"),
        "partial_churn": (answer.get("churn") or {}).get("partial_probability"),
    }


def _offer(value: Any) -> str:
    """An offer id of the acquisition list (NaN or None: no offer)."""
    return value if isinstance(value, str) else "no offer"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def describe(f: dict[str, Any], why: str) -> str:
    """One customer in one line."""
    partial = f["partial_churn"]
    return (
        f"customer {f['customer_id']} ({why}): net contribution "
        f"{_money(f['net_contribution_12m'])} "
        f"(cost to serve {_money(f['cost_to_serve_12m'])}), share of wallet "
        f"{_share(f['share_of_wallet'])}, headroom {_money(f['headroom'])}; cell {f['cell']} "
        f"-> {f['strategy']}; {f['stage']}; partial churn "
        f"{'- (no purchase in the last horizon)' if partial is None else f'{partial:.2f}'}"
    )


def show_economics(
    home: Path,
    data_dir: Path,
    after: Any,
    post: Callable[[str, dict[str, Any]], Any],
    say: Callable[[str], None],
    prospect: dict[str, Any] | None = None,
) -> EconomicsShown:
    """The block: customers from the running service, the share of wallet against the
    truth, and the acquisition list of the prospect champion (``prospect``: its training
    result in the cycle, if any)."""
    from serving.catalogue import load_catalogue
    from serving.prospect_cli import load_prospect_champion
    from serving.prospects import score_table
    from serving.settings import ServiceSettings
    from training.data.io import read_table

    shown = EconomicsShown(prospect=prospect)
    store = ServiceSettings(home=home).store_dir
    profiles = shown.profiles = pd.read_parquet(store / "profiles.parquet")
    for cid, why in pick_customers(profiles):
        f = figures(post("/profile", {"customer_id": cid}))
        shown.customers.append({**f, "why": why})
        say(f"      {describe(f, why)}")
    truth = pd.read_parquet(data_dir / "all" / "ground_truth.parquet")
    shown.sow_spearman, shown.sow_n = share_of_wallet_truth(profiles, truth)
    if shown.sow_spearman is not None:
        say(
            f"      share of wallet vs the simulator's truth: Spearman {shown.sow_spearman:.2f} "
            f"over {shown.sow_n:,} customers of a full year (target >= 0.6)"
        )
    if registry_champion("prospect") is None:
        why = (prospect or {}).get("reason") or "it was not trained"
        say(f"      no cintel-prospect champion, so no acquisition list: {why}")
        return shown
    shown.prospects_csv = write_prospects(after.customers, home / "prospects.csv")
    shown.acquisition_csv = home / "acquisition.csv"
    model, version = load_prospect_champion()
    catalogue = load_catalogue(ServiceSettings().offers_path)
    table, _ = score_table(model, read_table(shown.prospects_csv), "prospects.csv", catalogue)
    table.to_csv(shown.acquisition_csv, index=False)
    shown.acquisition = table
    say(
        f"      cintel prospects --in {shown.prospects_csv} --out {shown.acquisition_csv} "
        f"(cintel-prospect v{version}): {len(table):,} prospects, best first"
    )
    for row in table.head(3).itertuples(index=False):
        say(
            f"        {row.rank}. {row.prospect_id}: expected first-year value "
            f"{row.expected_first_year_value:,.1f}, look-alike {row.lookalike_score:.2f} "
            f"(x{row.lookalike_lift:.2f}), first offer {row.first_offer_family} "
            f"({_offer(row.first_offer_id)})"
        )
    return shown


def registry_champion(model: str) -> str | None:
    """The model's champion version (None: none)."""
    from training.mlops import registry

    return registry.champion_version(model)
