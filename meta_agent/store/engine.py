"""Engines for the ops database: one per URL per process, tuned per dialect."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent.errors import ConfigError

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def engine_for(url: str) -> sa.Engine:
    """A pooled engine for ``url``; SQLite gets WAL, a busy timeout and its folder created."""
    with _lock:
        if url not in _engines:
            _engines[url] = _create(url)
        return _engines[url]


def dispose_all() -> None:
    """Close every pooled connection (tests, and processes that fork, call this)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _create(url: str) -> sa.Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(
            f"META_AGENT_DB_URL is not a database URL ({exc}); "
            "use e.g. sqlite:////abs/path.db or postgresql+psycopg://user:pw@host/db."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets readers run beside the SDK writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if backend == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    raise ConfigError(
        f"unsupported database '{backend}' in META_AGENT_DB_URL; "
        "meta-agent supports sqlite:/// and postgresql+psycopg://."
    )
