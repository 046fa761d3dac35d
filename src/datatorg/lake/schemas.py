"""API shapes of the lake: versions and pending uploads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    mode: str
    row_count: int
    added_rows: int
    table_schema: dict[str, Any]
    schema_changes: list[dict[str, Any]]
    source_format: str
    created_at: datetime


class VersionPage(BaseModel):
    dataset_id: uuid.UUID
    current: int | None
    versions: list[VersionRead]


class UploadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    dataset_id: uuid.UUID
    mode: str
    status: str
    filename: str
    source_format: str
    row_count: int
    size_bytes: int
    table_schema: dict[str, Any]
    report: dict[str, Any]
    created_at: datetime


class SchemaUpdate(BaseModel):
    """The publisher's changes to an inferred schema, by column name; ``primaryKey`` names
    the column whose value is unique on every row ("" removes it); ``missingValues`` keeps the
    proposed statistical markers (``lake.missing``) as nulls."""

    model_config = ConfigDict(extra="forbid")

    fields: list[dict[str, Any]] = []
    primaryKey: str | None = None  # noqa: N815 - Table Schema's names
    missingValues: list[str] | None = None  # noqa: N815
