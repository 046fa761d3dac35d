"""Identity schemas: what the API and the pages accept and return."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from datatorg.identity.models import InvitationState, OrgKind, Role

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


def printable(value: str) -> str:
    """Text without control characters or undecodable bytes (U+FFFD), stripped."""
    value = value.strip()
    if not value or any(ord(c) < 32 or c == "\ufffd" for c in value):
        raise ValueError("Must be printable text (UTF-8, no control characters)")
    return value


def clean_email(value: str) -> str:
    """A syntactically valid e-mail address, lower-cased; raises ValueError otherwise."""
    value = printable(value)
    if len(value) > 320:
        raise ValueError("E-mail address is too long")
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("Not a valid e-mail address") from exc
    return checked.normalized.lower()


class SignupCreate(BaseModel):
    email: str = Field(max_length=320)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    accept_terms: bool
    locale: Literal["nb", "en"] = "nb"

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return clean_email(v)

    @field_validator("display_name")
    @classmethod
    def _name(cls, v: str) -> str:
        return printable(v)

    @field_validator("password")
    @classmethod
    def _password(cls, v: str) -> str:
        if "\ufffd" in v or "\x00" in v:
            raise ValueError("Password must be valid UTF-8 text")
        return v

    @field_validator("accept_terms")
    @classmethod
    def _terms(cls, v: bool) -> bool:
        if not v:
            raise ValueError("You must accept the terms of use")
        return v


class LoginCreate(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class PasswordResetRequest(BaseModel):
    email: str = Field(min_length=1, max_length=320)


class PasswordResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)

    @field_validator("password")
    @classmethod
    def _password(cls, v: str) -> str:
        if "\ufffd" in v or "\x00" in v:
            raise ValueError("Password must be valid UTF-8 text")
        return v


class OrganisationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str


class OrganisationRead(OrganisationSummary):
    id: uuid.UUID
    orgnr: str | None
    kind: OrgKind
    homepage: str | None


class OrganisationCreate(BaseModel):
    slug: str = Field(min_length=2, max_length=100, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])$")
    name: str = Field(min_length=1, max_length=300)
    orgnr: str | None = Field(None, max_length=11)
    kind: OrgKind = OrgKind.business
    homepage: str | None = Field(None, max_length=500, pattern=r"^https?://")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return printable(v)


class MembershipRead(BaseModel):
    id: uuid.UUID
    organisation: OrganisationSummary
    role: Role


class MemberRead(BaseModel):
    membership_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    email: str
    role: Role


class MemberCreate(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    role: Role


class InvitationRead(BaseModel):
    """An invitation to a role: given only when the invited person accepts."""

    id: uuid.UUID
    organisation: OrganisationSummary
    role: Role
    state: InvitationState
    user_id: uuid.UUID
    display_name: str
    email: str
    created_at: datetime


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str
    locale: str
    is_superuser: bool
    created_at: datetime
    last_login_at: datetime | None
    memberships: list[MembershipRead] = []


class UserUpdate(BaseModel):
    display_name: str | None = Field(None, min_length=1, max_length=200)
    locale: Literal["nb", "en"] | None = None

    @field_validator("display_name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else printable(v)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return printable(v)

    days: int | None = Field(90, ge=1, le=3650, description="Lifetime in days; null: no expiry.")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The token itself; shown only this once.")
