"""Control-plane tables of the data plane: versions, their files, the head pointer, uploads.

A version is immutable once written. ``DatasetHead`` is the one row per dataset that says
which version is current; changing it is the atomic commit of a write (DESIGN.md, invariant 5).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from datatorg.db.base import Base, UUIDPk, utcnow

BIG = BigInteger().with_variant(Integer, "sqlite")


class WriteMode(enum.StrEnum):
    replace = "replace"  # type: ignore[assignment]  # shadows str.replace on purpose
    append = "append"


class UploadStatus(enum.StrEnum):
    pending = "pending"  # staged and validated, waiting for the publisher
    published = "published"
    discarded = "discarded"


class DatasetVersion(UUIDPk, Base):
    """One immutable state of a dataset's contents."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    mode: Mapped[WriteMode] = mapped_column(Enum(WriteMode, native_enum=False, length=10))
    row_count: Mapped[int] = mapped_column(BIG)
    added_rows: Mapped[int] = mapped_column(BIG)
    table_schema: Mapped[dict[str, Any]] = mapped_column(JSON)  # Frictionless Table Schema
    schema_changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dataset_versions.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    source_format: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A live dataset (sensor streams): readers also see its live segments (``lake/live.py``).
    live: Mapped[bool] = mapped_column(default=False, server_default=false())


class VersionFile(UUIDPk, Base):
    """A Parquet file of a version; an append's version lists its parent's files too."""

    __tablename__ = "version_files"

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(300), index=True)  # storage key, relative
    ordinal: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(BIG)
    size_bytes: Mapped[int] = mapped_column(BIG)


class DatasetHead(Base):
    """Which version of a dataset is current. Updating this row commits a write."""

    __tablename__ = "dataset_heads"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PendingUpload(UUIDPk, Base):
    """A validated upload, staged in the lake, awaiting the publisher's schema and approval."""

    __tablename__ = "pending_uploads"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    mode: Mapped[WriteMode] = mapped_column(Enum(WriteMode, native_enum=False, length=10))
    status: Mapped[UploadStatus] = mapped_column(
        Enum(UploadStatus, native_enum=False, length=12), default=UploadStatus.pending
    )
    filename: Mapped[str] = mapped_column(String(200))
    source_format: Mapped[str] = mapped_column(String(20))
    staged_key: Mapped[str] = mapped_column(String(300))
    row_count: Mapped[int] = mapped_column(BIG)
    size_bytes: Mapped[int] = mapped_column(BIG)
    table_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SegmentState(enum.StrEnum):
    live = "live"  # part of what readers see, not yet in a version
    retired = "retired"  # merged or folded into another file; deleted after a grace period


class LiveSegment(UUIDPk, Base):
    """A small Parquet file of acknowledged appends to a live dataset, not (yet) in a version.

    Readers see the head version's files plus the dataset's ``live`` segments; merging and
    folding change both in one transaction (``datatorg.lake.compaction``)."""

    __tablename__ = "live_segments"
    __table_args__ = (UniqueConstraint("dataset_id", "seq"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(BIG)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    row_count: Mapped[int] = mapped_column(BIG)
    size_bytes: Mapped[int] = mapped_column(BIG)
    state: Mapped[SegmentState] = mapped_column(
        Enum(SegmentState, native_enum=False, length=10), default=SegmentState.live, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
