"""Request bodies of the service: strict, so a wrong field is a 400 naming it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Context(_Strict):
    """What the channel knows right now; it changes the offers, not the scores."""

    basket_families: list[Name] = Field(default_factory=list, max_length=50)
    exclude_offers: list[Name] = Field(default_factory=list, max_length=100)


class ProfileRequest(_Strict):
    customer_id: CustomerId
    channel: Name | None = None
    context: Context | None = None


class ProfilesRequest(_Strict):
    customer_ids: list[CustomerId] = Field(min_length=1)
    channel: Name | None = None


class ScoreRequest(_Strict):
    """A customer the store does not know: features as the snapshot names them."""

    features: dict[Name, float | str | None] = Field(min_length=1, max_length=500)
    customer_id: CustomerId | None = None
    channel: Name | None = None
    context: Context | None = None


class FeedbackRequest(_Strict):
    customer_id: CustomerId
    offer_id: Name
    channel: Name
    outcome: Literal["shown", "accepted", "declined", "ignored", "contacted"]
