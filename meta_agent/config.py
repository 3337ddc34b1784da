"""Where meta-agent keeps things: one place that reads the environment.

| variable               | default                                   |
|------------------------|-------------------------------------------|
| ``DAGSTER_HOME``       | ``./dagster_home``                        |
| ``META_AGENT_DB_URL``  | ``sqlite:///<DAGSTER_HOME>/meta_agent.db`` |
| ``META_AGENT_ARTIFACTS`` | ``<DAGSTER_HOME>/artifacts``            |
| ``META_AGENT_SPILL_DIR`` | ``<DAGSTER_HOME>/spill``                |
| ``META_AGENT_DATA_URL`` | ``sqlite:///<DAGSTER_HOME>/portfolio.db`` (business data for tools) |
"""

from __future__ import annotations

import os
from pathlib import Path


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / "dagster_home").resolve()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def db_url() -> str:
    return os.environ.get("META_AGENT_DB_URL") or sqlite_url(dagster_home() / "meta_agent.db")


def data_url() -> str:
    """The business (portfolio) database the tools read — separate from the ops database.

    Inside a sandbox run, the runner mounts the database read-only under
    ``META_AGENT_DATA_DIR`` (its name in ``META_AGENT_DATA_FILE``), wherever that directory
    is for that runner; outside, ``META_AGENT_DATA_URL`` or SQLite under ``DAGSTER_HOME``.
    """
    if os.environ.get("META_AGENT_DATA_URL"):
        return os.environ["META_AGENT_DATA_URL"]
    if os.environ.get("META_AGENT_DATA_DIR"):
        name = os.environ.get("META_AGENT_DATA_FILE") or "portfolio.db"
        return sqlite_url(Path(os.environ["META_AGENT_DATA_DIR"]) / name)
    return sqlite_url(dagster_home() / "portfolio.db")


def artifacts_dir() -> Path:
    return Path(os.environ.get("META_AGENT_ARTIFACTS") or dagster_home() / "artifacts").resolve()


def spill_dir() -> Path:
    return Path(os.environ.get("META_AGENT_SPILL_DIR") or dagster_home() / "spill").resolve()


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and metadata."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported by the caller; never echo it raw
        return "<unparsable url>"


def config_dir() -> Path:
    """Repo-level configuration (agents.yaml, SLA definitions...): ``META_AGENT_CONFIG_DIR``
    or the ``config/`` folder next to the package (the repo root in a checkout or image)."""
    env = os.environ.get("META_AGENT_CONFIG_DIR")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent / "config"
