"""Pydantic schemas of the privacy API: consents, notices, declarations, requests, My data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from datatorg.privacy.models import IdentityKind, RequestType, ScopeKind

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsentCreate(BaseModel):
    """Give consent: a purpose, a scope and, if wanted, an expiry."""

    model_config = _STRICT

    purpose: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z]+$")
    scope_kind: ScopeKind
    scope_ref: str = Field(min_length=1, max_length=120)
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2027-01-01T00:00:00Z")
        return value


class ConsentEventRead(BaseModel):
    at: datetime
    state: str
    state_label: str
    notice_version: int | None
    channel: str
    channel_label: str
    expires_at: datetime | None


class ConsentRead(BaseModel):
    id: uuid.UUID
    purpose: str
    purpose_label: str
    scope_kind: ScopeKind
    scope_ref: str
    scope_label: str
    controller: str
    state: str
    state_label: str
    in_force: bool
    expires_at: datetime | None
    notice_version: int
    newer_notice: bool
    receipt_url: str
    withdraw_url: str
    history: list[ConsentEventRead]


class NoticeRead(BaseModel):
    id: uuid.UUID
    purpose: str
    purpose_label: str
    version: int
    title: str
    text: str
    retention: str


class ConsentPage(BaseModel):
    items: list[ConsentRead]
    notices: list[NoticeRead]


class DeclarationWrite(BaseModel):
    """What a publisher declares about a dataset's subjects."""

    model_config = _STRICT

    subject_column: str = Field(min_length=1, max_length=100)
    identity_kind: IdentityKind
    legal_basis: str = Field(min_length=1, max_length=60)
    categories: list[str] = Field(default_factory=list, max_length=10)
    legal_hold: str = Field("", max_length=2000)


class DeclarationRead(BaseModel):
    dataset_id: uuid.UUID
    subject_column: str
    identity_kind: IdentityKind
    legal_basis: str
    categories: list[str]
    legal_hold: str


class RequestCreate(BaseModel):
    """A data subject request."""

    model_config = _STRICT

    type: RequestType
    message: str = Field("", max_length=4000)
    dataset: str | None = Field(None, max_length=120)  # rectification, objection: which one
    correction: str = Field("", max_length=2000)  # rectification: what is wrong and the fix


class RequestAction(BaseModel):
    model_config = _STRICT

    action: Literal["verify", "extend", "complete", "reject", "withdraw"]
    reason: str = Field("", max_length=2000)
    method: str = Field("", max_length=40)


class RequestRead(BaseModel):
    id: uuid.UUID
    type: RequestType
    type_label: str
    state: str
    state_label: str
    received_at: datetime
    due_at: datetime
    overdue: bool
    identity_checked_at: datetime | None
    extension_reason: str
    outcome: dict[str, Any]
    history: list[dict[str, Any]]
    export_url: str | None = None


class RequestPage(BaseModel):
    items: list[RequestRead]
    total: int
