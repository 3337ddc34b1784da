"""Tables of agent operations — health, circuit breakers, alerts (issue 3).

Declared on the shared ``metadata`` (see schema.py); created by this capability's own
Alembic migration branch under migrations/versions.
"""

import sqlalchemy as sa  # noqa: F401

from meta_agent.store.schema import metadata  # noqa: F401
from meta_agent.store.types import JSONDoc, UTCDateTime  # noqa: F401
