"""Monitoring's commands: ``monitor`` (drift report) and ``cycle`` (the retraining loop)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from training.cli.common import (
    CintelError,
    console,
    data_option,
    decision_log_options,
    parse_date,
    status_progress,
    stdout,
    user_errors,
)

if TYPE_CHECKING:  # heavy imports stay out of `cintel --help`
    from monitoring.monitor import MonitorResult

# the one drift setting: it decides a window's status in the report, and the policy counts
# drifted windows, so the report and the retraining decision cannot disagree
drift_share_option = click.option(
    "--drift-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.3,
    show_default=True,
    help="Share of drifted input columns that makes a window drifted (the report's status "
    "and the retraining decision both use it).",
)


@click.command()
@click.option(
    "--window-days",
    type=click.FloatRange(min=0, min_open=True),
    default=7.0,
    show_default=True,
    help="Request-log window to compare with the reference.",
)
@data_option("Compare this data's latest snapshot instead of the request log.", required=False)
@drift_share_option
@click.option(
    "--ui",
    "open_ui",
    is_flag=True,
    help="Instead of a run: serve Evidently's UI on the workspace of the runs so far "
    "(loopback; Ctrl+C stops it).",
)
@click.option("--ui-port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@user_errors
def monitor(
    window_days: float, data_dir: Path | None, drift_share: float, open_ui: bool, ui_port: int
) -> None:
    """Drift of inputs and predictions against the champions' reference (Evidently report).

    Writes CINTEL_HOME/reports/<timestamp>/ (report.html, snapshot.json, summary.json),
    refreshes reports/index.html, adds the run to the Evidently workspace
    CINTEL_HOME/evidently (project "cintel monitoring", with a dashboard; --ui shows it)
    and logs key figures and the report to the MLflow experiment cintel-monitoring.
    Windows under 1,000 rows are not judged (noise alarms)."""
    if open_ui:
        _serve_ui(ui_port)
        return
    from monitoring.cycle import monitor_frame, monitor_requests
    from monitoring.reports import DriftConfig
    from training.mlops.tracking import configure_tracking
    from training.settings import get_settings

    settings = get_settings()
    configure_tracking(settings)
    with console.status("Building the drift report…") as status:
        step = status_progress(status)
        if data_dir is None:
            result = monitor_requests(
                settings, window_days, drift=DriftConfig(drift_share=drift_share), progress=step
            )
        else:
            from training.data.io import load_data
            from training.data.snapshot import build_snapshot

            step("reading the data and computing its latest snapshot")
            snap = build_snapshot(load_data(data_dir), None, horizon_days=1)
            current = snap.frame[["customer_id", *snap.feature_columns]]
            result = monitor_frame(
                settings, current, "snapshot", DriftConfig(drift_share=drift_share), step
            )
    show_monitor(result)


def _serve_ui(port: int) -> None:
    """``evidently ui`` on the monitoring workspace, stopped with its processes on Ctrl+C."""
    import os
    import sys

    from monitoring.workspace import ui_args, workspace_dir
    from training.cli.supervise import run_supervised
    from training.settings import get_settings

    home = get_settings().home
    if not workspace_dir(home).is_dir():
        raise CintelError(f"{workspace_dir(home)}: no monitoring run yet; run `cintel monitor`")
    stdout.print(f"Evidently UI on http://127.0.0.1:{port} (workspace {workspace_dir(home)})")
    sys.exit(run_supervised(ui_args(home, "127.0.0.1", port), dict(os.environ), 10.0))


def show_monitor(result: MonitorResult) -> None:
    """One paragraph ops can act on."""
    s = result.summary
    colour = {"ok": "green", "drift": "red"}.get(s.status, "yellow")
    share = "" if s.drift_share is None else f", input drift share {s.drift_share:.0%}"
    stdout.print(
        f"[bold {colour}]{s.status}[/]{share} ({s.n_current:,} current rows vs "
        f"{s.n_reference:,} reference): {s.reason}"
    )
    if s.drifted_columns:
        stdout.print(
            "  drifted: "
            + ", ".join(s.drifted_columns[:15])
            + (" …" if len(s.drifted_columns) > 15 else "")
        )
    stdout.print(f"  report: {result.run_dir / 'report.html'}")
    stdout.print(f"  history: {result.run_dir.parent / 'index.html'}")
    if (result.run_dir / "snapshot.json").exists():
        stdout.print("  dashboard: cintel monitor --ui (Evidently UI, project 'cintel monitoring')")


@click.command()
@data_option("Data folder to retrain on (the latest transactions).")
@click.option(
    "--window-days",
    type=click.FloatRange(min=0, min_open=True),
    default=7.0,
    show_default=True,
    help="Request-log window to monitor.",
)
@click.option(
    "--every",
    default=None,
    help="Repeat every DURATION (e.g. 6h, 1d) until interrupted; omit for one cycle.",
)
@click.option(
    "--consecutive-windows",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Drifted windows in a row needed to retrain.",
)
@drift_share_option
@click.option(
    "--min-rows",
    type=click.IntRange(min=0),
    default=5000,
    show_default=True,
    help="Customers needed before retraining.",
)
@click.option("--force", is_flag=True, help="Retrain whatever the policy says.")
@user_errors
def cycle(
    data_dir: Path,
    window_days: float,
    every: str | None,
    consecutive_windows: int,
    drift_share: float,
    min_rows: int,
    force: bool,
) -> None:
    """Monitor, decide, retrain, gate and publish new champions (safe to run from cron).

    A retrain trains the required models and each optional one (potential,
    churn-partial, prospect) that has a champion, each through its own gate, and says
    which. A lock refuses a second concurrent cycle; every cycle is recorded in the MLflow
    experiment cintel-cycles with its reason and the versions before and after."""
    import time

    from monitoring.cycle import CycleLockedError, parse_every, run_cycle
    from monitoring.policy import PolicyConfig
    from monitoring.reports import DriftConfig

    interval = parse_every(every) if every else None
    policy = PolicyConfig(
        consecutive_windows=consecutive_windows,
        min_rows=min_rows,
    )
    while True:
        try:
            with console.status("Running the cycle…") as status:
                result = run_cycle(
                    data_dir,
                    window_days,
                    policy,
                    force,
                    progress=status_progress(status),
                    drift=DriftConfig(drift_share=drift_share),
                )
        except CycleLockedError as exc:
            raise CintelError(str(exc)) from exc
        stdout.print(result.judged, highlight=False)
        if result.monitor is not None:
            show_monitor(result.monitor)
        if result.realised is not None:
            stdout.print(result.realised.reason, highlight=False)
        verdict = "retrain" if result.decision.retrain else "no retrain"
        stdout.print(f"[bold]{verdict}[/]: {result.decision.reason}")
        if result.retrained:
            stdout.print(f"  {result.retrained_text}", highlight=False)
        for r in result.trained:
            stdout.print(f"  {r['model']}: v{r['version'] or '-'} {r['decision']} ({r['reason']})")
        changed = {
            m: (result.before[m], result.after[m])
            for m in result.before
            if result.before[m] != result.after[m]
        }
        if changed:
            stdout.print(
                "  champions: "
                + ", ".join(f"{m} {a or '-'} -> {b}" for m, (a, b) in changed.items())
            )
        if interval is None:
            return
        time.sleep(interval)


@click.command()
@data_option("Data folder with the transactions after the decisions (the responses).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for campaigns.csv and campaigns.html. "
    "[default: CINTEL_HOME/reports/campaigns/<UTC time>]",
)
@decision_log_options("Channel feedback folder (what /feedback recorded).")
@click.option(
    "--min-group",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Smallest treated or control group whose lift is judged.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="The data is complete before this date: decisions whose response window ends "
    "later are not counted yet. [default: what the data folder states, else the day after "
    "its last transaction]",
)
@click.option("--no-track", is_flag=True, help="Do not log the run to MLflow.")
@user_errors
def campaigns(
    data_dir: Path,
    out_dir: Path | None,
    decisions_dir: Path | None,
    feedback_dir: Path | None,
    min_group: int,
    as_of: str | None,
    no_track: bool,
) -> None:
    """What worked: per campaign and offer (and by channel, value tier, segment) response
    treated vs control, actual vs expected, lift with a 95 % interval, incremental margin,
    cost and ROI, from the decision log and the purchases in each response window.

    Writes campaigns.csv and campaigns.html (linked from the reports index) and logs the
    figures to the MLflow experiment cintel-campaigns. Only decisions whose response
    window the data covers count."""
    from monitoring.campaign_run import run_campaigns
    from monitoring.campaigns import CampaignConfig
    from serving.settings import get_service_settings

    settings = get_service_settings()
    with console.status("Building the campaigns report…"):
        result = run_campaigns(
            settings,
            data_dir,
            out_dir,
            decisions_dir,
            feedback_dir,
            settings.offers_path,
            CampaignConfig(min_group=min_group),
            track=not no_track,
            as_of=parse_date(as_of, "--as-of"),
        )
    overall = result.report[result.report["breakdown"] == "all"]
    for row in overall.to_dict("records"):
        stdout.print(
            f"  [bold]{row['campaign']} / {row['offer_id']}[/]: {row['treated']:,} treated, "
            f"{row['control']:,} control; {row['verdict']}; {row['expectation']}",
            highlight=False,
        )
    if overall.empty:
        stdout.print("  no matured decisions yet: the data does not cover a response window")
    for note in result.notes[:1] + result.notes[3:]:
        stdout.print(f"  [dim]{note}[/]", highlight=False)
    stdout.print(f"  report: {result.out_dir / 'campaigns.html'}")


COMMANDS = (monitor, cycle, campaigns)
