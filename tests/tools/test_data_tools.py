"""Data tools: transform, filter, aggregate, and exports that are real files, only in results."""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from meta_agent.tools import ToolInputError, ToolPathError, call_tool, get_tool
from meta_agent.tools.data import evaluate

ROWS = [
    {"property_id": "P-001", "property_type": "office", "noi": 900_000.0, "debt_service": 600_000.0, "city": "Austin"},
    {"property_id": "P-002", "property_type": "retail", "noi": 400_000.0, "debt_service": 380_000.0, "city": "Denver"},
    {"property_id": "P-003", "property_type": "office", "noi": 1_500_000.0, "debt_service": 0.0, "city": "Austin"},
    {"property_id": "P-004", "property_type": "hotel", "noi": 2_000_000.0, "debt_service": 1_700_000.0, "city": "Miami"},
]


# ------------------------------------------------------------------------ transform


def test_transform_compute_sort_round_select():
    with pytest.warns(UserWarning, match="1 value"):
        out = call_tool("transform_data", data=ROWS, operations=[
            {"op": "compute", "column": "dscr", "expression": "noi / debt_service"},
            {"op": "sort", "by": "dscr", "descending": True},
            {"op": "round", "columns": ["dscr"], "decimals": 3},
            {"op": "select", "columns": ["property_id", "dscr"]},
        ])
    assert [r["property_id"] for r in out] == ["P-001", "P-004", "P-002", "P-003"]  # NaN (no debt) last
    assert out[0]["dscr"] == 1.5 and out[1]["dscr"] == round(2.0 / 1.7, 3) and np.isnan(out[3]["dscr"])
    assert list(out[0]) == ["property_id", "dscr"]


def test_transform_rename_drop_limit_fill_and_dataframe_input():
    out = call_tool("transform_data", data=pd.DataFrame(ROWS), operations=[
        {"op": "rename", "columns": {"noi": "net_operating_income"}},
        {"op": "drop", "columns": ["city"]},
        {"op": "compute", "column": "half", "expression": "max(net_operating_income / 2, 500000)"},
        {"op": "limit", "n": 2},
    ])
    assert len(out) == 2 and "city" not in out[0] and out[0]["half"] == 500_000.0 and out[1]["half"] == 500_000.0
    filled = call_tool("transform_data", data=[{"a": None}, {"a": 2.0}],
                       operations=[{"op": "fill_missing", "value": 0}])
    assert [r["a"] for r in filled] == [0.0, 2.0]


@pytest.mark.parametrize(
    ("operations", "fragment"),
    [
        ([{"op": "select", "columns": ["nope"]}], "no column 'nope'"),
        ([{"op": "compute", "column": "x", "expression": "__import__('os').system('id')"}], "is not allowed"),
        ([{"op": "compute", "column": "x", "expression": "noi.__class__"}], "is not allowed"),
        ([{"op": "compute", "column": "x", "expression": "open('/etc/passwd')"}], "is not allowed"),
        ([{"op": "compute", "column": "x", "expression": "noi[0]"}], "is not allowed"),
        ([{"op": "compute", "column": "x", "expression": "'a' * 10"}], "is not allowed"),
        ([{"op": "compute", "column": "x", "expression": "noi +"}], "not a valid expression"),
        ([{"op": "compute", "column": "x", "expression": "nio * 2"}], "no column 'nio'"),
        ([{"op": "compute", "column": "x"}], "needs 'column' and 'expression'"),
        ([{"op": "explode"}], "is not one of"),
        ([], "should be non-empty"),
    ],
)
def test_transform_bad_operations(operations, fragment):
    with pytest.raises(ToolInputError) as exc:
        call_tool("transform_data", data=ROWS, operations=operations)
    assert any(fragment in e for e in exc.value.errors), exc.value.errors


def test_evaluate_is_vectorized_arithmetic_only():
    frame = pd.DataFrame({"a": [1.0, 4.0], "b": [2.0, 0.0]})
    assert evaluate("sqrt(a) + b ** 2 - -1", frame).tolist() == [6.0, 3.0]
    assert evaluate("a > b", frame).tolist() == [False, True]
    with pytest.raises(ValueError):
        evaluate("(lambda: 1)()", frame)


# --------------------------------------------------------------------------- filter


def test_filter_conditions():
    low = call_tool("filter_data", data=ROWS, conditions=[{"column": "debt_service", "op": ">", "value": 0},
                                                          {"column": "noi", "op": "<", "value": 1_000_000}])
    assert [r["property_id"] for r in low] == ["P-001", "P-002"]
    anyof = call_tool("filter_data", data=ROWS, match="any", conditions=[
        {"column": "property_type", "op": "in", "value": ["hotel"]}, {"column": "city", "op": "contains", "value": "den"}])
    assert [r["property_id"] for r in anyof] == ["P-002", "P-004"]
    between = call_tool("filter_data", data=ROWS, conditions=[{"column": "noi", "op": "between", "value": [4e5, 9e5]}])
    assert len(between) == 2
    assert call_tool("filter_data", data=[], conditions=[{"column": "x", "op": "is_null"}]) == []


@pytest.mark.parametrize(
    ("conditions", "fragment"),
    [
        ([{"column": "colour", "op": "==", "value": 1}], "no column 'colour'"),
        ([{"column": "noi", "op": "~", "value": 1}], "is not one of"),
        ([{"column": "noi", "op": "between", "value": 5}], "needs [low, high]"),
        ([{"column": "noi", "op": "in", "value": 5}], "needs a list"),
        ([{"column": "noi", "op": "<", "value": "abc"}], "cannot compare"),
        ([{"column": "noi", "op": "<"}], "needs a single value"),
    ],
)
def test_filter_bad_conditions(conditions, fragment):
    with pytest.raises(ToolInputError) as exc:
        call_tool("filter_data", data=ROWS, conditions=conditions)
    assert any(fragment in e for e in exc.value.errors), exc.value.errors


def test_tables_must_be_rows():
    with pytest.raises(ToolInputError, match="row 1 is a int"):
        call_tool("filter_data", data=[{"a": 1}, 5], conditions=[{"column": "a", "op": "is_null"}])
    with pytest.raises(ToolInputError, match="must be a list of row objects"):
        call_tool("filter_data", data="a,b\n1,2", conditions=[{"column": "a", "op": "is_null"}])


# ------------------------------------------------------------------------ aggregate


def test_aggregate_metrics_against_pandas():
    out = call_tool("aggregate_metrics", data=ROWS, metrics={"noi": ["sum", "avg", "median"], "property_id": "count"},
                    group_by="property_type")
    frame = pd.DataFrame(ROWS)
    ref = frame.groupby("property_type").agg(noi_sum=("noi", "sum"), noi_avg=("noi", "mean"),
                                             noi_median=("noi", "median"), property_id_count=("property_id", "count"))
    assert pd.DataFrame(out).set_index("property_type").to_dict() == ref.to_dict()
    overall = call_tool("aggregate_metrics", data=ROWS, metrics={"noi": ["min", "max", "std"]})
    assert overall == [{"noi_min": 400_000.0, "noi_max": 2_000_000.0, "noi_std": pytest.approx(frame["noi"].std())}]
    with pytest.raises(ToolInputError, match="needs a numeric column"):
        call_tool("aggregate_metrics", data=ROWS, metrics={"city": "sum"})
    with pytest.raises(ToolInputError, match="no column 'kind'"):
        call_tool("aggregate_metrics", data=ROWS, metrics={"noi": "sum"}, group_by="kind")


# -------------------------------------------------------------------------- exports


@pytest.fixture
def results(tmp_path, monkeypatch) -> Path:
    """The run's results directory, as the sandbox sets it (META_AGENT_RESULTS_DIR)."""
    out = tmp_path / "results"
    out.mkdir()
    monkeypatch.setenv("META_AGENT_RESULTS_DIR", str(out))
    return out


def test_csv_export_reads_back_with_pandas(results):
    name = call_tool("export_to_csv", data=ROWS, path="dscr.csv")
    assert name == "dscr.csv" and sorted(p.name for p in results.iterdir()) == ["dscr.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(results / name), pd.DataFrame(ROWS))
    only = call_tool("export_to_csv", data=ROWS, path=Path("ids.csv"), columns=["property_id"])
    assert only == "ids.csv" and pd.read_csv(results / only).columns.tolist() == ["property_id"]
    call_tool("export_to_csv", data=ROWS[:1], path="dscr.csv")  # rewriting a file truncates it
    assert len(pd.read_csv(results / "dscr.csv")) == 1


def test_excel_export_reads_back_with_openpyxl(results):
    rows = [{**r, "dscr": (r["noi"] / r["debt_service"]) if r["debt_service"] else float("nan")} for r in ROWS]
    name = call_tool("export_to_excel", data=rows, path="dscr.xlsx", sheet_name="DSCR", sheets={"Below 1.25": rows[1:2]})
    assert name == "dscr.xlsx"
    path = results / name
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["DSCR", "Below 1.25"]
    ws = wb["DSCR"]
    assert [c.value for c in ws[1]] == list(rows[0])
    assert ws["A2"].value == "P-001" and ws["F2"].value == pytest.approx(1.5) and ws["F2"].number_format == "0.00"
    assert ws["F4"].value is None  # NaN is an empty cell, not a broken number
    assert ws.max_row == 5 and ws.freeze_panes == "A2"
    assert wb["Below 1.25"]["A2"].value == "P-002"
    pd.testing.assert_frame_equal(pd.read_excel(path, sheet_name="DSCR")[["property_id", "noi"]],
                                  pd.DataFrame(rows)[["property_id", "noi"]], check_dtype=False)


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


def test_pdf_export_is_a_real_pdf_with_title_table_and_chart(results):
    many = [{"property_id": f"P-{i:03d}", "dscr": 1 + i / 50} for i in range(1, 81)]
    name = call_tool("export_to_pdf", data=many, path="report.pdf",
                     title="DSCR — every property (2024)", notes=["DSCR = NOI / debt service."],
                     chart={"x": "property_id", "y": "dscr", "reference_line": 1.25})
    assert name == "report.pdf"
    data = (results / name).read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert _pdf_pages(data) >= 2  # 80 table rows do not fit on one page with the chart
    assert b"/Subtype /Image" in data  # the chart
    title = re.search(rb"/Title <([0-9a-fA-F]+)>", data)  # the info dict, UTF-16 hex
    assert title and bytes.fromhex(title.group(1).decode()).decode("utf-16") == "DSCR — every property (2024)"
    streams = [zlib.decompress(m) for m in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)
               if m[:1] == b"x"]
    assert any(b" re" in s or b" l" in s for s in streams)  # drawn table rules/cells


def test_pdf_export_with_several_notes_and_a_long_title(results):
    """fpdf2 leaves the cursor at the right margin after a paragraph; each must start at the left."""
    notes = ["DSCR = NOI / debt service.", "Properties below 1.25 breach the covenant.", "Source: portfolio DB."]
    name = call_tool("export_to_pdf", data=ROWS, path="notes.pdf",
                     title="A title long enough to wrap onto a second line of the page " * 2, notes=notes)
    assert (results / name).read_bytes().startswith(b"%PDF-")


def test_pdf_export_without_numbers_has_no_chart_and_bad_chart_is_named(results):
    name = call_tool("export_to_pdf", data=[{"name": "a"}, {"name": "b"}], path="names.pdf", title="Names")
    data = (results / name).read_bytes()
    assert data.startswith(b"%PDF-") and b"/Subtype /Image" not in data
    with pytest.raises(ToolInputError, match="chart"):
        call_tool("export_to_pdf", data=ROWS, path="x.pdf", title="t", chart={"y": "city"})
    with pytest.raises(ToolInputError, match="title"):
        call_tool("export_to_pdf", data=ROWS, path="x.pdf")
    assert not (results / "x.pdf").exists()


@pytest.mark.parametrize("path", ["../escape.csv", "/etc/passwd.csv", "a/../../b.csv", "sub/../../../tmp/x.csv",
                                  "out/dscr.csv"])
def test_exports_refuse_anything_but_a_bare_file_name(results, path):
    with pytest.raises(ToolPathError, match="must be a bare file name") as exc:
        call_tool("export_to_csv", data=ROWS, path=path)
    assert exc.value.tool == "export_to_csv" and exc.value.errors[0].startswith("path: ")
    assert len(exc.value.errors) == 1  # explained once, not again as a schema pattern mismatch
    assert list(results.parent.rglob("*.csv")) == []


def test_exports_refuse_symlinks_pointing_out_and_wrong_extensions(results):
    outside = results.parent / "outside"
    outside.mkdir()
    (results / "link.xlsx").symlink_to(outside / "x.xlsx")
    with pytest.raises(ToolPathError, match="is a symlink"):
        call_tool("export_to_excel", data=ROWS, path="link.xlsx")
    with pytest.raises(ToolPathError, match="must end with .pdf"):
        call_tool("export_to_pdf", data=ROWS, path="report.exe", title="t")
    with pytest.raises(ToolPathError, match="must end with .csv"):
        call_tool("export_to_csv", data=ROWS, path="ids")
    assert list(outside.iterdir()) == []


def test_results_dir_comes_from_the_sandbox_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("META_AGENT_RESULTS_DIR", raising=False)
    with pytest.raises(ToolPathError, match="META_AGENT_RESULTS_DIR is not set"):
        call_tool("export_to_csv", data=ROWS, path="x.csv")
    monkeypatch.setenv("META_AGENT_RESULTS_DIR", str(tmp_path))
    assert call_tool("export_to_csv", data=ROWS, path="x.csv") == "x.csv"
    assert os.path.exists(tmp_path / "x.csv")


@pytest.mark.parametrize("tool", ["export_to_csv", "export_to_excel", "export_to_pdf"])
@pytest.mark.parametrize("extra", ["results_dir", "root", "base_dir"])
def test_exports_take_no_directory_argument(results, tmp_path, tool, extra):
    ext = {"export_to_csv": ".csv", "export_to_excel": ".xlsx", "export_to_pdf": ".pdf"}[tool]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    kwargs = {"data": ROWS, "path": "x" + ext, extra: str(elsewhere)} | ({"title": "t"} if tool == "export_to_pdf" else {})
    with pytest.raises(ToolInputError) as exc:
        call_tool(tool, **kwargs)
    assert any(e.startswith(f"{extra}: is not an argument of {tool}") for e in exc.value.errors), exc.value.errors
    assert list(elsewhere.iterdir()) == [] and list(results.iterdir()) == []
    assert extra not in get_tool(tool).parameters["properties"]
