"""Fixtures for the script factory: a seeded portfolio, a local runner, a migrated ops DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from meta_agent import portfolio
from meta_agent.portfolio import db as pdb


@pytest.fixture(scope="session")
def portfolio_file(tmp_path_factory) -> Path:
    """The default portfolio (25 properties, seed 42) in a SQLite file, seeded once per session."""
    path = tmp_path_factory.mktemp("portfolio") / "portfolio.db"
    portfolio.seed_database(f"sqlite:///{path}", 25, 42)
    pdb.dispose(f"sqlite:///{path}")
    return path


@pytest.fixture
def data_url(portfolio_file: Path, monkeypatch) -> str:
    url = f"sqlite:///{portfolio_file}"
    monkeypatch.setenv("META_AGENT_DATA_URL", url)
    return url


@pytest.fixture(scope="session")
def local_runner():
    """The local runner (bubblewrap when it works here, else rlimits) — fine for unit tests;
    the container runner is exercised by the sandbox tests and the Dagster test."""
    from meta_agent.sandbox.local import LocalRunner

    return LocalRunner()


@pytest.fixture
def factory_env(ops_env: str, data_url: str, tmp_path: Path, monkeypatch) -> str:
    """A migrated ops DB (SQLite and PostgreSQL), the portfolio, artifacts under tmp_path."""
    monkeypatch.setenv("META_AGENT_PLANNER", "offline")
    return ops_env
