"""Loading execution records from files (SDK spill files, JSONL or CSV exports).

Every record is validated against the contract in ``meta_agent.records.contract``; a bad one is
quarantined with its file, line and reason, never dropped. Loading is idempotent by
``execution_id``: a record already in the database is counted as a duplicate and skipped.
Only an unreadable file (missing, not UTF-8, not JSONL/CSV) is an error.
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
from meta_agent.records.contract import RecordError, normalize, scrub_rows
from meta_agent.records.scrub import Scrubber
from meta_agent.store import quarantine
from meta_agent.store.engine import engine_for
from meta_agent.store.executions import write_batch
from meta_agent.store.migrate import require_current
from meta_agent.store.quarantine import Rejected

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
    problems: list[str] = field(default_factory=list)  # the first few "file:line: reason"

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
    rejected: list[Rejected] = []
    now = datetime.now(UTC)

    def flush() -> None:
        with engine.begin() as conn:
            w = write_batch(conn, exec_rows, action_rows, dedupe=True)
            quarantine.add(conn, rejected)
        report.accepted += w.inserted
        report.duplicates += w.duplicates
        report.actions += w.actions
        report.new_agents += w.new_agents
        report.quarantined += len(rejected)
        exec_rows.clear()
        action_rows.clear()
        rejected.clear()

    for loc, raw in items:
        report.read += 1
        try:
            if isinstance(raw, RecordError):
                raise raw
            ex, acts = normalize(raw, source=origin, ingested_at=now)
        except RecordError as err:
            exec_id = raw.get("execution_id") if isinstance(raw, dict) else None
            rejected.append(Rejected("execution", loc, err.reason, scrubber.scrub(_raw_text(raw)), exec_id))
            if len(report.problems) < MAX_PROBLEMS_SHOWN:
                report.problems.append(f"{loc}: {err.reason}")
        else:
            if ex["execution_id"] in seen_in_input:
                report.duplicates += 1
                continue
            seen_in_input.add(ex["execution_id"])
            scrub_rows(ex, acts, scrubber)
            exec_rows.append(ex)
            action_rows.extend(acts)
        if len(exec_rows) + len(rejected) >= batch_size:
            flush()
    flush()
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


_CSV_JSON_FIELDS = ("metadata", "actions")


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
