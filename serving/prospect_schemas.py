"""``POST /prospect`` bodies: people with attributes only, strict (a wrong field is a 400)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ProspectId = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Prospect(_Strict):
    """One person: every attribute the prospect model takes, by the customers table's
    column names (null: unknown)."""

    prospect_id: ProspectId
    attributes: dict[Name, str | float | None] = Field(max_length=200)


class ProspectRequest(_Strict):
    """Up to CINTEL_MAX_BATCH people; the answer ranks them by expected first-year value."""

    prospects: list[Prospect] = Field(min_length=1)
    top: int | None = Field(default=None, ge=1, description="answer only the best N")


class Lookalike(BaseModel):
    score: float = Field(description="P(becomes a top-tier customer within a year), 0-1")
    lift: float | None = Field(description="score / the top-tier rate of new customers")


class FirstOffer(BaseModel):
    family: str = Field(description="the family this profile most over-indexes on")
    probability: float = Field(description="P(buys the family in the first year), 0-1")
    lift: float = Field(description="probability / the family's rate among new customers")
    offer_id: str | None = Field(
        description="the offer catalogue's offer of that family a person without a history "
        "gets, the highest expected value as /profile ranks (null: none eligible or worth it)"
    )


class ScoredProspect(BaseModel):
    prospect_id: str
    rank: int = Field(description="1 = highest expected first-year value")
    lookalike: Lookalike
    expected_first_year_value: float = Field(description="mean first-year margin, money")
    first_offer: FirstOffer


class ProspectAnswer(BaseModel):
    prospects: list[ScoredProspect]
    model_versions: dict[str, str] = Field(description="{'prospect': registry version}")
