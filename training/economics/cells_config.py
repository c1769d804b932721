"""``cells.yaml``: how potential is cut into levels, the strategy of every (value, potential)
cell and the micro-segments' minimum size. Validated; every key is optional::

    potential:
      measure: headroom      # or share_of_wallet (a low share is a high potential)
      high: 0.2              # share of the customers with a potential that are "high"
      medium: 0.3            # the next share: "medium"; the rest "low"
    strategies:              # value tier -> potential level -> strategy
      gold: {high: develop, low: retain}
    micro_segments:
      min_size: 50           # smaller micro-segments merge upward

Looked for in the data folder, then in ``CINTEL_HOME``; without either, the defaults below.
A bad file is a ``CellsError`` naming the file and the key at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CELLS_FILE = "cells.yaml"
# the value tiers of training.segments.config.TIERS (not imported: scikit-learn)
TIERS = ("platinum", "gold", "silver", "bronze", "value_destroyer")
LEVELS = ("high", "medium", "low")
UNKNOWN = "unknown"  # no cintel-potential champion scored the customer
STRATEGIES = ("retain", "develop", "maintain", "reduce_cost_to_serve")
MEASURES = ("headroom", "share_of_wallet")
_TOP_KEYS = ("potential", "strategies", "micro_segments")

DEFAULT_STRATEGIES: dict[str, dict[str, str]] = {
    "platinum": {"high": "develop", "medium": "retain", "low": "retain", UNKNOWN: "retain"},
    "gold": {"high": "develop", "medium": "retain", "low": "retain", UNKNOWN: "retain"},
    "silver": {"high": "develop", "medium": "develop", "low": "maintain", UNKNOWN: "maintain"},
    "bronze": {"high": "develop", "medium": "maintain", "low": "maintain", UNKNOWN: "maintain"},
    "value_destroyer": {
        "high": "develop",
        "medium": "reduce_cost_to_serve",
        "low": "reduce_cost_to_serve",
        UNKNOWN: "reduce_cost_to_serve",
    },
}


class CellsError(ValueError):
    """A cells.yaml that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class CellsConfig:
    """Validated settings (``source``: the file they came from; None: the defaults)."""

    measure: str = "headroom"
    high_share: float = 0.2
    medium_share: float = 0.3
    strategies: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_STRATEGIES)
    min_size: int = 50
    source: str | None = None

    def strategy(self, tier: str, level: str) -> str | None:
        """The strategy of a (value tier, potential level) cell (None: an unknown tier)."""
        return self.strategies.get(tier, {}).get(level)


def _share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise CellsError(f"{where} must be a share between 0 and 1, got {value!r}")
    return float(value)


def _mapping(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CellsError(f"{where} must be a mapping with keys {', '.join(keys)}, got {value!r}")
    bad = sorted(str(k) for k in value if k not in keys)
    if bad:
        raise CellsError(f"{where}: unknown key(s) {', '.join(bad)}; expected {', '.join(keys)}")
    return value


def _strategies(raw: Any) -> dict[str, dict[str, str]]:
    out = {tier: dict(levels) for tier, levels in DEFAULT_STRATEGIES.items()}
    for tier, levels in _mapping(raw, "strategies", TIERS).items():
        for level, name in _mapping(levels, f"strategies.{tier}", (*LEVELS, UNKNOWN)).items():
            if name not in STRATEGIES:
                raise CellsError(
                    f"strategies.{tier}.{level} must be one of {', '.join(STRATEGIES)}, "
                    f"got {name!r}"
                )
            out[tier][level] = name
    return out


def parse_cells(raw: Any, source: str) -> CellsConfig:
    """Settings from the parsed YAML ``raw``, over the defaults (CellsError naming ``source``)."""
    try:
        top = _mapping(raw, source, _TOP_KEYS)
        pot = _mapping(top.get("potential"), "potential", ("measure", "high", "medium"))
        measure = pot.get("measure", "headroom")
        if measure not in MEASURES:
            raise CellsError(
                f"potential.measure must be one of {', '.join(MEASURES)}, got {measure!r}"
            )
        high = _share(pot.get("high", 0.2), "potential.high")
        medium = _share(pot.get("medium", 0.3), "potential.medium")
        if high + medium > 1:
            raise CellsError(
                f"potential.high + potential.medium must be at most 1, got {high + medium}"
            )
        micro = _mapping(top.get("micro_segments"), "micro_segments", ("min_size",))
        size = micro.get("min_size", 50)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise CellsError(f"micro_segments.min_size must be an integer >= 1, got {size!r}")
        return CellsConfig(measure, high, medium, _strategies(top.get("strategies")), size, source)
    except CellsError as exc:
        message = str(exc)
        raise CellsError(
            message if message.startswith(source) else f"{source}: {message}"
        ) from None


def load_cells(*folders: Path | str | None) -> CellsConfig:
    """The first ``cells.yaml`` of ``folders`` (the data folder, then CINTEL_HOME), or the
    defaults when none has one."""
    import yaml

    for folder in folders:
        if folder is None:
            continue
        path = Path(folder) / CELLS_FILE
        if not path.exists():
            continue
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise CellsError(f"{path}: not valid YAML ({exc})") from None
        return parse_cells(raw, str(path))
    return CellsConfig()


def cells_to_json(config: CellsConfig) -> dict[str, Any]:
    """``config`` as plain JSON (the store's meta keeps it for the event path)."""
    return {
        "measure": config.measure,
        "high_share": config.high_share,
        "medium_share": config.medium_share,
        "strategies": {t: dict(v) for t, v in config.strategies.items()},
        "min_size": config.min_size,
        "source": config.source,
    }


def cells_from_json(raw: Mapping[str, Any] | None) -> CellsConfig:
    """The inverse of ``cells_to_json``; None (a store from before) gives the defaults."""
    if not raw:
        return CellsConfig()
    return CellsConfig(
        str(raw["measure"]),
        float(raw["high_share"]),
        float(raw["medium_share"]),
        {str(t): dict(v) for t, v in raw["strategies"].items()},
        int(raw["min_size"]),
        raw.get("source"),
    )
