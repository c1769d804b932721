"""``cintel ingest``: transactions from a Redis Stream, applied as ``POST /events`` applies them."""

from __future__ import annotations

import click

from training.cli.common import console, user_errors


@click.command()
@click.option("--stream", required=True, help="The Redis Stream of transactions to consume.")
@click.option(
    "--group", default="cintel", show_default=True, help="The consumer group (created if new)."
)
@click.option(
    "--consumer",
    default=None,
    help="This consumer's name in the group; a restart under the same name re-reads the "
    "entries it had not acknowledged. [default: ingest-<host name>]",
)
@click.option(
    "--redis-url",
    default=None,
    help="The Redis holding the stream. [default: CINTEL_REDIS_URL or redis://127.0.0.1:6379/0]",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="How often to look for new champions and a new publish.",
)
@user_errors
def ingest(
    stream: str, group: str, consumer: str | None, redis_url: str | None, poll_seconds: float
) -> None:
    """Apply transactions from a Redis Stream as POST /events does, until Ctrl-C.

    Each entry is one transaction: the event's fields (event_id, customer_id, ts, amount,
    family, channel, margin, quantity) as stream fields, or one field `event` holding
    them as JSON. New events are stored durably in CINTEL_HOME/events, their customers'
    profiles recomputed, rescored with the champions and written to the store, and only
    then is the entry acknowledged (XACK): at least once, and an event id is applied once.
    A bad entry is acknowledged, counted and named (entry id and field, never a value)."""
    import signal
    import socket
    import threading

    from serving.ingest import Ingest
    from serving.settings import settings_for_store

    settings = settings_for_store()
    url = redis_url or settings.redis_url
    name = consumer or f"ingest-{socket.gethostname()}"
    say = lambda m: console.print(m, highlight=False)  # noqa: E731
    runner = Ingest(settings, stream, group, name, url, say=say)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(
        f"ingesting {stream} (group {group}, consumer {name}) into the {settings.store} store"
    )
    stats = runner.run(stop, poll_s=poll_seconds)
    console.print(
        f"read {stats.read}, stored {stats.accepted}, duplicates {stats.duplicates}, "
        f"rejected {stats.rejected}, profiles updated {stats.updated}"
    )
