"""What the living lab's API takes and gives for pilots, KPIs and results."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from datatorg.market.schemas import COLUMN_RE
from datatorg.market.vocab import purposes
from datatorg.pilots.models import (
    Direction,
    KpiSource,
    Outcome,
    Phase,
    ResourceKind,
    Schedule,
)
from datatorg.pilots.schemas import (
    CallRead,
    Finite,
    IdeaSummary,
    In,
    Labelled,
    Line,
    LongText,
    Ref,
    Text,
    Title,
    clean_text,
    one_line,
)
from datatorg.pilots.vocab import SDGS
from datatorg.web.i18n import gettext as _


def _purpose(value: str) -> str:
    if value not in purposes():
        raise ValueError(_("not a purpose on the DPV purpose list (see /api/v1/purposes)"))
    return value


def _column(value: str) -> str:
    if not COLUMN_RE.match(value):
        raise ValueError(
            _("a column name is letters, digits and _ (at most 63), not a digit first")
        )
    return value


Purpose = Annotated[str, Field(max_length=60), AfterValidator(_purpose)]
Column = Annotated[str, Field(max_length=63), AfterValidator(_column)]


class PhaseDates(In):
    phase: Phase
    starts_on: date
    ends_on: date
    note: Annotated[str, Field(max_length=500), AfterValidator(one_line)] = ""

    @model_validator(mode="after")
    def _order(self) -> PhaseDates:
        if self.ends_on < self.starts_on:
            raise ValueError(_("a phase ends on or after the day it starts"))
        if (self.ends_on - self.starts_on).days > 3 * 366:
            raise ValueError(_("a phase lasts at most three years"))
        return self


class PilotCreate(In):
    idea_id: uuid.UUID
    title: Title | None = None  # the idea's title when left out
    summary: Text = ""
    purpose: Purpose = "ImprovePublicServices"
    lead_id: uuid.UUID | None = None  # the idea's submitter when left out
    phases: Annotated[list[PhaseDates], Field(max_length=4)] = []
    recruiting: bool = False
    participation_text: Text = ""

    @field_validator("phases")
    @classmethod
    def _one_each(cls, value: list[PhaseDates]) -> list[PhaseDates]:
        if len({p.phase for p in value}) != len(value):
            raise ValueError(_("give each phase once"))
        return value


class PilotChange(In):
    summary: Text | None = None
    recruiting: bool | None = None
    participation_text: Text | None = None


class MemberAdd(In):
    email: Annotated[str, Field(min_length=3, max_length=320), AfterValidator(one_line)]
    role: Line = ""


class PartnerAdd(In):
    organisation: Ref
    contribution: Annotated[str, Field(max_length=500), AfterValidator(one_line)] = ""


class ResourceCreate(In):
    kind: ResourceKind
    description: Annotated[str, Field(min_length=3, max_length=1000), AfterValidator(clean_text)]
    amount: Annotated[str, Field(max_length=100), AfterValidator(one_line)] = ""


class ResourceDecision(In):
    status: Literal["granted", "declined"]
    note: Annotated[str, Field(max_length=1000), AfterValidator(clean_text)] = ""


class DataRequestCreate(In):
    """Ask for data under an offer, for the pilot: the pilot's purpose is the request's."""

    offer_id: uuid.UUID
    description: LongText
    period_start: date
    period_end: date
    columns: Annotated[list[Column], Field(min_length=1, max_length=500)] | None = None
    organisation: Ref | None = None


class UpdateCreate(In):
    title: Title
    body: Text = ""
    kind: Literal["note", "milestone"] = "note"


class KpiCreate(In):
    name: Title
    unit: Annotated[str, Field(max_length=40), AfterValidator(one_line)] = ""
    baseline: Finite | None = None
    target: Finite | None = None
    direction: Direction
    sdg: Annotated[int, Field(ge=1, le=17)] | None = None
    source: KpiSource = KpiSource.manual
    dataset: Ref | None = None
    query: Annotated[str, Field(max_length=2000), AfterValidator(one_line)] = ""
    schedule: Schedule = Schedule.manual

    @model_validator(mode="after")
    def _source(self) -> KpiCreate:
        if self.source == KpiSource.dataset and (not self.dataset or not self.query):
            raise ValueError(_("a KPI computed from a dataset needs the dataset and its query"))
        if self.source == KpiSource.manual:
            self.dataset, self.query, self.schedule = None, "", Schedule.manual
        if self.sdg is not None and self.sdg not in SDGS:
            raise ValueError(_("a goal is a number from 1 to 17"))
        return self


class MeasurementCreate(In):
    period: date
    value: Finite
    note: Annotated[str, Field(max_length=500), AfterValidator(one_line)] = ""


class ResultCreate(In):
    outcome: Outcome
    summary: LongText
    lessons: Text = ""


class MeasurementRead(BaseModel):
    period: date
    value: float
    computed: bool
    note: str


class KpiRead(BaseModel):
    id: uuid.UUID
    pilot_id: uuid.UUID
    url: str
    name: str
    unit: str
    baseline: float | None
    target: float | None
    direction: Labelled
    sdg: Labelled | None
    source: Labelled
    dataset: dict[str, str] | None
    query: str
    schedule: Labelled
    last_run_at: datetime | None
    last_ok: bool | None
    last_error: str
    latest: MeasurementRead | None
    progress: float | None  # share of the way from baseline to target (0–1, may exceed)
    values: list[MeasurementRead]


class PilotSummary(BaseModel):
    id: uuid.UUID
    url: str
    title: str
    state: Labelled
    phase: Labelled | None
    domain: Labelled
    sdgs: list[Labelled]
    submitter_kind: Labelled
    place: Labelled
    idea_id: uuid.UUID


class PilotPage(BaseModel):
    items: list[PilotSummary]
    total: int
    page: int
    per_page: int


class PilotRead(PilotSummary):
    summary: str
    purpose: Labelled
    lead: str
    team: list[dict[str, str]]
    partners: list[dict[str, str]]
    phases: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    data_requests: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    kpis: list[KpiRead]
    recruiting: bool
    participation_text: str
    participants: int
    joined: bool
    result: dict[str, Any] | None
    reports: list[dict[str, Any]]
    dpia_reference: str


class LabOverview(BaseModel):
    """The living lab's front page: open calls, newest ideas, running pilots."""

    open_calls: list[CallRead]
    latest_ideas: list[IdeaSummary]
    idea_total: int
    running_pilots: list[PilotSummary]
    running_total: int
