"""Results collection: what a run wrote, in which formats, its result.json, key figures and
a preview of tabular outputs — the helpers the script-factory asset calls for its metadata.

Everything here treats the results directory as untrusted (the script wrote it): symlinks,
FIFOs and devices are never opened or followed, sizes are bounded, and parsing failures
become notes, not exceptions.
"""

from __future__ import annotations

import csv
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meta_agent.reporting import markdown_table
from meta_agent.sandbox.base import RESULT_JSON, OutputFile, RunResult

MAX_RESULT_JSON_BYTES = 1024 * 1024
MAX_FILES = 1000
FORMATS = ("csv", "xlsx", "pdf", "json", "png", "txt", "md", "html", "parquet")
_EXT = {".csv": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".pdf": "pdf", ".json": "json",
        ".png": "png", ".txt": "txt", ".log": "txt", ".md": "md", ".html": "html", ".htm": "html",
        ".parquet": "parquet"}


def detect_format(path: Path) -> str:
    """The format by content where it has a signature (pdf, png, xlsx, parquet), else by
    extension; a file whose content contradicts its extension is reported as ``other``."""
    ext = _EXT.get(path.suffix.lower(), "other")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return "other"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx" if ext == "xlsx" else "other"
    if ext in ("pdf", "png", "xlsx", "parquet"):
        return "other"  # the extension promises a signature the content does not have
    return ext


def list_outputs(results_dir: str | Path) -> list[OutputFile]:
    """Regular files under ``results_dir`` (symlinks and special files are skipped), sorted."""
    root = Path(results_dir)
    out: list[OutputFile] = []
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            try:
                st = p.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            out.append(OutputFile(path=str(p.relative_to(root)), size_bytes=st.st_size, format=detect_format(p)))
            if len(out) >= MAX_FILES:
                return out
    return out


def read_result_json(results_dir: str | Path) -> tuple[dict[str, Any] | None, str]:
    """``(parsed result.json, note)``; the note says why it is missing or unreadable."""
    p = Path(results_dir) / RESULT_JSON
    try:
        st = p.lstat()
    except FileNotFoundError:
        return None, f"the script wrote no {RESULT_JSON}"
    if not stat.S_ISREG(st.st_mode):
        return None, f"{RESULT_JSON} is not a regular file (ignored)"
    if st.st_size > MAX_RESULT_JSON_BYTES:
        return None, f"{RESULT_JSON} is {st.st_size:,} bytes, over the {MAX_RESULT_JSON_BYTES:,} byte limit"
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"{RESULT_JSON} is not valid JSON ({exc})"
    if not isinstance(doc, dict):
        return None, f"{RESULT_JSON} must hold a JSON object, found {type(doc).__name__}"
    return doc, ""


def complete(result: RunResult) -> RunResult:
    """Fill ``outputs`` and ``result_json`` from the results directory (runners call this)."""
    if result.results_dir:
        result.outputs = list_outputs(result.results_dir)
        doc, note = read_result_json(result.results_dir)
        result.result_json = doc
        if note:
            result.details["result_json_note"] = note
        if result.status == "succeeded" and result.outputs:
            n = len(result.outputs)
            result.message = result.message.rstrip(".") + f"; it wrote {n} file{'s' if n != 1 else ''}."
    return result


# --------------------------------------------------------------------------- key figures
def key_figures(result_json: dict[str, Any] | None, limit: int = 20) -> dict[str, float | int | str | bool]:
    """Scalar figures a person wants in the asset metadata.

    Looks in ``result_json["figures"]`` / ``["key_figures"]`` / ``["metrics"]`` / ``["summary"]``
    first, then top-level scalars; nested objects are flattened with dotted keys.
    """
    if not result_json:
        return {}
    source: dict[str, Any] | None = None
    for key in ("figures", "key_figures", "metrics", "summary"):
        if isinstance(result_json.get(key), dict):
            source = result_json[key]
            break
    if source is None:
        source = {k: v for k, v in result_json.items() if k not in ("outputs", "files", "rows", "data")}
    out: dict[str, float | int | str | bool] = {}

    def walk(prefix: str, value: Any, depth: int) -> None:
        if len(out) >= limit:
            return
        if isinstance(value, bool) or isinstance(value, int):
            out[prefix] = value
        elif isinstance(value, float):
            if math.isfinite(value):
                out[prefix] = value
        elif isinstance(value, str):
            if len(value) <= 200:
                out[prefix] = value
        elif isinstance(value, dict) and depth < 2:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v, depth + 1)

    for k, v in source.items():
        walk(str(k), v, 0)
    return out


# --------------------------------------------------------------------------- previews
def preview_rows(path: str | Path, max_rows: int = 10) -> tuple[list[str], list[dict[str, Any]]]:
    """The first rows of a csv or xlsx file as ``(columns, rows)``; never loads the whole file."""
    p = Path(path)
    if p.is_symlink() or not p.is_file():
        return [], []
    fmt = detect_format(p)
    if fmt == "csv":
        delimiter = "\t" if p.suffix.lower() == ".tsv" else ","
        with open(p, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, [])
            rows = []
            for i, row in enumerate(reader):
                if i >= max_rows:
                    break
                rows.append(dict(zip(header, row, strict=False)))
        return header, rows
    if fmt == "xlsx":
        from openpyxl import load_workbook  # local: ~0.2 s to import; only Excel previews need it

        wb = load_workbook(p, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            it = ws.iter_rows(values_only=True)
            header = [str(h) if h is not None else f"col{i + 1}" for i, h in enumerate(next(it, ()))]
            rows = []
            for i, row in enumerate(it):
                if i >= max_rows:
                    break
                rows.append(dict(zip(header, row, strict=False)))
            return header, rows
        finally:
            wb.close()
    return [], []


def preview_markdown(path: str | Path, max_rows: int = 10) -> str:
    """A markdown table of the first rows of a tabular output ('' for other formats)."""
    try:
        columns, rows = preview_rows(path, max_rows)
    except Exception as exc:  # noqa: BLE001 — a corrupt output is reported, not raised
        return f"_could not preview {Path(path).name}: {type(exc).__name__}: {exc}_"
    if not columns:
        return ""
    return markdown_table(rows, columns, max_rows=max_rows)


@dataclass
class RunSummary:
    """What an asset puts in its metadata for one run."""

    status: str
    message: str
    runner: str
    isolation: str
    duration_s: float
    peak_memory_mb: float | None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    previews: dict[str, str] = field(default_factory=dict)  # output path -> markdown table
    outputs_markdown: str = ""


def summarize(result: RunResult, max_previews: int = 3, preview_rows_n: int = 10) -> RunSummary:
    """Outputs with formats, key figures and markdown previews of tabular outputs."""
    outputs = [{"path": o.path, "format": o.format, "size_bytes": o.size_bytes} for o in result.outputs]
    previews: dict[str, str] = {}
    for o in result.outputs:
        if len(previews) >= max_previews:
            break
        if o.format in ("csv", "xlsx"):
            md = preview_markdown(Path(result.results_dir) / o.path, preview_rows_n)
            if md:
                previews[o.path] = md
    return RunSummary(
        status=result.status, message=result.message, runner=result.runner, isolation=result.isolation,
        duration_s=result.duration_s, peak_memory_mb=result.peak_memory_mb, outputs=outputs,
        figures=key_figures(result.result_json), previews=previews,
        outputs_markdown=markdown_table(outputs, ["path", "format", "size_bytes"]) if outputs else "_no outputs_",
    )
