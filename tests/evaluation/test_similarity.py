"""Similar failures: the FAISS-backed ``FailureIndex`` (recall against exact numpy, incremental
and idempotent adds, duplicate vectors, save/load) and, on real databases (SQLite and
PostgreSQL) with the real offline hashing embedder, ``sync`` and ``similar``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from test_embeddings import DAY, RATE, T0, TOOL, failures_world, ingest, record

from meta_agent.errors import InputError
from meta_agent.evaluation.embeddings import embed_failures, load_embeddings
from meta_agent.evaluation.similarity import FailureIndex, normalized, similar, sync
from meta_agent.llm.gateway import OfflineGateway

MODEL = "offline:hashing-v1-384"


def clustered(rng: np.random.Generator, n: int, dim: int = 32, centres: int = 40) -> np.ndarray:
    c = normalized(rng.normal(size=(centres, dim)))
    return normalized(c[rng.integers(centres, size=n)] + rng.normal(scale=0.25, size=(n, dim)))


def exact_ids(base: np.ndarray, ids: list[str], q: np.ndarray, k: int) -> list[list[str]]:
    s = normalized(q) @ base.T
    return [[ids[j] for j in np.argsort(-row, kind="stable")[:k]] for row in s]


# ------------------------------------------------------------------------------ the index


def test_hnsw_recall_against_exact_numpy():
    rng = np.random.default_rng(0)
    base = clustered(rng, 3000)
    ids = [f"e{i}" for i in range(len(base))]
    index = FailureIndex(32, MODEL, exact_below=100)
    assert index.add(ids, base) == 3000 and index.method == "hnsw" and index.slots == 3000
    q = clustered(rng, 200)
    got, sims = index.search(q, 10)
    want = exact_ids(base, ids, q, 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got.tolist(), want, strict=True)])
    assert recall >= 0.95
    assert np.all(np.diff(sims, axis=1) <= 1e-6)  # most similar first
    assert np.allclose(sims[:, 0], [(normalized(q[i]) @ base[ids.index(got[i, 0])]).item() for i in range(len(q))],
                       atol=1e-5)


def test_exact_below_the_threshold_and_the_switch_to_hnsw_keeps_answers():
    rng = np.random.default_rng(1)
    base = clustered(rng, 400)
    ids = [f"e{i}" for i in range(400)]
    index = FailureIndex(32, MODEL, exact_below=300)
    index.add(ids[:250], base[:250])
    assert index.method == "exact"
    q = clustered(rng, 20)
    assert index.search(q, 5)[0].tolist() == exact_ids(base[:250], ids[:250], q, 5)
    index.add(ids[250:], base[250:])  # crosses the threshold: the matrix becomes an HNSW graph
    assert index.method == "hnsw" and len(index) == 400
    assert np.allclose(index.vectors(), base, atol=1e-6)
    got = index.search(q, 5)[0].tolist()
    assert np.mean([len(set(g) & set(w)) / 5 for g, w in zip(got, exact_ids(base, ids, q, 5), strict=True)]) >= 0.95


def test_adds_are_incremental_and_idempotent():
    rng = np.random.default_rng(2)
    base = clustered(rng, 600)
    ids = [f"e{i}" for i in range(600)]
    for exact_below in (10_000, 50):
        index = FailureIndex(32, MODEL, exact_below=exact_below)
        assert index.add(ids[:400], base[:400]) == 400
        assert index.add(ids[200:600], base[200:600]) == 200  # 200 known ids skipped
        assert index.add(ids[:10], rng.normal(size=(10, 32))) == 0  # a known id keeps its vector
        assert len(index) == 600 and index.slots == 600 and index.ids == ids
        assert "e599" in index and "e600" not in index
        assert np.allclose(index.vector_of("e5"), base[5], atol=1e-6) and index.vector_of("nope") is None
        got, _ = index.search(base[:3], 1)
        assert got[:, 0].tolist() == ["e0", "e1", "e2"]
    with pytest.raises(ValueError, match="dimension"):
        index.add(["x"], np.ones((1, 8)))
    with pytest.raises(ValueError, match="ids but"):
        index.add(["x", "y"], np.ones((1, 32)))
    assert index.add([], []) == 0


def test_identical_vectors_share_a_slot_newest_first_and_exclusion():
    v = normalized(np.eye(4, dtype=np.float32) + 0.01)
    index = FailureIndex(4, MODEL)
    index.add(["a1", "a2", "a3", "b1"], np.vstack([v[0], v[0] * 3, v[0], v[1]]))  # scale does not matter
    assert index.slots == 2 and len(index) == 4
    ids, sims = index.search(v[0], 3)
    assert ids[0].tolist() == ["a3", "a2", "a1"] and np.allclose(sims[0], 1.0)
    ids, _ = index.search(v[0], 3, exclude=["a3"])
    assert ids[0].tolist() == ["a2", "a1", "b1"]
    ids, sims = index.search(v[0], 10)  # fewer than k: padded
    assert ids[0].tolist()[4:] == [None] * 6 and np.isnan(sims[0, 4:]).all() and ids[0, 3] == "b1"
    with pytest.raises(ValueError, match="k must"):
        index.search(v[0], 0)
    assert FailureIndex(4, MODEL).search(v[0], 3)[0].tolist() == [[None] * 3]


@pytest.mark.parametrize("exact_below", [10_000, 50])
def test_save_and_load_round_trip(tmp_path: Path, exact_below: int):
    rng = np.random.default_rng(3)
    base = clustered(rng, 300)
    base[10] = base[11]  # one shared slot
    ids = [f"e{i}" for i in range(300)]
    index = FailureIndex(32, MODEL, exact_below=exact_below, ef_search=48)
    index.add(ids, base)
    index.watermark = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert FailureIndex.version(tmp_path) is None
    with pytest.raises(FileNotFoundError):
        FailureIndex.load(tmp_path)
    first = index.save(tmp_path)
    back = FailureIndex.load(tmp_path)
    assert (back.embedding_model, back.dim, back.watermark, back.method, back.ef_search, back.slots, back.ids) == \
        (MODEL, 32, index.watermark, index.method, 48, 299, ids)
    q = clustered(rng, 10)
    assert back.search(q, 5)[0].tolist() == index.search(q, 5)[0].tolist()
    assert back.add(ids[:5], base[:5]) == 0 and back.add(["new"], base[11]) == 1 and back.slots == 299
    back.save(tmp_path)
    third = back.save(tmp_path)
    assert FailureIndex.version(tmp_path) == third.name
    versions = sorted(p.name for p in tmp_path.glob("v-*"))
    assert len(versions) == 2 and first.name not in versions  # the previous one is kept for readers
    meta = json.loads((third / "meta.json").read_text())
    assert meta["ids"] == 301 and meta["embedding_model"] == MODEL
    assert len(FailureIndex.load(tmp_path)) == 301


# ------------------------------------------------------------------------------ on the ops DB


@pytest.fixture
def world(migrated_url: str) -> str:
    ingest(migrated_url, failures_world())
    embed_failures(migrated_url, DAY[0] - timedelta(days=1), DAY[1], OfflineGateway())
    return migrated_url


def test_sync_adds_what_is_new_since_the_watermark(world: str, tmp_path: Path):
    d = tmp_path / "index"
    assert sync(world, d) == 12
    index = FailureIndex.load(d)
    frame, _ = load_embeddings(world)
    assert len(index) == 12 and index.slots == 3 and index.embedding_model == MODEL
    assert index.watermark == frame["embedded_at"].max().to_pydatetime()
    version = FailureIndex.version(d)
    assert sync(world, d) == 0 and FailureIndex.version(d) == version  # nothing new, nothing written
    ingest(world, [record("tool-late", T0 + timedelta(hours=5), status="failure", error_type="ToolExecutionError",
                          message=TOOL.format(n=9), fail_at="fetch_diff")])
    embed_failures(world, *DAY, OfflineGateway())
    assert sync(world, d) == 1
    index = FailureIndex.load(d)
    assert "tool-late" in index and len(index) == 13 and index.watermark > frame["embedded_at"].max()
    # the model changed: the index is rebuilt from the rows of the new model only
    embed_failures(world, *DAY, OfflineGateway(dim=64))
    assert sync(world, d) == 12
    index = FailureIndex.load(d)
    assert (index.embedding_model, index.dim, len(index)) == ("offline:hashing-v1-64", 64, 12)
    assert "old-0" not in index
    # a pinned model
    assert sync(world, tmp_path / "other", embedding_model=MODEL) == 1  # old-0: the only row left of it


def test_sync_with_no_embeddings(migrated_url: str, tmp_path: Path):
    assert sync(migrated_url, tmp_path / "index") == 0 and FailureIndex.version(tmp_path / "index") is None


@pytest.mark.parametrize("use_index", [False, True])
def test_similar_finds_the_same_template_first_and_not_itself(world: str, tmp_path: Path, use_index: bool):
    gw = OfflineGateway()
    d = tmp_path / "index" if use_index else None
    if use_index:
        sync(world, d)
    r = similar(world, execution_id="rate-2", gateway=gw, k=6, index_dir=d)
    f = r.failures
    assert list(f.columns) == ["execution_id", "agent_id", "started_at", "error_type", "signature", "similarity"]
    assert "rate-2" not in set(f["execution_id"])
    # the other rate limits — both agents, and the day before — share its signature
    assert set(f["execution_id"][:6]) == {"rate-0", "rate-1", "rate-3", "rate-4", "rate-5", "old-0"}
    assert np.allclose(f["similarity"][:6], 1.0, atol=1e-5)
    assert list(f["started_at"][:6]) == sorted(f["started_at"][:6], reverse=True)  # ties: newest first
    assert r.query["signature"].startswith("RateLimitError: <n> Too Many Requests") and r.query["agent_id"] == "a"
    assert r.embedding_model == MODEL and r.method == "exact"
    r = similar(world, execution_id="tool-0", gateway=gw, k=4, index_dir=d)
    assert list(r.failures["execution_id"]) == ["tool-3", "tool-2", "tool-1"] + list(r.failures["execution_id"][3:])
    assert r.failures["error_type"][:3].tolist() == ["ToolExecutionError"] * 3
    assert r.failures["similarity"][3] < 0.99


def test_similar_by_text(world: str):
    r = similar(world, text="ToolExecutionError: tool 'fetch_diff' failed: upstream returned 502 Bad Gateway "
                            "after 7 retries", gateway=OfflineGateway(), k=4, successes=3)
    assert set(r.failures["execution_id"]) == {"tool-0", "tool-1", "tool-2", "tool-3"}
    assert r.query["signature"].endswith("<n> Bad Gateway after <n> retries") and r.successes.empty


def test_similar_sees_failures_embedded_after_the_last_sync(world: str, tmp_path: Path):
    d = tmp_path / "index"
    sync(world, d)
    ingest(world, [record("rate-new", T0 + timedelta(hours=6), status="failure", error_type="RateLimitError",
                          message=RATE.format(n=4), fail_at="llm")])
    embed_failures(world, *DAY, OfflineGateway())
    r = similar(world, execution_id="rate-0", gateway=OfflineGateway(), k=1, index_dir=d)
    assert r.failures["execution_id"].tolist() == ["rate-new"] and r.method == "exact+exact"


def test_a_failure_not_embedded_yet_is_embedded_on_the_fly(world: str):
    ingest(world, [record("tool-fresh", T0 + timedelta(hours=7), status="failure", error_type="ToolExecutionError",
                          message=TOOL.format(n=5), fail_at="fetch_diff")])
    r = similar(world, execution_id="tool-fresh", gateway=OfflineGateway(), k=4)
    assert set(r.failures["execution_id"]) == {"tool-0", "tool-1", "tool-2", "tool-3"}
    with pytest.raises(InputError, match="the gateway embeds with offline:hashing-v1-64"):
        similar(world, execution_id="tool-fresh", gateway=OfflineGateway(dim=64))


def test_similar_successes_are_the_same_agents_within_the_window(world: str):
    q_meta = {"tenant": "acme"}
    ingest(world, [
        record("ok-twin", T0 + timedelta(hours=2), metadata=q_meta),  # ran exactly like tool-0
        record("ok-other-tools", T0 + timedelta(hours=2), tools=("render_chart", "send_mail"), model="claude-haiku",
               prompt="v2", metadata={"tenant": "globex", "channel": "email"}),
        record("ok-b-twin", T0 + timedelta(hours=2), agent="b", metadata=q_meta),  # another agent
        record("ok-late-twin", T0 + timedelta(days=9), metadata=q_meta),  # outside ±7 days
    ])
    r = similar(world, execution_id="tool-0", gateway=OfflineGateway(), successes=10)
    s = r.successes
    assert list(s.columns) == ["execution_id", "started_at", "model", "prompt_version", "context", "similarity"]
    ids = list(s["execution_id"])
    assert "ok-b-twin" not in ids and "ok-late-twin" not in ids
    assert set(ids) == {"ok-0", "ok-1", "ok-2", "ok-twin", "ok-other-tools"}
    assert ids[-1] == "ok-other-tools" and s["similarity"].is_monotonic_decreasing
    assert s["similarity"].iloc[0] > 0.9
    # ties (the same context): the nearest in time first
    twins = s[np.isclose(s["similarity"], s["similarity"].iloc[0])]
    assert list(twins["execution_id"]) == ["ok-0", "ok-1", "ok-2", "ok-twin"]
    r = similar(world, execution_id="tool-0", gateway=OfflineGateway(), successes=2, window_days=0.01)
    assert r.successes.empty  # no success within 15 minutes
    r = similar(world, execution_id="tool-0", gateway=OfflineGateway(), successes=0)
    assert r.successes.empty


def test_bad_input(world: str, migrated_url: str):
    gw = OfflineGateway()
    cases = [
        (dict(execution_id="nope"), "no execution nope; pass the execution_id of a failed execution"),
        (dict(execution_id="ok-0"), r"execution ok-0 did not fail \(status success\)"),
        (dict(execution_id="cancel-0"), r"did not fail \(status cancelled\)"),
        (dict(), "exactly one of execution_id= .* or text="),
        (dict(execution_id="rate-0", text="x"), "exactly one of"),
        (dict(text="x", k=0), "k must be an integer from 1 to 1000, not 0"),
        (dict(text="x", k=1001), "not 1001"),
        (dict(text="x", k=True), "k must be"),
        (dict(text="x", k=2.5), "k must be"),
        (dict(text="x", successes=-1), "successes must be"),
        (dict(text="x", window_days=0), "window_days must be positive"),
        (dict(text="   "), "text is empty"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InputError, match=message):
            similar(world, gateway=gw, **kwargs)
    with pytest.raises(InputError, match="the gateway embeds with offline:hashing-v1-64 but the failure embeddings "
                                         "are offline:hashing-v1-384"):
        similar(world, text="RateLimitError", gateway=OfflineGateway(dim=64))


def test_no_embeddings_yet(migrated_url: str):
    ingest(migrated_url, failures_world())
    with pytest.raises(InputError, match="no failure embeddings yet: materialize the failure_embeddings asset"):
        similar(migrated_url, execution_id="rate-0", gateway=OfflineGateway())
    with pytest.raises(InputError, match="no failure embeddings yet"):
        similar(migrated_url, text="RateLimitError: 429", gateway=OfflineGateway())
