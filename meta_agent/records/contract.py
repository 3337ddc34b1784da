"""The execution-log record contract: what the SDK writes, what ``logs ingest`` accepts and
what the ops database keeps.

One JSON object per execution (JSONL), or one CSV row per execution (``actions`` and
``metadata`` as JSON text). Timestamps are ISO 8601; a timestamp without an offset is UTC.

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

The vocabulary (statuses, action types) and the action-row layout are in ``layout.py`` (no
pydantic: the store imports it without loading these models); the store's tables follow them
(``meta_agent.store.schema`` checks that its ``actions`` columns are ``ACTION_COLUMNS``), never
the other way round.
"""

from __future__ import annotations

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
)

Status = Literal["success", "failure", "timeout", "cancelled"]
ActionType = Literal["tool_call", "llm_inference", "retrieval", "human_intervention", "custom"]
assert set(Status.__args__) == set(EXECUTION_STATUSES)  # noqa: S101 — the literal and the tuple agree
assert set(ActionType.__args__) == set(ACTION_TYPES)  # noqa: S101


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
        parts.append(msg and f"{loc}: {msg}" + ("" if isinstance(got, dict) else f" (got {got!r})"))
    return "; ".join(parts)


def parse_record(raw: Any) -> ExecutionRecord:
    """Validate one raw record (a dict from the SDK, JSONL or CSV) or raise ``RecordError``."""
    if not isinstance(raw, dict):
        raise RecordError(f"record: expected a JSON object, got {type(raw).__name__}")
    try:
        return ExecutionRecord.model_validate(raw)
    except ValidationError as exc:
        raise RecordError(explain(exc)) from None


def to_rows(rec: ExecutionRecord, *, source: str, ingested_at: datetime) -> tuple[dict, list[list]]:
    """Table rows for one valid record: (executions row as a dict, action rows as lists in
    ``ACTION_COLUMNS`` order)."""
    ex = rec.model_dump(exclude={"actions"})
    ex["source"] = source
    ex["ingested_at"] = ingested_at
    acts = []
    for a in rec.actions:
        row = a.model_dump()
        row["execution_id"] = rec.execution_id
        acts.append([row[c] for c in ACTION_COLUMNS])
    return ex, acts


def to_json(rec: ExecutionRecord) -> dict:
    """The record as a JSON-able dict in the documented schema (what spill files hold)."""
    return rec.model_dump(mode="json")


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


def normalize(raw: Any, *, source: str, ingested_at: datetime) -> tuple[dict, list[dict]]:
    """Table rows for one raw record, or ``RecordError`` naming every broken field.

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
_EXEC_KEYS = frozenset(ExecutionRecord.model_fields)
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
    return (ex_row, rows) if _check_action_rows(rows) else None


def normalize_prepared(raw: dict, action_rows: list[list], *, source: str, ingested_at: datetime):
    """The SDK's path: ``raw`` without ``actions`` plus action rows already in column order.
    Falls back to the documented dict form (and pydantic's reasons) when anything is off."""
    ex_row = _fast_exec(raw, source, ingested_at)
    if ex_row is not None and _check_action_rows(action_rows):
        return ex_row, action_rows
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
    ex_row = {k: g(k) for k in _EXEC_KEYS if k != "actions"}
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
