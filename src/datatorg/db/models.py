"""Imports every domain's tables so that ``Base.metadata`` is complete (for Alembic and tests)."""

from datatorg.audit import models as audit_models
from datatorg.catalog import models as catalog_models
from datatorg.db.base import Base
from datatorg.identity import models as identity_models
from datatorg.lake import models as lake_models
from datatorg.market import models as market_models
from datatorg.outbox import models as outbox_models
from datatorg.pilots import models as pilots_models
from datatorg.privacy import models as privacy_models
from datatorg.sensors import models as sensors_models

__all__ = [
    "Base",
    "audit_models",
    "catalog_models",
    "identity_models",
    "lake_models",
    "market_models",
    "pilots_models",
    "privacy_models",
    "outbox_models",
    "sensors_models",
]
