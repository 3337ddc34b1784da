"""The SDK's prompt read: the labelled version an agent runs with, cached for ``ttl`` seconds,
never raising — the last known version when the database goes away (in memory, and on disk
across a restart), the caller's default or an empty prompt when there was never one."""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent.config import redact_url
from meta_agent.improvement import prompts as registry
from meta_agent.improvement.model import DEFAULT_PROMPT
from meta_agent.sdk import AgentLogger
from meta_agent.sdk.prompts import Prompt, PromptReader
from meta_agent.store.engine import dispose_all, engine_for
from meta_agent.store.schema import executions

AGENT = "support-triage"
V1 = "You triage tickets for {company}. Reply in {language}.\n"
V2 = "You triage tickets for {company}. Reply in {language}, briefly.\n"


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def seed(url: str, production: str = "v1") -> None:
    with engine_for(url).begin() as conn:
        for text in (V1, V2):
            registry.create_version(conn, AGENT, DEFAULT_PROMPT, text, author="ana")
        registry.move_label(conn, AGENT, DEFAULT_PROMPT, "production", production, actor="ana", reason="deploy")


def move(url: str, version: str) -> None:
    with engine_for(url).begin() as conn:
        registry.move_label(conn, AGENT, DEFAULT_PROMPT, "production", version, actor="ana", reason="deploy")


def take_database_away(url: str) -> None:
    """SQLite: delete the file (a new empty one has no registry). PostgreSQL: drop the database."""
    dispose_all()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(parsed.database + suffix):
                os.remove(parsed.database + suffix)
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(20):  # FORCE may meet an autovacuum worker our role cannot end (see conftest)
            try:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
                break
            except sa.exc.ProgrammingError as exc:
                if "must be a member of the role" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.25)
    finally:
        admin.dispose()


def test_a_label_move_is_seen_after_the_ttl_not_before(migrated_url, tmp_path):
    seed(migrated_url)
    clock = Clock()
    reader = PromptReader(migrated_url, ttl=30.0, cache_dir=tmp_path, clock=clock)
    first = reader.get(AGENT)
    assert (first.version, first.text, first.source, first.name, first.label) == ("v1", V1, "db", "system",
                                                                                  "production")
    assert first.variables == ("company", "language") and reader.db_reads == 1
    move(migrated_url, "v2")
    clock.t += 29.9
    cached = reader.get(AGENT)
    assert (cached.version, cached.source) == ("v1", "cache") and reader.db_reads == 1  # no query within the TTL
    clock.t += 0.1
    fresh = reader.get(AGENT)
    assert (fresh.version, fresh.text, fresh.source) == ("v2", V2, "db") and reader.db_reads == 2
    assert reader.get(AGENT, label="candidate", default="fallback").source == "default"  # its own key
    assert reader.db_reads == 3


def test_the_database_going_away_keeps_the_last_known_version(migrated_url, tmp_path, caplog):
    db_url = migrated_url
    seed(db_url)
    clock = Clock()
    reader = PromptReader(db_url, ttl=5.0, cache_dir=tmp_path / "spill", clock=clock)
    assert reader.get(AGENT).version == "v1"
    take_database_away(db_url)
    clock.t += 5
    with caplog.at_level(logging.WARNING, logger="meta_agent.sdk"):
        kept = reader.get(AGENT)
        assert (kept.version, kept.text, kept.source) == ("v1", V1, "last_known")
        other = reader.get("email-drafter", default="Draft a reply to {thread}.")
        assert (other.source, other.version, other.text, other.variables) == ("default", None,
                                                                              "Draft a reply to {thread}.",
                                                                              ("thread",))
        nothing = reader.get("email-drafter", "reply")
        assert (nothing.text, nothing.version, nothing.source) == ("", None, "default")
    assert "cannot read prompt system@production of support-triage" in caplog.text
    assert "using v1 (last_known)" in caplog.text
    assert "no prompt reply@production for email-drafter and no default" in caplog.text

    # a restart while the database is still away: the file under the spill dir has v1
    restarted = PromptReader(db_url, ttl=5.0, cache_dir=tmp_path / "spill", clock=clock)
    back = restarted.get(AGENT)
    assert (back.version, back.text, back.source, back.variables) == ("v1", V1, "disk", ("company", "language"))
    elsewhere = PromptReader(db_url, ttl=5.0, cache_dir=tmp_path / "other", clock=clock)
    assert elsewhere.get(AGENT, default="x").source == "default"  # another spill dir knows nothing


def test_the_disk_copy_is_rewritten_only_when_the_version_changes(migrated_url, tmp_path):
    seed(migrated_url)
    spill = tmp_path / "spill"
    clock = Clock()
    reader = PromptReader(migrated_url, ttl=1.0, cache_dir=spill, clock=clock)
    reader.get(AGENT)
    doc = json.loads(reader.cache_path.read_text())
    assert doc["prompts"] == {f"{AGENT}\x1fsystem\x1fproduction": {"version": "v1", "text": V1,
                                                                     "variables": ["company", "language"]}}
    assert doc["db"] == redact_url(migrated_url) and ":meta_agent@" not in doc["db"]  # no password on disk
    inode = reader.cache_path.stat().st_ino
    clock.t += 1
    assert reader.get(AGENT).source == "db" and reader.cache_path.stat().st_ino == inode  # same version: untouched
    move(migrated_url, "v2")
    clock.t += 1
    reader.get(AGENT)
    assert json.loads(reader.cache_path.read_text())["prompts"][f"{AGENT}\x1fsystem\x1fproduction"]["version"] == "v2"
    assert [p.name for p in spill.iterdir()] == [reader.cache_path.name]  # no temporary files left behind
    # a second process with its own reader merges into the file instead of replacing it
    with engine_for(migrated_url).begin() as conn:
        registry.create_version(conn, "email-drafter", DEFAULT_PROMPT, "Draft {thread}.", author="ana")
        registry.move_label(conn, "email-drafter", DEFAULT_PROMPT, "production", "v1", actor="ana", reason="go")
    PromptReader(migrated_url, cache_dir=spill).get("email-drafter")
    assert len(json.loads(reader.cache_path.read_text())["prompts"]) == 2


def test_a_damaged_or_unwritable_disk_cache_never_reaches_the_agent(migrated_url, tmp_path, caplog):
    seed(migrated_url)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the spill folder should be")
    with caplog.at_level(logging.WARNING, logger="meta_agent.sdk"):
        assert PromptReader(migrated_url, cache_dir=blocked).get(AGENT).version == "v1"
    assert "cannot write the prompt cache" in caplog.text
    reader = PromptReader(migrated_url, cache_dir=tmp_path / "spill")
    reader.cache_path.parent.mkdir()
    reader.cache_path.write_text("{not json")
    take_database_away(migrated_url)
    with caplog.at_level(logging.WARNING, logger="meta_agent.sdk"):
        got = reader.get(AGENT, default="default text")
    assert (got.text, got.source) == ("default text", "default")
    assert "cannot read the prompt cache" in caplog.text


def test_no_prompt_in_a_readable_registry_is_the_default_and_the_warning_is_rate_limited(migrated_url, tmp_path,
                                                                                          caplog):
    clock = Clock()
    reader = PromptReader(migrated_url, ttl=1.0, cache_dir=tmp_path, clock=clock)
    with caplog.at_level(logging.WARNING, logger="meta_agent.sdk"):
        for _ in range(3):
            p = reader.get(AGENT)
            assert (p.text, p.version, p.source, str(p)) == ("", None, "default", "")
            clock.t += 1  # each call reads again (TTL 1 s): still one warning a minute
    assert caplog.text.count("no prompt system@production for support-triage") == 1
    assert reader.db_reads == 3
    given = reader.get(AGENT, default="Be helpful to {customer}.")
    assert (given.text, given.source, given.variables) == ("Be helpful to {customer}.", "default", ("customer",))
    seed(migrated_url)
    clock.t += 1
    assert reader.get(AGENT, default="Be helpful.").version == "v1"  # the registry wins once it has one


def test_format_fills_the_placeholders_and_names_the_missing_ones():
    p = Prompt(V1, "v1", "system", "production", "db", ("company", "language"), AGENT)
    assert p.format(company="Acme", language="French", extra="ignored") == \
        "You triage tickets for Acme. Reply in French.\n"
    with pytest.raises(ValueError) as err:
        p.format(company="Acme")
    assert "needs language" in str(err.value) and "language=…" in str(err.value)
    broken = Prompt("Hello {name", None, "system", "production", "default")  # a caller's default, never checked
    with pytest.raises(ValueError, match="cannot be formatted"):
        broken.format(name="x")
    assert str(p) == V1 and f"{p}" == V1


def test_many_threads_share_one_read(migrated_url, tmp_path):
    seed(migrated_url)
    reader = PromptReader(migrated_url, ttl=60.0, cache_dir=tmp_path)
    seen: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work():
        try:
            start.wait()
            for _ in range(200):
                seen.append(reader.get(AGENT).version)
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and set(seen) == {"v1"} and len(seen) == 1600
    assert reader.db_reads == 1


def test_the_agent_context_reads_the_prompt_and_links_its_executions(migrated_url, tmp_path):
    seed(migrated_url, production="v2")
    with AgentLogger(migrated_url, spill_dir=tmp_path / "spill", background=False) as logger:
        agent = logger.agent(AGENT)
        prompt = agent.prompt()
        assert (prompt.version, prompt.text) == ("v2", V2)
        assert agent.prompt(label="candidate", default="x").source == "default"
        with agent.execution(prompt_version=prompt.version):
            pass
    assert any(p.name.startswith("prompts-last-known-") for p in (tmp_path / "spill").iterdir())
    with engine_for(migrated_url).connect() as conn:
        version = conn.execute(sa.select(executions.c.prompt_version)).scalar_one()
        assert registry.get_version(conn, AGENT, registry.prompt_for_version(conn, AGENT, version), version).text == V2
