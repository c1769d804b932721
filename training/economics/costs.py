"""``costs.yaml`` of a data folder: what an order, a return, a contact and an acquisition cost.

Every cost is money per event, in the currency of the transactions' margin. A missing file
means every cost is zero (``Costs.source`` is then ``None`` and the answer says so). A bad
file is a ``CostsError`` naming the file and the key at fault::

    per_order: {default: 0.0, web: 1.5, shop: 2.0}     # cost to serve an order, by channel
    per_return: 4.0                                     # handling one returned line
    per_contact: {default: 0.0, email: 0.05, call: 3.0} # a recorded offer, by channel
    acquisition:
      by: acquisition_channel                          # customers' column to look up
      costs: {default: 0.0, search: 25.0, referral: 8.0}
      column: acquisition_cost                         # per-customer cost, used when present
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COSTS_FILE = "costs.yaml"
DEFAULT = "default"
_TOP_KEYS = ("per_order", "per_return", "per_contact", "acquisition")
_ACQ_KEYS = ("by", "costs", "column")


class CostsError(ValueError):
    """A costs.yaml that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ByChannel:
    """A cost per event, by channel (slug or name); ``default`` for any other channel."""

    default: float = 0.0
    channels: Mapping[str, float] = field(default_factory=dict)

    def of(self, channel: object) -> float:
        return self.channels.get(str(channel), self.default)

    @property
    def zero(self) -> bool:
        return self.default == 0 and not any(self.channels.values())


@dataclass(frozen=True)
class Costs:
    """Validated costs; ``source`` is the file they came from (None: defaults, all zero)."""

    per_order: ByChannel = field(default_factory=ByChannel)
    per_return: float = 0.0
    per_contact: ByChannel = field(default_factory=ByChannel)
    acquisition_by: str = "acquisition_channel"
    acquisition: ByChannel = field(default_factory=ByChannel)
    acquisition_column: str = "acquisition_cost"
    source: str | None = None


def _money(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CostsError(f"{where} must be a number (money per event), got {value!r}")
    if value != value or value < 0 or value == float("inf"):
        raise CostsError(f"{where} must be a finite number >= 0, got {value!r}")
    return float(value)


def _by_channel(value: Any, where: str) -> ByChannel:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ByChannel(_money(value, where))
    if not isinstance(value, dict):
        raise CostsError(
            f"{where} must be a number or a mapping of channel to cost "
            f"(with an optional '{DEFAULT}'), got {value!r}"
        )
    costs = {str(k): _money(v, f"{where}.{k}") for k, v in value.items()}
    default = costs.pop(DEFAULT, 0.0)
    return ByChannel(default, costs)


def parse_costs(raw: Any, source: str) -> Costs:
    """Costs from the parsed YAML ``raw`` (CostsError naming ``source`` and the key)."""
    if raw is None:
        return Costs(source=source)
    if not isinstance(raw, dict):
        raise CostsError(f"{source}: expected a mapping with keys {', '.join(_TOP_KEYS)}")
    unknown = sorted(str(k) for k in raw if k not in _TOP_KEYS)
    if unknown:
        raise CostsError(
            f"{source}: unknown key(s) {', '.join(unknown)}; expected {', '.join(_TOP_KEYS)}"
        )
    try:
        acq = raw.get("acquisition") or {}
        if not isinstance(acq, dict):
            raise CostsError(f"acquisition must be a mapping with keys {', '.join(_ACQ_KEYS)}")
        bad = sorted(str(k) for k in acq if k not in _ACQ_KEYS)
        if bad:
            raise CostsError(f"acquisition: unknown key(s) {', '.join(bad)}")
        for key in ("by", "column"):
            if key in acq and not (isinstance(acq[key], str) and acq[key]):
                raise CostsError(f"acquisition.{key} must be a column name, got {acq[key]!r}")
        return Costs(
            per_order=_by_channel(raw.get("per_order", 0), "per_order"),
            per_return=_money(raw.get("per_return", 0), "per_return"),
            per_contact=_by_channel(raw.get("per_contact", 0), "per_contact"),
            acquisition_by=acq.get("by", "acquisition_channel"),
            acquisition=_by_channel(acq.get("costs", 0), "acquisition.costs"),
            acquisition_column=acq.get("column", "acquisition_cost"),
            source=source,
        )
    except CostsError as exc:
        raise CostsError(f"{source}: {exc}") from None


def load_costs(data_dir: Path | str) -> Costs:
    """The data folder's ``costs.yaml``, or all-zero defaults when there is none."""
    import yaml

    path = Path(data_dir) / COSTS_FILE
    if not path.exists():
        return Costs()
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CostsError(f"{path}: not valid YAML ({exc})") from None
    return parse_costs(raw, str(path))


def costs_to_json(costs: Costs) -> dict[str, Any]:
    """``costs`` as plain JSON (the store's meta keeps them for the event path)."""
    from dataclasses import asdict

    return asdict(costs)


def costs_from_json(raw: Mapping[str, Any] | None) -> Costs:
    """The inverse of ``costs_to_json``; None (a store from before) gives the zero defaults."""
    if not raw:
        return Costs()

    def by(name: str) -> ByChannel:
        value = raw[name]
        return ByChannel(float(value["default"]), dict(value["channels"]))

    return Costs(
        per_order=by("per_order"),
        per_return=float(raw["per_return"]),
        per_contact=by("per_contact"),
        acquisition_by=str(raw["acquisition_by"]),
        acquisition=by("acquisition"),
        acquisition_column=str(raw["acquisition_column"]),
        source=raw.get("source"),
    )
