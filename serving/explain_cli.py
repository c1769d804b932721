"""``cintel explain``: every offer of the catalogue for one customer, made or not, and why.

The answer a channel gets (``/profile``) names the offers made; a marketer asking "why did
this customer not get offer X?" needs the others too. This runs the one-customer
arbitration (``serving.offers.arbitrate``, the reference the service's fast path is tested
against) on the published store's row, with the catalogue, the contact history of the
feedback log and the request's channel, basket and exclusions, and prints each offer either
made (rank, score, expected value, reasons) or suppressed with the first rule that stopped
it. It records no decision and contacts nobody.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
import orjson

from training.cli.common import CintelError, stdout, user_errors


def unfolded_events(events_path: Any, start: int, customer_id: str) -> int:
    """How many of ``customer_id``'s logged events came after the publish (from byte
    ``start`` of the event log): the running service shows them, the store row does not."""
    from serving.event_log import read_lines

    lines, _ = read_lines(events_path, start)
    count = 0
    for line in lines:
        try:
            count += str(orjson.loads(line).get("customer_id")) == customer_id
        except (orjson.JSONDecodeError, AttributeError):
            continue
    return count


def explanation(
    customer_id: str,
    channel: str | None = None,
    basket: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    store: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The arbitration of ``customer_id`` as a JSON-able dict (``offered`` best first,
    ``suppressed`` with their reasons, ``held_out`` campaigns, the store's as_of and model
    versions); LookupError for a customer the store does not have."""
    from serving.catalogue import load_catalogue
    from serving.event_log import EVENTS_FILE
    from serving.feedback import FeedbackStore
    from serving.offers import OfferContext, arbitrate, held_out_of
    from serving.settings import settings_for_store
    from serving.store import open_store

    settings = settings_for_store(store)
    profiles = open_store(
        settings.store, settings.store_dir, settings.redis_url, settings.redis_prefix
    )
    row = profiles.get(customer_id)
    if row is None:
        raise LookupError(
            f"--customer-id {customer_id!r}: not in the {settings.store} store "
            f"({len(profiles):,} customers); check the id or run `cintel materialize`"
        )
    catalogue = load_catalogue(settings.offers_path)
    contacts = FeedbackStore(settings.feedback_dir).contacts
    context = OfferContext(channel, frozenset(basket), frozenset(exclude))
    result = arbitrate(row, catalogue, context, contacts, now)
    meta: dict[str, Any] = getattr(profiles, "meta", {})
    folded = int((meta.get("events") or {}).get("folded") or 0)
    return {
        "customer_id": customer_id,
        "as_of": str(row.get("as_of") or meta.get("as_of") or ""),
        "versions": meta.get("versions", {}),
        "held_out": held_out_of(catalogue, customer_id),
        "events_since_publish": unfolded_events(
            settings.events_dir / EVENTS_FILE, folded, customer_id
        ),
        "offered": [
            {
                "rank": k + 1,
                "offer_id": o.offer_id,
                "kind": o.kind,
                "family": o.family,
                "campaign": o.campaign,
                "score": o.score,
                "expected_value": o.expected_value,
                "uplift": o.uplift,
                "priority": o.priority,
                "reasons": o.reasons,
            }
            for k, o in enumerate(result.offered)
        ],
        "suppressed": [
            {"offer_id": s.offer_id, "kind": s.kind, "family": s.family, "reason": s.reason}
            for s in result.suppressed
        ],
    }


def _say(answer: dict[str, Any]) -> None:
    versions = ", ".join(f"{m} v{v}" for m, v in sorted(answer["versions"].items()))
    stdout.print(
        f"Customer {answer['customer_id']} (store as of {answer['as_of'][:10] or '?'}"
        f"{'; ' + versions if versions else ''})"
    )
    if answer["events_since_publish"]:
        stdout.print(
            f"  {answer['events_since_publish']} event(s) since the publish are not in this "
            "row: the running service's /profile includes them"
        )
    if answer["held_out"]:
        stdout.print(f"  held out of (control group): {', '.join(answer['held_out'])}")
    stdout.print(f"Offered ({len(answer['offered'])}, best first):")
    for o in answer["offered"]:
        uplift = "" if o["uplift"] is None else f", uplift {o['uplift']:.3f}"
        stdout.print(
            f"  {o['rank']}. {o['offer_id']} [{o['kind']}"
            f"{', ' + o['family'] if o['family'] else ''}] score {o['score']:.2f}, "
            f"expected value {o['expected_value']:.2f}{uplift}"
            f"{' (priority)' if o['priority'] else ''}",
            markup=False,
        )
        for reason in o["reasons"]:
            stdout.print(f"       - {reason}", markup=False)
    stdout.print(f"Not offered ({len(answer['suppressed'])}):")
    for s in answer["suppressed"]:
        stdout.print(f"  {s['offer_id']} [{s['kind']}]: {s['reason']}", markup=False)


@click.command()
@click.option("--customer-id", required=True, help="The customer to explain (as in the store).")
@click.option("--channel", default=None, help="The asking channel (offers not allowed there drop).")
@click.option(
    "--basket",
    multiple=True,
    metavar="FAMILY",
    help="A product family in today's basket (repeat for several), as /profile's basket.",
)
@click.option(
    "--exclude", multiple=True, metavar="OFFER_ID", help="An offer to leave out (repeatable)."
)
@click.option(
    "--store",
    type=click.Choice(["file", "redis"]),
    default=None,
    help="The online store to read. [default: CINTEL_STORE, else file]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@user_errors
def explain(
    customer_id: str,
    channel: str | None,
    basket: tuple[str, ...],
    exclude: tuple[str, ...],
    store: str | None,
    as_json: bool,
) -> None:
    """Why a customer gets the offers they get: every offer of the catalogue, made (in the
    service's order, with score, expected value and reasons) or suppressed with the first
    rule that stopped it (the request's channel or basket, the catalogue's tier, segment,
    churn and propensity rules, a contact cap, a value <= 0, the campaign's control group).

    Reads the published store, the offer catalogue (CINTEL_OFFERS_PATH) and the feedback
    log's contacts; records no decision. Events applied since the publish are counted,
    not included (the running service's /profile includes them)."""
    try:
        answer = explanation(customer_id, channel, basket, exclude, store)
    except FileNotFoundError as exc:
        raise CintelError(str(exc)) from exc
    if as_json:
        stdout.print(json.dumps(answer, indent=2, default=str), markup=False, highlight=False)
    else:
        _say(answer)
