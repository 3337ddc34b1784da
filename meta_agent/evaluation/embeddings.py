"""Failure embeddings: one vector per failed execution, of its failure signature.

- ``embed_failures(url, start, end, gateway)``: the failed executions (``failure``,
  ``timeout``) that started in ``[start, end)`` and have no row in ``failure_embeddings`` yet —
  or a row embedded by another model than the gateway's (``gateway.embedding_model``): those
  are re-embedded. Signatures come from ``signature.signatures``; only the *distinct*
  signatures are sent to the gateway (a week of failures has a few hundred of them), and the
  vectors are shared by every failure with that signature. Per batch, one transaction
  deletes the batch's rows and inserts them again: a re-run writes nothing new, a crash
  leaves whole batches.
- ``load_embeddings(url, ...)``: the rows as a frame plus an ``(n, dim)`` float32 matrix, read
  through the driver's own cursor (SQLAlchemy's per-row processing would dominate at 10^5
  rows): SQLite's blobs are joined and viewed as float32; on PostgreSQL the ``REAL[]`` column
  is read as ``array_send`` bytes (binary array format: a 20-byte header, then a length and a
  big-endian float per element) and viewed the same way — no Python float per element.
- ``context_text(executions, actions)``: a second representation, of *how an execution ran*
  (model, prompt version, variant, its action sequence ``type:name``, metadata
  ``key=value``; never the error) — what ``similarity.similar`` compares a failure with the
  successes of the same agent by ("what went right that time").
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from meta_agent.evaluation import data
from meta_agent.evaluation.signature import signatures
from meta_agent.llm.gateway import LLMGateway
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_evaluation import failure_embeddings
from meta_agent.store.sql import bulk_insert, chunks
from meta_agent.store.types import sqlite_utc_text

EMBED_PURPOSE = "failure_embeddings"
FRAME_COLUMNS = ("execution_id", "agent_id", "started_at", "status", "model", "prompt_version", "error_type",
                 "failing_action", "signature", "embedding_model", "dim", "embedded_at")
ROW_COLUMNS = (*FRAME_COLUMNS[:-1], "vector", "embedded_at")
_ARRAY_HEADER = 20  # array_send of a 1-d array: ndim, has-null flag, element oid, size, lower bound
_METADATA_VALUE_CHARS = 80


@dataclass(frozen=True)
class EmbedResult:
    failures: int  # failed executions in the window
    embedded: int  # rows written for failures that had none
    reembedded: int  # rows rewritten because another model had embedded them
    up_to_date: int  # rows already embedded by this model (untouched)
    signatures: int  # distinct signatures sent to the gateway
    embedding_model: str
    dim: int | None  # None when nothing was embedded

    @property
    def written(self) -> int:
        return self.embedded + self.reembedded


def embed_failures(url: str, start: datetime, end: datetime, gateway: LLMGateway, *, batch_size: int = 2000,
                   embedding_model: str | None = None) -> EmbedResult:
    """Embed the failures of ``[start, end)`` that this model has not embedded yet.

    ``embedding_model`` names the model the vectors are stored under; by default the
    gateway's own ``embedding_model`` (offline: ``offline:hashing-v1-384``).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    model = embedding_model or gateway.embedding_model
    failed = data.load_executions(url, start, end, statuses=data.FAILED_STATUSES)
    engine = engine_for(url)
    with engine.connect() as conn:
        done = dict(conn.execute(
            sa.select(failure_embeddings.c.execution_id, failure_embeddings.c.embedding_model)
            .where(failure_embeddings.c.started_at >= start, failure_embeddings.c.started_at < end)).all())
    previous = failed["execution_id"].map(done)
    todo = failed[previous.ne(model) | previous.isna()]
    reembed_ids = set(todo["execution_id"][todo["execution_id"].map(done).notna()])
    cache: dict[str, np.ndarray] = {}
    dim = None
    for lo in range(0, len(todo), batch_size):
        batch = todo.iloc[lo:lo + batch_size]
        ids = batch["execution_id"].tolist()
        sig = signatures(batch, data.load_actions(url, ids))
        new = [s for s in dict.fromkeys(sig["signature"]) if s not in cache]
        if new:
            vecs = np.asarray(gateway.embed(new, purpose=EMBED_PURPOSE), dtype=np.float32)
            if vecs.ndim != 2 or len(vecs) != len(new):
                raise ValueError(f"the gateway returned {vecs.shape} vectors for {len(new)} texts")
            cache.update(zip(new, vecs, strict=True))
        now = datetime.now(UTC)
        dim = len(next(iter(cache.values())))
        cols = [batch[c].tolist() for c in ("agent_id", "status", "model", "prompt_version", "error_type")]
        started = [t.to_pydatetime() for t in batch["started_at"]]
        rows = [(eid, agent, t, status, m, pv, et, fa, s, model, dim, cache[s], now)
                for eid, agent, t, status, m, pv, et, fa, s in zip(
                    sig["execution_id"], cols[0], started, *cols[1:], sig["failing_action"], sig["signature"],
                    strict=True)]
        with engine.begin() as conn:
            for part in chunks(ids, 500):
                conn.execute(failure_embeddings.delete().where(failure_embeddings.c.execution_id.in_(part)))
            bulk_insert(conn, failure_embeddings, rows, columns=ROW_COLUMNS, ignore_conflicts=False)
    return EmbedResult(failures=len(failed), embedded=len(todo) - len(reembed_ids), reembedded=len(reembed_ids),
                       up_to_date=len(failed) - len(todo), signatures=len(cache), embedding_model=model, dim=dim)


def current_model(url: str) -> str | None:
    """The embedding model of the most recently embedded row (None: no embeddings yet)."""
    with engine_for(url).connect() as conn:
        return conn.execute(sa.select(failure_embeddings.c.embedding_model)
                            .order_by(failure_embeddings.c.embedded_at.desc()).limit(1)).scalar()


def load_embeddings(url: str, *, start: datetime | None = None, end: datetime | None = None,
                    agents: Sequence[str] | None = None, embedding_model: str | None = None,
                    embedded_after: datetime | None = None,
                    execution_ids: Sequence[str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """``(frame, matrix)``: the rows (``FRAME_COLUMNS``, ordered by ``started_at``,
    ``execution_id``) and their vectors, ``(n, dim)`` float32, row for row.

    ``start``/``end`` bound ``started_at`` (``[start, end)``); ``embedded_after`` keeps rows
    embedded strictly after it. Vectors of two models are not comparable, so one model is
    read: ``embedding_model``, by default the current one (:func:`current_model`).
    """
    engine = engine_for(url)
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        model = embedding_model or current_model(url)
        if model is None:
            return _empty_frame(), np.zeros((0, 0), dtype=np.float32)
        where, params = ["embedding_model = ?"], [model]
        for clause, value in (("started_at >= ?", start), ("started_at < ?", end), ("embedded_at > ?", embedded_after)):
            if value is not None:
                where.append(clause)
                params.append(_timestamp(value, sqlite))
        if agents is not None:
            agents = list(agents)
            where.append(f"agent_id IN ({', '.join('?' * len(agents))})" if agents else "1 = 0")
            params += agents
        if execution_ids is not None:
            execution_ids = list(dict.fromkeys(execution_ids))
            if not execution_ids:
                return _empty_frame(), np.zeros((0, 0), dtype=np.float32)
        vector = "vector" if sqlite else "array_send(vector)"
        sql = (f"SELECT {', '.join(FRAME_COLUMNS)}, {vector} FROM failure_embeddings "  # noqa: S608 — fixed names
               f"WHERE {' AND '.join(where)}")
        if execution_ids is None:
            rows = _fetch(conn, sql + " ORDER BY started_at, execution_id", params)
        else:
            rows = []
            for part in chunks(execution_ids, 500):
                rows += _fetch(conn, sql + f" AND execution_id IN ({', '.join('?' * len(part))})", [*params, *part])
            rows.sort(key=lambda r: (_sort_key(r[2]), r[0]))
    if not rows:
        return _empty_frame(), np.zeros((0, 0), dtype=np.float32)
    blobs = [r[-1] for r in rows]
    frame = pd.DataFrame([r[:-1] for r in rows], columns=list(FRAME_COLUMNS))
    for col in ("started_at", "embedded_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601") if sqlite else \
            pd.to_datetime(frame[col], utc=True)
    dims = set(frame["dim"])
    if len(dims) != 1:
        raise ValueError(f"the rows of {model} have several dimensions {sorted(dims)}; re-embed them")
    return frame, _matrix(blobs, int(dims.pop()), sqlite)


def _fetch(conn: sa.Connection, sql: str, params: list) -> list[tuple]:
    """Rows through the driver's cursor, in the caller's transaction (``?`` placeholders)."""
    raw = conn.connection.driver_connection
    if conn.dialect.name != "sqlite":
        sql = sql.replace("%", "%%").replace("?", "%s")
    cur = raw.cursor()
    paused = gc.isenabled()
    gc.disable()  # 10^5 row tuples would trigger a collection every few hundred rows
    try:
        cur.execute(sql, params)
        return cur.fetchall()
    finally:
        if paused:
            gc.enable()
        cur.close()


def _matrix(blobs: list, dim: int, sqlite: bool) -> np.ndarray:
    raw = np.frombuffer(b"".join(bytes(b) for b in blobs), dtype=np.uint8)
    if sqlite:
        return raw.view("<f4").reshape(len(blobs), dim).copy()
    # PostgreSQL binary array: header, then (int32 length, float4) per element, big-endian
    body = raw.reshape(len(blobs), _ARRAY_HEADER + 8 * dim)[:, _ARRAY_HEADER:]
    pairs = np.ascontiguousarray(body).view(">f4").reshape(len(blobs), dim, 2)
    return pairs[:, :, 1].astype(np.float32)


def _timestamp(value: datetime, sqlite: bool):
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return sqlite_utc_text(value) if sqlite else value.astimezone(UTC)


def _sort_key(value) -> str:
    return value if isinstance(value, str) else sqlite_utc_text(value)


def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in FRAME_COLUMNS})
    for col in ("started_at", "embedded_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def context_text(executions: pd.DataFrame, actions: pd.DataFrame) -> pd.Series:
    """Per execution (indexed by ``execution_id``, in the frame's order), how it ran:
    ``model M | prompt P | variant V | type:name > type:name ... | key=value ...``.

    Not the error, not the agent (successes are compared within one agent): two executions
    read alike when they used the same model, prompt and tools for the same kind of input.
    """
    if actions.empty:
        steps = pd.Series(dtype=object)
    else:
        acts = actions.sort_values(["execution_id", "seq"])
        label = (acts["action_type"].astype(str) + ":" + acts["name"].fillna("").astype(str)).str.rstrip(":")
        steps = label.groupby(acts["execution_id"].to_numpy(), sort=False).agg(" > ".join)
    step_text = [s if isinstance(s, str) else "" for s in executions["execution_id"].map(steps)]
    meta = executions["metadata"] if "metadata" in executions.columns else pd.Series([None] * len(executions))
    texts = [
        " | ".join(part for part in (f"model {m or '-'}", f"prompt {p or '-'}", f"variant {v or '-'}" if v else "",
                                     s, _metadata_text(md)) if part)
        for m, p, v, s, md in zip(executions["model"], executions["prompt_version"],
                                  executions["variant"] if "variant" in executions.columns else [None] * len(executions),
                                  step_text, meta, strict=True)
    ]
    return pd.Series(texts, index=executions["execution_id"].to_numpy(), dtype=object)


def _metadata_text(md) -> str:
    if isinstance(md, str):
        try:
            md = json.loads(md)
        except ValueError:
            return ""
    if not isinstance(md, dict):
        return ""
    parts = []
    for key in sorted(md):
        value = md[key]
        if not isinstance(value, str | int | float | bool) and value is not None:
            value = json.dumps(value, sort_keys=True, default=str)
        parts.append(f"{key}={str(value)[:_METADATA_VALUE_CHARS]}")
    return " ".join(parts)
