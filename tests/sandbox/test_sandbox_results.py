"""Results collection: formats, result.json, key figures, previews, artifacts and DB rows."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from meta_agent.sandbox import RunLimits
from meta_agent.sandbox.base import RunResult
from meta_agent.sandbox.results import (
    key_figures,
    list_outputs,
    preview_markdown,
    read_result_json,
    summarize,
)


def make_outputs(d: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from fpdf import FPDF
    from openpyxl import Workbook

    d.mkdir(parents=True, exist_ok=True)
    with open(d / "dscr.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["property", "noi", "debt_service", "dscr"])
        for i in range(15):
            w.writerow([f"P{i}", 1000 + i, 800, round((1000 + i) / 800, 4)])
    wb = Workbook()
    ws = wb.active
    ws.append(["property", "dscr"])
    ws.append(["P1", 1.25])
    ws.append(["P2", 0.95])
    wb.save(d / "report.xlsx")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="DSCR report")
    pdf.output(str(d / "report.pdf"))
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    fig.savefig(d / "chart.png")
    plt.close(fig)
    (d / "result.json").write_text(json.dumps({"figures": {"avg_dscr": 1.1, "properties": 15},
                                               "outputs": ["dscr.csv"]}))
    (d / "notes.txt").write_text("hello")
    (d / "fake.pdf").write_text("not a pdf")


def test_formats_are_detected_by_content_and_extension(tmp_path):
    make_outputs(tmp_path)
    formats = {o.path: o.format for o in list_outputs(tmp_path)}
    assert formats == {"chart.png": "png", "dscr.csv": "csv", "fake.pdf": "other", "notes.txt": "txt",
                       "report.pdf": "pdf", "report.xlsx": "xlsx", "result.json": "json"}


def test_symlinks_and_fifos_in_results_are_never_followed(tmp_path):
    (tmp_path / "ok.csv").write_text("a\n1\n")
    (tmp_path / "passwd.csv").symlink_to("/etc/passwd")
    (tmp_path / "result.json").symlink_to("/etc/hostname")
    os.mkfifo(tmp_path / "pipe.csv")
    outs = list_outputs(tmp_path)
    assert [o.path for o in outs] == ["ok.csv"]
    doc, note = read_result_json(tmp_path)
    assert doc is None and "not a regular file" in note
    assert preview_markdown(tmp_path / "passwd.csv") == ""


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
])
def test_malformed_result_json_becomes_a_note(tmp_path, content, fragment):
    (tmp_path / "result.json").write_text(content)
    doc, note = read_result_json(tmp_path)
    assert doc is None and fragment in note


def test_key_figures_prefer_the_figures_block_and_flatten():
    assert key_figures({"figures": {"avg_dscr": 1.1, "by": {"min": 0.9, "max": 1.3}, "nan": float("nan")},
                        "x": 5}) == {"avg_dscr": 1.1, "by.min": 0.9, "by.max": 1.3}
    assert key_figures({"total": 3, "label": "ok", "rows": [1, 2]}) == {"total": 3, "label": "ok"}
    assert key_figures(None) == {}


def test_previews_of_csv_and_xlsx(tmp_path):
    make_outputs(tmp_path)
    md = preview_markdown(tmp_path / "dscr.csv", max_rows=5)
    lines = md.splitlines()
    assert lines[0] == "| property | noi | debt_service | dscr |"
    assert lines[2] == "| P0 | 1000 | 800 | 1.25 |" and len([ln for ln in lines if ln.startswith("| P")]) == 5
    xl = preview_markdown(tmp_path / "report.xlsx")
    assert xl.splitlines()[0] == "| property | dscr |" and "| P2 | 0.95 |" in xl
    assert preview_markdown(tmp_path / "chart.png") == ""


def _fake_result(results_dir: Path, run_id: str = "abc123def456") -> RunResult:
    outs = list_outputs(results_dir)
    doc, _ = read_result_json(results_dir)
    return RunResult(status="succeeded", exit_code=0, duration_s=0.5, peak_memory_mb=30.0, stdout="", stderr="",
                     outputs=outs, runner="local:bwrap", results_dir=str(results_dir), message="ok",
                     result_json=doc, isolation="local", run_id=run_id,
                     details={"script_sha256": "0" * 64, "started_at": "2026-11-22T10:00:00+00:00",
                              "limits": RunLimits().__dict__})


def test_summarize_gives_the_asset_metadata(tmp_path):
    make_outputs(tmp_path)
    s = summarize(_fake_result(tmp_path))
    assert s.figures == {"avg_dscr": 1.1, "properties": 15}
    assert set(s.previews) == {"dscr.csv", "report.xlsx"}
    assert "| report.pdf | pdf |" in s.outputs_markdown


def test_keep_run_stores_artifacts_and_rows_idempotently(migrated_url, tmp_path, monkeypatch):
    from meta_agent.sandbox.records import keep_run, recent_runs, run_artifacts
    from meta_agent.store.engine import engine_for
    from meta_agent.store.schema_sandbox import sandbox_artifacts, sandbox_runs

    monkeypatch.setenv("META_AGENT_ARTIFACTS", str(tmp_path / "artifacts"))
    src = tmp_path / "out"
    make_outputs(src)
    res = _fake_result(src)
    kept = keep_run(migrated_url, res, request_id="req-1")
    dest = tmp_path / "artifacts" / "sandbox" / res.run_id
    assert res.results_dir == str(dest) and (dest / "dscr.csv").is_file() and not src.exists()
    assert kept["figures"] == {"avg_dscr": 1.1, "properties": 15}
    keep_run(migrated_url, res, request_id="req-1")  # again: replaces, never duplicates
    eng = engine_for(migrated_url)
    with eng.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sandbox_runs)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(sandbox_artifacts)).scalar() == 7
    arts = {a["path"]: a for a in run_artifacts(migrated_url, res.run_id)}
    import hashlib

    assert arts["dscr.csv"]["sha256"] == hashlib.sha256((dest / "dscr.csv").read_bytes()).hexdigest()
    assert arts["dscr.csv"]["artifact_path"] == str(dest / "dscr.csv")
    assert arts["dscr.csv"]["preview_md"].startswith("| property |")
    assert arts["chart.png"]["preview_md"] is None
    row = recent_runs(migrated_url)[0]
    assert row["request_id"] == "req-1" and row["isolation"] == "local" and row["status"] == "succeeded"


def test_a_real_run_end_to_end_through_the_local_runner(tmp_path, ops_env):
    """A script writes csv + result.json; the runner lists and parses them; keep_run records it."""
    from meta_agent.sandbox.local import LocalRunner
    from meta_agent.sandbox.records import keep_run

    src = (
        "import csv, json, os\n"
        "p = json.load(open(os.environ['META_AGENT_PARAMS']))\n"
        "out = os.environ['META_AGENT_RESULTS_DIR']\n"
        "rows = [(f'P{i}', 1000 + i, p['debt']) for i in range(3)]\n"
        "with open(os.path.join(out, 'dscr.csv'), 'w', newline='') as fh:\n"
        "    w = csv.writer(fh); w.writerow(['property', 'noi', 'debt']); w.writerows(rows)\n"
        "json.dump({'figures': {'min_dscr': min(r[1] / r[2] for r in rows)}}, open(os.path.join(out, 'result.json'), 'w'))\n"
    )
    res = LocalRunner().run(src, {"debt": 800}, RunLimits(timeout_s=60), allow_weak_isolation=True)
    assert res.ok, res.message
    assert {o.path: o.format for o in res.outputs} == {"dscr.csv": "csv", "result.json": "json"}
    assert res.result_json == {"figures": {"min_dscr": 1000 / 800}}
    kept = keep_run(ops_env, res)
    assert len(kept["artifacts"]) == 2 and Path(kept["artifacts"][0]["artifact_path"]).is_file()

