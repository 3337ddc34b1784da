"""Requests from a drop folder: ``<artifacts>/requests/*.txt`` and ``*.json``.

- ``.txt``: the whole file (UTF-8) is the request text.
- ``.json``: an object ``{"request": "...", "format": "xlsx", "metadata": {...}}`` (``text`` is
  accepted for ``request``).

Each accepted file becomes a request (source ``drop_folder``) and moves to ``processed/``;
its request id is derived from the file's name and content, so a file seen twice (a crash
between recording and moving) is recorded once. A file that cannot be read moves to
``rejected/`` with ``<name>.error.txt`` beside it, and is quarantined in the ops database
with the reason — the message names the file, the field or line, and the fix.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from meta_agent import config
from meta_agent.errors import InputError
from meta_agent.scriptgen import repository as repo
from meta_agent.store import quarantine
from meta_agent.store.schema_scripts import script_requests

ACCEPTED_SUFFIXES = (".txt", ".json")
MAX_FILE_BYTES = 64 * 1024


@dataclass
class IntakeReport:
    accepted: list[dict] = field(default_factory=list)  # {"request_id", "file"}
    rejected: list[dict] = field(default_factory=list)  # {"file", "reason"}

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "rejected": self.rejected}


def drop_folder() -> Path:
    return config.artifacts_dir() / "requests"


def parse_request_file(path: Path) -> tuple[str, str | None, dict | None]:
    """(text, format, metadata) from a drop-folder file, or ``InputError`` naming the problem."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path.name}: {size:,} bytes is too large for a request (limit {MAX_FILE_BYTES:,}); "
                         "one request per file, in plain words.")
    raw = path.read_bytes()
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8.") from None
    if path.suffix.lower() == ".txt":
        if not body.strip():
            raise InputError(f"{path.name}: the file is empty; write the request in it, e.g. "
                             "'Calculate DSCR for all properties and export to Excel'.")
        return body, None, None
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); "
                         "expected an object like {\"request\": \"...\", \"format\": \"xlsx\"}.") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path.name}: the JSON is a {type(doc).__name__}, not an object; "
                         "expected {\"request\": \"...\"}.")
    text = doc.get("request", doc.get("text"))
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{path.name}: field 'request' is missing or not a non-empty string; "
                         "expected {\"request\": \"...\"}.")
    fmt = doc.get("format")
    if fmt is not None and not isinstance(fmt, str):
        raise InputError(f"{path.name}: field 'format' must be one of csv, xlsx, pdf, json (a string).")
    meta = doc.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise InputError(f"{path.name}: field 'metadata' must be an object.")
    unknown = sorted(set(doc) - {"request", "text", "format", "metadata"})
    if unknown:
        raise InputError(f"{path.name}: unknown field(s) {', '.join(unknown)}; allowed: request, format, metadata.")
    return text, fmt, meta


def scan_drop_folder(engine: sa.Engine, folder: Path | None = None, limit: int = 100) -> IntakeReport:
    """Record every request file in ``folder`` (not its subfolders); move each one out."""
    folder = folder or drop_folder()
    report = IntakeReport()
    if not folder.is_dir():
        return report
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))[:limit]
    for path in files:
        try:
            if path.suffix.lower() not in ACCEPTED_SUFFIXES:
                raise InputError(f"{path.name}: only .txt and .json request files are read; rename it or "
                                 "write the request as text.")
            text, fmt, meta = parse_request_file(path)
            digest = hashlib.sha256(path.name.encode() + b"\0" + path.read_bytes()).hexdigest()
            with engine.begin() as conn:
                existing = _existing(conn, path.name, digest)
                row = existing or repo.submit_request(
                    conn, text, source="drop_folder", output_format=fmt, source_ref=path.name,
                    metadata={**(meta or {}), "sha256": digest}, request_id=repo.new_request_id(seed=digest))
            _move(path, folder / "processed", f"{row['request_id']}-{path.name}")
            report.accepted.append({"request_id": row["request_id"], "file": path.name})
        except InputError as exc:
            reason = str(exc)
            try:
                record = path.read_text(encoding="utf-8", errors="replace")[:4000]
            except OSError:
                record = ""
            with engine.begin() as conn:
                quarantine.add(conn, [quarantine.Rejected(kind="script_request", source=f"drop_folder:{path.name}",
                                                          reason=reason, record=record)])
            target = _move(path, folder / "rejected", path.name)
            target.with_name(target.name + ".error.txt").write_text(reason + "\n", encoding="utf-8")
            report.rejected.append({"file": path.name, "reason": reason})
    return report


def _existing(conn: sa.Connection, name: str, digest: str) -> dict | None:
    rid = None
    for row in conn.execute(sa.select(script_requests.c.request_id, script_requests.c.metadata)
                            .where(script_requests.c.source == "drop_folder",
                                   script_requests.c.source_ref == name)).mappings():
        if (row["metadata"] or {}).get("sha256") == digest:
            rid = row["request_id"]
    return repo.get_request(conn, rid) if rid else None


def _move(path: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    n = 1
    while target.exists():
        target = folder / f"{Path(name).stem}.{n}{Path(name).suffix}"
        n += 1
    shutil.move(str(path), target)
    return target
