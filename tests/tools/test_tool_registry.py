"""The registry and the calling convention generated scripts use."""

from __future__ import annotations

import jsonschema
import pytest

import meta_agent.tools as tools
from meta_agent.tools import BaseTool, ToolInputError, ToolRegistry, call_tool, default_registry

REQUIRED = {
    "database": {"query_database", "fetch_property_data", "fetch_financial_data", "batch_query", "aggregate_data"},
    "calculation": {"calculate_dscr", "calculate_cap_rate", "calculate_irr", "calculate_npv", "calculate_roi",
                    "financial_ratios"},
    "data": {"transform_data", "filter_data", "aggregate_metrics", "export_to_csv", "export_to_excel",
             "export_to_pdf"},
}


def test_default_registry_has_every_required_tool_by_category():
    reg = default_registry()
    assert len(reg.names()) >= 15
    for category, names in REQUIRED.items():
        assert names <= {t.name for t in reg.list(category)}, category
    assert default_registry() is not reg  # fresh each time: callers may register more


@pytest.mark.parametrize("tool", default_registry().list(), ids=lambda t: t.name)
def test_every_tool_has_a_valid_contract(tool: BaseTool):
    jsonschema.Draft202012Validator.check_schema(tool.parameters)
    assert tool.parameters["type"] == "object" and tool.parameters.get("additionalProperties") is False
    assert tool.description and tool.returns.get("description")
    schema = tool.get_schema()
    assert schema["function"]["name"] == tool.name and schema["category"] == tool.category
    doc = tool.render_doc()
    assert doc.startswith(f"{tool.name}(") and "returns:" in doc
    with pytest.raises(ToolInputError, match="'bogus' was unexpected"):
        tool(bogus=1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("debt service coverage ratio", "calculate_dscr"),
        ("DSCR", "calculate_dscr"),
        ("internal rate of return", "calculate_irr"),
        ("net present value at a discount rate", "calculate_npv"),
        ("cap rate", "calculate_cap_rate"),
        ("return on investment", "calculate_roi"),
        ("loan to value and debt yield", "financial_ratios"),
        ("export to excel spreadsheet", "export_to_excel"),
        ("save as csv", "export_to_csv"),
        ("pdf report with a chart", "export_to_pdf"),
        ("keep rows below a threshold", "filter_data"),
        ("run a sql select query", "query_database"),
        ("yearly net operating income and expenses", "fetch_financial_data"),
        ("list the properties in the portfolio", "fetch_property_data"),
        ("monthly mortgage payment amortization", "calculate_loan_payment"),
    ],
)
def test_search_by_meaning_ranks_the_right_tool_first(query, expected):
    matches = default_registry().search(query, k=3)
    assert matches and matches[0].name == expected, [m.name for m in matches]


def test_search_with_no_overlap_returns_nothing():
    assert default_registry().search("zebra giraffe", k=3) == []


def test_call_tool_and_module_attributes():
    assert call_tool("calculate_cap_rate", noi=5, property_value=100) == pytest.approx(0.05)
    from meta_agent.tools import calculate_cap_rate  # each registered tool is importable

    assert calculate_cap_rate(noi=5, property_value=100) == pytest.approx(0.05)
    with pytest.raises(KeyError, match="registered tools: aggregate_data"):
        call_tool("calculate_magic", x=1)
    with pytest.raises(AttributeError):
        tools.calculate_magic  # noqa: B018
    with pytest.raises(TypeError):
        call_tool("calculate_cap_rate", 5, 100)  # keyword arguments only


def test_registry_register_get_and_docs():
    reg = ToolRegistry()
    tool = default_registry().get("calculate_dscr")
    reg.register(tool)
    with pytest.raises(ValueError, match="already registered"):
        reg.register(tool)
    assert "calculate_dscr" in reg and reg.get("calculate_dscr") is tool
    assert reg.render_docs().startswith("calculate_dscr(noi, debt_service")


def test_the_calling_convention_is_documented_where_script_generation_reads_it():
    doc = tools.__doc__
    # the script language (eb39744): scripts import only from this package and call tools one way
    assert "meta_agent.tools.language" in doc and "``call_tool``" in doc and 'call_tool("calculate_dscr"' in doc
    assert 'path="dscr.xlsx"' in doc and "bare file name" in doc  # exports by name, no directories
