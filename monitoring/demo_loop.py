"""``cintel demo``, closing the loop: what the decisions did and what the next ones learn.

After the retraining cycle the demo publishes a larger customer base for its cross-sell
test (``monitoring.loop_world``: 5x the demo's customers, scored by the champions, so that
the held-out Qini can tell a ranking from luck), asks the running service about each of
them once (``/profiles``: each answer is a decision record; the test has a large control
group), simulates what the customers then did
(``simulate-responses``, from the simulator's true responses), reports the campaigns
(lift vs control with its interval, actual vs expected, ROI) and trains the uplift model on
the control groups. When its gate promotes it, its scores are published and the cross-sell
campaign (``ranking: uplift``) is ranked by them; otherwise the campaign stays ranked by
expected value and the demo says why. Each step is the function behind its command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from monitoring.loop_world import (
    WORLD_FACTOR,
    against_truth,
    build_world,
    decisions_since,
    describe_truth,
    wait_for_customer,
)

# the demo's cross-sell campaign: a test with half of the customers held out, so that the
# uplift model has a control group to learn from, ranked by uplift once a model exists
TEST_CAMPAIGN = "cross_sell"
TEST_SETTINGS = {"holdout": 0.5, "ranking": "uplift"}
CATALOGUE_FILE = "offers.yaml"
BATCH = 500


@dataclass
class LoopResult:
    """What the loop produced, for the demo's summary and tests."""

    decisions: int = 0
    campaigns_csv: Path | None = None
    report: pd.DataFrame | None = None
    uplift: dict[str, Any] = field(default_factory=dict)
    truth: dict[str, float] = field(default_factory=dict)  # learned vs the simulator's uplift
    ranked: pd.DataFrame | None = None
    answer: dict[str, Any] | None = None  # the service's /profile after the uplift publish
    seconds: dict[str, float] = field(default_factory=dict)


def write_demo_catalogue(home: Path) -> Path:
    """The default offer catalogue with the test campaign's settings, in the demo home."""
    import yaml

    from serving.catalogue import default_catalogue, parse_catalogue

    raw: dict[str, Any] = default_catalogue().model_dump(mode="json", exclude_none=True)
    raw.setdefault("campaigns", {}).setdefault(TEST_CAMPAIGN, {}).update(TEST_SETTINGS)
    path = home / CATALOGUE_FILE
    parse_catalogue(raw, str(path))  # refuse here, not in the service, if it is wrong
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def ask_everyone(post: Callable[[str, dict[str, Any]], Any], ids: list[str]) -> int:
    """One ``/profiles`` pass over ``ids`` in batches; the number of customers answered."""
    answered = 0
    for i in range(0, len(ids), BATCH):
        body = post("/profiles", {"customer_ids": ids[i : i + BATCH], "channel": "web"})
        answered += len(body["profiles"])
    return answered


def _counts(decisions: pd.DataFrame) -> str:
    by = decisions.groupby(["campaign", "group"]).size().unstack(fill_value=0)
    return "; ".join(
        f"{c}: {int(r.get('treated', 0)):,} offers made, {int(r.get('control', 0)):,} held out"
        for c, r in by.iterrows()
    )


def _timed(result: LoopResult, name: str, started: float) -> str:
    result.seconds[name] = time.perf_counter() - started
    return f"{result.seconds[name]:.0f} s"


def close_the_loop(
    home: Path,
    data_dir: Path,
    post: Callable[[str, dict[str, Any]], Any],
    ids: list[str],
    say: Callable[[str], None] = print,
) -> LoopResult:
    """The loop steps on the demo home (see the module docstring); ``post`` calls the
    running service and returns the decoded JSON answer; the campaign world has
    ``WORLD_FACTOR`` times as many customers as ``ids`` (the demo's)."""
    from monitoring.campaign_run import run_campaigns
    from serving.batch.materialize import materialize
    from serving.batch.targets import campaign_targets
    from serving.catalogue import load_catalogue
    from serving.settings import ServiceSettings
    from serving.store import PROFILES_FILE
    from training.data.decision_log import read_decisions
    from training.data.io import load_data, stated_data_end
    from training.data.simulator.replay import simulate_responses
    from training.pipeline import train
    from training.settings import get_settings
    from training.tasks import TaskInputs

    settings = get_settings()
    result = LoopResult()
    catalogue_path = home / CATALOGUE_FILE
    share = TEST_SETTINGS["holdout"]
    n_world = WORLD_FACTOR * len(ids)
    world_dir = data_dir / "campaign"

    say("\nClosing the loop: what the decisions did, and what the next ones learn from it")
    say(
        f"(loop 1/5) The {TEST_CAMPAIGN} test runs on the whole customer base: {n_world:,} "
        f"customers (the same simulator and drift; {WORLD_FACTOR}x the sample the models were "
        f"trained on), scored by the champions; {share:.0%} held out as its control group. "
        "The service is asked about each of them once (/profiles): every answer is a "
        "decision record"
    )
    started = time.perf_counter()
    world = load_data(build_world(world_dir / "all", n_world))
    materialize(world, ServiceSettings(home=home, offers_path=catalogue_path))
    world_ids = [str(i) for i in world.customers["customer_id"].tolist()]
    wait_for_customer(post, world_ids[-1])
    since = datetime.now(UTC)
    ask_everyone(post, world_ids)
    loop_log = world_dir / "decisions"
    decisions_since(settings.home / "decisions", loop_log, since)
    decisions = read_decisions(loop_log)
    result.decisions = int(decisions.attrs.get("records", 0))
    say(f"      {result.decisions:,} decisions in the campaign's log: {_counts(decisions)} "
        f"({_timed(result, 'decide', started)})")  # fmt: skip

    say("(loop 2/5) Thirty days later: what the customers did (simulate-responses, from the "
        "simulator's true responses, decisions replayed from the day the data ends)")  # fmt: skip
    started = time.perf_counter()
    after_dir = world_dir / "after"
    replay = simulate_responses(
        world_dir / "all", after_dir, loop_log, settings.home / "feedback", at="data-end"
    )
    assert replay.decisions_out is not None  # --at always writes the re-timed log
    say(f"      {replay.purchases:,} purchases in the response windows, {replay.feedback:,} "
        f"channel outcomes ({_timed(result, 'respond', started)})")  # fmt: skip

    say("(loop 3/5) What worked: the campaigns report (treated vs control, lift with its "
        "95 % interval, actual vs expected, ROI)")  # fmt: skip
    started = time.perf_counter()
    run = run_campaigns(
        settings, after_dir, decisions_dir=replay.decisions_out, offers_path=catalogue_path
    )
    result.report = run.report
    result.campaigns_csv = run.out_dir / "campaigns.csv"
    overall = run.report[run.report["breakdown"] == "all"]
    for row in overall.sort_values("treated", ascending=False).head(5).to_dict("records"):
        roi = "" if pd.isna(row["roi"]) else f"; ROI {row['roi']:+.1f}"
        if pd.notna(row.get("true_lift")):  # the simulator knows the truth
            roi += f" (true lift {100 * row['true_lift']:.1f} points)"
        say(f"      {row['offer_id']:<22} {row['treated']:>5,} treated {row['control']:>5,} "
            f"control: {row['verdict']}{roi}")  # fmt: skip
    say(f"      report: {run.out_dir / 'campaigns.html'} "
        f"({_timed(result, 'report', started)})")  # fmt: skip

    say("(loop 4/5) Training the uplift model on the control groups (one X-learner for the "
        "family arms; Qini on held-out customers, gated against random rankings)")  # fmt: skip
    started = time.perf_counter()
    after = load_data(after_dir)
    inputs = TaskInputs(decisions=replay.decisions_out, complete_before=stated_data_end(after_dir))
    trained = train(after, models=["uplift"], inputs=inputs)
    done = trained[0]
    result.uplift = {
        "version": done.version,
        "decision": done.decision,
        "metric": done.metric,
        "score": done.score,
        "reason": done.reason,
    }
    score = "-" if done.score is None else f"{done.score:.3f}"
    say(f"      cintel-uplift v{done.version or '-'}: {done.metric} {score}, {done.decision} "
        f"({done.reason}) ({_timed(result, 'uplift', started)})")  # fmt: skip

    if done.version is not None:
        result.truth = against_truth(after_dir, inputs, done.version)
        say(f"      {describe_truth(result.truth)}")
    if done.decision != "promoted":
        say("      the gate keeps it out: on these customers its ranking is not clearly "
            "better than a random one")  # fmt: skip
    profiles_path = ServiceSettings(home=home).store_dir / PROFILES_FILE
    started = time.perf_counter()
    if done.decision == "promoted":
        say(f"(loop 5/5) Publishing the uplift scores: the {TEST_CAMPAIGN} campaign is now "
            "ranked by uplift × value − cost")  # fmt: skip
        materialize(after, ServiceSettings(home=home, offers_path=catalogue_path))
    else:
        say(f"(loop 5/5) No uplift champion, so the {TEST_CAMPAIGN} campaign (ranking: "
            "uplift in the catalogue) stays ranked by propensity × value − cost")  # fmt: skip
    profiles = pd.read_parquet(profiles_path)
    ranked = campaign_targets(profiles, "cross-sell", 5, load_catalogue(catalogue_path))
    result.ranked = ranked
    for row in ranked.to_dict("records"):
        uplift = "" if pd.isna(row["uplift"]) else f", uplift {row['uplift']:+.3f}"
        say(f"      customer {row['customer_id']:>5}: {row['offer_id']:<22} by {row['ranking']}"
            f"{uplift}, score {row['score']:.2f} ({row['group']})")  # fmt: skip
    if done.decision == "promoted":
        treated = ranked[ranked["group"] == "treated"]
        if len(treated):
            result.answer = ask_until_uplift(post, str(treated["customer_id"].iloc[0]))
            say(f"      {describe_answer(result.answer)}")
    say(f"      ({_timed(result, 'publish', started)})")
    return result


def ask_until_uplift(
    post: Callable[[str, dict[str, Any]], Any], customer_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    """The service's ``/profile`` for one customer once it serves the uplift-scored store
    (it reloads the store on its next poll), or its last answer after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        answer: dict[str, Any] = post("/profile", {"customer_id": customer_id, "channel": "web"})
        if answer.get("ranking", {}).get(TEST_CAMPAIGN) == "uplift":
            return answer
        if time.monotonic() > deadline:
            return answer
        time.sleep(1.0)


def describe_answer(answer: dict[str, Any]) -> str:
    """One line: how the service ranked the test campaign and its first offer's arithmetic."""
    how = answer.get("ranking", {}).get(TEST_CAMPAIGN, "?")
    who = answer.get("customer_id")
    line = f"the service's /profile for customer {who}: {TEST_CAMPAIGN} ranked by {how}"
    offers = [o for o in answer.get("offers", []) if o.get("campaign") == TEST_CAMPAIGN]
    if offers:
        o = offers[0]
        uplift = "" if o.get("uplift") is None else f", uplift {o['uplift']:+.3f}"
        line += f"; first offer {o['offer_id']} (score {o['score']:.2f}{uplift})"
    return line
