"""Where the portfolio database is found: by URL, inside a sandbox, or under DAGSTER_HOME."""

from __future__ import annotations

from pathlib import Path

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
