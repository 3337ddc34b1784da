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
import re
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


# The scheme and user-info part of SQLAlchemy's URL grammar (``sqlalchemy.engine.url``), so a
# password is found where SQLAlchemy would find it; everything here reads the environment
# without importing a database toolkit.
_URL_USERINFO = re.compile(r"(?P<name>[\w+]+)://(?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?")


def redact_url(url: str) -> str:
    """The URL with its password shown as ``***``, for messages and metadata (SQLAlchemy's
    ``render_as_string(hide_password=True)`` for every URL it accepts)."""
    m = _URL_USERINFO.match(url) if isinstance(url, str) else None
    if m is None:  # an unparsable URL is reported by the caller; never echo it raw
        return "<unparsable url>"
    if m.group("password") is None:
        return url
    start, end = m.span("password")
    return url[:start] + "***" + url[end:]


def config_dir() -> Path:
    """Repo-level configuration (agents.yaml, SLA definitions...): ``META_AGENT_CONFIG_DIR``
    or the ``config/`` folder next to the package (the repo root in a checkout or image)."""
    env = os.environ.get("META_AGENT_CONFIG_DIR")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent / "config"


def scenarios_dir() -> Path:
    """Scenario files (``*.yaml``) the simulation sensor syncs into the ``scenarios``
    partitions: ``META_AGENT_SCENARIOS_DIR`` or the ``scenarios/`` folder next to the package."""
    env = os.environ.get("META_AGENT_SCENARIOS_DIR")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent / "scenarios"
