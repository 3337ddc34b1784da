"""AgentLogger: what an agent imports to log its executions and actions.

    from meta_agent.sdk import AgentLogger

    logger = AgentLogger()                      # META_AGENT_DB_URL, or the embedded default
    with logger.agent("support-triage", model="gpt-4o-mini", prompt_version="v3") as agent:
        with agent.execution(metadata={"ticket": 42}) as ex:
            ex.tool_call("search_kb", latency_ms=41.0)
            with ex.action("retrieval", "vector_search"):
                docs = search(...)
            ex.llm_inference("gpt-4o-mini", tokens_in=1200, tokens_out=300, latency_ms=850)
            ex.score("format_ok", 1.0)                      # source "check" by default

    # later, a reviewer scores a past execution (source "human" by default)
    logger.score(execution_id, "helpfulness", 0.8, comment="good, a little long")

The agent's thread only appends to an in-memory queue (a few microseconds per call); a
background thread validates, scrubs secrets and writes batches. The logger never raises
into the agent because storage failed: a batch the database refuses is spilled to a JSONL
file under ``META_AGENT_SPILL_DIR`` that ``meta-agent logs ingest`` loads later.

Scores follow the same path. A score given inside an execution block travels in the
execution's record and is written in its transaction (spilled with it on an outage); a late
score (``AgentLogger.score``, or ``ex.score`` after the block) is a standalone score line,
written after the executions queued before it, spilled as such. A score that breaks the
contract (a ``source`` other than human/llm_judge/check, a value outside 0-1 or not finite, a
bad name) is a programming error but not the agent's problem at run time: like any bad
record it is quarantined off-thread with the reason (``meta-agent logs quarantine``) — an
embedded one takes its execution record with it, so nothing is half-written. A late score
for an execution that is not stored is quarantined too (scores never dangle).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meta_agent import config
from meta_agent.improvement.model import DEFAULT_PROMPT
from meta_agent.llm.pricing import cost_usd
from meta_agent.records.contract import (
    RecordError,
    action_dict,
    normalize_prepared,
    normalize_score,
    score_json,
    scrub_rows,
    scrub_scores,
)
from meta_agent.records.scrub import Scrubber
from meta_agent.sdk.circuit import reader_for
from meta_agent.sdk.ids import new_execution_id
from meta_agent.sdk.prompts import Prompt
from meta_agent.sdk.prompts import reader_for as prompt_reader_for
from meta_agent.store import quarantine
from meta_agent.store.engine import engine_for
from meta_agent.store.executions import write_batch
from meta_agent.store.quarantine import Rejected
from meta_agent.store.scores import dangling_reason, execution_agents, upsert_scores

log = logging.getLogger("meta_agent.sdk")

_ERR_MAX = 4000


@dataclass
class LoggerStats:
    executions_written: int = 0
    actions_written: int = 0
    quarantined: int = 0
    spilled_executions: int = 0
    scores_written: int = 0  # inserted or replaced (a repeated identical score is not counted)
    spilled_scores: int = 0  # late (standalone) scores spilled; embedded ones go with their execution
    failed_flushes: int = 0
    spill_files: list[str] | None = None


class AgentLogger:
    """Batched, never-raising execution logger. One per process is plenty; it is thread-safe."""

    def __init__(
        self,
        db_url: str | None = None,
        *,
        batch_size: int = 20_000,
        flush_interval: float = 1.0,
        spill_dir: str | Path | None = None,
        secrets: tuple[str, ...] | list[str] = (),
        scrubber: Scrubber | None = None,
        auto_cost: bool = True,
        background: bool = True,
    ):
        self.db_url = db_url or config.db_url()
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.spill_dir = Path(spill_dir) if spill_dir else config.spill_dir()
        self.scrubber = scrubber or Scrubber()
        for s in secrets:
            self.scrubber.register(s)
        self.auto_cost = auto_cost
        self.stats = LoggerStats(spill_files=[])
        self._queue: deque[_Execution] = deque()
        self._queued_actions = 0
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._held: list[tuple[dict, list[list]]] = []  # neither the DB nor the spill dir took these
        self._late: deque[tuple] = deque()  # late scores: (execution_id, name, value, source, comment, t, agent)
        self._held_late: list[tuple] = []
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="meta-agent-logger", daemon=True)
            self._thread.start()
        _LIVE.add(self)

    # ---- what agents call -------------------------------------------------------------
    def agent(self, agent_id: str, **defaults: Any) -> AgentContext:
        """A context for one agent; ``defaults`` (model, prompt_version, variant, metadata)
        apply to each of its executions. Leaving the block flushes."""
        return AgentContext(self, agent_id, defaults)

    def execution(self, agent_id: str, **fields: Any) -> ExecutionContext:
        return ExecutionContext(self, agent_id, fields)

    def score(self, execution_id: str, name: str, value: float, *, source: str = "human",
              comment: str | None = None, agent_id: str | None = None) -> None:
        """Score a past execution (a reviewer's verdict, a check run later). Cheap: queued,
        validated and written off-thread after the executions queued before it; the same
        (execution, name, source) again replaces the earlier value. ``agent_id`` only labels
        a quarantined score (the stored row takes the execution's agent)."""
        self._late.append((execution_id, name, value, source, comment, time.time(), agent_id))

    def register_secret(self, secret: str) -> None:
        """Never store this value (e.g. the API key the agent runs with)."""
        self.scrubber.register(secret)

    def flush(self) -> LoggerStats:
        """Write everything queued so far (blocking); returns the running totals."""
        self._drain()
        return self.stats

    async def aflush(self) -> LoggerStats:
        return await asyncio.to_thread(self.flush)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._drain()
        if self._held or self._held_late:
            log.error("meta-agent: %d execution records and %d scores could not be stored or spilled",
                      len(self._held), len(self._held_late))

    def __enter__(self) -> AgentLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- internals ----------------------------------------------------------------------
    def _enqueue(self, ex: _Execution) -> None:
        self._queue.append(ex)
        self._queued_actions += len(ex.actions) + 1
        if self._queued_actions >= self.batch_size:
            self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        with self._flush_lock:
            while self._queue or self._held or self._late or self._held_late:
                # Late scores are counted *before* the executions are taken: when the queue is
                # empty afterwards, every execution queued before them is in this batch or
                # stored ("settled"), and one naming no stored execution is dangling. Unsettled,
                # such a score waits for the next batch instead.
                n_late = len(self._late)
                batch: list[_Execution] = []
                n = 0
                while self._queue and n < self.batch_size:
                    ex = self._queue.popleft()
                    batch.append(ex)
                    n += len(ex.actions) + 1
                self._queued_actions = max(0, self._queued_actions - n)
                late = [self._late.popleft() for _ in range(n_late)]
                try:
                    self._write([ex.prepared(self) for ex in batch], late, settled=not self._queue)
                except Exception:  # never raise into the agent
                    log.exception("meta-agent: logger flush failed")
                    self.stats.failed_flushes += 1
                    return
                if not batch and not late:
                    return

    def _write(self, items: list[tuple[dict, list[list]]], late: list[tuple] = (), *, settled: bool = True) -> None:
        items = self._held + items
        late = self._held_late + list(late)
        self._held, self._held_late = [], []
        now = datetime.now(UTC)
        exec_rows: list[dict] = []
        action_rows: list[list] = []
        score_rows: list[dict] = []
        rejected: list[Rejected] = []
        for raw, rows in items:
            try:
                ex_row, acts, scores = normalize_prepared(raw, rows, source="sdk", ingested_at=now)
            except RecordError as err:
                rejected.append(Rejected("execution", f"sdk:{raw.get('agent_id')}", err.reason,
                                         self.scrubber.scrub(_documented((raw, rows))), raw.get("execution_id")))
                continue
            scrub_rows(ex_row, acts, self.scrubber)
            exec_rows.append(ex_row)
            action_rows.extend(acts)
            if scores:
                scrub_scores(scores, self.scrubber)
                score_rows.extend(scores)
        late_rows: list[tuple[dict, dict, tuple]] = []  # (the row, the score as a record line, as queued)
        for t in late:
            doc = _late_json(t)
            try:
                row = normalize_score(doc, ingested_at=now)
            except RecordError as err:
                rejected.append(Rejected("score", f"sdk:{t[6] or 'score'}", err.reason, self.scrubber.scrub(doc),
                                         t[0] if isinstance(t[0], str) else None))
                continue
            scrub_scores([row], self.scrubber)
            late_rows.append((row, doc, t))
        try:
            with engine_for(self.db_url).begin() as conn:
                write_batch(conn, exec_rows, action_rows, dedupe=False)
                dangling, waiting = [], []
                if late_rows:
                    agents_of = {r["execution_id"]: r["agent_id"] for r in exec_rows}
                    agents_of.update(execution_agents(
                        conn, {r["execution_id"] for r, _, _ in late_rows if r["execution_id"] not in agents_of}))
                    for row, doc, t in late_rows:
                        row["agent_id"] = agents_of.get(row["execution_id"])
                        if row["agent_id"] is not None:
                            score_rows.append(row)
                        elif not settled:  # its execution may still be queued
                            waiting.append(t)
                        else:
                            dangling.append(Rejected("score", f"sdk:{doc.get('agent_id') or 'score'}",
                                                     dangling_reason(row["execution_id"]),
                                                     self.scrubber.scrub(doc), row["execution_id"]))
                w = upsert_scores(conn, score_rows)
                quarantine.add(conn, rejected + dangling)
        except Exception as exc:
            self.stats.failed_flushes += 1
            log.warning("meta-agent: cannot write to the ops database (%s: %s); spilling %d records and %d scores",
                        type(exc).__name__, str(exc)[:300], len(items), len(late))
            self._spill(items, late)
            return
        self._late.extendleft(reversed(waiting))  # first in line for the next batch
        self.stats.executions_written += len(exec_rows)
        self.stats.actions_written += len(action_rows)
        self.stats.scores_written += w.written
        self.stats.quarantined += len(rejected) + len(dangling)

    def _spill(self, items: list[tuple[dict, list[list]]], late: list[tuple] = ()) -> None:
        """Append records (scrubbed) to a JSONL spill file — executions with their scores,
        then late scores as standalone score lines; keep them in memory if that fails."""
        try:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            path = self.spill_dir / f"spill-{os.getpid()}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.jsonl"
            with path.open("x", encoding="utf-8") as f:
                for item in items:
                    f.write(json.dumps(self.scrubber.scrub(_documented(item)), default=_json_default) + "\n")
                for t in late:
                    f.write(json.dumps(self.scrubber.scrub(_late_json(t)), default=_json_default) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except Exception:
            log.exception("meta-agent: cannot write spill file in %s; holding %d records and %d scores in memory",
                          self.spill_dir, len(items), len(late))
            self._held, self._held_late = items, list(late)
            return
        self.stats.spilled_executions += len(items)
        self.stats.spilled_scores += len(late)
        self.stats.spill_files.append(str(path))


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)


def _ts(t: float | datetime) -> datetime:
    return t if isinstance(t, datetime) else datetime.fromtimestamp(t, UTC)


def _late_json(t: tuple) -> dict:
    """A queued late score as a standalone score line (the documented form)."""
    execution_id, name, value, source, comment, at, agent_id = t
    return score_json({"execution_id": execution_id, "name": name, "value": value, "source": source,
                       "comment": comment, "scored_at": _ts(at), "agent_id": agent_id})


class _Execution:
    """One execution's state; kept small because agents create many of them."""

    __slots__ = ("agent_id", "execution_id", "started", "ended", "fields", "actions", "status",
                 "error_type", "error_message", "human_intervention", "scores")

    def __init__(self, agent_id: str, fields: dict):
        self.agent_id = agent_id
        self.execution_id = fields.pop("execution_id", None) or new_execution_id()
        self.started = time.time()
        self.ended: float | None = None
        self.fields = fields
        self.actions: list[tuple] = []
        self.status: str | None = None
        self.error_type: str | None = None
        self.error_message: str | None = None
        self.human_intervention = False
        self.scores: dict[tuple, tuple] | None = None  # (name, source) -> (value, comment, time)

    def prepared(self, logger: AgentLogger) -> tuple[dict, list[list]]:
        """(the record's execution fields, its action rows in ``ACTION_COLUMNS`` order)."""
        f = self.fields
        eid = self.execution_id
        rows = []
        t_in = t_out = 0
        cost = 0.0
        for seq, (atype, name, start, lat, status, model, tin, tout, acost, etype, emsg, meta) in enumerate(self.actions):
            if acost is None:
                acost = 0.0
                if logger.auto_cost and model and (tin or tout):
                    acost = cost_usd(model, tin, tout)
            t_in += tin
            t_out += tout
            cost += acost
            rows.append([eid, seq, atype, name, _ts(start), lat, status, model, tin, tout, acost,
                         etype, emsg, meta])
        started = _ts(self.started)
        ended = _ts(self.ended if self.ended is not None else time.time())
        raw = {
            "execution_id": eid,
            "agent_id": self.agent_id,
            "started_at": started,
            "ended_at": ended,
            "status": self.status or "success",
            "latency_ms": f.get("latency_ms", (ended - started).total_seconds() * 1000.0),
            "model": f.get("model"),
            "prompt_version": f.get("prompt_version"),
            "variant": f.get("variant"),
            "tokens_in": f.get("tokens_in", t_in),
            "tokens_out": f.get("tokens_out", t_out),
            "cost_usd": f.get("cost_usd", cost),
            "error_type": self.error_type,
            "error_message": self.error_message,
            "human_intervention": self.human_intervention,
            "metadata": f.get("metadata"),
        }
        if self.scores:
            raw["scores"] = [{"name": name, "value": value, "source": source, "comment": comment,
                              "scored_at": _ts(at)}
                             for (name, source), (value, comment, at) in self.scores.items()]
        return raw, rows


def _documented(item: tuple[dict, list[list]]) -> dict:
    """A prepared record in the documented JSON schema (spill files, quarantine)."""
    raw, rows = item
    return {**raw, "actions": [action_dict(r) for r in rows]}


class ExecutionContext:
    """One agent execution: ``with`` or ``async with``; log actions on it while it runs.

    Leaving the block normally records ``success`` (unless ``set_status`` said otherwise);
    an exception records ``failure`` (``timeout`` for TimeoutError, ``cancelled`` for
    cancellation) with its type and message, and is re-raised untouched.
    """

    __slots__ = ("_logger", "_ex")

    def __init__(self, logger: AgentLogger, agent_id: str, fields: dict):
        self._logger = logger
        self._ex = _Execution(agent_id, dict(fields))

    @property
    def execution_id(self) -> str:
        return self._ex.execution_id

    # -- actions --
    def log_action(self, action_type: str, name: str | None = None, *, latency_ms: float = 0.0,
                   started_at: float | datetime | None = None, status: str = "success",
                   model: str | None = None, tokens_in: int = 0, tokens_out: int = 0,
                   cost_usd: float | None = None, error_type: str | None = None,
                   error_message: str | None = None, metadata: dict | None = None) -> None:
        """Record one finished action. Cheap: validation and storage happen off-thread."""
        if started_at is None:
            started_at = time.time() - latency_ms / 1000.0
        self._ex.actions.append((action_type, name, started_at, latency_ms, status, model,
                                 tokens_in, tokens_out, cost_usd, error_type, error_message, metadata))

    def tool_call(self, name: str, **kw: Any) -> None:
        self.log_action("tool_call", name, **kw)

    def retrieval(self, name: str, **kw: Any) -> None:
        self.log_action("retrieval", name, **kw)

    def llm_inference(self, model: str, *, tokens_in: int = 0, tokens_out: int = 0, **kw: Any) -> None:
        """An LLM call; ``cost_usd`` defaults to litellm's price for ``model`` (0 if unknown)."""
        self.log_action("llm_inference", kw.pop("name", model), model=model,
                        tokens_in=tokens_in, tokens_out=tokens_out, **kw)

    def human_intervention(self, reason: str | None = None, **kw: Any) -> None:
        self._ex.human_intervention = True
        self.log_action("human_intervention", reason, **kw)

    def custom(self, name: str, **kw: Any) -> None:
        self.log_action("custom", name, **kw)

    # -- scores --
    def score(self, name: str, value: float, source: str = "check", comment: str | None = None) -> None:
        """Score this execution: ``value`` 0-1 (1 best), ``source`` human, llm_judge or check.

        Inside the block the score travels with the execution's record (same transaction,
        spilled with it); the same name and source again replaces the earlier value. After
        the block it is a late score (``AgentLogger.score``). Cheap: validated off-thread; a
        score that breaks the contract is quarantined with its execution record."""
        ex = self._ex
        if ex.ended is not None:  # already queued: the record may be written any moment
            self._logger.score(ex.execution_id, name, value, source=source, comment=comment, agent_id=ex.agent_id)
            return
        if ex.scores is None:
            ex.scores = {}
        ex.scores.pop((name, source), None)  # the latest score last, in call order
        ex.scores[(name, source)] = (value, comment, time.time())

    def action(self, action_type: str, name: str | None = None, **kw: Any) -> _TimedAction:
        """Time a block as one action; an exception inside marks it failed and propagates."""
        return _TimedAction(self, action_type, name, kw)

    # -- outcome --
    def set_status(self, status: str, error_type: str | None = None, error_message: str | None = None) -> None:
        self._ex.status = status
        if error_type is not None:
            self._ex.error_type = error_type
        if error_message is not None:
            self._ex.error_message = error_message[:_ERR_MAX]

    def record_error(self, exc: BaseException, status: str = "failure") -> None:
        self.set_status(status, type(exc).__qualname__, str(exc))

    def set(self, **fields: Any) -> None:
        """Set record fields known only during the run (model, tokens_in, cost_usd, metadata...)."""
        self._ex.fields.update(fields)

    # -- context manager protocol (sync and async) --
    def __enter__(self) -> ExecutionContext:
        self._ex.started = time.time()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        ex = self._ex
        ex.ended = time.time()
        if exc is not None:
            ex.status = _status_for(exc)
            ex.error_type = type(exc).__qualname__
            ex.error_message = str(exc)[:_ERR_MAX]
        self._logger._enqueue(ex)
        return False

    async def __aenter__(self) -> ExecutionContext:
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        return self.__exit__(exc_type, exc, tb)


def _status_for(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
        return "cancelled"
    return "failure"


class _TimedAction:
    __slots__ = ("_ctx", "_type", "_name", "_kw", "_t0")

    def __init__(self, ctx: ExecutionContext, action_type: str, name: str | None, kw: dict):
        self._ctx, self._type, self._name, self._kw = ctx, action_type, name, kw

    def __enter__(self) -> _TimedAction:
        self._t0 = time.time()
        return self

    def set(self, **kw: Any) -> None:
        """Attach model/tokens/cost/metadata learned inside the block."""
        self._kw.update(kw)

    def __exit__(self, exc_type, exc, tb) -> bool:
        kw = self._kw
        if exc is not None:
            kw.setdefault("status", "timeout" if isinstance(exc, TimeoutError) else "failure")
            kw.setdefault("error_type", type(exc).__qualname__)
            kw.setdefault("error_message", str(exc)[:_ERR_MAX])
        self._ctx.log_action(self._type, self._name, started_at=self._t0,
                             latency_ms=(time.time() - self._t0) * 1000.0, **kw)
        return False

    async def __aenter__(self) -> _TimedAction:
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        return self.__exit__(exc_type, exc, tb)


class AgentContext:
    """An agent's scope: executions started here inherit its defaults; exit flushes."""

    def __init__(self, logger: AgentLogger, agent_id: str, defaults: dict):
        self.logger = logger
        self.agent_id = agent_id
        self.defaults = defaults

    def execution(self, **fields: Any) -> ExecutionContext:
        merged = {**self.defaults, **fields}
        if "metadata" in self.defaults and "metadata" in fields:
            merged["metadata"] = {**self.defaults["metadata"], **fields["metadata"]}
        return ExecutionContext(self.logger, self.agent_id, merged)

    def circuit_state(self) -> str:
        """This agent's circuit breaker: closed, open, half_open (unknown if unreadable).
        Cached for a few seconds; never raises (see ``meta_agent.sdk.circuit``)."""
        return reader_for(self.logger.db_url).state(self.agent_id)

    def allow_execution(self) -> bool:
        """False while the circuit is open: refuse the work and retry later."""
        return reader_for(self.logger.db_url).allow(self.agent_id)

    def prompt(self, name: str = DEFAULT_PROMPT, label: str = "production", default: str | None = None) -> Prompt:
        """The prompt ``label`` points at in the registry (``prompt.format(**vars)``, and pass
        ``prompt.version`` as the execution's prompt_version). Cached for 30 s; never raises:
        unreadable, it is the last known version, else ``default`` (see ``meta_agent.sdk.prompts``)."""
        return prompt_reader_for(self.logger.db_url, cache_dir=self.logger.spill_dir).get(
            self.agent_id, name, label, default)

    def __enter__(self) -> AgentContext:
        return self

    def __exit__(self, *exc) -> bool:
        self.logger.flush()
        return False

    async def __aenter__(self) -> AgentContext:
        return self

    async def __aexit__(self, *exc) -> bool:
        await self.logger.aflush()
        return False


_LIVE: weakref.WeakSet[AgentLogger] = weakref.WeakSet()


@atexit.register
def _flush_all_on_exit() -> None:
    for lg in list(_LIVE):
        try:
            lg.close()
        except Exception:  # interpreter is going away; never raise here
            log.exception("meta-agent: flush at exit failed")
