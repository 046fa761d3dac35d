"""The row policy: what one read may see of a dataset version, for every engine.

The gate's pipeline (``access/pipeline.py``) makes one ``RowPolicy`` per read from the
decision (who reads, under which agreement), the version's Table Schema and what other
domains contribute (``PolicyPart``: consent and restriction from privacy, and later others).
Every engine consumes that one object — DuckDB (``access/sql.py``), the row index
(``access/sql_index.py``), statistics (``access/stats.py``) — and none makes rules of its own:

* **visible columns** (``fields``): the columns the read may name and return, with their
  Table Schema types as the reader sees them (after transforms). A hidden column is, to the
  reader, a column that does not exist;
* **column transforms** (``transforms``): a visible column shown pseudonymised (a keyed hash
  per agreement, so two recipients cannot link their copies) or generalised (times truncated,
  text cut to a prefix, numbers to a step). Filters, sorting, grouping and aggregates all see
  the transformed value, never the stored one;
* **row predicate**: the *subject filter* (keep only rows whose subject-key value is in a
  set, drop rows whose subject-key value is in another set; from consent and restriction) and
  agreement *row filters* (column, operation, values on stored values). Rows it excludes are
  invisible to every part of the read (rows, counts, statistics, aggregates).

A policy is built for each read and never cached across reads (consent is live).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from datatorg.access import policies
from datatorg.lake import service as lake

TransformKind = Literal["pseudonymise", "generalise"]
_KEY = re.compile(r"^[0-9a-f]{32,128}$")
_LEVEL = re.compile(r"^(hour|day|month|year|prefix:[1-9][0-9]?|step:[0-9]+(\.[0-9]+)?)$")
ROW_FILTER_OPS = ("exact", "not", "in", "gt", "gte", "lt", "lte", "between", "isnull")


@dataclass(frozen=True)
class Transform:
    """How a visible column is shown.

    ``pseudonymise``: ``key`` (32–128 lowercase hex characters, one per agreement) keys a
    hash of the stored value; the reader sees text. ``generalise``: ``level`` is ``hour``,
    ``day``, ``month`` or ``year`` for dates and times (truncated), ``prefix:N`` for text
    (the first N characters) or ``step:X`` for numbers (rounded down to a multiple of X).
    """

    kind: TransformKind
    key: str = ""
    level: str = ""

    def __post_init__(self) -> None:
        if self.kind == "pseudonymise" and not _KEY.match(self.key):
            raise ValueError("a pseudonym key is 32-128 lowercase hex characters")
        if self.kind == "generalise" and not _LEVEL.match(self.level):
            raise ValueError(f"unknown generalisation level {self.level!r}")
        if self.kind not in ("pseudonymise", "generalise"):
            raise ValueError(f"unknown transform {self.kind!r}")


@dataclass(frozen=True)
class SubjectNumbers:
    """A subject filter's subjects by their subject numbers (privacy's registry), the values
    of the hidden number column of a numbered version (``RowPolicy.subject_numbers``)."""

    keep: frozenset[int] | None = None
    drop: frozenset[int] = frozenset()


def _both(a: frozenset[Any] | None, b: frozenset[Any] | None) -> frozenset[Any] | None:
    return b if a is None else a if b is None else a & b


@dataclass(frozen=True)
class SubjectFilter:
    """Rows by their subject-key value (compared as text): with ``keep`` only rows whose value
    is in it (rows without a subject key are dropped then); never rows whose value is in
    ``drop``. ``numbers``, when given, names exactly the same subjects by number (a keep of
    None is None there too): engines test those on a version whose files carry the numbers."""

    keep: frozenset[str] | None = None
    drop: frozenset[str] = frozenset()
    numbers: SubjectNumbers | None = None

    def also(self, other: SubjectFilter) -> SubjectFilter:
        """Both filters at once: the intersection of the keeps, the union of the drops."""
        numbers = None
        if self.numbers is not None and other.numbers is not None:
            numbers = SubjectNumbers(
                keep=_both(self.numbers.keep, other.numbers.keep),
                drop=self.numbers.drop | other.numbers.drop,
            )
        return SubjectFilter(
            keep=_both(self.keep, other.keep), drop=self.drop | other.drop, numbers=numbers
        )

    @property
    def restricts(self) -> bool:
        return self.keep is not None or bool(self.drop)


@dataclass(frozen=True)
class RowFilter:
    """An agreement's row filter on stored values (ops as in the URL language)."""

    column: str
    op: str
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if self.op not in ROW_FILTER_OPS:
            raise ValueError(f"unknown row filter operation {self.op!r}")


@dataclass(frozen=True)
class PolicyPart:
    """What one contributor (a domain's public service) adds to a read's policy. Parts only
    narrow: columns to hide, transforms, a subject filter and row filters."""

    hide: frozenset[str] = frozenset()
    transforms: Mapping[str, Transform] = field(default_factory=dict)
    subjects: SubjectFilter | None = None
    row_filters: tuple[RowFilter, ...] = ()
    audit: Mapping[str, str] = field(default_factory=dict)  # added to the read's audit details
    # the subject keys of rows that leave under an agreement go to the disclosure ledger
    # (the read carries them to ``journal.WRITERS``; aggregates carry none)
    ledger: bool = False


@dataclass(frozen=True)
class PolicyRequest:
    """What a contributor is told about a read (``access.pipeline.CONTRIBUTORS``)."""

    dataset_id: Any  # uuid.UUID
    publisher_id: Any  # uuid.UUID: the owning organisation
    version_id: Any  # uuid.UUID
    schema: Mapping[str, Any]
    subject_column: str | None  # the column with the subject_key role, if any
    actor_user_id: Any  # uuid.UUID | None
    agreement_id: Any  # uuid.UUID | None
    purpose: str | None  # the agreement's purpose, or the one the reader stated
    owner: bool  # read by the owning organisation's duty roles
    channel: str


@dataclass(frozen=True)
class RowPolicy:
    """One read's view of a version (see the module docstring)."""

    fields: tuple[Mapping[str, Any], ...]
    transforms: Mapping[str, Transform] = field(default_factory=dict)
    subject_column: str | None = None
    subjects: SubjectFilter | None = None
    row_filters: tuple[RowFilter, ...] = ()
    withheld: frozenset[str] = frozenset()  # role-visible, but outside the agreement's columns
    time_column: str | None = None  # the default order, when visible and untransformed
    audit: Mapping[str, str] = field(default_factory=dict)  # from the parts, for the record
    ledger: bool = False  # the rows' subject keys are collected for the disclosure ledger
    # every file of the version has the hidden subject-number column (``lake.reader.
    # SUBJECT_NO``), whose largest value this is: a subject filter with ``numbers`` is
    # tested on it (None: the version has no numbers)
    subject_no_max: int | None = None

    @property
    def subject_numbers(self) -> bool:
        return self.subject_no_max is not None and self.subject_column is not None

    @property
    def columns(self) -> list[str]:
        return [str(f["name"]) for f in self.fields]

    @property
    def schema(self) -> dict[str, Any]:
        """The visible part of the Table Schema, as the reader sees it."""
        return {"fields": [dict(f) for f in self.fields]}

    @property
    def filters_rows(self) -> bool:
        return bool(self.row_filters) or (self.subjects is not None and self.subjects.restricts)

    def plain(self, columns: Sequence[str]) -> bool:
        """Whether these columns are all shown as stored (no transform)."""
        return not any(c in self.transforms for c in columns)


def build(
    *,
    schema: Mapping[str, Any],
    identifiers: bool,
    allowed_columns: frozenset[str] | None,
    parts: Sequence[PolicyPart] = (),
    subject_key: bool = False,
    subject_no_max: int | None = None,
) -> RowPolicy:
    """The policy of one read of a version with ``schema``.

    ``identifiers``: the reader sees direct identifiers and subject keys (a steward of the
    owning organisation). ``allowed_columns``: an agreement's columns (None: every column).
    ``parts``: what other domains contribute, combined (each only narrows). ``subject_key``:
    the subject-key column is visible (a data subject reading their own rows).
    ``subject_no_max``: the version's files carry the hidden subject-number column, with
    numbers up to this one.
    """
    all_fields = list(schema.get("fields", []))
    hidden: set[str] = set()
    transforms: dict[str, Transform] = {}
    subjects: SubjectFilter | None = None
    row_filters: list[RowFilter] = []
    audit: dict[str, str] = {}
    for part in parts:
        audit.update(part.audit)
        hidden |= part.hide
        transforms.update(part.transforms)
        if part.subjects is not None:
            subjects = part.subjects if subjects is None else subjects.also(part.subjects)
        row_filters += part.row_filters

    def role_visible(f: Mapping[str, Any]) -> bool:
        role = f.get("role")
        if identifiers or role not in policies.IDENTIFYING_ROLES:
            return True
        if subject_key and role == "subject_key":
            return True
        # a subject key leaves only as a pseudonym (DESIGN.md, invariant 4)
        t = transforms.get(f["name"])
        return role == "subject_key" and t is not None and t.kind == "pseudonymise"

    visible: list[Mapping[str, Any]] = []
    withheld: set[str] = set()
    for f in all_fields:
        name = f["name"]
        if not role_visible(f):
            continue
        if name in hidden:
            continue
        if allowed_columns is not None and name not in allowed_columns:
            withheld.add(name)
            continue
        t = transforms.get(name)
        visible.append(f if t is None else _transformed(f, t))
    names = {f["name"] for f in visible}
    transforms = {k: v for k, v in transforms.items() if k in names}
    subject = next((f["name"] for f in all_fields if f.get("role") == "subject_key"), None)
    time_col = lake.time_column(dict(schema))
    return RowPolicy(
        fields=tuple(visible),
        transforms=transforms,
        subject_column=subject,
        subjects=subjects if subjects is not None and subjects.restricts else None,
        row_filters=tuple(row_filters),
        withheld=frozenset(withheld),
        time_column=time_col if time_col in names and time_col not in transforms else None,
        audit=audit,
        ledger=subject is not None and any(p.ledger for p in parts),
        subject_no_max=subject_no_max if subject is not None else None,
    )


def _transformed(f: Mapping[str, Any], t: Transform) -> Mapping[str, Any]:
    out = dict(f)
    if t.kind == "pseudonymise":
        out["type"] = "string"
        out.pop("role", None)
    return out
