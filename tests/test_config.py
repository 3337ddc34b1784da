"""Where the portfolio database is found: by URL, inside a sandbox, or under DAGSTER_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from meta_agent import config


def test_data_url_prefers_the_explicit_url(monkeypatch) -> None:
    monkeypatch.setenv("META_AGENT_DATA_URL", "postgresql+psycopg://u:p@h/db")
    monkeypatch.setenv("META_AGENT_DATA_DIR", "/data")
    assert config.data_url() == "postgresql+psycopg://u:p@h/db"


def test_inside_a_sandbox_the_mounted_file_is_used_by_name(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("META_AGENT_DATA_URL", raising=False)
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("META_AGENT_DATA_FILE", "custom.db")
    assert config.data_url() == config.sqlite_url(tmp_path / "custom.db")
    monkeypatch.delenv("META_AGENT_DATA_FILE")
    assert config.data_url() == config.sqlite_url(tmp_path / "portfolio.db")


def test_default_is_sqlite_under_dagster_home(monkeypatch, tmp_path: Path) -> None:
    for var in ("META_AGENT_DATA_URL", "META_AGENT_DATA_DIR", "META_AGENT_DATA_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert config.data_url() == config.sqlite_url(tmp_path / "portfolio.db")


URLS = [
    "sqlite:///x.db",
    "sqlite:////abs/portfolio.db",
    "sqlite://",
    "postgresql+psycopg://u:p%40ss@h:5432/db?sslmode=require",
    "postgresql+psycopg://u@h/db",
    "postgresql://u:pw@h/db",
    "postgresql+psycopg://u:p:w@h/db",
    "postgresql+psycopg://user:pa/ss@host/db",
    "mysql://:pw@h/d",
    "postgresql+psycopg://meta_agent:meta_agent@127.0.0.1:5432/meta_agent_test",
]


@pytest.mark.parametrize("url", URLS)
def test_redact_url_hides_the_password_as_sqlalchemy_does(url: str) -> None:
    """config reads the environment without importing SQLAlchemy; its redaction agrees."""
    assert config.redact_url(url) == make_url(url).render_as_string(hide_password=True)


def test_redact_url_never_echoes_what_it_cannot_parse() -> None:
    assert config.redact_url("not a url with a secret") == "<unparsable url>"
