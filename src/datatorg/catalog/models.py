"""Catalog tables: datasets with DCAT-AP-NO and governance metadata, distributions, schema
fields, themes, keywords, change history and harvest sources."""

from __future__ import annotations

import enum
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Union

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    insert,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from datatorg.db.base import Base, Timestamps, UUIDPk, utcnow
from datatorg.identity.models import Organisation


class AccessRights(enum.StrEnum):
    """DCAT-AP access rights (EU access-right vocabulary)."""

    public = "PUBLIC"
    restricted = "RESTRICTED"
    non_public = "NON_PUBLIC"


class Classification(enum.StrEnum):
    """The governance classification of a dataset's contents."""

    open = "open"
    internal = "internal"
    restricted = "restricted"
    personal = "personal"
    confidential = "confidential"


class DatasetStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    retired = "retired"


class Dataset(UUIDPk, Timestamps, Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("harvest_source_id", "harvest_identifier"),)

    slug: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    title_nb: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    sort_title: Mapped[str] = mapped_column(String(300), default="", index=True)  # flush hook
    description_nb: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    publisher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    access_rights: Mapped[AccessRights] = mapped_column(
        Enum(AccessRights, native_enum=False, length=20), default=AccessRights.public, index=True
    )
    classification: Mapped[Classification] = mapped_column(
        Enum(Classification, native_enum=False, length=20), default=Classification.open, index=True
    )
    has_personal_data: Mapped[bool] = mapped_column(default=False)
    status: Mapped[DatasetStatus] = mapped_column(
        Enum(DatasetStatus, native_enum=False, length=20), default=DatasetStatus.draft, index=True
    )
    license: Mapped[str] = mapped_column(String(300), default="", index=True)
    published_at: Mapped[datetime | None]

    # DCAT-AP-NO descriptive metadata
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    spatial: Mapped[str] = mapped_column(String(500), default="")  # a place IRI
    temporal_start: Mapped[date | None]
    temporal_end: Mapped[date | None]
    frequency: Mapped[str] = mapped_column(String(40), default="")  # EU frequency code
    landing_page: Mapped[str] = mapped_column(String(500), default="")
    conforms_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    # governance metadata
    steward_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
    retention_period: Mapped[str] = mapped_column(String(100), default="")
    dpia_reference: Mapped[str] = mapped_column(String(300), default="")
    quality_notes: Mapped[str] = mapped_column(Text, default="")
    # search and harvesting
    search_doc: Mapped[str] = mapped_column(Text, default="")  # normalised words (search.py)
    harvest_source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("harvest_sources.id", ondelete="SET NULL"), index=True
    )
    harvest_identifier: Mapped[str | None] = mapped_column(String(500))

    themes: Mapped[list[DatasetTheme]] = relationship(
        cascade="all, delete-orphan", order_by="DatasetTheme.theme", lazy="selectin"
    )
    keywords: Mapped[list[DatasetKeyword]] = relationship(
        cascade="all, delete-orphan", order_by="DatasetKeyword.value", lazy="selectin"
    )
    distributions: Mapped[list[Distribution]] = relationship(
        cascade="all, delete-orphan", order_by="Distribution.position", lazy="selectin"
    )
    fields: Mapped[list[SchemaField]] = relationship(
        cascade="all, delete-orphan", order_by="SchemaField.position", lazy="selectin"
    )

    @property
    def is_open(self) -> bool:
        """Open data: readable by anyone, without an agreement."""
        return is_open_data(self.access_rights, self.classification, self.has_personal_data)


def is_open_data(
    access_rights: AccessRights, classification: Classification, has_personal_data: bool
) -> bool:
    """Public, open-classified and without personal data: readable by anyone."""
    return (
        access_rights == AccessRights.public
        and classification == Classification.open
        and not has_personal_data
    )


@dataclass(frozen=True, slots=True)
class DatasetFacts:
    """The columns of a dataset that the gate decides on, read as a plain row (the rows
    API's hot path) instead of an ORM entity."""

    id: uuid.UUID
    slug: str
    publisher_id: uuid.UUID
    status: DatasetStatus
    access_rights: AccessRights
    classification: Classification
    has_personal_data: bool

    @property
    def is_open(self) -> bool:
        return is_open_data(self.access_rights, self.classification, self.has_personal_data)


# What the gate reads a dataset's contents by: the entity, or just its facts.
DatasetRef = Union["Dataset", DatasetFacts]


class DatasetTheme(Base):
    """A dataset's theme from the EU data-theme vocabulary (code such as ``ENVI``)."""

    __tablename__ = "dataset_themes"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    theme: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)


class DatasetKeyword(Base):
    __tablename__ = "dataset_keywords"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    lang: Mapped[str] = mapped_column(String(5), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Distribution(UUIDPk, Timestamps, Base):
    """One way to get the dataset: a file or an API (dcat:Distribution)."""

    __tablename__ = "distributions"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(40), default="", index=True)
    media_type: Mapped[str] = mapped_column(String(100), default="")
    byte_size: Mapped[int | None]
    access_url: Mapped[str] = mapped_column(String(1000), default="")
    download_url: Mapped[str] = mapped_column(String(1000), default="")


class SchemaField(UUIDPk, Base):
    """One column of the dataset: Table Schema type and its data category."""

    __tablename__ = "schema_fields"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20), default="string")
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(40), default="")
    data_category: Mapped[str] = mapped_column(String(30), default="none")


class DatasetChange(UUIDPk, Base):
    """One entry of a dataset's change history: who changed which fields, when."""

    __tablename__ = "dataset_changes"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(30))  # create, update, publish, retire, harvest
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HarvestSource(UUIDPk, Timestamps, Base):
    """A remote catalog datasets were harvested from."""

    __tablename__ = "harvest_sources"

    kind: Mapped[str] = mapped_column(String(10))  # ckan | dcat
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    publisher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    last_run_at: Mapped[datetime | None]
    last_count: Mapped[int] = mapped_column(Integer, default=0)


class CatalogState(Base):
    """One row counting catalog writes: ``seq`` goes up by one with every flush that touches
    the catalog, ``version`` is that write's random mark (search indexes key on both).

    Every catalog write updates this one row, so catalog writes commit in ``seq`` order on
    both databases (the row's lock is held to commit): a reader that sees ``seq = N`` sees
    every change up to ``N``.
    """

    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), default=0, server_default="0"
    )


class CatalogChange(Base):
    """Which dataset or organisation a catalog write (``seq``) changed; both empty: anything
    (a bulk write), so search indexes are rebuilt. Search indexes catch up from these rows."""

    __tablename__ = "catalog_changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    version: Mapped[str] = mapped_column(String(36))
    dataset_id: Mapped[uuid.UUID | None]
    organisation_id: Mapped[uuid.UUID | None]


WATCHED = (Dataset, DatasetTheme, DatasetKeyword, Distribution, Organisation)
CHANGES_KEPT = 100_000  # change rows kept behind the newest; older indexes rebuild


def bump(
    session: Session,
    datasets: set[uuid.UUID] | None = None,
    organisations: set[uuid.UUID] | None = None,
) -> None:
    """Count a catalog write and record what it changed (``None``: anything, as after a
    Core-level bulk write, which makes search indexes rebuild in the background)."""
    conn = session.connection()
    new = str(uuid.uuid4())
    seq = conn.execute(
        update(CatalogState)
        .where(CatalogState.id == 1)
        .values(seq=CatalogState.seq + 1, version=new)
        .returning(CatalogState.seq)
    ).scalar()
    if seq is None:
        seq = 1
        conn.execute(insert(CatalogState).values(id=1, version=new, seq=seq))
    rows: list[dict[str, Any]] = [
        {"seq": seq, "version": new, "dataset_id": d, "organisation_id": None}
        for d in sorted(datasets or ())
    ] + [
        {"seq": seq, "version": new, "dataset_id": None, "organisation_id": o}
        for o in sorted(organisations or ())
    ]
    if datasets is None or not rows:
        rows.append({"seq": seq, "version": new, "dataset_id": None, "organisation_id": None})
    conn.execute(insert(CatalogChange), rows)
    if seq % 1000 == 0:  # keep the log bounded
        conn.execute(delete(CatalogChange).where(CatalogChange.seq < seq - CHANGES_KEPT))


def sort_key(title: str) -> str:
    """A byte-comparable sort key in Norwegian letter order (æ, ø, å after z)."""
    folded = unicodedata.normalize("NFC", title.strip().casefold())
    return folded.translate({0xE6: "{", 0xF8: "|", 0xE5: "}"})[:300]


@event.listens_for(Session, "before_flush")
def _bump_on_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    """Any flush that touches the catalog (or an organisation) is counted, with the datasets
    and organisations it changed.

    It also keeps ``sort_title`` in step with ``title_nb`` for datasets written by any code.
    """
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Dataset):
            obj.sort_title = sort_key(obj.title_nb or "")
    changed = [
        o for o in (*session.new, *session.dirty, *session.deleted) if isinstance(o, WATCHED)
    ]
    if not changed:
        return
    datasets: set[uuid.UUID] = set()
    organisations: set[uuid.UUID] = set()
    for obj in changed:
        if isinstance(obj, Organisation):
            if obj.id is None:
                obj.id = uuid.uuid4()
            organisations.add(obj.id)
        elif isinstance(obj, Dataset):
            if obj.id is None:
                obj.id = uuid.uuid4()
            datasets.add(obj.id)
        elif obj.dataset_id is not None:  # a theme, keyword or distribution
            datasets.add(obj.dataset_id)
    bump(session, datasets, organisations)
