"""Failure embeddings on real databases (SQLite and PostgreSQL) with the real offline hashing
embedder: one row per failure, written once; re-embedded when the model changes; only the
distinct signatures embedded; ``load_embeddings`` returns the stored float32 bits; and the
context text that successes are compared by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from meta_agent.evaluation import data
from meta_agent.evaluation.embeddings import (
    context_text,
    current_model,
    embed_failures,
    load_embeddings,
)
from meta_agent.evaluation.signature import signatures
from meta_agent.llm.embeddings import HASHING_MODEL, hashing_embed
from meta_agent.llm.gateway import OfflineGateway
from meta_agent.store.engine import engine_for
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_evaluation import failure_embeddings

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
DAY = (T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1))
RATE = "429 Too Many Requests: rate limit reached for gpt-4o on tokens per min: limit 200000, used {n}"
TOOL = "tool 'fetch_diff' failed: upstream returned 502 Bad Gateway after {n} retries"


def record(eid: str, started: datetime, *, agent: str = "a", status: str = "success", error_type: str | None = None,
           message: str | None = None, model: str = "gpt-4o", prompt: str = "v3", tools: tuple[str, ...] = ("fetch_diff",),
           metadata: dict | None = None, fail_at: str | None = None) -> dict:
    """A contract record: an LLM call then tool calls; ``fail_at`` ('llm' / a tool) fails there."""
    acts = [("llm_inference", model), *(("tool_call", t) for t in tools)]
    actions = []
    for seq, (atype, name) in enumerate(acts):
        a = {"seq": seq, "action_type": atype, "name": name,
             "started_at": (started + timedelta(milliseconds=10 * seq)).isoformat(timespec="microseconds"),
             "latency_ms": 10.0,
             "status": "success"}
        failed_here = status != "success" and (fail_at == name or (fail_at == "llm" and atype == "llm_inference"))
        if failed_here:
            a.update(status="failure", error_type=error_type, error_message=message)
        actions.append(a)
        if failed_here:
            break
    return {"execution_id": eid, "agent_id": agent, "started_at": started.isoformat(),
            "ended_at": (started + timedelta(seconds=1)).isoformat(), "status": status, "latency_ms": 1000.0,
            "model": model, "prompt_version": prompt, "tokens_in": 100, "tokens_out": 20, "cost_usd": 0.001,
            "error_type": error_type, "error_message": message, "metadata": {"tenant": "acme"} if metadata is None else metadata,
            "actions": actions}


def ingest(url: str, records: list[dict]) -> None:
    report = ingest_items(((str(i), r) for i, r in enumerate(records)), url=url, source="test", origin="test")
    assert report.problems == []


def failures_world() -> list[dict]:
    """Day 2026-03-10: 6 rate limits (one signature), 4 tool errors (another), 1 timeout,
    successes and a cancelled run; one failure the day before."""
    recs = [record(f"rate-{i}", T0 + timedelta(minutes=i), status="failure", error_type="RateLimitError",
                   message=RATE.format(n=190000 + 7 * i), fail_at="llm", agent="a" if i < 4 else "b")
            for i in range(6)]
    recs += [record(f"tool-{i}", T0 + timedelta(minutes=10 + i), status="failure", error_type="ToolExecutionError",
                    message=TOOL.format(n=i + 2), fail_at="fetch_diff") for i in range(4)]
    recs.append(record("slow-0", T0 + timedelta(minutes=20), status="timeout", error_type="TimeoutError",
                       message="execution exceeded the 60s deadline"))
    recs += [record(f"ok-{i}", T0 + timedelta(minutes=30 + i)) for i in range(3)]
    recs.append(record("cancel-0", T0 + timedelta(minutes=40), status="cancelled", error_type="CancelledError",
                       message="cancelled by the caller"))
    recs.append(record("old-0", T0 - timedelta(days=1), status="failure", error_type="RateLimitError",
                       message=RATE.format(n=1), fail_at="llm"))
    return recs


FAILED_IN_DAY = 11  # 6 rate + 4 tool + 1 timeout


def stored(url: str) -> dict[str, dict]:
    with engine_for(url).connect() as conn:
        return {r.execution_id: dict(r._mapping) for r in conn.execute(sa.select(failure_embeddings))}


class CountingGateway(OfflineGateway):
    """The real offline gateway, recording what it was asked to embed."""

    def __init__(self, dim: int = 384):
        super().__init__(dim=dim)
        self.calls: list[list[str]] = []

    def embed(self, texts, *, purpose=None):
        self.calls.append(list(texts))
        return super().embed(texts, purpose=purpose)


def test_embed_failures_writes_one_row_per_failure_once(migrated_url):
    ingest(migrated_url, failures_world())
    gw = CountingGateway()
    first = embed_failures(migrated_url, *DAY, gw)
    assert (first.failures, first.embedded, first.reembedded, first.up_to_date) == (FAILED_IN_DAY, FAILED_IN_DAY, 0, 0)
    assert first.embedding_model == gw.embedding_model == f"{HASHING_MODEL}-384" and first.dim == 384
    rows = stored(migrated_url)
    assert set(rows) == {f"rate-{i}" for i in range(6)} | {f"tool-{i}" for i in range(4)} | {"slow-0"}
    r = rows["tool-2"]
    assert (r["agent_id"], r["status"], r["model"], r["prompt_version"], r["error_type"], r["failing_action"],
            r["embedding_model"], r["dim"]) == ("a", "failure", "gpt-4o", "v3", "ToolExecutionError",
                                                "tool_call:fetch_diff", gw.embedding_model, 384)
    assert r["signature"] == ("ToolExecutionError: tool 'fetch_diff' failed: upstream returned <n> Bad Gateway "
                              "after <n> retries | tool_call:fetch_diff")
    assert r["started_at"] == T0 + timedelta(minutes=12)
    assert rows["slow-0"]["status"] == "timeout"
    # the distinct signatures only, each once: rate limit, tool error, timeout
    assert first.signatures == 3 and sorted(len(c) for c in gw.calls) == [3]
    assert len({r["signature"] for r in rows.values()}) == 3

    again = embed_failures(migrated_url, *DAY, gw)
    assert (again.embedded, again.reembedded, again.up_to_date, again.signatures) == (0, 0, FAILED_IN_DAY, 0)
    assert len(gw.calls) == 1  # nothing sent to the gateway
    assert {k: v["embedded_at"] for k, v in stored(migrated_url).items()} == \
        {k: v["embedded_at"] for k, v in rows.items()}


def test_only_failures_of_the_window_and_new_ones_are_embedded(migrated_url):
    ingest(migrated_url, failures_world())
    gw = OfflineGateway()
    embed_failures(migrated_url, *DAY, gw)
    ingest(migrated_url, [record("rate-late", T0 + timedelta(hours=3), status="failure", error_type="RateLimitError",
                                 message=RATE.format(n=5), fail_at="llm")])
    res = embed_failures(migrated_url, *DAY, gw)
    assert (res.failures, res.embedded, res.up_to_date) == (FAILED_IN_DAY + 1, 1, FAILED_IN_DAY)
    rows = stored(migrated_url)
    assert "old-0" not in rows and "cancel-0" not in rows and not any(k.startswith("ok-") for k in rows)
    before = embed_failures(migrated_url, DAY[0] - timedelta(days=1), DAY[0], gw)
    assert (before.failures, before.embedded) == (1, 1)


def test_small_batches_write_the_same_rows(migrated_url):
    ingest(migrated_url, failures_world())
    res = embed_failures(migrated_url, *DAY, OfflineGateway(), batch_size=2)
    assert res.embedded == FAILED_IN_DAY
    frame, matrix = load_embeddings(migrated_url)
    sig = signatures(data.load_executions(migrated_url, *DAY, statuses=data.FAILED_STATUSES),
                     data.load_actions(migrated_url, frame["execution_id"].tolist()))
    assert dict(zip(frame["execution_id"], frame["signature"], strict=True)) == \
        dict(zip(sig["execution_id"], sig["signature"], strict=True))
    with pytest.raises(ValueError, match="batch_size"):
        embed_failures(migrated_url, *DAY, OfflineGateway(), batch_size=0)


def test_a_model_change_re_embeds(migrated_url):
    ingest(migrated_url, failures_world())
    embed_failures(migrated_url, *DAY, OfflineGateway())
    small = OfflineGateway(dim=64)
    res = embed_failures(migrated_url, *DAY, small)
    assert (res.embedded, res.reembedded, res.up_to_date, res.dim) == (0, FAILED_IN_DAY, 0, 64)
    rows = stored(migrated_url)
    assert {r["embedding_model"] for r in rows.values()} == {small.embedding_model} and len(rows) == FAILED_IN_DAY
    assert {r["dim"] for r in rows.values()} == {64} and all(len(r["vector"]) == 64 for r in rows.values())
    assert current_model(migrated_url) == small.embedding_model
    # the window before still has the old model's row: reading one model at a time
    embed_failures(migrated_url, DAY[0] - timedelta(days=1), DAY[0], OfflineGateway())
    frame, matrix = load_embeddings(migrated_url, embedding_model=small.embedding_model)
    assert len(frame) == FAILED_IN_DAY and matrix.shape == (FAILED_IN_DAY, 64)
    frame, matrix = load_embeddings(migrated_url)  # the current model: the last one written
    assert list(frame["execution_id"]) == ["old-0"] and matrix.shape == (1, 384)
    # an explicit model name is what gets stored
    named = embed_failures(migrated_url, *DAY, small, embedding_model="custom:hash-64")
    assert named.reembedded == FAILED_IN_DAY and current_model(migrated_url) == "custom:hash-64"


def test_load_embeddings_round_trips_the_float32_bits_and_filters(migrated_url):
    ingest(migrated_url, failures_world())
    embed_failures(migrated_url, DAY[0] - timedelta(days=1), DAY[1], OfflineGateway())
    frame, matrix = load_embeddings(migrated_url)
    assert matrix.dtype == np.float32 and matrix.shape == (FAILED_IN_DAY + 1, 384) and matrix.flags.c_contiguous
    assert list(frame["execution_id"])[0] == "old-0"  # ordered by started_at
    assert frame["started_at"].is_monotonic_increasing and str(frame["started_at"].dt.tz) == "UTC"
    expected = hashing_embed(frame["signature"].tolist())
    assert np.array_equal(matrix, expected)  # bit for bit
    rows = stored(migrated_url)
    for eid, vec in zip(frame["execution_id"], matrix, strict=True):
        assert np.array_equal(rows[eid]["vector"], vec)

    f, m = load_embeddings(migrated_url, start=DAY[0], end=DAY[0] + timedelta(hours=8, minutes=5))
    assert list(f["execution_id"]) == [f"rate-{i}" for i in range(5)] and m.shape == (5, 384)
    f, m = load_embeddings(migrated_url, agents=["b"])
    assert set(f["execution_id"]) == {"rate-4", "rate-5"} and np.array_equal(m, matrix[frame["agent_id"] == "b"])
    f, _ = load_embeddings(migrated_url, agents=[])
    assert f.empty
    f, m = load_embeddings(migrated_url, execution_ids=["tool-3", "rate-0", "nope"])
    assert list(f["execution_id"]) == ["rate-0", "tool-3"]
    assert np.array_equal(m[1], matrix[list(frame["execution_id"]).index("tool-3")])
    latest = frame["embedded_at"].max().to_pydatetime()
    f, m = load_embeddings(migrated_url, embedded_after=latest)
    assert f.empty and m.shape == (0, 0)
    f, _ = load_embeddings(migrated_url, embedding_model="no-such-model")
    assert f.empty


def test_load_embeddings_of_an_empty_table(migrated_url):
    frame, matrix = load_embeddings(migrated_url)
    assert frame.empty and list(frame.columns)[:2] == ["execution_id", "agent_id"] and matrix.shape == (0, 0)
    assert current_model(migrated_url) is None
    res = embed_failures(migrated_url, *DAY, OfflineGateway())
    assert (res.failures, res.written, res.dim) == (0, 0, None)


def test_context_text_is_how_it_ran_not_the_error():
    recs = [record("f", T0, status="failure", error_type="RateLimitError", message=RATE.format(n=3), fail_at="llm",
                   metadata={"tenant": "acme", "channel": "slack", "flags": {"beta": True}}),
            record("s", T0, tools=("fetch_diff", "post_comment"), prompt="v2", metadata={"channel": "slack"}),
            record("bare", T0, metadata={})]
    ex, acts = data.frames_from_records(recs)
    text = context_text(ex, acts)
    assert list(text.index) == list(ex["execution_id"])
    assert text["f"] == ('model gpt-4o | prompt v3 | llm_inference:gpt-4o | channel=slack flags={"beta": true} '
                         'tenant=acme')
    assert text["s"] == ("model gpt-4o | prompt v2 | llm_inference:gpt-4o > tool_call:fetch_diff > "
                         "tool_call:post_comment | channel=slack")
    assert "429" not in text["f"] and "RateLimit" not in text["f"]
    assert text["bare"] == "model gpt-4o | prompt v3 | llm_inference:gpt-4o > tool_call:fetch_diff"
    no_actions = context_text(ex, acts.iloc[0:0])
    assert no_actions.to_dict() == {"bare": "model gpt-4o | prompt v3",
                                    "f": 'model gpt-4o | prompt v3 | channel=slack flags={"beta": true} tenant=acme',
                                    "s": "model gpt-4o | prompt v2 | channel=slack"}
