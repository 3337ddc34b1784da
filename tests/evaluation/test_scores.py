"""Execution scores on real databases (SQLite and PostgreSQL): the SDK's scores and late scores,
spill + ingest round trips, embedded and standalone score records, idempotency, quarantine of
every malformed kind, dangling scores, and the daily summary pinned against SQL and numpy."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent.cli import main
from meta_agent.evaluation.scores import daily_summary, write_scores
from meta_agent.records.contract import RecordError
from meta_agent.sdk import AgentLogger
from meta_agent.store import migrate
from meta_agent.store.engine import dispose_all, engine_for
from meta_agent.store.ingest import ingest_file
from meta_agent.store.schema import actions, executions, quarantine
from meta_agent.store.schema_evaluation import execution_scores


def rows(url, table, *where) -> list[dict]:
    with engine_for(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(*where))]


def scores(url) -> dict[tuple, dict]:
    return {(r["execution_id"], r["name"], r["source"]): r for r in rows(url, execution_scores)}


def count(url, table) -> int:
    with engine_for(url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def rec(i: int, day: str = "2026-11-01", **over) -> dict:
    t = f"{day}T10:{i % 60:02d}:00Z"
    r = {"execution_id": f"ex-{i:04d}", "agent_id": f"agent-{i % 3}", "started_at": t,
         "ended_at": f"{day}T10:{i % 60:02d}:02Z", "status": "success", "latency_ms": 2000.0,
         "actions": [{"action_type": "tool_call", "name": "search", "started_at": t, "latency_ms": 10.0}]}
    r.update(over)
    return r


def score(eid: str, name: str = "helpfulness", value=0.8, source: str = "human", **over) -> dict:
    return {"record": "score", "execution_id": eid, "name": name, "value": value, "source": source, **over}


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


# ------------------------------------------------------------------------------ SDK


def test_sdk_scores_travel_with_their_execution(migrated_url, tmp_path):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False)
    with lg.agent("support-triage") as agent:
        with agent.execution() as ex:
            ex.tool_call("search_kb", latency_ms=4.0)
            ex.score("format_ok", 0.0)  # source "check" by default
            ex.score("helpfulness", 0.7, source="human", comment="fine")
            ex.score("format_ok", 1)  # same name and source: replaces the first
            eid = ex.execution_id
    [row] = rows(migrated_url, executions)
    got = scores(migrated_url)
    assert set(got) == {(eid, "format_ok", "check"), (eid, "helpfulness", "human")}
    ok = got[(eid, "format_ok", "check")]
    assert ok["value"] == 1.0 and ok["agent_id"] == "support-triage" and ok["comment"] is None
    assert row["started_at"] <= ok["scored_at"] <= row["ended_at"]
    assert got[(eid, "helpfulness", "human")]["comment"] == "fine"
    assert lg.stats.scores_written == 2 and lg.stats.quarantined == 0


def test_late_scores_replace_by_key_and_follow_their_execution(migrated_url, tmp_path):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False)
    with lg.execution("reviewed-agent") as ex:
        pass
    ex.score("format_ok", 0.5)  # after the block: a late score, source "check"
    lg.score(ex.execution_id, "helpfulness", 0.4, comment="too long")  # queued right behind its execution
    lg.flush()
    got = scores(migrated_url)
    assert got[(ex.execution_id, "helpfulness", "human")]["value"] == 0.4
    assert got[(ex.execution_id, "helpfulness", "human")]["agent_id"] == "reviewed-agent"
    assert got[(ex.execution_id, "format_ok", "check")]["value"] == 0.5
    lg.score(ex.execution_id, "helpfulness", 0.9, comment="on second thought, good")  # a reviewer corrects
    lg.score(ex.execution_id, "helpfulness", 0.9, source="llm_judge")  # another source: its own row
    lg.flush()
    got = scores(migrated_url)
    assert len(got) == 3
    assert (got[(ex.execution_id, "helpfulness", "human")]["value"],
            got[(ex.execution_id, "helpfulness", "human")]["comment"]) == (0.9, "on second thought, good")
    assert lg.stats.scores_written == 4 and lg.stats.quarantined == 0


def test_a_late_score_waits_for_its_execution_in_a_later_batch(migrated_url, tmp_path):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False, batch_size=2)  # one execution a batch
    ids = []
    for _ in range(5):
        with lg.execution("busy-agent") as ex:
            ex.tool_call("t", latency_ms=1.0)
        ids.append(ex.execution_id)
    lg.score(ids[-1], "helpfulness", 0.6)  # its execution is written four batches later
    lg.flush()
    assert list(scores(migrated_url)) == [(ids[-1], "helpfulness", "human")]
    assert rows(migrated_url, quarantine) == [] and lg.stats.executions_written == 5


def test_late_score_for_an_unknown_execution_or_breaking_the_contract_is_quarantined(migrated_url, tmp_path):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False)
    with lg.execution("a") as ex:
        pass
    lg.flush()
    lg.score("no-such-execution", "helpfulness", 0.5, agent_id="a")
    lg.score(ex.execution_id, "helpfulness", 0.5, source="robot")
    lg.score(ex.execution_id, "helpfulness", float("inf"))
    lg.score(ex.execution_id, "helpfulness", 0.25)
    lg.flush()
    assert list(scores(migrated_url)) == [(ex.execution_id, "helpfulness", "human")]
    q = sorted(rows(migrated_url, quarantine), key=lambda r: r["quarantine_id"])
    assert [r["kind"] for r in q] == ["score"] * 3
    reasons = " | ".join(r["reason"] for r in q)
    assert "source: Input should be 'human', 'llm_judge' or 'check' (got 'robot')" in reasons
    assert "value: Input should be a finite number" in reasons
    assert "execution_id: no execution 'no-such-execution' is stored" in reasons
    assert lg.stats.quarantined == 3


@pytest.mark.parametrize(
    ("name", "value", "source", "field"),
    [("q", float("nan"), "check", "scores.0.value: Input should be a finite number"),
     ("q", 1.5, "check", "scores.0.value: must be between 0 and 1 (got 1.5)"),
     ("q", 0.5, "robot", "scores.0.source"),
     ("bad name", 0.5, "check", "scores.0.name: must be 1-64 characters")],
)
def test_a_bad_sdk_score_quarantines_its_whole_execution(migrated_url, tmp_path, name, value, source, field):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False)
    with lg.execution("careless-agent") as ex:
        ex.tool_call("t", latency_ms=1.0)
        ex.score(name, value, source=source)
    with lg.execution("careful-agent") as good:
        good.score("q", 0.5)
    lg.flush()
    assert [r["execution_id"] for r in rows(migrated_url, executions)] == [good.execution_id]
    assert rows(migrated_url, actions, actions.c.execution_id == ex.execution_id) == []
    assert list(scores(migrated_url)) == [(good.execution_id, "q", "check")]
    [q] = rows(migrated_url, quarantine)
    assert field in q["reason"] and q["execution_id"] == ex.execution_id and q["source"] == "sdk:careless-agent"
    assert json.loads(q["record"])["scores"][0]["name"] == name  # the whole record is kept


# ------------------------------------------------------------------------------ outage: spill + ingest


class Outage:
    """Makes the database unreachable, then brings it back (as in tests/sdk/test_logger.py)."""

    def __init__(self, url: str, tmp_path: Path):
        self.url = make_url(url)
        self.tmp = tmp_path

    def __enter__(self):
        dispose_all()
        if self.url.get_backend_name() == "sqlite":
            self.path = Path(self.url.database)
            self.moved = self.tmp / "away.db"
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.path) + suffix)
                if p.exists():
                    p.rename(str(self.moved) + suffix)
            self.path.parent.chmod(0o500)
        else:
            self._admin(f'ALTER DATABASE "{self.url.database}" RENAME TO "{self.url.database}_away"')
        return self

    def __exit__(self, *exc):
        dispose_all()
        if self.url.get_backend_name() == "sqlite":
            self.path.parent.chmod(0o700)
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.moved) + suffix)
                if p.exists():
                    p.rename(str(self.path) + suffix)
        else:
            self._admin(f'ALTER DATABASE "{self.url.database}_away" RENAME TO "{self.url.database}"')

    def _admin(self, sql):
        admin = sa.create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname LIKE '{self.url.database}%%' AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'")
            conn.exec_driver_sql(sql)
        admin.dispose()


def test_scores_are_spilled_with_their_executions_and_ingested_back(db_url, tmp_path):
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    if db_url.startswith("sqlite"):
        db_url = f"sqlite:///{dbdir / 'ops.db'}"
    migrate.upgrade(db_url)
    lg = AgentLogger(db_url, spill_dir=tmp_path / "spill", background=False)
    expected: dict[tuple, float] = {}

    def run(n: int) -> list[str]:
        ids = []
        for i in range(n):
            with lg.execution("resilient-agent") as ex:
                ex.tool_call("t", latency_ms=1.0)
                ex.score("format_ok", (i % 5) / 4)
                expected[(ex.execution_id, "format_ok", "check")] = (i % 5) / 4
            ids.append(ex.execution_id)
        lg.flush()
        return ids

    before = run(5)
    with Outage(db_url, tmp_path):
        during = run(6)
        for eid in before[:2] + during[:3]:  # reviewers keep scoring while the DB is away
            lg.score(eid, "helpfulness", 0.25, comment="spilled")
            expected[(eid, "helpfulness", "human")] = 0.25
        lg.flush()
    lg.close()
    assert lg.stats.spilled_executions == 6 and lg.stats.spilled_scores == 5 and lg.stats.spill_files
    lines = [json.loads(x) for f in lg.stats.spill_files for x in Path(f).read_text().splitlines()]
    assert sum(1 for x in lines if x.get("record") == "score") == 5
    assert all(x["scores"][0]["source"] == "check" for x in lines if x.get("record") is None)

    reports = [ingest_file(f, url=db_url) for f in sorted(lg.stats.spill_files)]
    assert sum(r.accepted for r in reports) == 6 and sum(r.quarantined for r in reports) == 0
    assert sum(r.scores for r in reports) == 6 + 5
    got = scores(db_url)
    assert {k: v["value"] for k, v in got.items()} == expected
    assert all(got[k]["agent_id"] == "resilient-agent" for k in got)
    again = [ingest_file(f, url=db_url) for f in sorted(lg.stats.spill_files)]  # loading twice changes nothing
    assert sum(r.scores + r.scores_updated for r in again) == 0 and sum(r.score_duplicates for r in again) == 11
    assert scores(db_url) == got


# ------------------------------------------------------------------------------ ingest


def test_embedded_and_standalone_scores_in_any_order(migrated_url, tmp_path):
    ingest_file(write_jsonl(tmp_path / "earlier.jsonl", [rec(100)]), url=migrated_url)
    f = write_jsonl(tmp_path / "log.jsonl", [
        score("ex-0002", value=0.3),  # before its execution, in an earlier batch
        rec(1, scores=[{"name": "helpfulness", "value": 0.9, "source": "human", "comment": "great"},
                       {"name": "format_ok", "value": 1, "source": "check", "scored_at": "2026-11-01T11:00:00Z"}]),
        score("ex-0100", name="task_success", value=0.0, source="llm_judge", scored_at="2026-11-02T08:00:00Z"),
        rec(3),
        score("ex-9999"),  # no such execution, here or stored
        rec(2),
    ])
    r = ingest_file(f, url=migrated_url, batch_size=2)
    assert (r.read, r.accepted, r.quarantined, r.scores, r.scores_updated) == (6, 3, 1, 4, 0)
    got = scores(migrated_url)
    assert set(got) == {("ex-0001", "helpfulness", "human"), ("ex-0001", "format_ok", "check"),
                        ("ex-0002", "helpfulness", "human"), ("ex-0100", "task_success", "llm_judge")}
    embedded = got[("ex-0001", "helpfulness", "human")]
    assert embedded["scored_at"] == datetime(2026, 11, 1, 10, 1, 2, tzinfo=UTC)  # default: its ended_at
    assert embedded["agent_id"] == "agent-1" and embedded["comment"] == "great"
    assert got[("ex-0001", "format_ok", "check")]["scored_at"] == datetime(2026, 11, 1, 11, tzinfo=UTC)
    assert got[("ex-0002", "helpfulness", "human")]["agent_id"] == "agent-2"  # the stored execution's agent
    assert got[("ex-0100", "task_success", "llm_judge")]["scored_at"] == datetime(2026, 11, 2, 8, tzinfo=UTC)
    [q] = rows(migrated_url, quarantine)
    assert q["source"] == f"{f}:5" and q["kind"] == "score" and q["execution_id"] == "ex-9999"
    assert "execution_id: no execution 'ex-9999' is stored" in q["reason"]
    assert r.problems == [f"{f}:5: {q['reason']}"]


def test_reingest_changes_nothing_and_a_changed_value_replaces(migrated_url, tmp_path):
    lines = [rec(1, scores=[{"name": "helpfulness", "value": 0.5, "source": "human"}]), rec(2),
             score("ex-0002", value=0.6, comment="standalone, no scored_at")]
    f = write_jsonl(tmp_path / "log.jsonl", lines)
    first = ingest_file(f, url=migrated_url)
    assert (first.scores, first.scores_updated, first.score_duplicates) == (2, 0, 0)
    stored = scores(migrated_url)
    second = ingest_file(f, url=migrated_url)
    assert (second.accepted, second.duplicates) == (0, 2)
    assert (second.scores, second.scores_updated, second.score_duplicates) == (0, 0, 2)
    assert scores(migrated_url) == stored  # not even scored_at / ingested_at moved

    lines[0]["scores"][0]["value"] = 0.75  # a corrected file: the execution is a duplicate, its score is not
    lines[2]["value"] = 0.1
    third = ingest_file(write_jsonl(f, lines), url=migrated_url)
    assert (third.accepted, third.scores, third.scores_updated, third.score_duplicates) == (0, 0, 2, 0)
    got = scores(migrated_url)
    assert got[("ex-0001", "helpfulness", "human")]["value"] == 0.75
    assert got[("ex-0002", "helpfulness", "human")]["value"] == 0.1
    assert count(migrated_url, execution_scores) == 2


def test_an_older_score_never_undoes_a_later_one(migrated_url, tmp_path):
    ingest_file(write_jsonl(tmp_path / "a.jsonl", [rec(1), score("ex-0001", value=0.9,
                                                                 scored_at="2026-11-03T00:00:00Z")]),
                url=migrated_url)
    r = ingest_file(write_jsonl(tmp_path / "b.jsonl", [
        score("ex-0001", value=0.2, scored_at="2026-11-02T00:00:00Z"),  # a replayed, older verdict
        score("ex-0001", name="other", value=0.4, scored_at="2026-11-02T00:00:00Z"),
        score("ex-0001", name="other", value=0.5, scored_at="2026-11-01T00:00:00Z"),  # older, same batch
    ]), url=migrated_url)
    assert (r.scores, r.scores_updated, r.scores_stale) == (1, 0, 2)
    got = scores(migrated_url)
    assert got[("ex-0001", "helpfulness", "human")]["value"] == 0.9
    assert got[("ex-0001", "other", "human")]["value"] == 0.4


def _s(**over) -> dict:
    return {"name": "helpfulness", "value": 0.5, "source": "human", **over}


MALFORMED = [
    (rec(1, scores=[_s(value=1.7)]), "scores.0.value: must be between 0 and 1 (got 1.7)"),
    (rec(2, scores=[_s(value=-0.1)]), "scores.0.value: must be between 0 and 1 (got -0.1)"),
    ('{"execution_id": "ex-0003", "agent_id": "a", "started_at": "2026-11-01T10:00:00Z", "latency_ms": 1, '
     '"status": "success", "scores": [{"name": "q", "value": NaN, "source": "human"}]}',
     "scores.0.value: Input should be a finite number"),
    (rec(4, scores=[_s(value="high")]), "scores.0.value: Input should be a valid number"),
    (rec(5, scores=[_s(value=True)]), "scores.0.value: must be a number, not a boolean"),
    (rec(6, scores=[_s(value=None)]), "scores.0.value: Input should be a valid number"),
    (rec(7, scores=[_s(name="bad name")]), "scores.0.name: must be 1-64 characters"),
    (rec(8, scores=[_s(name="")]), "scores.0.name: must be 1-64 characters"),
    (rec(9, scores=[_s(name="n" * 65)]), "scores.0.name: must be 1-64 characters"),
    (rec(10, scores=[_s(source="robot")]), "scores.0.source: Input should be 'human', 'llm_judge' or 'check'"),
    (rec(11, scores=[{"name": "q", "value": 0.5}]), "scores.0.source: required field is missing"),
    (rec(12, scores=[_s(comment="c" * 4001)]), "scores.0.comment: String should have at most 4000 characters"),
    (rec(13, scores=[_s(scored_at="soon")]), "scores.0.scored_at: Input should be a valid datetime"),
    (rec(14, scores={"name": "q"}), "scores: Input should be a valid list"),
    (rec(15, scores=["0.5"]), "scores.0: Input should be a valid dictionary"),
    (rec(16, scores=[_s(), _s(value=0.7)]), "scores.1: repeats scores.0 (name 'helpfulness', source 'human')"),
    (rec(17, scores=[_s(), _s(name="x", value=2)]), "scores.1.value: must be between 0 and 1 (got 2)"),
    (score("ex-0100", value=1.01), "value: must be between 0 and 1 (got 1.01)"),
    (score("ex-0100", source="robot"), "source: Input should be"),
    ({"record": "score", "name": "q", "value": 0.5, "source": "human"}, "execution_id: required field is missing"),
    (score("ex-0100", name="a/b"), "name: must be 1-64 characters"),
    (score("ex-0100", scored_at="2026-13-01"), "scored_at: Input should be a valid datetime"),
    ({**rec(18), "record": "evaluation"}, "record: unknown record kind 'evaluation'"),
]


def test_every_malformed_score_quarantines_its_whole_record_naming_the_field(migrated_url, tmp_path):
    ingest_file(write_jsonl(tmp_path / "stored.jsonl", [rec(100)]), url=migrated_url)
    f = write_jsonl(tmp_path / "bad.jsonl", [line for line, _ in MALFORMED] + [rec(99, scores=[_s()])])
    r = ingest_file(f, url=migrated_url)
    assert (r.read, r.accepted, r.quarantined, r.scores) == (len(MALFORMED) + 1, 1, len(MALFORMED), 1)
    q = {row["source"]: row for row in rows(migrated_url, quarantine)}
    for n, (_, reason) in enumerate(MALFORMED, 1):
        assert reason in q[f"{f}:{n}"].get("reason"), (n, q[f"{f}:{n}"]["reason"])
    assert q[f"{f}:1"]["kind"] == "execution" and q[f"{f}:18"]["kind"] == "score"
    assert len(q[f"{f}:12"]["reason"]) < 200  # a long value is not repeated in full
    # nothing half-written: only the good record and the one stored before
    assert sorted(r["execution_id"] for r in rows(migrated_url, executions)) == ["ex-0099", "ex-0100"]
    assert sorted(r["execution_id"] for r in rows(migrated_url, actions)) == ["ex-0099", "ex-0100"]
    assert list(scores(migrated_url)) == [("ex-0099", "helpfulness", "human")]


def test_csv_with_a_scores_column_and_score_rows(migrated_url, tmp_path):
    f = tmp_path / "log.csv"
    cols = ["record", "execution_id", "agent_id", "started_at", "ended_at", "status", "scores",
            "name", "value", "source", "comment"]
    with f.open("w", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        w.writerow({"record": "score", "execution_id": "c1", "name": "helpfulness", "value": "0.25",
                    "source": "human", "comment": "late, and before its execution"})
        w.writerow({"execution_id": "c1", "agent_id": "csv-agent", "started_at": "2026-11-01T10:00:00Z",
                    "ended_at": "2026-11-01T10:00:01Z", "status": "success",
                    "scores": json.dumps([{"name": "format_ok", "value": 1, "source": "check"}])})
        w.writerow({"record": "score", "execution_id": "c1", "name": "helpfulness", "value": "7",
                    "source": "human"})
    r = ingest_file(f, url=migrated_url)
    assert (r.accepted, r.scores, r.quarantined) == (1, 2, 1)
    got = scores(migrated_url)
    assert got[("c1", "helpfulness", "human")]["value"] == 0.25
    assert got[("c1", "format_ok", "check")]["value"] == 1.0
    [q] = rows(migrated_url, quarantine)
    assert q["source"] == f"{f}:4" and "value: must be between 0 and 1 (got '7')" in q["reason"]


def test_score_comments_are_scrubbed(migrated_url, tmp_path):
    key = "sk-proj-" + "Q" * 30
    f = write_jsonl(tmp_path / "log.jsonl", [rec(1, scores=[_s(comment=f"used {key}")]),
                                             score("ex-0001", name="late", comment=f"again {key}")])
    ingest_file(f, url=migrated_url)
    comments = [r["comment"] for r in rows(migrated_url, execution_scores)]
    assert len(comments) == 2 and all(key not in c and "[REDACTED]" in c for c in comments)


def test_logs_ingest_prints_the_score_counts(ops_env, tmp_path, capsys):
    f = write_jsonl(tmp_path / "log.jsonl", [rec(1, scores=[_s()]), score("ex-0001", name="late")])
    assert main(["logs", "ingest", str(f), "--json"]) == 0
    [report] = json.loads(capsys.readouterr().out)["files"]
    assert (report["scores"], report["scores_updated"], report["score_duplicates"]) == (2, 0, 0)
    assert main(["logs", "ingest", str(f)]) == 0
    out = capsys.readouterr().out
    assert "scores" in out and "updated" in out


# ------------------------------------------------------------------------------ repository


def test_write_scores_validates_and_refuses_dangling_scores(migrated_url, tmp_path):
    ingest_file(write_jsonl(tmp_path / "log.jsonl", [rec(1)]), url=migrated_url)
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        w = write_scores(conn, [{"execution_id": "ex-0001", "name": "format_ok", "value": 1.0, "source": "check"}])
    assert (w.inserted, w.updated) == (1, 0)
    with engine.begin() as conn:
        w = write_scores(conn, [{"execution_id": "ex-0001", "name": "format_ok", "value": 1.0, "source": "check"},
                                {"execution_id": "ex-0001", "name": "judge", "value": 0.5, "source": "llm_judge",
                                 "comment": "ok"}])
    assert (w.inserted, w.updated, w.duplicates) == (1, 0, 1)
    with pytest.raises(RecordError, match=r"scores\[1\]: value: must be between 0 and 1 \(got 3\)"):
        with engine.begin() as conn:
            write_scores(conn, [{"execution_id": "ex-0001", "name": "x", "value": 0.1, "source": "check"},
                                {"execution_id": "ex-0001", "name": "y", "value": 3, "source": "check"}])
    with pytest.raises(RecordError, match=r"scores\[0\]: execution_id: no execution 'nope' is stored"):
        with engine.begin() as conn:
            write_scores(conn, [{"execution_id": "nope", "name": "x", "value": 0.1, "source": "check"}])
    got = scores(migrated_url)
    assert set(got) == {("ex-0001", "format_ok", "check"), ("ex-0001", "judge", "llm_judge")}
    assert got[("ex-0001", "judge", "llm_judge")]["agent_id"] == "agent-1"


def test_daily_summary_is_pinned_against_sql_and_numpy(migrated_url, tmp_path):
    rng = np.random.default_rng(7)
    day = date(2026, 11, 1)
    lines = []
    for i in range(240):
        d = day if i < 200 else day + timedelta(days=1)  # the next day's executions are not counted
        started = datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(seconds=int(rng.integers(0, 86_000)))
        r = {"execution_id": f"e{i:04d}", "agent_id": f"agent-{i % 4}", "started_at": started.isoformat(),
             "latency_ms": 100.0, "status": "success" if rng.random() < 0.8 else "failure"}
        if rng.random() < 0.6:  # some executions have no score at all
            r["scores"] = [{"name": n, "value": float(np.round(rng.beta(2, 2), 3)), "source": s}
                           for n, s in (("helpfulness", "human"), ("format_ok", "check"), ("helpfulness", "llm_judge"))
                           if rng.random() < 0.7]
        lines.append(r)
    lines += [score("e0001", name="late", value=0.5), score("e0203", name="late", value=0.1)]  # late, incl. next day
    ingest_file(write_jsonl(tmp_path / "day.jsonl", lines), url=migrated_url)

    summary = daily_summary(migrated_url, day)
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    with engine_for(migrated_url).connect() as conn:
        e, s = executions.c, execution_scores.c
        per_group = conn.execute(
            sa.select(e.agent_id, s.name, s.source, sa.func.count(), sa.func.avg(s.value))
            .join(executions, e.execution_id == s.execution_id)
            .where(e.started_at >= start, e.started_at < end)
            .group_by(e.agent_id, s.name, s.source).order_by(e.agent_id, s.name, s.source)).all()
        values = conn.execute(sa.select(e.agent_id, s.name, s.source, s.value)
                              .join(executions, e.execution_id == s.execution_id)
                              .where(e.started_at >= start, e.started_at < end)).all()
        total = conn.execute(sa.select(sa.func.count()).select_from(executions)
                             .where(e.started_at >= start, e.started_at < end)).scalar_one()
        scored = conn.execute(sa.select(sa.func.count(sa.distinct(s.execution_id)))
                              .join(executions, e.execution_id == s.execution_id)
                              .where(e.started_at >= start, e.started_at < end)).scalar_one()
    assert (summary.executions, summary.scored_executions, summary.unscored_executions) == (200, scored, 200 - scored)
    assert total == 200 and 0 < scored < 200 and not summary.is_unscored
    assert [(x.agent_id, x.name, x.source, x.count) for x in summary.stats] == [tuple(r[:4]) for r in per_group]
    assert summary.scores == sum(r[3] for r in per_group) == len(values)
    for stat, group in zip(summary.stats, per_group, strict=True):
        v = np.array([r[3] for r in values if tuple(r[:3]) == (stat.agent_id, stat.name, stat.source)])
        assert stat.mean == pytest.approx(group[4]) and stat.mean == pytest.approx(v.mean())
        assert (stat.p10, stat.p50, stat.p90) == pytest.approx(tuple(np.percentile(v, [10, 50, 90])))
        assert stat.below_par == pytest.approx((v < 0.5).mean())
    by_agent = {c.agent_id: c for c in summary.coverage}
    assert sum(c.executions for c in by_agent.values()) == 200 and set(by_agent) == {f"agent-{k}" for k in range(4)}
    row = summary.as_rows()[0]
    assert set(row) == {"agent", "name", "source", "scores", "mean", "p10", "p50", "p90", "below_half"}
    assert summary.coverage_rows()[0]["unscored"] == by_agent["agent-0"].unscored
    assert any(x.name == "late" and x.count == 1 for x in summary.stats)  # e0203's started the next day


def test_a_day_without_scores_says_so(migrated_url, tmp_path):
    ingest_file(write_jsonl(tmp_path / "log.jsonl", [rec(i) for i in range(6)]), url=migrated_url)
    s = daily_summary(migrated_url, date(2026, 11, 1))
    assert (s.executions, s.scored_executions, s.unscored_executions, s.stats) == (6, 0, 6, [])
    assert s.is_unscored and s.as_dict()["unscored_executions"] == 6
    empty = daily_summary(migrated_url, date(2026, 10, 1))
    assert empty.executions == 0 and not empty.is_unscored
