"""Tables of the LLM gateway — one row per model call with tokens and cost (issue 4).

Declared on the shared ``metadata`` (see schema.py); created by this capability's own
Alembic migration branch under migrations/versions.
"""

import sqlalchemy as sa  # noqa: F401

from meta_agent.store.schema import metadata  # noqa: F401
from meta_agent.store.types import JSONDoc, UTCDateTime  # noqa: F401
