"""What the living lab's API takes and gives for calls, ideas, comments and evaluations.

Pilots, KPIs and results are in ``pilot_schemas``. Every text field refuses control
characters; single-line fields refuse line breaks; lengths are bounded.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from datatorg.errors import Invalid
from datatorg.pilots import geo
from datatorg.pilots.models import Domain, SubmitterKind
from datatorg.pilots.vocab import CRITERIA, SDGS
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(_("must not contain control characters"))
    if _SURROGATE.search(value):  # half of a UTF-16 pair: not text, and no database stores it
        raise ValueError(_("must be valid text"))
    return value.strip()


def search_words(value: str) -> str:
    """Words to search for (a query parameter): plain text, at most 100 characters."""
    if _CONTROL.search(value) or _SURROGATE.search(value):
        raise Invalid(
            _("Search with plain words."),
            errors=[{"parameter": "q", "message": _("must be valid text")}],
        )
    return value.strip()[:100]


def one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(_("must be a single line"))
    return clean_text(value)


def _sdgs(values: list[int]) -> list[int]:
    for v in values:
        if v not in SDGS:
            raise ValueError(_("a goal is a number from 1 to 17"))
    return sorted(set(values))


def finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(_("must be a finite number"))
    return value


Text = Annotated[str, Field(max_length=4000), AfterValidator(clean_text)]
LongText = Annotated[str, Field(min_length=10, max_length=4000), AfterValidator(clean_text)]
ShortText = Annotated[str, Field(max_length=2000), AfterValidator(clean_text)]
Title = Annotated[str, Field(min_length=3, max_length=200), AfterValidator(one_line)]
Line = Annotated[str, Field(max_length=200), AfterValidator(one_line)]
Sdgs = Annotated[list[int], Field(max_length=17), AfterValidator(_sdgs)]


def local_number(value: Any) -> Any:
    """A number as a person writes it in a form: spaces between thousands left out, and in
    bokmål a decimal comma ("45,5", as the pages show numbers) read as a point."""
    if not isinstance(value, str):
        return value
    text = re.sub(r"[ \u00a0\u202f]", "", value)
    if current_locale() == "nb" and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    return text


Finite = Annotated[float, BeforeValidator(local_number), AfterValidator(finite)]
Ref = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(one_line)]
Criterion = Literal[
    "impact",
    "feasibility",
    "sustainability",
    "citizen_involvement",
    "data_availability",
    "privacy_risk",
]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class Labelled(BaseModel):
    """A stored code with its label in the request's language."""

    code: str
    label: str


# --- calls --------------------------------------------------------------------------------


class CallCreate(In):
    title: Title
    theme: Title
    description: Text = ""
    criteria: Text = ""
    weights: dict[Criterion, Annotated[int, Field(ge=0, le=100)]] | None = None
    domains: Annotated[list[Domain], Field(max_length=10)] = []
    opens_on: date
    closes_on: date
    support_threshold: Annotated[int, Field(ge=0, le=100_000)] = 0

    @model_validator(mode="after")
    def _check(self) -> CallCreate:
        if self.closes_on < self.opens_on:
            raise ValueError(_("the call must close on or after the day it opens"))
        if (self.closes_on - self.opens_on).days > 366:
            raise ValueError(_("a call lasts at most a year"))
        self.domains = sorted(set(self.domains))
        return self

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is not None:
            if set(value) != set(CRITERIA):
                raise ValueError(_("give a weight for every criterion"))
            if sum(value.values()) != 100:
                raise ValueError(_("the weights must add up to 100"))
        return value


class CallRead(BaseModel):
    id: uuid.UUID
    title: str
    theme: str
    description: str
    criteria: str
    weights: list[dict[str, Any]]
    domains: list[Labelled]
    opens_on: date
    closes_on: date
    support_threshold: int
    state: Labelled
    idea_count: int
    url: str


class CallPage(BaseModel):
    items: list[CallRead]
    total: int
    page: int
    per_page: int


# --- ideas --------------------------------------------------------------------------------


class IdeaCreate(In):
    title: Title
    problem: LongText
    solution: LongText
    submitter_kind: SubmitterKind
    domain: Domain
    place: Annotated[str, Field(max_length=40)] = geo.WHOLE_MUNICIPALITY
    latitude: Finite | None = None
    longitude: Finite | None = None
    sdgs: Sdgs = []
    need_competence: ShortText = ""
    need_infrastructure: ShortText = ""
    need_data: ShortText = ""
    need_method: ShortText = ""
    datasets: Annotated[list[Ref], Field(max_length=20)] = []
    call_id: uuid.UUID | None = None
    organisation: Ref | None = None

    @field_validator("place")
    @classmethod
    def _place(cls, value: str) -> str:
        if value != geo.WHOLE_MUNICIPALITY and value not in geo.PLACES:
            raise ValueError(_("choose a place in Halden from the list"))
        return value

    @model_validator(mode="after")
    def _point(self) -> IdeaCreate:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError(_("give both latitude and longitude, or neither"))
        if self.latitude is not None and self.longitude is not None:
            if not geo.in_halden(self.latitude, self.longitude):
                raise ValueError(_("the point is not in Halden"))
        self.datasets = list(dict.fromkeys(self.datasets))
        return self


class DatasetLink(BaseModel):
    slug: str
    title: str
    url: str


class EvaluationSummary(BaseModel):
    """Published with the answer: the mean weighted score and the mean per criterion."""

    evaluations: int
    weighted: float | None
    criteria: list[dict[str, Any]]


class IdeaRead(BaseModel):
    id: uuid.UUID
    url: str
    title: str
    problem: str
    solution: str
    submitter_kind: Labelled
    organisation: str  # when submitted on behalf of an organisation
    domain: Labelled
    place: Labelled
    latitude: float
    longitude: float
    sdgs: list[Labelled]
    needs: dict[str, str]
    datasets: list[DatasetLink]
    call: dict[str, Any] | None
    state: Labelled
    support_count: int
    support_threshold: int
    supported_by_me: bool
    comment_count: int
    created_at: datetime
    answer: str
    answered_at: datetime | None
    personal_data: bool | None
    dpia_required: bool
    dpia_reference: str
    evaluation: EvaluationSummary | None
    pilot_id: uuid.UUID | None


class IdeaSummary(BaseModel):
    id: uuid.UUID
    url: str
    title: str
    domain: Labelled
    submitter_kind: Labelled
    state: Labelled
    sdgs: list[Labelled]
    place: Labelled
    support_count: int
    created_at: datetime


class IdeaPage(BaseModel):
    items: list[IdeaSummary]
    total: int
    page: int
    per_page: int


# --- support and comments ----------------------------------------------------------------


class CommentCreate(In):
    body: Annotated[str, Field(min_length=2, max_length=2000), AfterValidator(clean_text)]


class CommentRead(BaseModel):
    id: uuid.UUID
    author: str
    body: str
    created_at: datetime
    hidden: bool
    moderation_reason: str
    flags: int


class CommentPage(BaseModel):
    items: list[CommentRead]
    total: int
    page: int
    per_page: int


class Moderation(In):
    action: Literal["hide", "restore"]
    reason: Annotated[str, Field(max_length=500), AfterValidator(one_line)] = ""

    @model_validator(mode="after")
    def _reason(self) -> Moderation:
        if self.action == "hide" and len(self.reason) < 3:
            raise ValueError(_("say why the comment is hidden"))
        return self


# --- screening, evaluation, decision ------------------------------------------------------


class ScreeningResult(In):
    """The coordinator's screening: the privacy check, a note, and the evaluators."""

    personal_data: bool
    note: Text = ""
    evaluator_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=10)]


class Assign(In):
    evaluator_id: uuid.UUID


class DpiaRecord(In):
    reference: Annotated[str, Field(min_length=3, max_length=300), AfterValidator(one_line)]


class EvaluationCreate(In):
    scores: dict[Criterion, Annotated[int, Field(ge=1, le=5)]]
    notes: dict[Criterion, Annotated[str, Field(max_length=1000), AfterValidator(clean_text)]] = {}
    comment: Text = ""

    @field_validator("scores")
    @classmethod
    def _all(cls, value: dict[str, int]) -> dict[str, int]:
        missing = sorted(set(CRITERIA) - set(value))
        if missing:
            raise ValueError(_("score every criterion"))
        return value


class EvaluationRead(BaseModel):
    id: uuid.UUID
    idea_id: uuid.UUID
    evaluator: str
    scores: dict[str, int]
    notes: dict[str, str]
    comment: str
    weighted: float
    submitted_at: datetime


class Answer(In):
    """A published answer to the submitter (accept, reject, or withdraw)."""

    answer: Annotated[str, Field(min_length=10, max_length=4000), AfterValidator(clean_text)]


class Decision(Answer):
    decision: Literal["accept", "reject"]


class Withdrawal(In):
    reason: Text = ""
