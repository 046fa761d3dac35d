"""Pydantic shapes of the catalog API: ``DatasetCreate``, ``DatasetUpdate``, ``DatasetRead``,
``DatasetSummary``, ``DatasetPage`` and their parts."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from datatorg.catalog.models import AccessRights, Classification, DatasetStatus
from datatorg.catalog.vocab import (
    DATA_CATEGORIES,
    FORMATS,
    FREQUENCIES,
    LICENCES,
    TABLE_SCHEMA_TYPES,
    THEMES,
)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$")
FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
FORMULA_START = ("=", "+", "@", "-", "\t", "\r")


def _no_control(value: str) -> str:
    value = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise ValueError("must not contain control characters")
    return value


def _plain_line(value: str) -> str:
    value = _no_control(value).strip()
    if "\n" in value or "\t" in value:
        raise ValueError("must be one line")
    if value.startswith(FORMULA_START):
        raise ValueError("must not start with = + - @ (spreadsheet formula)")
    return value


def _url(value: str) -> str:
    value = _no_control(value).strip()
    if value and not re.match(r"^https?://[^\s<>\"]+$", value):
        raise ValueError("must be an http(s) URL")
    return value


def _email(value: str) -> str:
    value = _no_control(value).strip()
    if value and not re.match(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", value):
        raise ValueError("must be an e-mail address")
    return value


def _slug(value: str) -> str:
    if value == "":  # made from the title when the dataset is stored (catalog.slugs)
        return value
    if not SLUG_RE.match(value):
        raise ValueError("lower-case letters a-z, digits and '-', 1 to 120 characters")
    return value


def _in(vocab: dict[str, Any], what: str) -> Any:
    def check(value: str) -> str:
        if value and value not in vocab:
            raise ValueError(f"unknown {what} {value[:40]!r}; one of {', '.join(vocab)}")
        return value

    return check


Line = Annotated[str, Field(max_length=300), AfterValidator(_plain_line)]
LongText = Annotated[str, Field(max_length=20_000), AfterValidator(_no_control)]
Url = Annotated[str, Field(max_length=1000), AfterValidator(_url)]


def _site_or_url(value: str) -> str:
    """An http(s) URL, or a path on this site (``/api/v1/…``), made absolute where it leaves."""
    stripped = _no_control(value).strip()
    if stripped.startswith("/") and not stripped.startswith("//"):
        if re.search(r"[\s<>\"\\]", stripped):
            raise ValueError("must be an http(s) URL or a path on this site")
        return stripped
    return _url(value)


SiteUrl = Annotated[str, Field(max_length=1000), AfterValidator(_site_or_url)]
Slug = Annotated[str, Field(max_length=120), AfterValidator(_slug)]
Keyword = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_plain_line)]
ThemeCode = Annotated[str, AfterValidator(_in(THEMES, "theme"))]
LicenceId = Annotated[str, AfterValidator(_in(LICENCES, "licence"))]
FrequencyCode = Annotated[str, AfterValidator(_in(FREQUENCIES, "frequency"))]
Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]


def _format(value: str) -> str:
    value = value.strip().upper()
    if value and value not in FORMATS:
        raise ValueError(f"unknown format; one of {', '.join(FORMATS)}")
    return value


class DistributionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Line = ""
    description: LongText = ""
    format: Annotated[str, Field(max_length=40), AfterValidator(_format)] = ""
    media_type: Annotated[str, Field(max_length=100), AfterValidator(_plain_line)] = ""
    byte_size: Annotated[int, Field(ge=0, le=2**53)] | None = None
    access_url: SiteUrl = ""
    download_url: SiteUrl = ""

    @model_validator(mode="after")
    def _needs_url(self) -> DistributionIn:
        if not self.access_url and not self.download_url:
            raise ValueError("a distribution needs an access_url or a download_url")
        return self


def _field_name(value: str) -> str:
    if not FIELD_NAME_RE.match(value):
        raise ValueError("a letter or _, then letters, digits or _ (at most 100)")
    return value


def _field_type(value: str) -> str:
    if value not in TABLE_SCHEMA_TYPES:
        raise ValueError(f"not a Table Schema type; one of {', '.join(TABLE_SCHEMA_TYPES)}")
    return value


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, AfterValidator(_field_name)]
    type: Annotated[str, AfterValidator(_field_type)] = "string"
    title: Line = ""
    description: LongText = ""
    unit: Annotated[str, Field(max_length=40), AfterValidator(_plain_line)] = ""
    data_category: Annotated[str, AfterValidator(_in(DATA_CATEGORIES, "data category"))] = "none"


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title_en: Line = ""
    description_nb: LongText = ""
    description_en: LongText = ""
    access_rights: AccessRights = AccessRights.public
    classification: Classification = Classification.open
    has_personal_data: bool = False
    license: LicenceId = ""
    contact_name: Line = ""
    contact_email: Email = ""
    themes: Annotated[list[ThemeCode], Field(max_length=13)] = []
    keywords_nb: Annotated[list[Keyword], Field(max_length=30)] = []
    keywords_en: Annotated[list[Keyword], Field(max_length=30)] = []
    spatial: Url = ""
    temporal_start: date | None = None
    temporal_end: date | None = None
    frequency: FrequencyCode = ""
    landing_page: Url = ""
    conforms_to: Annotated[list[Url], Field(max_length=10)] = []
    steward_id: uuid.UUID | None = None  # a steward (or admin) of the owning organisation
    legal_basis: Line = ""
    retention_period: Annotated[str, Field(max_length=100), AfterValidator(_plain_line)] = ""
    dpia_reference: Line = ""
    quality_notes: LongText = ""
    distributions: Annotated[list[DistributionIn], Field(max_length=50)] = []
    fields: Annotated[list[FieldIn], Field(max_length=500)] = []


class DatasetCreate(_Common):
    slug: Slug = ""  # empty: made from the Norwegian title (æ→ae, ø→o, å→a), unique
    title_nb: Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_plain_line)]
    publisher: Annotated[str, Field(max_length=100)] | None = None  # org slug or id


class DatasetUpdate(_Common):
    """A partial change: only the fields sent are changed."""

    title_nb: Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_plain_line)] = ""


class PublisherRef(BaseModel):
    id: uuid.UUID
    slug: str
    name: str


class Labelled(BaseModel):
    code: str
    label: str


class LicenceRead(BaseModel):
    id: str
    url: str
    title: str
    is_open: bool


class DistributionRead(DistributionIn):
    id: uuid.UUID


class FieldRead(FieldIn):
    pass


class Governance(BaseModel):
    steward_id: uuid.UUID | None
    legal_basis: str
    retention_period: str
    dpia_reference: str
    quality_notes: str


class DatasetSummary(BaseModel):
    id: uuid.UUID
    slug: str
    title: str
    title_nb: str
    title_en: str
    description: str
    publisher: PublisherRef
    status: DatasetStatus
    access_rights: AccessRights
    classification: Classification
    is_open: bool
    license: LicenceRead | None
    themes: list[Labelled]
    formats: list[str]
    modified: datetime
    url: str


class DatasetRead(DatasetSummary):
    description_nb: str
    description_en: str
    has_personal_data: bool
    keywords_nb: list[str]
    keywords_en: list[str]
    contact_name: str
    contact_email: str
    spatial: str
    temporal_start: date | None
    temporal_end: date | None
    frequency: Labelled | None
    landing_page: str
    conforms_to: list[str]
    published_at: datetime | None
    created: datetime
    distributions: list[DistributionRead]
    fields: list[FieldRead]
    governance: Governance | None  # only for the owning organisation, or when open
    links: dict[str, str]


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class DatasetPage(BaseModel):
    items: list[DatasetSummary]
    total: int
    page: int
    per_page: int
    sort: str
    facets: dict[str, list[FacetValue]]


class ChangeRead(BaseModel):
    at: datetime
    actor_id: uuid.UUID | None
    action: str
    changes: dict[str, Any]


SortKey = Literal["relevance", "title", "-title", "modified", "-modified", "published"]
