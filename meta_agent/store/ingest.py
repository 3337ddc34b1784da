"""Loading execution records from files (SDK spill files, JSONL or CSV exports).

Every record is validated against the contract in ``meta_agent.records.contract``; a bad one is
quarantined with its file, line and reason, never dropped. Loading is idempotent by
``execution_id``: a record already in the database is counted as a duplicate and skipped.
Only an unreadable file (missing, not UTF-8, not JSONL/CSV) is an error.

Scores come embedded in execution records (``scores``) or as standalone ``{"record": "score"}``
lines; both are written by ``meta_agent.store.scores.upsert_scores`` (idempotent by
execution, name and source; a changed value replaces the stored one) in the transaction of
their batch. A standalone score whose execution is not stored yet waits for the end of the
input (its execution may come later in the file) and is quarantined then if it still names
no stored execution.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meta_agent.config import db_url as default_db_url
from meta_agent.errors import InputError
from meta_agent.records.contract import (
    RecordError,
    normalize,
    normalize_score,
    record_kind,
    scrub_rows,
    scrub_scores,
)
from meta_agent.records.scrub import Scrubber
from meta_agent.store import quarantine
from meta_agent.store.engine import engine_for
from meta_agent.store.executions import write_batch
from meta_agent.store.migrate import require_current
from meta_agent.store.quarantine import Rejected
from meta_agent.store.scores import (
    ScoreWriteReport,
    dangling_reason,
    execution_agents,
    upsert_scores,
)

JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
MAX_PROBLEMS_SHOWN = 20


@dataclass
class IngestReport:
    source: str
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    actions: int = 0
    new_agents: int = 0
    scores: int = 0  # scores stored for the first time (embedded and standalone)
    scores_updated: int = 0  # stored scores whose value or comment changed (last write wins)
    score_duplicates: int = 0  # the same score again: nothing written
    scores_stale: int = 0  # older (scored_at) than the stored score: ignored
    problems: list[str] = field(default_factory=list)  # the first few "file:line: reason"

    def add_scores(self, w: ScoreWriteReport) -> None:
        self.scores += w.inserted
        self.scores_updated += w.updated
        self.score_duplicates += w.duplicates
        self.scores_stale += w.stale

    def as_dict(self) -> dict:
        return asdict(self)


# A raw item is (location, record-or-error): location is "file:line", error a RecordError.
RawItem = tuple[str, Any]


def ingest_file(
    path: str | Path,
    *,
    url: str | None = None,
    batch_size: int = 5000,
    scrubber: Scrubber | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Load one JSONL or CSV file of execution records into the ops database."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; pass the path of a .jsonl or .csv file of execution records.")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; pass one .jsonl or .csv file (spill files live in META_AGENT_SPILL_DIR).")
    kind = _detect_format(path)
    items = _read_jsonl(path, progress) if kind == "jsonl" else _read_csv(path, progress)
    return ingest_items(items, url=url, source=str(path), batch_size=batch_size, scrubber=scrubber, origin="ingest")


def ingest_items(
    items: Iterable[RawItem],
    *,
    url: str | None = None,
    source: str,
    origin: str,
    batch_size: int = 5000,
    scrubber: Scrubber | None = None,
) -> IngestReport:
    """Validate, scrub and write raw records in batches of ``batch_size`` (one transaction each)."""
    scrubber = scrubber or Scrubber()
    url = url or default_db_url()
    require_current(url)
    engine = engine_for(url)
    report = IngestReport(source=source)
    seen_in_input: set[str] = set()
    exec_rows: list[dict] = []
    action_rows: list[dict] = []
    score_rows: list[dict] = []  # embedded: their execution is in this batch
    late: list[tuple[str, Any, dict]] = []  # standalone (location, raw, row) of this batch
    deferred: list[tuple[str, Any, dict]] = []  # standalone, execution not stored at their batch
    rejected: list[Rejected] = []
    now = datetime.now(UTC)

    def reject(kind: str, loc: str, reason: str, raw: Any) -> None:
        exec_id = raw.get("execution_id") if isinstance(raw, dict) else None
        rejected.append(Rejected(kind, loc, reason, scrubber.scrub(_raw_text(raw)), exec_id))
        if len(report.problems) < MAX_PROBLEMS_SHOWN:
            report.problems.append(f"{loc}: {reason}")

    def flush(final: bool = False) -> None:
        pending = late + deferred if final else late
        with engine.begin() as conn:
            w = write_batch(conn, exec_rows, action_rows, dedupe=True)
            known = execution_agents(conn, {row["execution_id"] for _, _, row in pending}) if pending else {}
            ready = list(score_rows)
            waiting = []
            for item in pending:
                agent = known.get(item[2]["execution_id"])
                if agent is None:
                    waiting.append(item)
                else:
                    item[2]["agent_id"] = agent
                    ready.append(item[2])
            if final:
                for loc, raw, row in waiting:
                    reject("score", loc, dangling_reason(row["execution_id"]), raw)
                waiting = []
            report.add_scores(upsert_scores(conn, ready))
            quarantine.add(conn, rejected)
        if final:
            deferred.clear()
        deferred.extend(waiting)
        report.accepted += w.inserted
        report.duplicates += w.duplicates
        report.actions += w.actions
        report.new_agents += w.new_agents
        report.quarantined += len(rejected)
        for buf in (exec_rows, action_rows, score_rows, late, rejected):
            buf.clear()

    for loc, raw in items:
        report.read += 1
        kind = "execution"
        try:
            if isinstance(raw, RecordError):
                raise raw
            kind = record_kind(raw)
            if kind == "score":
                row = normalize_score(raw, ingested_at=now)
                scrub_scores([row], scrubber)
                late.append((loc, raw, row))
            else:
                ex, acts, scores = normalize(raw, source=origin, ingested_at=now)
        except RecordError as err:
            reject(kind, loc, err.reason, raw)
        else:
            if kind == "execution":
                if ex["execution_id"] in seen_in_input:
                    report.duplicates += 1
                    continue
                seen_in_input.add(ex["execution_id"])
                scrub_rows(ex, acts, scrubber)
                exec_rows.append(ex)
                action_rows.extend(acts)
                if scores:
                    scrub_scores(scores, scrubber)
                    score_rows.extend(scores)
        if len(exec_rows) + len(rejected) + len(late) >= batch_size:
            flush()
    flush(final=True)
    return report


def _raw_text(raw: Any) -> str:
    if isinstance(raw, RecordError):
        return getattr(raw, "raw_text", "")
    return raw if isinstance(raw, str) else json.dumps(raw, default=str)


def _detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    try:
        with path.open("rb") as f:
            head = f.read(4096).lstrip()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None
    if head.startswith(b"{"):
        return "jsonl"
    raise InputError(
        f"{path}: not a JSONL or CSV file of execution records; name it .jsonl or .csv "
        "(one JSON object per line, or a header row with execution_id,agent_id,started_at,...)."
    )


def _line_error(reason: str, text: str) -> RecordError:
    err = RecordError(reason)
    err.raw_text = text  # kept in quarantine so nothing is lost
    return err


def _read_jsonl(path: Path, progress: Callable[[int], None] | None) -> Iterator[RawItem]:
    try:
        f = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None
    with f:
        for lineno, bline in enumerate(f, 1):
            if progress:
                progress(len(bline))
            loc = f"{path}:{lineno}"
            try:
                line = bline.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                if lineno == 1 and b"\x00" in bline:
                    raise InputError(f"{path}: is a binary file, not JSONL; pass a text file of execution records.") from None
                yield loc, _line_error(f"line {lineno}: not UTF-8 text ({exc.reason} at byte {exc.start})", bline.decode("utf-8", "replace"))
                continue
            if not line:
                continue
            try:
                yield loc, json.loads(line)
            except json.JSONDecodeError as exc:
                yield loc, _line_error(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})", line)


_CSV_JSON_FIELDS = ("metadata", "actions", "scores")


def _read_csv(path: Path, progress: Callable[[int], None] | None) -> Iterator[RawItem]:
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line} is not UTF-8 text; save the CSV as UTF-8.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "execution_id" not in reader.fieldnames:
        raise InputError(
            f"{path}: line 1 is not a header with execution_id; the CSV needs a header row "
            "naming the record fields (execution_id,agent_id,started_at,ended_at,status,...)."
        )
    try:
        for row in reader:
            loc = f"{path}:{reader.line_num}"
            if progress:
                progress(1)
            raw: dict[str, Any] = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
            if None in row:
                yield loc, _line_error(f"line {reader.line_num}: more values than header columns", json.dumps(row, default=str))
                continue
            try:
                for key in _CSV_JSON_FIELDS:
                    if key in raw:
                        raw[key] = json.loads(raw[key])
            except json.JSONDecodeError as exc:
                yield loc, _line_error(f"line {reader.line_num}: column {key} is not valid JSON ({exc.msg})", json.dumps(row))
                continue
            yield loc, raw
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: malformed CSV ({exc}).") from None
