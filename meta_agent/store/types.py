"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


class UTCDateTime(sa.TypeDecorator):
    """Timestamps are UTC everywhere: ``timestamptz`` on PostgreSQL; on SQLite, text in
    SQLAlchemy's own DATETIME layout (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC), written with
    ``isoformat`` because the generic formatter dominates bulk inserts.

    Values come back timezone-aware (UTC) from both, so comparisons never mix naive and aware.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(32))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is UTC and dialect.name == "sqlite":  # the hot path of bulk inserts
            return value.isoformat(" ", "microseconds")[:26]
        if value.tzinfo is not UTC:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_utc_text(value: datetime) -> str:
    """How a UTC timestamp is stored on SQLite (for raw SQL against the ops DB)."""
    return UTCDateTime().process_bind_param(value, _SQLITE)


class _SqliteName:
    name = "sqlite"


_SQLITE = _SqliteName()

# JSON documents: JSONB on PostgreSQL (indexable), JSON text on SQLite; None is SQL NULL.
JSONDoc = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


class Float32Vector(sa.TypeDecorator):
    """An embedding: ``REAL[]`` on PostgreSQL, little-endian float32 bytes on SQLite.

    Binds a numpy array (or a list of numbers); reads back a ``numpy.float32`` array.
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(sa.REAL))
        return dialect.type_descriptor(sa.LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        arr = np.asarray(value, dtype="<f4").ravel()
        return arr.tolist() if dialect.name == "postgresql" else arr.tobytes()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            return np.frombuffer(bytes(value), dtype="<f4").astype(np.float32)
        return np.asarray(value, dtype=np.float32)
