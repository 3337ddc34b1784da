"""Shared fixtures: real databases (SQLite and PostgreSQL), an isolated DAGSTER_HOME.

PostgreSQL tests use ``META_AGENT_TEST_PG_URL`` (``make test`` starts a server with
``scripts/pg-test-setup.sh``); each test gets a fresh database that is dropped afterwards.
Without a server they skip with the reason — except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# Tests never touch the repo's dagster_home: one scratch instance per session.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="meta-agent-test-home-"))
os.environ["DAGSTER_HOME"] = str(_SESSION_HOME)
(_SESSION_HOME / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
for _var in ("META_AGENT_DB_URL", "META_AGENT_ARTIFACTS", "META_AGENT_SPILL_DIR", "META_AGENT_DATA_URL"):
    os.environ.pop(_var, None)
# Tests materialize fixed days (2026-03-12, …): the daily partitions start before all of them.
os.environ["META_AGENT_DAILY_START"] = "2025-01-01"

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from pytest_httpserver import HTTPServer  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from meta_agent import config, portfolio  # noqa: E402
from meta_agent.portfolio import db as pdb  # noqa: E402
from meta_agent.store import migrate  # noqa: E402
from meta_agent.store.engine import dispose_all  # noqa: E402
from meta_agent.tools import outputs  # noqa: E402
from meta_agent_defs.resources import (  # noqa: E402
    ArtifactStore,
    LLMGatewayResource,
    LLMMode,
    NotifierResource,
    OpsDatabase,
    RepoConfig,
    SandboxResource,
    ScriptFactoryResource,
)

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("META_AGENT_TEST_PG_URL")


def skip_or_fail(what: str, reason: str) -> None:
    """A missing external part: skip with the reason locally; under CI=true, fail instead."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def unavailable():
    """``skip_or_fail`` for test modules and nested conftests (they cannot import this one)."""
    return skip_or_fail


def require_postgres() -> str:
    """The server URL, or skip (fail under CI=true) with the reason."""
    if PG_URL:
        return PG_URL
    skip_or_fail("PostgreSQL", "META_AGENT_TEST_PG_URL is not set: start PostgreSQL with "
                 "`export META_AGENT_TEST_PG_URL=$(scripts/pg-test-setup.sh)` or run `make test`")


@pytest.fixture
def pg_url() -> str:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    server = make_url(require_postgres())
    name = f"ma_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_all()
        drop_database(admin, name)
        admin.dispose()


def drop_database(admin: sa.Engine, name: str, attempts: int = 20) -> None:
    """DROP DATABASE … WITH (FORCE), retried: FORCE must terminate every session on it, and
    our non-superuser role may not terminate an autovacuum worker that happens to be there
    ("must be a member of the role whose process is being terminated"); it is gone in a moment."""
    for attempt in range(attempts):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sa.exc.ProgrammingError as exc:
            if "must be a member of the role" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.25)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    yield f"sqlite:///{tmp_path / 'ops.db'}"
    dispose_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """Each test using this runs twice: on SQLite and on a real PostgreSQL server."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(fixture)


@pytest.fixture
def migrated_url(db_url: str) -> str:
    migrate.upgrade(db_url)
    return db_url


@pytest.fixture
def ops_env(migrated_url: str, tmp_path: Path, monkeypatch) -> str:
    """Point every default (DB, artifacts, spill dir) at this test's own places."""
    monkeypatch.setenv("META_AGENT_DB_URL", migrated_url)
    monkeypatch.setenv("META_AGENT_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("META_AGENT_SPILL_DIR", str(tmp_path / "spill"))
    return migrated_url


@pytest.fixture
def engine(migrated_url: str) -> sa.Engine:
    from meta_agent.store.engine import engine_for

    return engine_for(migrated_url)


def build_resources(url: str, tmp_path: Path, config_dir: Path | None = None, **overrides) -> dict:
    """Every resource the code location binds, pointed at this test's places (offline LLM)."""
    ops_db = OpsDatabase(url=url)
    llm = LLMGatewayResource(mode=LLMMode.OFFLINE, ops_db=ops_db)
    sandbox = overrides.pop("sandbox", SandboxResource())
    artifacts = ArtifactStore(root=str(tmp_path / "artifacts"))
    resources = {
        "ops_db": ops_db,
        "artifacts": artifacts,
        "repo_config": RepoConfig(config_dir=str(config_dir or REPO_CONFIG)),
        "notifier": NotifierResource(channels="log", log_path=str(tmp_path / "notifications.jsonl")),
        "llm": llm, "sandbox": sandbox,
        "script_factory": ScriptFactoryResource(data_url=overrides.pop("data_url", None) or config.data_url(), llm=llm,
                                                sandbox=sandbox, artifacts=artifacts),
    }
    resources.update(overrides)
    return resources


@pytest.fixture(scope="module")
def server():
    """A loopback HTTP server per test module (pytest-httpserver) that tests program to play an
    OpenAI-compatible API, so litellm is exercised over its real HTTP path."""
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # threaded: a slow reply must not block others
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def llm(server):
    """``server`` with no handlers left from the test before (and none left after)."""
    server.clear()
    yield server
    server.clear()


@pytest.fixture
def make_resources():
    """``make_resources(url, tmp_path, config_dir=None, **overrides)``: resources for a Dagster test."""
    return build_resources


def pytest_report_header(config) -> list[str]:
    pg = make_url(PG_URL).render_as_string(hide_password=True) if PG_URL else "not configured (PostgreSQL tests skip)"
    return [f"meta-agent: PostgreSQL {pg}; CI={IN_CI}; DAGSTER_HOME={_SESSION_HOME}"]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say how many database tests ran on each engine (the issue notes quote this)."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(rep, "nodeid", "")
            for engine in ("sqlite", "postgresql"):
                if f"[{engine}" in nodeid or f"-{engine}]" in nodeid or f"-{engine}-" in nodeid:
                    counts.setdefault(engine, {}).setdefault(outcome, 0)
                    counts[engine][outcome] += 1 if rep.when == "call" or outcome != "passed" else 0
    if counts:
        terminalreporter.write_sep("-", "database tests per engine")
        for engine, c in sorted(counts.items()):
            terminalreporter.write_line(f"{engine}: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items()) if v))


@pytest.fixture
def results(tmp_path, monkeypatch) -> Path:
    """A fresh run results directory as META_AGENT_RESULTS_DIR (what the tools write into)."""
    d = tmp_path / "results"
    d.mkdir()
    monkeypatch.setenv("META_AGENT_RESULTS_DIR", str(d))
    outputs._reset_cache()
    yield d
    outputs._reset_cache()


# ------------------------------------------------ the script factory's (and simulation's) world

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
