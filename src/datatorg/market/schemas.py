"""Marketplace schemas: what the API takes and gives (``XCreate``, ``XRead``, ``XPage``)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from datatorg.identity.models import OrgKind
from datatorg.market.models import AgreementState, NegotiationState, PriceModel
from datatorg.market.vocab import legal_bases, purposes

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _clean_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value.strip()


def _line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line")
    return _clean_text(value)


def _column(value: str) -> str:
    if not COLUMN_RE.match(value):
        raise ValueError("a column name is letters, digits and _ (at most 63), not a digit first")
    return value


def _purpose(value: str) -> str:
    if value not in purposes():
        raise ValueError("not a purpose on the DPV purpose list (see /api/v1/purposes)")
    return value


def _legal_basis(value: str) -> str:
    if value not in legal_bases():
        raise ValueError("not a supported DPV legal basis")
    return value


Text = Annotated[str, Field(max_length=4000), AfterValidator(_clean_text)]
Line = Annotated[str, Field(max_length=200), AfterValidator(_line)]
Column = Annotated[str, Field(max_length=63), AfterValidator(_column)]
Purpose = Annotated[str, Field(max_length=60), AfterValidator(_purpose)]
Columns = Annotated[list[Column], Field(min_length=1, max_length=500)]


def _unique(values: list[Any] | None) -> list[Any] | None:
    if values is None:
        return None
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class OfferCreate(_In):
    dataset: Annotated[str, Field(min_length=1, max_length=120)]
    title: Annotated[Line, Field(min_length=1)]
    licence: Annotated[str, Field(max_length=300), AfterValidator(_line)] = ""
    purposes: Annotated[list[Purpose], Field(min_length=1, max_length=30)]
    consumer_kinds: Annotated[list[OrgKind], Field(min_length=1, max_length=10)]
    columns: Columns | None = None
    aggregate_only: bool = False
    max_period_days: Annotated[int, Field(ge=1, le=3650)] = 365
    calls_per_day: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    rows_per_month: Annotated[int, Field(ge=1, le=10**12)] | None = None
    price_model: PriceModel = PriceModel.free
    price_nok: Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=2)] = Decimal("0")
    legal_basis: Annotated[str, Field(max_length=60), AfterValidator(_legal_basis)] = "Contract"
    auto_approve: bool = False
    attribution_required: bool = True
    redistribution_prohibited: bool = True

    _dedupe = field_validator("purposes", "consumer_kinds", "columns")(_unique)

    @field_validator("licence")
    @classmethod
    def _licence_is_iri(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s<>\"]+$", value):
            raise ValueError("licence must be an http(s) address")
        return value


class OfferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    dataset_id: uuid.UUID
    dataset_slug: str = ""
    title: str
    licence: str
    purposes: list[str]
    consumer_kinds: list[str]
    columns: list[str] | None
    aggregate_only: bool
    max_period_days: int
    calls_per_day: int | None
    rows_per_month: int | None
    price_model: PriceModel
    price_nok: Decimal
    legal_basis: str
    auto_approve: bool
    attribution_required: bool
    redistribution_prohibited: bool
    active: bool
    # columns the offer names that the dataset's current version lacks (a stale offer)
    unknown_columns: list[str] = []


class OfferPage(BaseModel):
    items: list[OfferRead]
    total: int


class AccessRequestCreate(_In):
    offer_id: uuid.UUID
    purpose: Purpose
    description: Annotated[Text, Field(min_length=10)]
    pilot_ref: Line = ""
    period_start: date
    period_end: date
    columns: Columns | None = None
    organisation: Annotated[str, Field(max_length=100)] | None = None  # slug; None: only one

    _dedupe = field_validator("columns")(_unique)


class CounterOffer(_In):
    columns: Columns | None = None
    period_end: date | None = None
    reason: Annotated[Text, Field(max_length=2000)] = ""

    _dedupe = field_validator("columns")(_unique)


class Decision(_In):
    reason: Annotated[Text, Field(max_length=2000)] = ""


class Rejection(_In):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


class AccessRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    offer_id: uuid.UUID
    dataset_id: uuid.UUID
    provider_org_id: uuid.UUID
    consumer_org_id: uuid.UUID | None
    purpose: str
    description: str
    pilot_ref: str
    period_start: date
    period_end: date
    columns: list[str] | None
    state: NegotiationState
    created_at: datetime
    due_at: datetime
    decision_reason: str
    decided_at: datetime | None
    agreement_id: uuid.UUID | None
    history: list[dict[str, Any]]


class AccessRequestPage(BaseModel):
    items: list[AccessRequestRead]
    total: int
    page: int
    per_page: int


class AgreementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    request_id: uuid.UUID | None
    offer_id: uuid.UUID | None
    dataset_id: uuid.UUID
    assigner_org_id: uuid.UUID
    assignee_org_id: uuid.UUID | None
    purpose: str
    legal_basis: str
    columns: list[str] | None
    aggregate_only: bool
    calls_per_day: int | None
    rows_per_month: int | None
    price_model: PriceModel
    price_nok: Decimal
    licence: str
    attribution_required: bool
    redistribution_prohibited: bool
    valid_from: datetime
    valid_until: datetime
    agreed_at: datetime
    content_hash: str
    state: AgreementState
    state_reason: str
    effective_state: str = ""


class AgreementPage(BaseModel):
    items: list[AgreementRead]
    total: int


class StateChange(_In):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


class AgreementTokenCreate(_In):
    name: Annotated[Line, Field(min_length=1, max_length=100)] = "agreement"
    days: Annotated[int, Field(ge=1, le=366)] = 90


class AgreementTokenRead(BaseModel):
    token: str
    token_id: uuid.UUID
    agreement_id: uuid.UUID
    expires_at: datetime


class UsageRow(BaseModel):
    day: date
    calls: int
    rows: int
    nbytes: int


class UsageRead(BaseModel):
    agreement_id: uuid.UUID
    days: list[UsageRow]


class StatementRead(BaseModel):
    agreement_id: uuid.UUID
    month: str
    price_model: PriceModel
    unit_price_nok: Decimal
    calls: int
    rows: int
    nbytes: int
    amount_due_nok: Decimal
    days: list[UsageRow]


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    subject: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    unread: int


class RegisterEntry(BaseModel):
    agreement_id: uuid.UUID
    recipient: str
    recipient_kind: str
    dataset: str
    dataset_en: str = ""  # the English title, when the dataset has one
    dataset_slug: str
    purpose: str
    purpose_iri: str
    legal_basis: str
    valid_from: date
    valid_until: date
    state: str


class RegisterPage(BaseModel):
    items: list[RegisterEntry]
    total: int
    page: int
    per_page: int
