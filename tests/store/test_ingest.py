"""Ingest of JSONL/CSV execution records: idempotent, quarantining, never losing data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.store.engine import engine_for
from meta_agent.store.ingest import ingest_file
from meta_agent.store.schema import actions, executions, quarantine


def rec(i: int, **over) -> dict:
    r = {"execution_id": f"ex-{i:04d}", "agent_id": f"agent-{i % 3}", "started_at": f"2026-11-01T10:{i % 60:02d}:00Z",
         "ended_at": f"2026-11-01T10:{i % 60:02d}:02Z", "status": "success", "latency_ms": 2000.0,
         "model": "gpt-4o-mini", "tokens_in": 100, "tokens_out": 20, "cost_usd": 0.001,
         "actions": [{"action_type": "llm_inference", "name": "gpt-4o-mini", "started_at": f"2026-11-01T10:{i % 60:02d}:00Z",
                      "latency_ms": 1500.0, "model": "gpt-4o-mini", "tokens_in": 100, "tokens_out": 20}]}
    r.update(over)
    return r


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def count(url, table) -> int:
    with engine_for(url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_jsonl_ingest_is_idempotent_by_execution_id(migrated_url, tmp_path):
    f = write_jsonl(tmp_path / "log.jsonl", [rec(i) for i in range(50)])
    first = ingest_file(f, url=migrated_url, batch_size=7)
    second = ingest_file(f, url=migrated_url, batch_size=7)
    assert (first.read, first.accepted, first.duplicates, first.actions) == (50, 50, 0, 50)
    assert (second.accepted, second.duplicates, second.actions) == (0, 50, 0)
    assert count(migrated_url, executions) == 50 and count(migrated_url, actions) == 50


def test_duplicates_inside_one_file_are_counted_once(migrated_url, tmp_path):
    f = write_jsonl(tmp_path / "dup.jsonl", [rec(1), rec(2), rec(1)])
    r = ingest_file(f, url=migrated_url)
    assert (r.accepted, r.duplicates) == (2, 1)


def test_malformed_lines_and_bad_records_are_quarantined_with_file_and_line(migrated_url, tmp_path):
    f = write_jsonl(tmp_path / "mixed.jsonl", [
        rec(1),
        '{"execution_id": "ex-broken", "agent_id": ',  # line 2: truncated JSON
        rec(3, status="finished"),                      # line 3: unknown status
        rec(4, latency_ms=-10),                         # line 4: negative latency
        "",                                             # blank lines are skipped
        rec(6, ended_at="2026-11-01T09:00:00Z"),        # line 6: ended before started
        "[1, 2, 3]",                                    # line 7: not an object
        rec(8),
    ])
    r = ingest_file(f, url=migrated_url)
    assert (r.read, r.accepted, r.quarantined) == (7, 2, 5)
    assert r.problems[0].startswith(f"{f}:2: line 2: not valid JSON")
    with engine_for(migrated_url).connect() as conn:
        q = {row.source: row for row in conn.execute(sa.select(quarantine))}
    assert set(q) == {f"{f}:{n}" for n in (2, 3, 4, 6, 7)}
    assert "status" in q[f"{f}:3"].reason and "finished" in q[f"{f}:3"].reason
    assert "latency_ms" in q[f"{f}:4"].reason
    assert "before started_at" in q[f"{f}:6"].reason
    assert q[f"{f}:2"].record.startswith('{"execution_id": "ex-broken"')  # raw text kept
    assert q[f"{f}:4"].execution_id == "ex-0004"


def test_bad_input_leaves_stored_data_intact(migrated_url, tmp_path):
    ingest_file(write_jsonl(tmp_path / "good.jsonl", [rec(i) for i in range(10)]), url=migrated_url)
    with engine_for(migrated_url).connect() as conn:
        before = sorted(tuple(r) for r in conn.execute(sa.select(executions)))
    bad = write_jsonl(tmp_path / "bad.jsonl", [rec(i, status="???") for i in range(10)] + ["not json"])
    r = ingest_file(bad, url=migrated_url)
    assert r.accepted == 0 and r.quarantined == 11
    with engine_for(migrated_url).connect() as conn:
        after = sorted(tuple(r) for r in conn.execute(sa.select(executions)))
    assert after == before


def test_csv_ingest_with_json_columns(migrated_url, tmp_path):
    f = tmp_path / "export.csv"
    fields = ["execution_id", "agent_id", "started_at", "ended_at", "status", "latency_ms", "tokens_in",
              "human_intervention", "metadata", "actions", "error_type"]
    with f.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerow({"execution_id": "c1", "agent_id": "csv-agent", "started_at": "2026-11-01 10:00:00",
                    "ended_at": "2026-11-01 10:00:01", "status": "failure", "latency_ms": "1000",
                    "tokens_in": "12", "human_intervention": "true", "metadata": '{"k": 1}',
                    "actions": json.dumps([{"action_type": "tool_call", "started_at": "2026-11-01 10:00:00",
                                            "latency_ms": 5}]), "error_type": "ToolError"})
        w.writerow({"execution_id": "c2", "agent_id": "csv-agent", "started_at": "2026-11-01 10:00:00",
                    "ended_at": "2026-11-01 10:00:01", "status": "success", "latency_ms": "-1",
                    "metadata": "{not json", "actions": ""})
    r = ingest_file(f, url=migrated_url)
    assert (r.accepted, r.quarantined, r.actions) == (1, 1, 1)
    assert "column metadata is not valid JSON" in r.problems[0] and f"{f}:3" in r.problems[0]
    with engine_for(migrated_url).connect() as conn:
        row = conn.execute(sa.select(executions)).one()
    assert row.human_intervention is True and row.metadata == {"k": 1} and row.tokens_in == 12


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jsonl", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: (d / "blob.bin").write_bytes(b"\x00\x01\x02\xff" * 10) and d / "blob.bin", "not a JSONL or CSV file"),
        (lambda d: (d / "b.jsonl").write_bytes(b"\x00\x9f\x92\x96\n") and d / "b.jsonl", "is a binary file"),
        (lambda d: (d / "h.csv").write_text("id,name\n1,x\n") and d / "h.csv", "line 1 is not a header with execution_id"),
        (lambda d: (d / "u.csv").write_bytes(b"execution_id,agent_id\n\xff\xfe,x\n") and d / "u.csv", "line 2 is not UTF-8"),
    ],
)
def test_unreadable_input_is_an_error_naming_the_file(migrated_url, tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError) as err:
        ingest_file(path, url=migrated_url)
    assert message in str(err.value) and str(path) in str(err.value)
    assert count(migrated_url, executions) == 0
