"""Who may call the sensor routes (``identity.permissions``), declared with each route.

* Stream and entity writers: publishers and admins of an organisation (``WRITER``); which
  organisation must own the stream is checked in the service, once the body names it, or
  from the path's dataset (``org(catalog.deps.dataset, publisher)``).
* Reads of a stream's contents by its dataset (``/sensors/{ref}``, the dashboard API):
  ``GATE``, the gate's pipeline decides (and a dataset that is not a stream answers 404 only
  to those who may read it).
* NGSI-LD reads span every stream (``/entities?type=…``) or name an entity, not a dataset:
  the route admits ``ANYONE`` and the gate decides per stream inside
  (``sensors/ngsi/reads.py``: open streams for everyone, the others by agreement).
* Subscriptions: signed-in callers, each seeing only their own (others' are 404).
"""

from __future__ import annotations

from datatorg.catalog import deps as catalog_deps
from datatorg.identity import permissions as perm
from datatorg.identity.models import Role

WRITER = perm.role(Role.publisher, Role.admin)
STREAM_WRITER = perm.org(catalog_deps.dataset, Role.publisher)
READ_ANY = perm.ANYONE
READ_STREAM = perm.GATE
SUBSCRIBER = perm.SIGNED_IN
