"""Reliability check of jobs at once: two trains, then two cycles, with the service running."""

from __future__ import annotations

import json
import re

from bench.reliability_checks import (
    MODELS,
    Row,
)
from bench.reliability_registry import _client
from bench.reliability_system import Server, System, wait_until


# ---- concurrency -------------------------------------------------------------------------
def _aliases(system: System) -> dict[str, dict[str, str]]:
    """Every cintel model's aliases: the four required ones, and an optional one
    (potential, uplift) once it is registered."""
    client = _client(system)
    out = {}
    names = {m.name for m in client.search_registered_models()}
    optional = sorted(n.removeprefix("cintel-") for n in names if n.startswith("cintel-"))
    for model in (*MODELS, *(m for m in optional if m not in MODELS)):
        aliases = client.get_registered_model(f"cintel-{model}").aliases
        if aliases or model in MODELS:
            out[model] = {k: str(v) for k, v in aliases.items()}
    return out


def _inconsistencies(system: System, server: Server) -> list[str]:
    client = _client(system)
    problems = []
    aliases = _aliases(system)
    for model, named in aliases.items():
        champion = named.get("champion")
        if champion is None:
            problems.append(f"{model}: no @champion")
            continue
        if named.get("previous") == champion:
            problems.append(f"{model}: @previous == @champion (v{champion})")
        for alias, version in named.items():
            mv = client.get_model_version(f"cintel-{model}", version)
            if mv.status != "READY":
                problems.append(f"{model}: @{alias} v{version} is {mv.status}")
    meta = json.loads((system.home / "store" / "meta.json").read_text())
    champions = {m: a.get("champion") for m, a in aliases.items()}
    if meta.get("versions") != champions:
        problems.append(f"store versions {meta.get('versions')} != champions {champions}")

    def follows() -> bool:
        return bool(server.status().get("versions") == champions)

    if not wait_until(follows, 30):
        problems.append(f"served {server.status().get('versions')} != champions {champions}")
    return problems


REFUSED = re.compile(r"another\b.*\bcycle|cycle\b.*\b(lock|already running)")


def concurrent_jobs(system: System, server: Server) -> list[Row]:
    """Two ``cintel train`` at once, then two ``cintel cycle --force`` at once."""
    data = str(system.data)
    trains = [system.start("train", "--data", data, name=f"train-{i}") for i in (1, 2)]
    trained = [system.finish(p, log, timeout=900) for p, log in trains]
    cycles = [system.start("cycle", "--data", data, "--force", name=f"cycle-{i}") for i in (1, 2)]
    cycled = [system.finish(p, log, timeout=900) for p, log in cycles]
    train_errors = [d for d in trained if d.rc != 0 or "Traceback" in d.output]
    refused = [d for d in cycled if d.rc != 0 and REFUSED.search(d.output.lower())]
    cycle_errors = [
        d for d in cycled if d not in refused and (d.rc != 0 or "Traceback" in d.output)
    ]
    problems = _inconsistencies(system, server)
    detail = {
        "train_exit_codes": [d.rc for d in trained],
        "train_seconds": [round(d.seconds) for d in trained],
        "train_error_tails": [d.output.strip()[-600:] for d in train_errors],
        "cycle_exit_codes": [d.rc for d in cycled],
        "cycle_error_tails": [d.output.strip()[-600:] for d in cycle_errors],
        "refused_output": [d.output.strip()[-300:] for d in refused],
        "aliases": _aliases(system),
        "inconsistencies": problems,
    }
    errors = len(train_errors) + len(cycle_errors)
    return [
        Row(
            "concurrent_errors",
            "two `cintel train` and two `cintel cycle` at once: errors",
            f"{errors} (train exits {[d.rc for d in trained]}, cycle exits "
            f"{[d.rc for d in cycled]})",
            "0",
            errors == 0,
            detail,
        ),
        Row(
            "concurrent_aliases",
            "then aliases, store and served versions consistent",
            "yes" if not problems else f"no: {len(problems)} problem(s)",
            "consistent",
            not problems,
            detail,
        ),
        Row(
            "concurrent_cycle_refused",
            "the second cycle refused by the lock",
            f"{len(refused)} of 2 refused",
            "exactly 1",
            len(refused) == 1,
            detail,
        ),
    ]
