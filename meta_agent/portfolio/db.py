"""Engines for the portfolio database: a writer (seeding) and a read-only reader (tools).

The reader is read-only at the connection, not just by convention:

- SQLite: opened through a ``file:...?mode=ro`` URI (``immutable=1`` when the file sits on a
  read-only mount, as in the sandbox), with ``PRAGMA query_only=ON``;
- PostgreSQL: ``default_transaction_read_only=on`` and a ``statement_timeout`` for every
  session, and each query runs in a ``READ ONLY`` transaction.

The database stays in rollback-journal mode (not WAL), so a read-only mount can read it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent import config
from meta_agent.errors import ConfigError, InputError

STATEMENT_TIMEOUT_MS = 15_000

_lock = threading.Lock()
_writers: dict[str, sa.Engine] = {}
_readers: dict[str, sa.Engine] = {}


def resolve_url(url: str | None) -> str:
    return url or config.data_url()


def _parse(url: str):
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(
            f"META_AGENT_DATA_URL is not a database URL ({exc}); use e.g. sqlite:////abs/portfolio.db "
            "or postgresql+psycopg://user:pw@host/db."
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database '{backend}' in META_AGENT_DATA_URL; "
                          "meta-agent supports sqlite:/// and postgresql+psycopg://.")
    return parsed


def sqlite_path(url: str) -> Path | None:
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise ConfigError("META_AGENT_DATA_URL must name a SQLite file (an in-memory database cannot be shared).")
    return Path(parsed.database)


def write_engine(url: str | None = None) -> sa.Engine:
    url = resolve_url(url)
    with _lock:
        if url not in _writers:
            path = sqlite_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                _writers[url] = sa.create_engine(url, connect_args={"timeout": 30})
            else:
                _writers[url] = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
        return _writers[url]


def read_engine(url: str | None = None) -> sa.Engine:
    """A pooled read-only engine. Raises ``InputError`` if the SQLite file does not exist."""
    url = resolve_url(url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise InputError(f"the portfolio database {path} does not exist; create it with `meta-agent data seed`.")
    with _lock:
        if url not in _readers:
            _readers[url] = _sqlite_reader(path) if path is not None else _pg_reader(url)
        return _readers[url]


def _sqlite_reader(path: Path) -> sa.Engine:
    uri = f"file:{path.resolve()}?mode=ro"
    if not os.access(path.parent, os.W_OK):  # read-only mount: no lock files possible
        uri += "&immutable=1"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        return conn

    return sa.create_engine("sqlite://", creator=connect, poolclass=sa.pool.QueuePool, pool_size=2)


def _pg_reader(url: str) -> sa.Engine:
    options = f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5, "options": options})


def dispose(url: str | None = None) -> None:
    """Close pooled connections (after re-seeding, and in tests)."""
    with _lock:
        keys = [resolve_url(url)] if url else list({*_writers, *_readers})
        for key in keys:
            for pool in (_writers, _readers):
                engine = pool.pop(key, None)
                if engine is not None:
                    engine.dispose()
