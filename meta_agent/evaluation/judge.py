"""LLM-as-judge: score a deterministic sample of a day's executions by a rubric.

    rubric = load_rubric()                          # config/judge_rubric.yaml
    result = judge_sample(url, date(2026, 11, 1), get_gateway(db_url=url), rubric=rubric)
    result.skipped, result.reason                   # offline: True, "no model is configured: ..."
    result.scores_written, result.failed, result.as_rows()

- **Sample**: the day's executions (UTC, by ``started_at``) stratified by agent × status —
  every stratum gets at least one when the sample is large enough, the rest is shared in
  proportion (largest remainder); inside a stratum executions are taken in the order of a
  hash of ``seed`` and their id, so the same day and seed give the same sample on any engine,
  and a late arrival does not reshuffle the rest.
- **Prompt**: what the record holds — agent, model, status, error, the actions (type, name,
  status, error; long lists keep their first and last 20) and the ``metadata`` keys
  ``input``/``output``/``question``/``answer`` when present, long texts cut.
- **Verdict**: one ``gateway.complete_json(..., schema=JudgeVerdict, purpose="llm_judge")``
  per execution × criterion: ``{"score": 0..1, "reason": "..."}``. A reply that fails the
  schema is sent back for repair by ``complete_json``; a final failure records no score and
  is counted in ``failed``. Three transport failures in a row stop the run (the model is
  down; the reason says so).
- **Scores**: source ``llm_judge``, named after the criterion, the reason as the comment,
  written per execution (idempotent: judging again replaces). With ``skip_judged`` (the
  default) a criterion already judged for an execution is not asked again.
- **Offline** (no model configured): nothing is asked and nothing is written —
  ``JudgeResult(skipped=True, reason="no model is configured: quality is unscored by a judge")``.

The rubric file (``load_rubric``): ``version: 1``, optional ``instructions``, and
``criteria``: a list of ``{name, description, weight}`` (name: a score name, 1-64 chars of
``A-Z a-z 0-9 _ . : -``; weight > 0). Every problem is an ``InputError`` naming the file,
line and field.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, Field

from meta_agent import config
from meta_agent.errors import InputError
from meta_agent.evaluation.scores import day_bounds, write_scores
from meta_agent.llm.gateway import LLMError, LLMGateway, LLMJSONError, LLMOffline
from meta_agent.records.layout import SCORE_COMMENT_MAX, SCORE_NAME_MAX
from meta_agent.store.engine import engine_for
from meta_agent.store.schema import actions, executions
from meta_agent.store.schema_evaluation import execution_scores
from meta_agent.yaml_nodes import compose, fail, mapping, read

RUBRIC_FILE = "judge_rubric.yaml"
SOURCE = "llm_judge"
OFFLINE_REASON = "no model is configured: quality is unscored by a judge"
METADATA_KEYS = ("input", "question", "output", "answer")
TEXT_LIMIT = 2000  # characters of one text field shown to the judge
ACTIONS_SHOWN = 20  # the first and the last this many actions
MAX_ERRORS_KEPT = 20
STOP_AFTER_TRANSPORT_ERRORS = 3
_NAME = re.compile(rf"[A-Za-z0-9_.:-]{{1,{SCORE_NAME_MAX}}}")


class JudgeVerdict(BaseModel):
    """What the judge replies for one criterion."""

    score: float = Field(ge=0, le=1, allow_inf_nan=False, description="0 = worst, 1 = best")
    reason: str = Field(min_length=1, description="one or two sentences: why this score")


# ------------------------------------------------------------------------------ rubric


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str
    weight: float = 1.0


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    instructions: str = ""
    path: str | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.criteria]


def rubric_path() -> Path:
    return config.config_dir() / RUBRIC_FILE


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Parse and validate a rubric file (default ``config/judge_rubric.yaml``)."""
    path = Path(path or rubric_path())
    text = read(path)
    if text is None:
        raise InputError(f"{path}: no such file; the judge needs a rubric (criteria with name, description, "
                         "weight) — copy config/judge_rubric.yaml.")
    root = compose(path, text)
    if root is None:
        raise InputError(f"{path}: is empty; it needs 'criteria:' (a list of name, description, weight).")
    top = mapping(path, root, "the file", "a mapping with 'version', 'instructions' and 'criteria'")
    instructions = ""
    criteria: list[Criterion] = []
    for key, (knode, vnode) in top.items():
        if key == "version":
            if vnode.value not in ("1",):
                fail(path, vnode, "version", f"unsupported version {vnode.value!r}; this release reads version 1")
        elif key == "instructions":
            instructions = _text(path, vnode, "instructions", allow_empty=True)
        elif key == "criteria":
            criteria = _criteria(path, vnode)
        else:
            fail(path, knode, key, "unknown top-level key; use 'version', 'instructions' and 'criteria'")
    if "criteria" not in top:
        fail(path, root, "criteria", "missing; list the criteria (name, description, weight) to judge by")
    return Rubric(tuple(criteria), instructions, str(path))


def _criteria(path: Path, node) -> list[Criterion]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        fail(path, node, "criteria", "expected a non-empty list of criteria (name, description, weight)")
    out: list[Criterion] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node.value):
        where = f"criteria[{i}]"
        fields = mapping(path, item, where, "a mapping with name, description and weight")
        for key, (knode, _) in fields.items():
            if key not in ("name", "description", "weight"):
                fail(path, knode, f"{where}.{key}", "unknown field; use name, description and weight")
        for required in ("name", "description"):
            if required not in fields:
                fail(path, item, f"{where}.{required}", "required field is missing")
        nnode = fields["name"][1]
        name = _text(path, nnode, f"{where}.name")
        if not _NAME.fullmatch(name):
            fail(path, nnode, f"{where}.name",
                  f"must be 1-{SCORE_NAME_MAX} characters of letters, digits, '_', '.', ':' or '-' (got {name!r})")
        if name in seen:
            fail(path, nnode, f"{where}.name", f"{name!r} is already criteria[{seen[name]}]; names must be unique")
        seen[name] = i
        description = _text(path, fields["description"][1], f"{where}.description")
        weight = 1.0
        if "weight" in fields:
            wnode = fields["weight"][1]
            value = yaml.SafeLoader("").construct_object(wnode) if isinstance(wnode, yaml.ScalarNode) else None
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                shown = wnode.value if isinstance(wnode, yaml.ScalarNode) else "a list or mapping"
                fail(path, wnode, f"{where}.weight", f"must be a number > 0 (got {shown!r})")
            weight = float(value)
        out.append(Criterion(name, description, weight))
    return out






def _text(path: Path, node, fld: str, *, allow_empty: bool = False) -> str:
    if not isinstance(node, yaml.ScalarNode):
        fail(path, node, fld, "expected text (got a list or mapping)")
    value = "" if node.tag == "tag:yaml.org,2002:null" else node.value.strip()
    if not value and not allow_empty:
        fail(path, node, fld, "must not be empty")
    return value


# ------------------------------------------------------------------------------ sample


def _rank(seed: int, execution_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:{execution_id}".encode()).digest()


def allocate(sizes: dict[Any, int], sample_size: int) -> dict[Any, int]:
    """How many to take from each stratum: all when they fit; else at least one each (the
    largest strata first when there are more strata than places) and the rest in proportion
    to what is left of each (largest remainder). Deterministic; never more than a stratum has."""
    total = sum(sizes.values())
    if total <= sample_size:
        return dict(sizes)
    keys = sorted((k for k in sizes if sizes[k] > 0), key=lambda k: (-sizes[k], str(k)))
    if sample_size <= 0:
        return {}
    if sample_size < len(keys):
        return {k: 1 for k in keys[:sample_size]}
    alloc = {k: 1 for k in keys}
    left = sample_size - len(keys)
    cap = {k: sizes[k] - 1 for k in keys}
    room = sum(cap.values())  # > left, because total > sample_size
    quota = {k: left * cap[k] / room for k in keys}
    for k in keys:
        alloc[k] += int(quota[k])
    rest = left - sum(int(q) for q in quota.values())
    for k in sorted(keys, key=lambda k: (-(quota[k] - int(quota[k])), -sizes[k], str(k)))[:rest]:
        alloc[k] += 1
    return alloc


def sample_executions(rows: Sequence[tuple[str, str, str]], sample_size: int, seed: int = 0) -> list[str]:
    """Execution ids from ``(execution_id, agent_id, status)`` rows, stratified by agent × status."""
    strata: dict[tuple[str, str], list[str]] = {}
    for eid, agent, status in rows:
        strata.setdefault((agent, status), []).append(eid)
    alloc = allocate({k: len(v) for k, v in strata.items()}, sample_size)
    picked = []
    for key in sorted(alloc):
        ids = sorted(strata[key], key=lambda e: _rank(seed, e))
        picked.extend(ids[:alloc[key]])
    return picked


# ------------------------------------------------------------------------------ judge


@dataclass
class CriterionResult:
    name: str
    weight: float
    scored: int = 0
    failed: int = 0
    already_judged: int = 0
    values: list[float] = field(default_factory=list, repr=False)

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


@dataclass
class JudgeResult:
    day: date
    skipped: bool = False
    reason: str | None = None  # why it was skipped or stopped early
    population: int = 0  # executions that day
    sampled: int = 0
    judged: int = 0  # executions that got at least one score now
    scores_written: int = 0  # inserted or replaced
    failed: int = 0  # criterion verdicts that never validated, or calls that failed
    already_judged: int = 0  # criterion × execution skipped: scored by the judge before
    strata: dict[str, int] = field(default_factory=dict)  # "agent/status" -> sampled
    criteria: list[CriterionResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the first few failures
    execution_ids: list[str] = field(default_factory=list)

    @property
    def overall(self) -> float | None:
        """The weighted mean of the criteria's means (criteria without a score left out)."""
        parts = [(c.weight, c.mean) for c in self.criteria if c.mean is not None]
        weight = sum(w for w, _ in parts)
        return sum(w * m for w, m in parts) / weight if weight else None

    def describe(self) -> str:
        """One sentence for metadata and logs."""
        if self.skipped:
            return f"judge skipped: {self.reason}"
        text = (f"judged {self.judged} of {self.sampled} sampled executions ({self.population} that day): "
                f"{self.scores_written} scores written")
        if self.already_judged:
            text += f", {self.already_judged} already judged"
        if self.failed:
            text += f", {self.failed} verdicts failed"
        if self.overall is not None:
            text += f"; overall {self.overall:.2f}"
        return text + (f" — {self.reason}" if self.reason else "")

    def as_rows(self) -> list[dict]:
        """One row per criterion: weight, scores written, failures, mean (for a table)."""
        return [{"criterion": c.name, "weight": c.weight, "scored": c.scored, "failed": c.failed,
                 "already_judged": c.already_judged, "mean": c.mean} for c in self.criteria]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        out["overall"] = self.overall
        out["criteria"] = self.as_rows()
        return out


def judge_sample(url: str, day: date, gateway: LLMGateway, *, rubric: Rubric, sample_size: int = 50,
                 seed: int = 0, skip_judged: bool = True, retries: int = 3) -> JudgeResult:
    """Judge a stratified sample of ``day``'s executions by ``rubric``; write ``llm_judge`` scores."""
    result = JudgeResult(day, criteria=[CriterionResult(c.name, c.weight) for c in rubric.criteria])
    if gateway.offline:
        result.skipped, result.reason = True, OFFLINE_REASON
        return result
    start, end = day_bounds(day)
    e = executions.c
    with engine_for(url).connect() as conn:
        population = conn.execute(
            sa.select(e.execution_id, e.agent_id, e.status)
            .where(e.started_at >= start, e.started_at < end).order_by(e.execution_id)).all()
        picked = sample_executions([tuple(r) for r in population], sample_size, seed)
        records = _records(conn, picked)
        done = _judged(conn, picked) if skip_judged else set()
    result.population, result.sampled, result.execution_ids = len(population), len(picked), picked
    for eid in picked:
        key = f"{records[eid]['agent_id']}/{records[eid]['status']}"
        result.strata[key] = result.strata.get(key, 0) + 1
    by_name = {c.name: c for c in result.criteria}
    transport_errors = 0
    for eid in picked:
        record = records[eid]
        rows = []
        for criterion in rubric.criteria:
            tally = by_name[criterion.name]
            if (eid, criterion.name) in done:
                tally.already_judged += 1
                result.already_judged += 1
                continue
            try:
                verdict = gateway.complete_json(judge_messages(rubric, criterion, record), schema=JudgeVerdict,
                                                retries=retries, purpose="llm_judge")
            except LLMOffline:
                _write(url, rows, result)  # nothing before it, in practice: the first call says so
                result.skipped, result.reason = True, OFFLINE_REASON
                return result
            except LLMJSONError as exc:
                transport_errors = 0
                _failed(result, tally, f"{eid} {criterion.name}: {exc}")
                continue
            except LLMError as exc:
                transport_errors += 1
                _failed(result, tally, f"{eid} {criterion.name}: {exc}")
                if transport_errors >= STOP_AFTER_TRANSPORT_ERRORS:
                    _write(url, rows, result)
                    result.reason = (f"stopped after {transport_errors} failed model calls in a row "
                                     f"(last: {exc}); the rest of the sample is unscored by the judge")
                    return result
                continue
            transport_errors = 0
            tally.values.append(verdict.score)
            tally.scored += 1
            rows.append({"execution_id": eid, "name": criterion.name, "value": verdict.score, "source": SOURCE,
                         "comment": verdict.reason.strip()[:SCORE_COMMENT_MAX] or None,
                         "scored_at": datetime.now(UTC)})
        _write(url, rows, result)
    return result


def _failed(result: JudgeResult, tally: CriterionResult, message: str) -> None:
    tally.failed += 1
    result.failed += 1
    if len(result.errors) < MAX_ERRORS_KEPT:
        result.errors.append(message[:500])


def _write(url: str, rows: list[dict], result: JudgeResult) -> None:
    if not rows:
        return
    with engine_for(url).begin() as conn:
        w = write_scores(conn, rows)
    result.scores_written += w.written
    result.judged += 1


def _judged(conn: sa.Connection, ids: Sequence[str]) -> set[tuple[str, str]]:
    s = execution_scores.c
    out: set[tuple[str, str]] = set()
    for i in range(0, len(ids), 500):
        q = sa.select(s.execution_id, s.name).where(s.source == SOURCE, s.execution_id.in_(list(ids[i:i + 500])))
        out.update((a, b) for a, b in conn.execute(q))
    return out


def _records(conn: sa.Connection, ids: Sequence[str]) -> dict[str, dict]:
    e, a = executions.c, actions.c
    out: dict[str, dict] = {}
    for i in range(0, len(ids), 500):
        part = list(ids[i:i + 500])
        for row in conn.execute(sa.select(e.execution_id, e.agent_id, e.status, e.model, e.prompt_version,
                                          e.latency_ms, e.error_type, e.error_message, e.human_intervention,
                                          e.metadata).where(e.execution_id.in_(part))):
            out[row.execution_id] = {**row._mapping, "actions": []}
        q = (sa.select(a.execution_id, a.seq, a.action_type, a.name, a.status, a.error_type, a.error_message)
             .where(a.execution_id.in_(part)).order_by(a.execution_id, a.seq))
        for row in conn.execute(q):
            out[row.execution_id]["actions"].append(row._mapping)
    return out


def _cut(text: Any, limit: int = TEXT_LIMIT) -> Any:
    if not isinstance(text, str):
        text = json.dumps(text, default=str, ensure_ascii=False)
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text) - limit} more characters]"


def record_view(record: dict) -> dict:
    """What the judge sees of one execution: the record's facts, long texts and lists cut."""
    view: dict[str, Any] = {k: record.get(k) for k in ("agent_id", "model", "prompt_version", "status")}
    view["latency_ms"] = round(float(record.get("latency_ms") or 0.0), 1)
    if record.get("error_type") or record.get("error_message"):
        view["error"] = {"type": record.get("error_type"), "message": _cut(record.get("error_message") or "")}
    if record.get("human_intervention"):
        view["human_intervention"] = True
    acts = [{"type": x["action_type"], "name": x["name"], "status": x["status"],
             **({"error": _cut(f"{x['error_type'] or ''}: {x['error_message'] or ''}".strip(": "), 300)}
                if x["error_type"] or x["error_message"] else {})}
            for x in record.get("actions") or []]
    if len(acts) > 2 * ACTIONS_SHOWN:
        omitted = len(acts) - 2 * ACTIONS_SHOWN
        acts = [*acts[:ACTIONS_SHOWN], {"omitted": f"{omitted} actions"}, *acts[-ACTIONS_SHOWN:]]
    view["actions"] = acts
    meta = record.get("metadata") or {}
    if isinstance(meta, dict):
        for k in METADATA_KEYS:
            if meta.get(k) is not None:
                view[k] = _cut(meta[k])
    return view


def judge_messages(rubric: Rubric, criterion: Criterion, record: dict) -> list[dict[str, str]]:
    """The chat messages for one execution × criterion (the JSON schema is added by the gateway)."""
    system = "\n".join(part for part in (
        "You are a strict, fair evaluator of LLM agent executions.",
        rubric.instructions,
        f"Criterion '{criterion.name}': {criterion.description}",
        'Score it from 0 (worst) to 1 (best) and reply with {"score": <number 0..1>, "reason": "<one or two '
        'sentences>"}.',
    ) if part)
    user = "The execution record:\n" + json.dumps(record_view(record), ensure_ascii=False, indent=1, default=str)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
