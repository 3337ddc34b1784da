"""A scratch PostgreSQL database for a benchmark: created on the server META_AGENT_TEST_PG_URL
names (scripts/pg-test-setup.sh), dropped afterwards."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent.store.engine import dispose_all


@contextlib.contextmanager
def scratch_database(server: str | None = None, prefix: str = "ma_bench") -> Iterator[str]:
    """The URL of a fresh, empty database on ``server`` (default META_AGENT_TEST_PG_URL;
    SystemExit with the fix when none is named)."""
    server = server or os.environ.get("META_AGENT_TEST_PG_URL")
    if not server:
        raise SystemExit("--pg needs META_AGENT_TEST_PG_URL (export it from scripts/pg-test-setup.sh)")
    base = make_url(server)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_all()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
