"""Similar failures: a FAISS HNSW index over the failure embeddings, and ``similar``.

``FailureIndex`` holds execution ids and their vectors, L2-normalized (inner product is then
the cosine similarity). Many failures share one signature, hence one vector, so the index
stores each *distinct* vector once (a slot) and maps execution ids onto slots: a week's
100,000 failures are some thousands of slots (an HNSW graph full of exact duplicates also
loses recall — measured in ``benchmarks/bench_similarity.py``). A search asks for ``k``
slots plus the excluded ids and expands them into execution ids, the newest added first.

Below ``EXACT_BELOW`` slots the search is exact (one numpy matrix product: ~0.1 ms at 5,000
× 384); from there on it is ``faiss.IndexHNSWFlat`` with ``METRIC_INNER_PRODUCT``, built once
from the matrix and then grown by ``add``. ``M``, ``efConstruction`` and ``efSearch``
(``HNSW_M``, ``EF_CONSTRUCTION``, ``EF_SEARCH`` = 32, 100, 32) are what the benchmark chose for
100,000 embeddings: recall@10 ≥ 0.99 against exact numpy (efSearch 16 falls to 0.97 on
clustered random vectors; 64 doubles the query time for < 0.003 more recall), single-query
p50 ~0.4 ms and p99 CPU time ~0.8 ms on a loaded 2-CPU machine — the search is one thread,
in the caller's. A saved index keeps its own ``ef_search``.

``save(dir)`` writes a new version directory and then points ``dir/CURRENT`` at it
(``os.replace``), so a reader never sees half an index; the previous version is kept for a
reader that is still loading it. ``sync(url, index_dir)`` adds the embeddings written since
the index's watermark (the last ``embedded_at`` it synced, minus ``SYNC_OVERLAP`` for rows
of a transaction that committed late — ``add`` skips ids it has) and rebuilds the index
when the current embedding model is not the one it was built with.

``similar(url, execution_id=... | text=..., gateway=...)`` answers "which failures look like
this one" (and, for an execution, "which successes of the same agent ran like it").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.evaluation import data
from meta_agent.evaluation.embeddings import context_text, current_model, load_embeddings
from meta_agent.evaluation.signature import mask, signatures
from meta_agent.llm.gateway import LLMGateway
from meta_agent.store.engine import engine_for
from meta_agent.store.schema import executions
from meta_agent.store.schema_evaluation import failure_embeddings

EXACT_BELOW = 5000
HNSW_M = 32
EF_CONSTRUCTION = 100
EF_SEARCH = 32
SYNC_OVERLAP = timedelta(minutes=15)
MAX_K = 1000
MAX_SUCCESS_CANDIDATES = 5000  # the successes nearest in time to the failure are compared
FORMAT = 1
_KEEP_VERSIONS = 2


def normalized(vectors) -> np.ndarray:
    """Rows as float32, L2-normalized (a zero row stays zero)."""
    m = np.array(vectors, dtype=np.float32, ndmin=2, copy=True)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


def _key(vector: np.ndarray) -> bytes:
    """Which slot a normalized vector shares: equal to 6 decimals (float noise of one text
    embedded twice, or of a scaled copy, is not a second vector)."""
    return hashlib.blake2b((np.round(vector, 6) + 0.0).tobytes(), digest_size=16).digest()


class FailureIndex:
    """Execution ids → normalized vectors; exact search below ``exact_below`` slots, HNSW above."""

    def __init__(self, dim: int, embedding_model: str, *, m: int = HNSW_M, ef_construction: int = EF_CONSTRUCTION,
                 ef_search: int = EF_SEARCH, exact_below: int = EXACT_BELOW):
        if dim < 1:
            raise ValueError("dim must be at least 1")
        self.dim = dim
        self.embedding_model = embedding_model
        self.m, self.ef_construction, self.ef_search, self.exact_below = m, ef_construction, ef_search, exact_below
        self.watermark: datetime | None = None  # the last embedded_at synced
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._slot_of: list[int] = []  # per id position
        self._members: list[list[int]] = []  # per slot, id positions in add order
        self._slot_key: dict[bytes, int] = {}
        self._matrix = np.zeros((0, dim), dtype=np.float32)  # exact mode: the slots' vectors
        self._slots = 0
        self._hnsw: faiss.IndexHNSWFlat | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, execution_id: object) -> bool:
        return execution_id in self._pos

    @property
    def slots(self) -> int:
        """Distinct vectors stored."""
        return self._slots

    @property
    def method(self) -> str:
        return "exact" if self._hnsw is None else "hnsw"

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def add(self, ids: Sequence[str], vectors) -> int:
        """Add the ids not in the index yet (with their vectors); returns how many were added."""
        ids = [str(i) for i in ids]
        vecs = normalized(vectors) if len(ids) else np.zeros((0, self.dim), dtype=np.float32)
        if len(vecs) != len(ids):
            raise ValueError(f"{len(ids)} ids but {len(vecs)} vectors")
        if len(ids) and vecs.shape[1] != self.dim:
            raise ValueError(f"vectors of dimension {vecs.shape[1]} for an index of dimension {self.dim}")
        new_rows: list[np.ndarray] = []
        added = 0
        for eid, vec in zip(ids, vecs, strict=True):
            if eid in self._pos:
                continue
            key = _key(vec)
            slot = self._slot_key.get(key)
            if slot is None:
                slot = self._slots + len(new_rows)
                self._slot_key[key] = slot
                self._members.append([])
                new_rows.append(vec)
            self._pos[eid] = len(self._ids)
            self._ids.append(eid)
            self._slot_of.append(slot)
            self._members[slot].append(self._pos[eid])
            added += 1
        if new_rows:
            self._append_slots(np.vstack(new_rows))
        return added

    def _append_slots(self, rows: np.ndarray) -> None:
        self._slots += len(rows)
        if self._hnsw is not None:
            self._hnsw.add(rows)
            return
        self._matrix = np.vstack([self._matrix, rows])
        if self._slots >= self.exact_below:
            self._hnsw = self._new_hnsw()
            self._hnsw.add(self._matrix)
            self._matrix = np.zeros((0, self.dim), dtype=np.float32)

    def _new_hnsw(self) -> faiss.IndexHNSWFlat:
        index = faiss.IndexHNSWFlat(self.dim, self.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.ef_construction
        index.hnsw.efSearch = self.ef_search
        return index

    def vectors(self) -> np.ndarray:
        """The slots' vectors, ``(slots, dim)`` (a copy)."""
        if self._hnsw is None:
            return self._matrix.copy()
        return self._hnsw.reconstruct_n(0, self._slots)

    def vector_of(self, execution_id: str) -> np.ndarray | None:
        pos = self._pos.get(execution_id)
        if pos is None:
            return None
        slot = self._slot_of[pos]
        return self._matrix[slot].copy() if self._hnsw is None else self._hnsw.reconstruct(slot)

    def search_slots(self, vectors, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest slots per query: ``(slots int64, similarities float32)``, -1 / nan padded."""
        q = normalized(vectors)
        if q.shape[1] != self.dim:
            raise ValueError(f"queries of dimension {q.shape[1]} for an index of dimension {self.dim}")
        k = max(1, int(k))
        if self._hnsw is not None:
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
            sims, slots = self._hnsw.search(q, min(k, self._slots), params=params)
            sims = np.where(slots >= 0, sims, np.nan).astype(np.float32)
        else:
            n = self._slots
            if n == 0:
                return np.full((len(q), 0), -1, dtype=np.int64), np.zeros((len(q), 0), dtype=np.float32)
            all_sims = q @ self._matrix[:n].T
            kk = min(k, n)
            part = np.argpartition(-all_sims, kk - 1, axis=1)[:, :kk]
            order = np.argsort(-np.take_along_axis(all_sims, part, 1), axis=1, kind="stable")
            slots = np.take_along_axis(part, order, 1).astype(np.int64)
            sims = np.take_along_axis(all_sims, slots, 1).astype(np.float32)
        return slots, sims

    def search(self, vectors, k: int, *, exclude: Collection[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar execution ids per query row, most similar first: ``(ids,
        similarities)``, ``(n_queries, k)`` arrays, padded with ``None`` / ``nan`` when the
        index holds fewer. Ids in ``exclude`` are left out (e.g. the query itself); ties
        within one vector come newest added first."""
        if k < 1:
            raise ValueError("k must be at least 1")
        excluded = {self._pos[e] for e in exclude if e in self._pos}
        slots, sims = self.search_slots(vectors, k + len(excluded))
        out_ids = np.full((len(slots), k), None, dtype=object)
        out_sims = np.full((len(slots), k), np.nan, dtype=np.float32)
        for r in range(len(slots)):
            j = 0
            for slot, sim in zip(slots[r], sims[r], strict=True):
                if slot < 0:
                    break
                for pos in reversed(self._members[slot]):
                    if pos in excluded:
                        continue
                    out_ids[r, j], out_sims[r, j] = self._ids[pos], sim
                    j += 1
                    if j == k:
                        break
                if j == k:
                    break
        return out_ids, out_sims

    # -------------------------------------------------------------------- persistence

    def save(self, directory: str | Path) -> Path:
        """Write a new version under ``directory`` and point ``CURRENT`` at it; returns it."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        name = f"v-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        tmp = root / f".{name}.tmp"
        tmp.mkdir()
        if self._hnsw is not None:
            faiss.write_index(self._hnsw, str(tmp / "index.faiss"))
        else:
            np.save(tmp / "vectors.npy", self._matrix)
        np.save(tmp / "slots.npy", np.asarray(self._slot_of, dtype=np.int64))
        (tmp / "ids.json").write_text(json.dumps(self._ids))
        meta = {"format": FORMAT, "embedding_model": self.embedding_model, "dim": self.dim,
                "watermark": self.watermark.isoformat() if self.watermark else None, "ids": len(self._ids),
                "slots": self._slots, "method": self.method, "m": self.m, "ef_construction": self.ef_construction,
                "ef_search": self.ef_search, "exact_below": self.exact_below}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        os.replace(tmp, root / name)
        pointer = root / f".CURRENT.{uuid.uuid4().hex[:8]}"
        pointer.write_text(name)
        os.replace(pointer, root / "CURRENT")
        versions = sorted(p for p in root.glob("v-*") if p.is_dir())
        for old in versions[:-_KEEP_VERSIONS]:
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        return root / name

    @staticmethod
    def version(directory: str | Path) -> str | None:
        """The name of the current version under ``directory`` (None: no index saved there)."""
        try:
            return (Path(directory) / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    @classmethod
    def load(cls, directory: str | Path) -> FailureIndex:
        """The index saved under ``directory`` (``FileNotFoundError`` when there is none)."""
        name = cls.version(directory)
        if name is None:
            raise FileNotFoundError(f"no failure index under {directory}")
        path = Path(directory) / name
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: index format {meta.get('format')}, expected {FORMAT}")
        index = cls(meta["dim"], meta["embedding_model"], m=meta["m"], ef_construction=meta["ef_construction"],
                    ef_search=meta["ef_search"], exact_below=meta["exact_below"])
        index.watermark = datetime.fromisoformat(meta["watermark"]) if meta["watermark"] else None
        if (path / "index.faiss").exists():
            index._hnsw = faiss.read_index(str(path / "index.faiss"))
            index._hnsw.hnsw.efSearch = index.ef_search
            index._slots = index._hnsw.ntotal
            vectors = index._hnsw.reconstruct_n(0, index._slots)
        else:
            index._matrix = np.load(path / "vectors.npy")
            index._slots = len(index._matrix)
            vectors = index._matrix
        index._ids = json.loads((path / "ids.json").read_text())
        index._slot_of = np.load(path / "slots.npy").tolist()
        if len(index._ids) != meta["ids"] or len(index._slot_of) != meta["ids"] or index._slots != meta["slots"]:
            raise ValueError(f"{path}: the index files do not match its meta.json")
        index._pos = {eid: i for i, eid in enumerate(index._ids)}
        index._members = [[] for _ in range(index._slots)]
        for pos, slot in enumerate(index._slot_of):
            index._members[slot].append(pos)
        index._slot_key = {_key(v): s for s, v in enumerate(vectors)}
        return index


# ------------------------------------------------------------------------------ sync


def sync(url: str, index_dir: str | Path, *, embedding_model: str | None = None) -> int:
    """Bring the index under ``index_dir`` up to date with ``failure_embeddings``; returns
    how many executions were added. The model is ``embedding_model`` or the current one
    (that of the last row embedded); an index of another model is rebuilt from scratch."""
    model = embedding_model or current_model(url)
    if model is None:
        return 0
    index = None
    if FailureIndex.version(index_dir) is not None:
        index = FailureIndex.load(index_dir)
        if index.embedding_model != model:
            index = None
    after = index.watermark - SYNC_OVERLAP if index is not None and index.watermark else None
    frame, matrix = load_embeddings(url, embedding_model=model, embedded_after=after)
    if index is None:
        if frame.empty:
            return 0
        index = FailureIndex(matrix.shape[1], model)
    added = index.add(frame["execution_id"].tolist(), matrix) if len(frame) else 0
    before = index.watermark
    if len(frame):
        latest = frame["embedded_at"].max().to_pydatetime()
        index.watermark = max(latest, before) if before else latest
    if added or index.watermark != before or FailureIndex.version(index_dir) is None:
        index.save(index_dir)
    return added


# ------------------------------------------------------------------------------ similar


@dataclass
class SimilarResult:
    """``failures``: execution_id, agent_id, started_at, error_type, signature, similarity
    (most similar first). ``successes`` (an execution query only): execution_id, started_at,
    model, prompt_version, context, similarity — the same agent's successes within the
    window that ran most like it."""

    query: dict
    failures: pd.DataFrame
    successes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SUCCESS_COLUMNS))
    embedding_model: str = ""
    method: str = "exact"  # exact | hnsw | hnsw+exact (the rows embedded after the index's sync)


FAILURE_COLUMNS = ("execution_id", "agent_id", "started_at", "error_type", "signature", "similarity")
SUCCESS_COLUMNS = ("execution_id", "started_at", "model", "prompt_version", "context", "similarity")
_NO_EMBEDDINGS = ("no failure embeddings yet: materialize the failure_embeddings asset (or run "
                  "meta_agent.evaluation.embeddings.embed_failures over the days you need) first")


def similar(url: str, *, execution_id: str | None = None, text: str | None = None, k: int = 10,
            gateway: LLMGateway, index_dir: str | Path | None = None, successes: int = 5,
            window_days: float = 7) -> SimilarResult:
    """The failures most similar to a failed execution (``execution_id``) or to an error
    ``text``; for an execution, also its agent's most similar successes within
    ±``window_days``. ``index_dir`` (a synced ``FailureIndex``) makes the search sub-ms at
    10^5 failures; without it the search is exact over every row of the current model."""
    if (execution_id is None) == (text is None):
        raise InputError("pass exactly one of execution_id= (a failed execution) or text= (an error message)")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InputError(f"k must be an integer from 1 to {MAX_K}, not {k!r}")
    if isinstance(successes, bool) or not isinstance(successes, int) or not 0 <= successes <= MAX_K:
        raise InputError(f"successes must be an integer from 0 to {MAX_K}, not {successes!r}")
    if not window_days > 0:
        raise InputError(f"window_days must be positive, not {window_days!r}")
    model = current_model(url)
    if model is None:
        raise InputError(_NO_EMBEDDINGS)

    query_ex = None
    if execution_id is not None:
        query_ex, vector, signature = _execution_query(url, str(execution_id), model, gateway)
        query = {"execution_id": str(execution_id), "agent_id": query_ex["agent_id"].iloc[0],
                 "started_at": query_ex["started_at"].iloc[0], "signature": signature}
    else:
        if not str(text).strip():
            raise InputError("text is empty: pass an error message to search failures like it")
        _require_model(gateway, model)
        signature = mask(str(text))
        vector = np.asarray(gateway.embed([signature], purpose="similar_failures"), dtype=np.float32)[0]
        query = {"text": str(text), "signature": signature}

    exclude = {str(execution_id)} if execution_id is not None else set()
    ids, sims, method = _search(url, vector, k, exclude, model, index_dir)
    failures = _failure_rows(url, ids, sims, model).head(k)
    result = SimilarResult(query=query, failures=failures, embedding_model=model, method=method)
    if query_ex is not None and successes:
        result.successes = _similar_successes(url, query_ex, gateway, successes, window_days)
    return result


def _require_model(gateway: LLMGateway, model: str) -> None:
    if gateway.embedding_model != model:
        raise InputError(f"the gateway embeds with {gateway.embedding_model} but the failure embeddings are "
                         f"{model}: re-embed them with this gateway (the failure_embeddings asset) or use the "
                         f"gateway that wrote them")


def _execution_query(url: str, execution_id: str, model: str, gateway: LLMGateway):
    with engine_for(url).connect() as conn:
        row = conn.execute(sa.select(*[executions.c[f] for f in data.EXECUTION_FIELDS])
                           .where(executions.c.execution_id == execution_id)).first()
    if row is None:
        raise InputError(f"no execution {execution_id}; pass the execution_id of a failed execution in the ops "
                         f"database (or text= to search by an error message)")
    ex = data._frame([row], data.EXECUTION_FIELDS)
    status = ex["status"].iloc[0]
    if status not in data.FAILED_STATUSES:
        raise InputError(f"execution {execution_id} did not fail (status {status}): similar failures are found "
                         f"for failed executions ({', '.join(data.FAILED_STATUSES)}); pass a failed execution's "
                         f"id, or text= with an error message")
    frame, matrix = load_embeddings(url, embedding_model=model, execution_ids=[execution_id])
    if len(frame):
        return ex, matrix[0], frame["signature"].iloc[0]
    # not embedded yet (it just failed, or only by an older model): embed its signature now
    _require_model(gateway, model)
    sig = signatures(ex, data.load_actions(url, [execution_id]))["signature"].iloc[0]
    return ex, np.asarray(gateway.embed([sig], purpose="similar_failures"), dtype=np.float32)[0], sig


def _search(url: str, vector: np.ndarray, k: int, exclude: set[str], model: str,
            index_dir: str | Path | None) -> tuple[list[str], list[float], str]:
    index = _cached_index(index_dir) if index_dir is not None else None
    if index is not None and index.embedding_model != model:
        index = None  # built with another model: sync rebuilds it; meanwhile, exact
    if index is None:
        frame, matrix = load_embeddings(url, embedding_model=model)
        if frame.empty:
            raise InputError(_NO_EMBEDDINGS)
        index = FailureIndex(matrix.shape[1], model, exact_below=len(frame) + 1)
        index.add(frame["execution_id"].tolist(), matrix)
        tail = None
        method = "exact"
    else:
        after = index.watermark - SYNC_OVERLAP if index.watermark else None
        frame, matrix = load_embeddings(url, embedding_model=model, embedded_after=after)
        keep = ~frame["execution_id"].isin(index._pos).to_numpy() if len(frame) else np.zeros(0, dtype=bool)
        tail = None
        if keep.any():
            tail = FailureIndex(matrix.shape[1], model, exact_below=int(keep.sum()) + 1)
            tail.add(frame["execution_id"][keep].tolist(), matrix[keep])
        method = index.method + ("+exact" if tail is not None else "")
    hits: list[tuple[float, str]] = []
    for part in (index, tail):
        if part is None:
            continue
        ids, sims = part.search(vector, k, exclude=exclude)
        hits += [(float(s), i) for i, s in zip(ids[0], sims[0], strict=True) if i is not None]
    # up to k from the index and k from the tail: _failure_rows orders them and keeps k
    return [h[1] for h in hits], [h[0] for h in hits], method


_INDEX_CACHE: dict[str, tuple[str, FailureIndex]] = {}


def _cached_index(index_dir: str | Path) -> FailureIndex | None:
    """The index under ``index_dir``, loaded once per saved version in this process."""
    key = str(Path(index_dir).resolve())
    version = FailureIndex.version(index_dir)
    if version is None:
        return None
    cached = _INDEX_CACHE.get(key)
    if cached is None or cached[0] != version:
        _INDEX_CACHE[key] = (version, FailureIndex.load(index_dir))
    return _INDEX_CACHE[key][1]


def _failure_rows(url: str, ids: list[str], sims: list[float], model: str) -> pd.DataFrame:
    if not ids:
        return pd.DataFrame(columns=list(FAILURE_COLUMNS))
    cols = [failure_embeddings.c[c] for c in FAILURE_COLUMNS[:-1]]
    rows = {}
    with engine_for(url).connect() as conn:
        for lo in range(0, len(ids), 500):
            q = sa.select(*cols).where(failure_embeddings.c.execution_id.in_(ids[lo:lo + 500]),
                                       failure_embeddings.c.embedding_model == model)
            rows.update({r[0]: tuple(r) for r in conn.execute(q)})
    out = pd.DataFrame([(*rows[i], s) for i, s in zip(ids, sims, strict=True) if i in rows],
                       columns=list(FAILURE_COLUMNS))
    if len(out):
        out["started_at"] = pd.to_datetime(out["started_at"], utc=True)
        # equal similarity (one signature; float noise aside): the most recent first
        out["_rank"] = out["similarity"].round(5)
        out = out.sort_values(["_rank", "started_at"], ascending=[False, False], ignore_index=True,
                              kind="stable").drop(columns="_rank")
    return out


def _similar_successes(url: str, query_ex: pd.DataFrame, gateway: LLMGateway, n: int,
                       window_days: float) -> pd.DataFrame:
    agent = query_ex["agent_id"].iloc[0]
    t = query_ex["started_at"].iloc[0].to_pydatetime()
    window = timedelta(days=window_days)
    cands = data.load_executions(url, t - window, t + window, agents=[agent], statuses=["success"])
    if cands.empty:
        return pd.DataFrame(columns=list(SUCCESS_COLUMNS))
    dt = (cands["started_at"] - pd.Timestamp(t)).abs()
    if len(cands) > MAX_SUCCESS_CANDIDATES:
        cands = cands.loc[dt.nsmallest(MAX_SUCCESS_CANDIDATES).index].reset_index(drop=True)
        dt = (cands["started_at"] - pd.Timestamp(t)).abs()
    ids = [query_ex["execution_id"].iloc[0], *cands["execution_id"]]
    acts = data.load_actions(url, ids)
    query_text = context_text(query_ex, acts).iloc[0]
    texts = context_text(cands, acts)
    distinct = list(dict.fromkeys([query_text, *texts]))
    vecs = normalized(gateway.embed(distinct, purpose="similar_successes"))
    sims_by_text = dict(zip(distinct, (vecs @ vecs[0]).tolist(), strict=True))
    out = pd.DataFrame({"execution_id": cands["execution_id"].to_numpy(), "started_at": cands["started_at"].to_numpy(),
                        "model": cands["model"].to_numpy(), "prompt_version": cands["prompt_version"].to_numpy(),
                        "context": texts.to_numpy(), "similarity": [float(sims_by_text[x]) for x in texts],
                        "_dt": dt.to_numpy()})
    out = out.sort_values(["similarity", "_dt"], ascending=[False, True], kind="stable").head(n)
    return out.drop(columns="_dt").reset_index(drop=True)
