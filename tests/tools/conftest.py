"""A seeded portfolio database (SQLite and PostgreSQL) that the tools read."""

from __future__ import annotations

import pytest

from meta_agent import portfolio
from meta_agent.portfolio import db as pdb


@pytest.fixture
def portfolio_url(db_url: str, monkeypatch) -> str:
    """The default portfolio (25 properties, seed 42) in this test's database, as META_AGENT_DATA_URL."""
    portfolio.seed_database(db_url, 25, 42)
    monkeypatch.setenv("META_AGENT_DATA_URL", db_url)
    yield db_url
    pdb.dispose()
