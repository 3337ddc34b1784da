"""The execution-log record contract: what the SDK writes, what ``logs ingest`` accepts and
what the ops database keeps.

One JSON object per execution (JSONL), or one CSV row per execution (``actions``,
``metadata`` and ``scores`` as JSON text). Timestamps are ISO 8601; a timestamp without an offset is UTC.

| field | type | rule |
|---|---|---|
| execution_id | string | required, 1-64 chars; the idempotency key |
| agent_id | string | required, non-empty, ≤128 chars |
| started_at | timestamp | required |
| ended_at | timestamp | required unless latency_ms is given; ≥ started_at |
| status | string | success, failure, timeout or cancelled |
| latency_ms | number | ≥ 0; derived from the timestamps when absent |
| model, prompt_version, variant | string | optional |
| tokens_in, tokens_out | integer | ≥ 0, default 0 |
| cost_usd | number | ≥ 0, default 0 |
| error_type, error_message | string | optional |
| human_intervention | boolean | default false |
| metadata | object | optional |
| actions | list of action objects | optional; see ``ActionRecord`` |
| scores | list of score objects | optional; see below |

A **score** says how good an execution was, on a 0-1 scale (1 best); the evaluation report
reads scores as 0-1, so a value outside it is refused rather than guessed at:

| field | type | rule |
|---|---|---|
| name | string | required, 1-64 chars of ``A-Z a-z 0-9 _ . : -`` (``helpfulness``, ``check:format``) |
| value | number | required, finite, 0 ≤ value ≤ 1 (0.5 is the "below par" line reports use) |
| source | string | required: human, llm_judge or check |
| comment | string | optional, ≤ 4000 chars (a reviewer's note, the judge's reason) |
| scored_at | timestamp | optional; default: the execution's ``ended_at`` (embedded), now (standalone) |

Scores are idempotent by (execution_id, name, source): the same score again is a duplicate;
a different value or comment replaces the stored one unless its ``scored_at`` is older (a
replayed spill file never undoes a later correction). One record may not hold two scores
with the same name and source.

A score that arrives after its execution is a standalone line of its own:
``{"record": "score", "execution_id": ..., "name": ..., "value": ..., "source": ...,
"comment": ..., "scored_at": ...}`` — it must name an execution that is stored (or comes in
the same file, in any order); ``record`` is otherwise absent or ``"execution"``. A record
with any malformed score is quarantined whole, with the field named
(``scores.0.value: must be between 0 and 1 (got 1.7)``).

The vocabulary (statuses, action types) and the action-row layout are in ``layout.py`` (no
pydantic: the store imports it without loading these models); the store's tables follow them
(``meta_agent.store.schema`` checks that its ``actions`` columns are ``ACTION_COLUMNS``), never
the other way round.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from meta_agent.records.layout import (
    A_ERROR_MESSAGE,
    A_METADATA,
    A_NAME,
    ACTION_COLUMNS,
    ACTION_STATUSES,
    ACTION_TYPES,
    EXECUTION_STATUSES,
    SCORE_COLUMNS,
    SCORE_COMMENT_MAX,
    SCORE_NAME_MAX,
    SCORE_SOURCES,
)

Status = Literal["success", "failure", "timeout", "cancelled"]
ActionType = Literal["tool_call", "llm_inference", "retrieval", "human_intervention", "custom"]
assert set(Status.__args__) == set(EXECUTION_STATUSES)  # noqa: S101 — the literal and the tuple agree
assert set(ActionType.__args__) == set(ACTION_TYPES)  # noqa: S101
ScoreSource = Literal["human", "llm_judge", "check"]
assert set(ScoreSource.__args__) == set(SCORE_SOURCES)  # noqa: S101
_SCORE_NAME = re.compile(rf"[A-Za-z0-9_.:-]{{1,{SCORE_NAME_MAX}}}")
_SCORE_NAME_RULE = f"must be 1-{SCORE_NAME_MAX} characters of letters, digits, '_', '.', ':' or '-'"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ActionRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    seq: int | None = Field(default=None, ge=0)
    action_type: ActionType
    name: str | None = Field(default=None, max_length=256)
    started_at: datetime
    latency_ms: float = Field(ge=0, allow_inf_nan=False)
    status: Literal["success", "failure", "timeout"] = "success"
    model: str | None = Field(default=None, max_length=128)
    tokens_in: int = Field(default=0, ge=0)
    tokens_out: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    error_type: str | None = Field(default=None, max_length=128)
    error_message: str | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("started_at")
    @classmethod
    def _to_utc(cls, v: datetime) -> datetime:
        return _utc(v)


class ScoreRecord(BaseModel):
    """One score of an execution (embedded in its record, or the body of a standalone line)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    value: float = Field(allow_inf_nan=False)
    source: ScoreSource
    comment: str | None = Field(default=None, max_length=SCORE_COMMENT_MAX)
    scored_at: datetime | None = None

    @field_validator("name")
    @classmethod
    def _name_rule(cls, v: str) -> str:
        if not _SCORE_NAME.fullmatch(v):
            raise ValueError(_SCORE_NAME_RULE)
        return v

    @field_validator("value", mode="before")
    @classmethod
    def _not_a_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("must be a number, not a boolean")
        return v

    @field_validator("value")
    @classmethod
    def _unit_scale(cls, v: float) -> float:
        if not 0.0 <= v <= 1.0:
            raise ValueError("must be between 0 and 1")
        return v

    @field_validator("scored_at")
    @classmethod
    def _to_utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _utc(v)


class StandaloneScore(ScoreRecord):
    """A ``{"record": "score", ...}`` line: a score for an execution stored before it."""

    record: Literal["score"]
    execution_id: str = Field(min_length=1, max_length=64)


class ExecutionRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution_id: str = Field(min_length=1, max_length=64)
    agent_id: str = Field(max_length=128)
    started_at: datetime
    ended_at: datetime | None = None
    status: Status
    latency_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    model: str | None = Field(default=None, max_length=128)
    prompt_version: str | None = Field(default=None, max_length=64)
    variant: str | None = Field(default=None, max_length=64)
    tokens_in: int = Field(default=0, ge=0)
    tokens_out: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    error_type: str | None = Field(default=None, max_length=128)
    error_message: str | None = None
    human_intervention: bool = False
    metadata: dict[str, Any] | None = None
    actions: list[ActionRecord] = Field(default_factory=list)
    scores: list[ScoreRecord] = Field(default_factory=list)

    @field_validator("agent_id")
    @classmethod
    def _agent_id_not_blank(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty")
        return v

    @field_validator("started_at", "ended_at")
    @classmethod
    def _to_utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _utc(v)

    @model_validator(mode="after")
    def _times_agree(self) -> ExecutionRecord:
        if self.ended_at is None and self.latency_ms is None:
            raise ValueError("needs ended_at or latency_ms")
        if self.ended_at is None:
            self.ended_at = self.started_at + timedelta(milliseconds=self.latency_ms)
        if self.ended_at < self.started_at:
            raise ValueError(
                f"ended_at ({self.ended_at.isoformat()}) is before started_at "
                f"({self.started_at.isoformat()})"
            )
        if self.latency_ms is None:
            self.latency_ms = (self.ended_at - self.started_at).total_seconds() * 1000.0
        for i, action in enumerate(self.actions):
            if action.seq is None:
                action.seq = i
        if len({a.seq for a in self.actions}) != len(self.actions):
            raise ValueError("actions have duplicate seq numbers")
        for score in self.scores:
            if score.scored_at is None:
                score.scored_at = self.ended_at
        return self


class RecordError(ValueError):
    """A record broke the contract; ``reason`` is one line naming each field and the rule."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def explain(exc: ValidationError) -> str:
    """Pydantic's errors as one readable line: ``field: problem (got value)``; ..."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        if err["type"] == "missing":
            parts.append(f"{loc}: required field is missing")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = repr(got)
        if len(shown) > 80:  # a 5000-character comment is not worth repeating in full
            shown = f"{shown[:60]}... ({len(got) if isinstance(got, str | list) else len(shown)} long)"
        parts.append(msg and f"{loc}: {msg}" + ("" if isinstance(got, dict) else f" (got {shown})"))
    return "; ".join(parts)


def record_kind(raw: Any) -> str:
    """``"execution"`` or ``"score"``: what a raw line is, by its ``record`` field (absent:
    an execution); ``RecordError`` for anything else."""
    kind = raw.get("record") if isinstance(raw, dict) else None
    if kind is None or kind == "execution":
        return "execution"
    if kind == "score":
        return "score"
    raise RecordError(f"record: unknown record kind {kind!r}; use 'execution' (the default) or 'score'")


def parse_record(raw: Any) -> ExecutionRecord:
    """Validate one raw record (a dict from the SDK, JSONL or CSV) or raise ``RecordError``."""
    if not isinstance(raw, dict):
        raise RecordError(f"record: expected a JSON object, got {type(raw).__name__}")
    try:
        rec = ExecutionRecord.model_validate(raw)
    except ValidationError as exc:
        raise RecordError(explain(exc)) from None
    seen: dict[tuple[str, str], int] = {}
    for i, s in enumerate(rec.scores):
        first = seen.setdefault((s.name, s.source), i)
        if first != i:
            raise RecordError(f"scores.{i}: repeats scores.{first} (name {s.name!r}, source {s.source!r}); "
                              "keep one score per name and source")
    return rec


def to_rows(rec: ExecutionRecord, *, source: str, ingested_at: datetime) -> tuple[dict, list[list], list[dict]]:
    """Table rows for one valid record: (executions row as a dict, action rows as lists in
    ``ACTION_COLUMNS`` order, score rows as dicts of ``SCORE_COLUMNS``)."""
    ex = rec.model_dump(exclude={"actions", "scores"})
    ex["source"] = source
    ex["ingested_at"] = ingested_at
    acts = []
    for a in rec.actions:
        row = a.model_dump()
        row["execution_id"] = rec.execution_id
        acts.append([row[c] for c in ACTION_COLUMNS])
    scores = [_score_row(rec.execution_id, rec.agent_id, s.name, s.value, s.source, s.comment, s.scored_at,
                         ingested_at) for s in rec.scores]
    return ex, acts, scores


def _score_row(eid, agent, name, value, source, comment, scored_at, ingested_at) -> dict:
    return {"execution_id": eid, "name": name, "source": source, "agent_id": agent, "value": value,
            "comment": comment, "scored_at": scored_at, "ingested_at": ingested_at}


assert tuple(_score_row(*range(8))) == SCORE_COLUMNS  # noqa: S101 — score rows carry the table's columns


def parse_score(raw: Any) -> StandaloneScore:
    """Validate one standalone score line or raise ``RecordError``."""
    if not isinstance(raw, dict):
        raise RecordError(f"record: expected a JSON object, got {type(raw).__name__}")
    try:
        return StandaloneScore.model_validate(raw)
    except ValidationError as exc:
        raise RecordError(explain(exc)) from None


def normalize_score(raw: Any, *, ingested_at: datetime) -> dict:
    """The score row of a standalone score line (``agent_id`` None: the store fills it from
    the execution), or ``RecordError``. ``scored_at`` defaults to ``ingested_at``."""
    if isinstance(raw, dict) and raw.get("record") == "score":
        eid = raw.get("execution_id")
        if type(eid) is str and 0 < len(eid) <= 64:
            rows = _fast_scores([raw], eid, None, ingested_at, ingested_at)
            if rows is not None:
                return rows[0]
    s = parse_score(raw)
    return _score_row(s.execution_id, None, s.name, s.value, s.source, s.comment, s.scored_at or ingested_at,
                      ingested_at)


def score_json(row: dict) -> dict:
    """A score row as a standalone score line (what spill files hold for late scores)."""
    out = {"record": "score", **{k: row[k] for k in ("execution_id", "name", "value", "source", "comment")}}
    if row.get("agent_id"):
        out["agent_id"] = row["agent_id"]
    if row.get("scored_at") is not None:
        out["scored_at"] = row["scored_at"]
    return out


def to_json(rec: ExecutionRecord) -> dict:
    """The record as a JSON-able dict in the documented schema (what spill files hold)."""
    return rec.model_dump(mode="json")


def scrub_scores(score_rows: list[dict], scrubber) -> None:
    """Scrub the comments of score rows in place."""
    for s in score_rows:
        if s["comment"] is not None:
            s["comment"] = scrubber.scrub(s["comment"])


def scrub_rows(ex_row: dict, action_rows: list[list], scrubber) -> None:
    """Scrub the free-text fields (messages, names, metadata) of table rows in place."""
    ex_row["error_message"] = scrubber.scrub(ex_row["error_message"])
    ex_row["metadata"] = scrubber.scrub(ex_row["metadata"])
    scrub = scrubber.scrub
    for a in action_rows:
        a[A_NAME] = scrub(a[A_NAME])
        if a[A_ERROR_MESSAGE] is not None:
            a[A_ERROR_MESSAGE] = scrub(a[A_ERROR_MESSAGE])
        if a[A_METADATA] is not None:
            a[A_METADATA] = scrub(a[A_METADATA])


def normalize(raw: Any, *, source: str, ingested_at: datetime) -> tuple[dict, list[list], list[dict]]:
    """Table rows for one raw execution record — (execution, actions, scores) — or
    ``RecordError`` naming every broken field.

    Well-formed records (everything the SDK writes, most files) take a plain-Python fast
    path; anything it does not accept goes through the pydantic model, which has the final
    word and the error messages. ``tests/records/test_contract.py`` pins that both agree.
    """
    rows = _fast_rows(raw, source, ingested_at) if isinstance(raw, dict) else None
    if rows is not None:
        return rows
    return to_rows(parse_record(raw), source=source, ingested_at=ingested_at)


_STATUS_SET = frozenset(EXECUTION_STATUSES)
_ACTION_SET = frozenset(ACTION_TYPES)
_ACTION_STATUS_SET = frozenset(ACTION_STATUSES)
_EXEC_KEYS = tuple(k for k in ExecutionRecord.model_fields if k not in ("actions", "scores"))
_SOURCE_SET = frozenset(SCORE_SOURCES)
_INF = float("inf")


def _time(v: Any) -> datetime | None:
    if type(v) is str:
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return None
    if type(v) is not datetime:
        return None
    if v.tzinfo is UTC:
        return v
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _opt_str(v: Any, limit: int | None) -> bool:
    return v is None or (type(v) is str and (limit is None or len(v) <= limit))


def _nonneg_int(v: Any) -> bool:
    return type(v) is int and v >= 0


def _nonneg_num(v: Any) -> float | None:
    if type(v) is float or type(v) is int:
        f = float(v)
        if f >= 0 and f != float("inf"):
            return f
    return None


def _fast_rows(raw: dict, source: str, ingested_at: datetime):
    """Rows for a well-formed dict record, or None to let pydantic decide (and explain)."""
    ex_row = _fast_exec(raw, source, ingested_at)
    acts = raw.get("actions") or []
    if ex_row is None or type(acts) is not list:
        return None
    eid = ex_row["execution_id"]
    scores = raw.get("scores")
    if scores is None:
        scores = []
    else:
        scores = _fast_scores(scores, eid, ex_row["agent_id"], ex_row["ended_at"], ingested_at)
        if scores is None:
            return None
    rows = []
    for i, a in enumerate(acts):
        if type(a) is not dict:
            return None
        ag = a.get
        seq = ag("seq")
        rows.append([eid, i if seq is None else seq, ag("action_type"), ag("name"), ag("started_at"),
                     ag("latency_ms"), ag("status", "success"), ag("model"), ag("tokens_in", 0),
                     ag("tokens_out", 0), ag("cost_usd", 0.0), ag("error_type"), ag("error_message"),
                     ag("metadata")])
    return (ex_row, rows, scores) if _check_action_rows(rows) else None


def normalize_prepared(raw: dict, action_rows: list[list], *, source: str, ingested_at: datetime):
    """The SDK's path: ``raw`` without ``actions`` (``scores`` in the documented form, when
    any) plus action rows already in column order; returns (execution, actions, scores).
    Falls back to the documented dict form (and pydantic's reasons) when anything is off."""
    ex_row = _fast_exec(raw, source, ingested_at)
    if ex_row is not None and _check_action_rows(action_rows):
        scores = raw.get("scores")
        if scores is None:
            return ex_row, action_rows, []
        scores = _fast_scores(scores, ex_row["execution_id"], ex_row["agent_id"], ex_row["ended_at"], ingested_at)
        if scores is not None:
            return ex_row, action_rows, scores
    full = {**raw, "actions": [action_dict(r) for r in action_rows]}
    return to_rows(parse_record(full), source=source, ingested_at=ingested_at)


def action_dict(row: list) -> dict:
    """An action row back in the documented record form (without execution_id)."""
    return dict(zip(ACTION_COLUMNS[1:], row[1:], strict=True))


def _fast_exec(raw: dict, source: str, ingested_at: datetime) -> dict | None:
    g = raw.get
    eid, agent = g("execution_id"), g("agent_id")
    if type(eid) is not str or not 0 < len(eid) <= 64 or type(agent) is not str:
        return None
    agent = agent.strip()
    if not agent or len(agent) > 128 or g("status") not in _STATUS_SET:
        return None
    started, ended = _time(g("started_at")), _time(g("ended_at"))
    latency = _nonneg_num(g("latency_ms"))
    cost = _nonneg_num(g("cost_usd", 0.0))
    t_in, t_out = g("tokens_in", 0), g("tokens_out", 0)
    hi, meta = g("human_intervention", False), g("metadata")
    if (started is None or ended is None or ended < started or latency is None or cost is None
            or not (_nonneg_int(t_in) and _nonneg_int(t_out)) or type(hi) is not bool
            or not (meta is None or type(meta) is dict)
            or not (_opt_str(g("model"), 128) and _opt_str(g("prompt_version"), 64)
                    and _opt_str(g("variant"), 64) and _opt_str(g("error_type"), 128)
                    and _opt_str(g("error_message"), None))):
        return None
    ex_row = {k: g(k) for k in _EXEC_KEYS}
    ex_row.update(agent_id=agent, started_at=started, ended_at=ended, latency_ms=latency,
                  cost_usd=cost, tokens_in=t_in, tokens_out=t_out, human_intervention=hi,
                  source=source, ingested_at=ingested_at)
    return ex_row


def _check_action_rows(rows: list[list]) -> bool:
    """Validate and normalize action rows in place (hot loop: checks inlined)."""
    seqs = set()
    for row in rows:
        seq, lat, cost = row[1], row[5], row[10]
        if type(lat) is not float or type(cost) is not float:
            lat, cost = _nonneg_num(lat), _nonneg_num(cost)
            if lat is None or cost is None:
                return False
            row[5], row[10] = lat, cost
        started = row[4] = _time(row[4])
        name, model, etype, emsg, meta = row[3], row[7], row[11], row[12], row[13]
        if (not (0 <= lat < _INF and 0 <= cost < _INF) or started is None
                or row[2] not in _ACTION_SET or row[6] not in _ACTION_STATUS_SET
                or type(seq) is not int or seq < 0 or seq in seqs
                or not (_nonneg_int(row[8]) and _nonneg_int(row[9]))
                or not (name is None or (type(name) is str and len(name) <= 256))
                or not (model is None or (type(model) is str and len(model) <= 128))
                or not (etype is None or (type(etype) is str and len(etype) <= 128))
                or not (emsg is None or type(emsg) is str)
                or not (meta is None or type(meta) is dict)):
            return False
        seqs.add(seq)
    return True


def _fast_scores(scores: Any, eid: str, agent: str | None, default_at: datetime, ingested_at: datetime):
    """Score rows for a well-formed list of score dicts, or None to let pydantic decide."""
    if type(scores) is not list:
        return None
    out = []
    keys = set()
    for s in scores:
        if type(s) is not dict:
            return None
        g = s.get
        name, value, source, comment, at = g("name"), g("value"), g("source"), g("comment"), g("scored_at")
        if type(value) is int:
            value = float(value)
        if (type(name) is not str or type(value) is not float or not 0.0 <= value <= 1.0
                or source not in _SOURCE_SET or not _SCORE_NAME.fullmatch(name)
                or not (comment is None or (type(comment) is str and len(comment) <= SCORE_COMMENT_MAX))
                or (name, source) in keys):
            return None
        at = default_at if at is None else _time(at)
        if at is None:
            return None
        keys.add((name, source))
        out.append(_score_row(eid, agent, name, value, source, comment, at, ingested_at))
    return out
