"""Migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from meta_agent.store import migrate
from meta_agent.store.engine import engine_for
from meta_agent.store.schema import metadata


def test_upgrade_creates_every_table_and_is_idempotent(db_url):
    first = migrate.upgrade(db_url)
    again = migrate.upgrade(db_url)
    assert first.up_to_date and again.current == first.current
    tables = set(sa.inspect(engine_for(db_url)).get_table_names())
    assert set(metadata.tables) <= tables


def test_migrations_match_the_declared_schema(db_url):
    migrate.upgrade(db_url)
    with engine_for(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}"


def test_status_reports_behind_before_upgrade(db_url):
    st = migrate.status(db_url)
    assert st.current == () and not st.up_to_date
    assert migrate.upgrade(db_url).up_to_date


def test_ensure_current_upgrades_once_per_process(db_url, monkeypatch):
    calls = []
    real = migrate.upgrade
    monkeypatch.setattr(migrate, "upgrade", lambda url=None, target="heads": calls.append(url) or real(url, target))
    for _ in range(3):
        migrate.ensure_current(db_url)
    assert calls == [db_url] and migrate.status(db_url).up_to_date
