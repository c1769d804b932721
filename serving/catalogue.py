"""The next-best-offer catalogue: pydantic models, YAML loading and clear validation errors."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

Tier = Literal["platinum", "gold", "silver", "bronze", "value_destroyer"]
Stage = Literal["new", "active", "developing", "at risk", "lapsed", "won back"]
Kind = Literal["cross_sell", "retention", "up_sell"]
Ranking = Literal["expected_value", "uplift"]
# kinds the uplift model scores (cintel-uplift's arms: the family of a cross-sell offer,
# ``any`` purchase for retention); an uplift-ranked campaign may hold only these
UPLIFT_KINDS = ("cross_sell", "retention")
CAMPAIGN_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
KNOWN_CHANNELS = ("store", "online", "phone", "call_centre", "web", "shop")
DEFAULT_SOURCE = "serving/offers.yaml"


def slug(name: object) -> str:
    """Column-safe name as ``training.data.features.slug`` makes it (no pandas import here)."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()
    return text or "blank"


class CatalogueError(ValueError):
    """A catalogue that cannot be used; the message names the offer id and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactCap(_Strict):
    """At most ``max_contacts`` contacts in any window of ``per_days`` days."""

    max_contacts: int = Field(ge=0)
    per_days: float = Field(gt=0)


class Eligibility(_Strict):
    """Who may get an offer; an omitted list allows everyone. ``segments`` are segment ids
    (``segment.id`` in /profile, e.g. ``weekend_wine``); a display name is made its slug.
    ``micro_segments`` are micro-segment ids as published (``micro_segment.id`` in /profile,
    ``<segment>/<tier>/<stage>/<channel>``, merged parts ``*``, e.g. ``weekend_wine/gold/*/*``).
    ``stages`` are lifecycle stages as ``lifecycle.stage`` in /profile shows them."""

    tiers: frozenset[Tier] | None = None
    segments: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    micro_segments: frozenset[str] | None = None
    stages: frozenset[Stage] | None = None

    @field_validator("micro_segments")
    @classmethod
    def _micro_ids(cls, v: frozenset[str] | None) -> frozenset[str] | None:
        for name in v or ():
            parts = name.split("/")
            if len(parts) != 4 or not all(parts):
                raise ValueError(
                    f"micro-segment '{name}' must be <segment>/<tier>/<stage>/<channel> "
                    "(4 parts, '*' for a merged part), e.g. weekend_wine/gold/active/web"
                )
        return v

    @field_validator("channels", "segments")
    @classmethod
    def _slugs(cls, v: frozenset[str] | None) -> frozenset[str] | None:
        return None if v is None else frozenset(slug(c) for c in v)


class Priority(_Strict):
    """High-value, high-risk customers whose retention offers come before everything else."""

    tiers: frozenset[Tier] = frozenset({"platinum", "gold"})
    clv_min: float = 1000.0
    churn_min: float = Field(default=0.5, ge=0, le=1)


class Campaign(_Strict):
    """How a campaign's offers are made and judged.

    ``holdout``: the share of customers in its control group (never offered its offers;
    0: no control group). ``response_window_days``: how long after a decision a purchase
    counts as its response. ``ranking``: order the campaign's offers by expected value
    (propensity x value - cost) or, when a cintel-uplift champion has scored the store, by
    incremental value (uplift x value - cost)."""

    holdout: float = Field(default=0.10, ge=0, lt=1)
    response_window_days: int = Field(default=30, ge=1, le=365)
    ranking: Ranking = "expected_value"
    description: str = ""


DEFAULT_CAMPAIGN = Campaign()


class Offer(_Strict):
    """One offer. Which fields are required depends on ``kind`` (see ``_by_kind``);
    ``campaign`` defaults to the kind (``retention``, ``cross_sell``, ``up_sell``)."""

    id: str = Field(min_length=1)
    kind: Kind
    campaign: str = Field(default="", pattern=r"^$|" + CAMPAIGN_ID)
    description: str = ""
    family: str | None = None
    value: float | None = Field(default=None, validation_alias=AliasChoices("value", "margin"))
    cost: float = Field(default=0.0, ge=0)
    first_time_only: bool = False
    save_rate: float | None = Field(default=None, gt=0, le=1)
    accept_rate: float | None = Field(default=None, gt=0, le=1)
    min_churn: float = Field(default=0.0, ge=0, le=1)
    eligible: Eligibility = Eligibility()
    cap: ContactCap | None = None

    @field_validator("family")
    @classmethod
    def _slug_family(cls, v: str | None) -> str | None:
        return None if v is None else slug(v)

    @model_validator(mode="after")
    def _by_kind(self) -> Offer:
        if not self.campaign:
            object.__setattr__(self, "campaign", self.kind)  # frozen: set once, here
        need = {
            "cross_sell": ("family", "value"),
            "up_sell": ("value", "accept_rate"),
            "retention": ("save_rate",),
        }[self.kind]
        for name in need:
            if getattr(self, name) is None:
                raise ValueError(f"field '{name}' is required for {self.kind} offers")
        if self.kind != "cross_sell":
            for name in ("family", "first_time_only"):
                if getattr(self, name):
                    raise ValueError(f"field '{name}' is only for cross_sell offers")
        if self.kind != "retention" and self.min_churn:
            raise ValueError("field 'min_churn' is only for retention offers")
        return self


class Catalogue(_Strict):
    """All offers plus the global per-customer contact cap and the priority rule."""

    version: int = 1
    global_cap: ContactCap | None = None
    priority: Priority = Priority()
    campaigns: dict[str, Campaign] = Field(default_factory=dict)
    offers: tuple[Offer, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        seen: set[str] = set()
        for offer in self.offers:
            if offer.id in seen:
                raise ValueError(f"offer id '{offer.id}' appears twice")
            seen.add(offer.id)
        return self

    @model_validator(mode="after")
    def _campaigns_used(self) -> Catalogue:
        named = self.campaign_ids
        for cid, settings in self.campaigns.items():
            if not re.match(CAMPAIGN_ID, cid):
                raise ValueError(
                    f"campaign id '{cid}' must be letters, digits, '_', '.' or '-' (at most 64)"
                )
            if cid not in named:
                raise ValueError(
                    f"campaigns.{cid}: no offer belongs to campaign '{cid}' (offers name "
                    f"{', '.join(named)}; an offer's campaign defaults to its kind): a "
                    "misspelt id would leave the settings unused"
                )
            if settings.ranking == "uplift":
                other = [
                    o.id for o in self.offers if o.campaign == cid and o.kind not in UPLIFT_KINDS
                ]
                if other:
                    raise ValueError(
                        f"campaigns.{cid}: ranking 'uplift' needs offers the uplift model "
                        f"scores (kinds {', '.join(UPLIFT_KINDS)}); {', '.join(other)} "
                        "cannot be ranked by uplift: use ranking 'expected_value'"
                    )
        return self

    @property
    def campaign_ids(self) -> tuple[str, ...]:
        """Every campaign an offer belongs to, in catalogue order."""
        return tuple(dict.fromkeys(o.campaign for o in self.offers))

    def campaign(self, campaign_id: str) -> Campaign:
        """A campaign's settings (the defaults when the ``campaigns`` mapping omits it)."""
        return self.campaigns.get(campaign_id, DEFAULT_CAMPAIGN)

    def of_kind(self, kind: Kind) -> tuple[Offer, ...]:
        """The offers of one kind, in catalogue order."""
        return tuple(o for o in self.offers if o.kind == kind)


def _describe(error: dict[str, Any], data: Any) -> str:
    """'offer 'x' (offers[2]), field 'value': msg' from one pydantic error."""
    loc = list(error["loc"])
    msg = str(error["msg"]).removeprefix("Value error, ")
    where = ""
    if len(loc) >= 2 and loc[0] == "offers" and isinstance(loc[1], int):
        raw = data.get("offers") if isinstance(data, dict) else None
        item = raw[loc[1]] if isinstance(raw, list) and loc[1] < len(raw) else None
        oid = item.get("id") if isinstance(item, dict) else None
        where = f"offer '{oid}' (offers[{loc[1]}])" if oid else f"offers[{loc[1]}] (no id)"
        loc = loc[2:]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    parts = [p for p in (where, f"field '{field}'" if field else "") if p]
    return f"{', '.join(parts) or 'catalogue'}: {msg}"


def parse_catalogue(data: Any, source: str = "<catalogue>") -> Catalogue:
    """Validate a parsed YAML/JSON mapping; raise CatalogueError naming offer and field."""
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: expected a mapping with an 'offers' list")
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e, data) for e in exc.errors()]  # type: ignore[arg-type]
        raise CatalogueError(f"bad offer catalogue {source}: " + "; ".join(lines)) from None


def catalogue_source(path: str | Path | None) -> str:
    """How messages name the catalogue at ``path`` (``None``: the packaged default)."""
    return DEFAULT_SOURCE if path is None else str(path)


def check_segments(
    catalogue: Catalogue,
    segment_ids: Iterable[str],
    source: str,
    model: str = "the segments model",
) -> None:
    """Refuse a catalogue whose eligibility names a segment id not in ``segment_ids``
    (the published segments model's ids): after a retrain retired a segment, its offers
    would silently reach nobody, or, were the id reused, someone else."""
    known = set(segment_ids)
    unknown = [
        f"offer '{offer.id}' names segment '{name}'"
        for offer in catalogue.offers
        for name in sorted(offer.eligible.segments or ())
        if name not in known
    ]
    if unknown:
        raise CatalogueError(
            f"offer catalogue {source}: {'; '.join(unknown)}; {model} has no such segment "
            f"(its segment ids: {', '.join(sorted(known)) or 'none'}). Change "
            f"eligible.segments in {source} to ids the segments model has"
        )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load a YAML catalogue; ``None`` loads the default ``serving/offers.yaml``."""
    source = catalogue_source(path)
    if path is None:
        text = resources.files("serving").joinpath("offers.yaml").read_text(encoding="utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogueError(f"cannot read offer catalogue {source}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"offer catalogue {source} is not valid YAML: {exc}") from None
    return parse_catalogue(data, source)


@cache
def default_catalogue() -> Catalogue:
    """The packaged default catalogue, parsed once on first use."""
    return load_catalogue(None)
