"""Imports every domain's tables so that ``Base.metadata`` is complete (for Alembic and tests)."""

from datatorg.db.base import Base
from datatorg.identity import models as identity_models

__all__ = ["Base", "identity_models"]
