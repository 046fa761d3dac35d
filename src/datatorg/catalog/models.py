"""Catalog tables. The core of ``Dataset`` lives here; the catalog work adds DCAT-AP-NO metadata."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datatorg.db.base import Base, Timestamps, UUIDPk


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

    slug: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    title_nb: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    description_nb: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    publisher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    access_rights: Mapped[AccessRights] = mapped_column(
        Enum(AccessRights, native_enum=False, length=20), default=AccessRights.public
    )
    classification: Mapped[Classification] = mapped_column(
        Enum(Classification, native_enum=False, length=20), default=Classification.open
    )
    has_personal_data: Mapped[bool] = mapped_column(default=False)
    status: Mapped[DatasetStatus] = mapped_column(
        Enum(DatasetStatus, native_enum=False, length=20), default=DatasetStatus.draft
    )
    license: Mapped[str] = mapped_column(String(300), default="")
    published_at: Mapped[datetime | None]

    @property
    def is_open(self) -> bool:
        """Open data: readable by anyone, without an agreement."""
        return (
            self.access_rights == AccessRights.public
            and self.classification == Classification.open
            and not self.has_personal_data
        )
