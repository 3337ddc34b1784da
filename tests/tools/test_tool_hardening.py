"""Tools that cannot be turned (issue #9): each hole a red team used, closed, on real files and
real databases (SQLite and PostgreSQL).

- exports: no directory argument, bare names only, no following symlinks/hard links;
- transform_data expressions: bounded exponents, integers, length, depth and size;
- SQL: an allowlist of functions, no recursion, no value-growing calls, bounded cells and results.
"""

from __future__ import annotations

import os
import sqlite3
import time

import pytest
import sqlalchemy as sa
from sql_corpus import AMPLIFIERS

from meta_agent.portfolio import db as pdb
from meta_agent.tools import (
    ToolInputError,
    ToolPathError,
    call_tool,
    default_registry,
    get_tool,
)
from meta_agent.tools import database as dbt
from meta_agent.tools.data import MAX_EXPRESSION_CHARS, evaluate
from meta_agent.tools.sqlguard import MAX_CONCATENATIONS, SQLRefused, check_select

TABLES = frozenset({"properties", "loans", "financials", "cash_flows"})
ROWS = [{"property_id": "P-001", "noi": 900_000.0, "debt_service": 600_000.0, "city": "Austin"},
        {"property_id": "P-002", "noi": 400_000.0, "debt_service": 380_000.0, "city": "Denver"}]
EXPORTS = {"export_to_csv": ".csv", "export_to_excel": ".xlsx", "export_to_pdf": ".pdf"}




def export(tool: str, name: str, **extra):
    return call_tool(tool, data=ROWS, path=name, **({"title": "t"} if tool == "export_to_pdf" else {}), **extra)


# ------------------------------------------------------------ exports: where they write


@pytest.mark.parametrize("tool", EXPORTS)
def test_a_caller_supplied_results_dir_is_refused_and_nothing_written_there(results, tmp_path, tool):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for spelling in ({"results_dir": str(elsewhere)}, {"root": str(elsewhere)}, {"base_dir": str(elsewhere)}):
        with pytest.raises(ToolInputError) as exc:
            export(tool, "x" + EXPORTS[tool], **spelling)
        (key,) = spelling
        assert any(e.startswith(f"{key}: is not an argument of {tool}") for e in exc.value.errors)
    with pytest.raises(ToolInputError):  # the same through get_tool(...)(...)
        get_tool(tool)(data=ROWS, path="x" + EXPORTS[tool], results_dir=str(elsewhere), title="t")
    assert list(elsewhere.iterdir()) == [] and list(results.iterdir()) == []
    params = get_tool(tool).parameters
    assert set(params["properties"]).isdisjoint({"results_dir", "root", "base_dir"})
    assert params["additionalProperties"] is False


@pytest.mark.parametrize("tool", default_registry().list(), ids=lambda t: t.name)
def test_every_tool_names_an_unknown_argument(tool):
    assert tool.parameters.get("additionalProperties") is False
    result = tool.validate_inputs(results_dir="/etc")
    assert any(e.startswith(f"results_dir: is not an argument of {tool.name}") for e in result.errors), result.errors


@pytest.mark.parametrize("tool", EXPORTS)
def test_exports_refuse_traversal_and_absolute_targets(results, tmp_path, tool):
    ext = EXPORTS[tool]
    for name in (f"../x{ext}", f"/tmp/x{ext}", f"{tmp_path}/x{ext}", f"out/../../x{ext}", f"sub/x{ext}"):
        with pytest.raises(ToolPathError, match="must be a bare file name"):
            export(tool, name)
    assert not list(tmp_path.rglob(f"*{ext}"))


@pytest.mark.parametrize("tool", EXPORTS)
def test_exports_do_not_follow_a_symlink_planted_in_results(results, tmp_path, tool):
    ext = EXPORTS[tool]
    victim = tmp_path / f"victim{ext}"
    victim.write_bytes(b"precious")
    (results / f"out{ext}").symlink_to(victim)
    (results / f"dangling{ext}").symlink_to(tmp_path / f"new{ext}")
    with pytest.raises(ToolPathError, match="is a symlink"):
        export(tool, f"out{ext}")
    with pytest.raises(ToolPathError, match="is a symlink"):
        export(tool, f"dangling{ext}")
    assert victim.read_bytes() == b"precious" and not (tmp_path / f"new{ext}").exists()


@pytest.mark.parametrize("tool", EXPORTS)
def test_exports_do_not_write_through_a_hard_link(results, tmp_path, tool):
    ext = EXPORTS[tool]
    victim = tmp_path / f"victim{ext}"
    victim.write_bytes(b"precious")
    os.link(victim, results / f"out{ext}")
    with pytest.raises(ToolPathError, match="hard links"):
        export(tool, f"out{ext}")
    assert victim.read_bytes() == b"precious"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("tool", EXPORTS)
def test_exports_refuse_a_fifo_without_blocking(results, tool):
    ext = EXPORTS[tool]
    os.mkfifo(results / f"out{ext}")
    with pytest.raises(ToolPathError, match="is a FIFO"):
        export(tool, f"out{ext}")


@pytest.mark.parametrize("tool", EXPORTS)
def test_exports_return_the_bare_name_and_write_only_that_file(results, tool):
    ext = EXPORTS[tool]
    assert export(tool, f"report{ext}") == f"report{ext}"
    assert [p.name for p in results.iterdir()] == [f"report{ext}"] and (results / f"report{ext}").stat().st_size > 0


# ------------------------------------------------------ transform_data expressions


def compute(expression: str, data=ROWS):
    return call_tool("transform_data", data=data, operations=[{"op": "compute", "column": "x",
                                                               "expression": expression}])


@pytest.mark.parametrize(("expression", "fragment"), [
    ("10 ** 10 ** 10", "larger than 1,000"),
    ("9 ** 9 ** 9", "larger than 1,000"),
    ("2 ** 5000", "larger than 1,000"),
    ("16 ** 1000", "more than 4,096 bits"),
    ("3 ** 1000 * 3 ** 1000 * 3 ** 1000", "more than 4,096 bits"),
    ("noi ** 1001", "larger than 1,000"),
    ("debt_service ** -1001", "larger than 1,000"),
    ("noi ** (noi * 0 + 5000)", "larger than 1,000"),
    ("(10 ** 300) * (10 ** 300) * (10 ** 300) * (10 ** 300) * (10 ** 300)", "more than 4,096 bits"),
    ("(10 ** 300) ** 5", "more than 4,096 bits"),
    ("1" * 1300, "more than 4,096 bits"),
    ("10.0 ** 400", "overflows"),
    ("noi + " * 400 + "noi", f"the limit is {MAX_EXPRESSION_CHARS:,}"),
    ("-" * 60 + "noi", "deeper than 50 levels"),
    ("noi < " * 300 + "noi", "more than 500 parts"),
    ("city ** 2", "needs numeric columns"),
])
def test_unbounded_arithmetic_is_refused_before_it_runs(expression, fragment):
    start = time.monotonic()
    with pytest.raises(ToolInputError) as exc:
        compute(expression)
    assert time.monotonic() - start < 2
    assert exc.value.tool == "transform_data"
    assert exc.value.errors[0].startswith("operations.0"), exc.value.errors
    assert fragment in exc.value.errors[0], exc.value.errors


@pytest.mark.parametrize("expression", ["1 << 100000", "noi << 3", "'x' * 1000000000", "[1] * 1000000000",
                                        "(1,) * 10 ** 9", "noi.__class__", "__import__('os')"])
def test_shifts_repetition_and_everything_else_are_not_in_the_language(expression):
    with pytest.raises(ToolInputError, match="is not allowed"):
        compute(expression)


def test_scalar_division_by_zero_is_named():
    with pytest.raises(ToolInputError, match="divides a number by zero"):
        compute("1 / 0")


def test_ordinary_arithmetic_still_works():
    out = compute("(noi - debt_service) / noi * 100")
    assert out[0]["x"] == pytest.approx(100 / 3)
    assert [r["x"] for r in compute("noi ** 2")] == [900_000.0 ** 2, 400_000.0 ** 2]
    assert compute("2 ** 10 + noi")[0]["x"] == 900_000.0 + 1024
    assert compute("max(noi, 10 ** 6)")[0]["x"] == 1_000_000.0
    assert compute("round(sqrt(noi), 1)")[1]["x"] == pytest.approx(632.5)
    assert compute("10 ** 300 // 10 ** 299")[0]["x"] == 10  # big-ish integers within the bound


def test_the_limits_are_checked_at_validation_not_only_at_run_time():
    result = get_tool("transform_data").validate_inputs(
        data=ROWS, operations=[{"op": "compute", "column": "x", "expression": "-" * 80 + "noi"}])
    assert not result.valid and result.errors[0].startswith("operations.0.expression: ")
    with pytest.raises(ValueError, match="deeper than"):
        evaluate("-" * 80 + "noi", None)


# ---------------------------------------------------------------------------- SQL


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
@pytest.mark.parametrize(("query", "reason"), AMPLIFIERS, ids=[q[:48] for q, _ in AMPLIFIERS])
def test_the_guard_refuses_size_amplifiers_and_recursion(query, reason, dialect):
    with pytest.raises(SQLRefused) as exc:
        check_select(query, dialect=dialect, allowed_tables=TABLES)
    assert reason.lower() in str(exc.value).lower()


def test_query_database_refuses_each_amplifier_by_name(portfolio_url):
    for query, reason in AMPLIFIERS:
        with pytest.raises(ToolInputError) as exc:
            call_tool("query_database", query=query)
        assert exc.value.tool == "query_database" and exc.value.errors[0].startswith("query: "), query
        assert reason.lower() in exc.value.errors[0].lower(), (query, exc.value.errors)


def test_the_refusal_names_tool_argument_function_and_allowlist(portfolio_url):
    with pytest.raises(ToolInputError) as exc:
        call_tool("query_database", query="SELECT zeroblob(1000000000)")
    assert str(exc.value).startswith("query_database: query: the query uses function zeroblob(), which is not on "
                                      "the allowed list (count, sum, avg")
    with pytest.raises(ToolInputError) as exc:
        call_tool("batch_query", queries={"ok": "SELECT 1 AS x", "big": "SELECT printf('%.*c', 1000000000, 'x')"})
    assert exc.value.errors[0].startswith("queries.big: the query uses function printf()")


REPORT_QUERIES = [
    "SELECT property_id, upper(city) AS c, length(name) AS n, substr(name, 1, 3) AS s FROM properties "
    "ORDER BY property_id",
    "SELECT property_id, name || ' (' || city || ')' AS label FROM properties ORDER BY property_id",
    "SELECT property_id, replace(property_type, 'office', 'off') AS t, trim(name) AS p "
    "FROM properties ORDER BY property_id",
    "SELECT property_type, COUNT(*) AS n, AVG(current_value) AS v, MIN(units) AS lo, MAX(units) AS hi "
    "FROM properties GROUP BY property_type ORDER BY property_type",
    "SELECT property_id, year, noi, RANK() OVER (PARTITION BY year ORDER BY noi DESC) AS r FROM financials "
    "WHERE year BETWEEN 2022 AND 2024 ORDER BY year, r, property_id",
    "WITH latest AS (SELECT MAX(year) AS y FROM financials) SELECT f.property_id, "
    "CASE WHEN f.debt_service > 0 THEN f.noi / f.debt_service END AS dscr "
    "FROM financials f, latest WHERE f.year = latest.y ORDER BY f.property_id",
    "SELECT p.property_id, COALESCE(l.interest_rate, 0) AS rate FROM properties p LEFT JOIN loans l "
    "ON l.property_id = p.property_id WHERE EXISTS (SELECT 1 FROM financials f WHERE f.property_id = p.property_id) "
    "AND p.city LIKE '%a%' ORDER BY p.property_id",
    "SELECT CAST(units AS VARCHAR(20)) AS u, ABS(noi - debt_service) AS gap FROM financials f JOIN properties p "
    "ON p.property_id = f.property_id WHERE f.year = 2024 ORDER BY p.property_id",
]


@pytest.mark.parametrize("query", REPORT_QUERIES, ids=[q[:40] for q in REPORT_QUERIES])
def test_report_queries_still_run_and_match_plain_sql(portfolio_url, query):
    rows = call_tool("query_database", query=query, max_rows=10_000)
    with pdb.write_engine(portfolio_url).connect() as conn:
        expected = [dict(r._mapping) for r in conn.execute(sa.text(query))]
    assert len(rows) == len(expected) > 0
    assert [{k: dbt._plain(v) for k, v in r.items()} for r in expected] == list(rows)


def _doubling(levels: int) -> str:
    """A CTE chain doubling a 2,000-character text ``levels`` times (levels + 1 concatenations)."""
    ctes = ["a0 AS (SELECT '" + "x" * 1000 + "' || '" + "x" * 1000 + "' AS s)"]
    ctes += [f"a{i} AS (SELECT s || s AS s FROM a{i - 1})" for i in range(1, levels + 1)]
    return f"WITH {', '.join(ctes)} SELECT length(s) AS n, s FROM a{levels}"


def test_a_cell_past_64_kib_is_refused(portfolio_url):
    assert len(call_tool("query_database", query=_doubling(5))[0]["s"]) == 64_000  # just under the cap
    with pytest.raises(ToolInputError) as exc:
        call_tool("query_database", query=_doubling(6))  # 128,000 characters
    assert exc.value.errors[0].startswith("query: column 's' of result row 1 holds 128,000 bytes")
    assert "at most 65,536 bytes" in exc.value.errors[0]


def test_a_value_past_the_database_length_limit_is_stopped(portfolio_url):
    assert MAX_CONCATENATIONS >= 11
    with pytest.raises(ToolInputError) as exc:
        call_tool("query_database", query=_doubling(10))  # 2,048,000 characters, past SQLite's 1 MiB limit
    message = exc.value.errors[0]
    if portfolio_url.startswith("sqlite"):
        assert "larger than 1024 KiB" in message, message  # SQLITE_LIMIT_LENGTH stopped it inside SQLite
    else:
        assert "holds 2,048,000 bytes" in message, message  # PostgreSQL: the cell cap, while fetching
    assert call_tool("query_database", query="SELECT COUNT(*) AS n FROM properties")[0]["n"] == 25


def test_sqlite_limits_are_restored_after_each_query(portfolio_url):
    if not portfolio_url.startswith("sqlite"):
        assert call_tool("query_database", query="SELECT 1 AS x FROM properties LIMIT 1") == [{"x": 1}]
        return
    call_tool("query_database", query="SELECT 1 AS x FROM properties LIMIT 1")
    with pdb.read_engine(portfolio_url).connect() as conn:
        raw = conn.connection.driver_connection
        assert raw.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) > dbt.SQLITE_MAX_LENGTH


def test_lpad_within_the_bound_runs_on_postgresql(portfolio_url):
    query = "SELECT lpad(property_id, 8, '0') AS p FROM properties ORDER BY property_id LIMIT 1"
    if portfolio_url.startswith("sqlite"):  # SQLite has no lpad: the database says so, by name
        with pytest.raises(ToolInputError, match="no such function: LPAD"):
            call_tool("query_database", query=query)
    else:
        assert call_tool("query_database", query=query) == [{"p": "000P-001"}]


def test_a_result_past_the_total_size_cap_is_refused(portfolio_url, monkeypatch):
    monkeypatch.setattr(dbt, "MAX_RESULT_BYTES", 5_000)
    with pytest.raises(ToolInputError) as exc:
        call_tool("query_database", query="SELECT * FROM cash_flows", max_rows=10_000)
    assert "larger than 5,000 bytes" in exc.value.errors[0]
    with pytest.raises(ToolInputError, match="larger than 5,000 bytes"):
        call_tool("fetch_financial_data", start_year=2000, end_year=2100)
    monkeypatch.setattr(dbt, "MAX_RESULT_BYTES", 32 * 1024 * 1024)
    assert len(call_tool("query_database", query="SELECT * FROM cash_flows", max_rows=10_000)) == 226


def test_sqlite_authorizer_denies_recursion_and_amplifiers_without_the_guard():
    conn = sqlite3.connect(":memory:")
    conn.set_authorizer(dbt._sqlite_authorizer)
    for sql in ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10) SELECT count(*) FROM c",
                "WITH c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10) SELECT count(*) FROM c",
                "SELECT zeroblob(10)", "SELECT randomblob(10)", "SELECT printf('%d', 1)", "SELECT hex('a')",
                "SELECT char(65)", "SELECT quote('a')", "SELECT group_concat('a')"):
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            conn.execute(sql).fetchall()
    assert conn.execute("SELECT abs(-2), upper('a'), 'a' || 'b'").fetchall() == [(2, "A", "ab")]
    conn.close()


def test_a_cross_join_is_stopped_by_the_time_limit(portfolio_url, monkeypatch):
    monkeypatch.setattr(dbt, "TIME_LIMIT_S", 0.3)
    monkeypatch.setattr(pdb, "STATEMENT_TIMEOUT_MS", 300)  # PostgreSQL: SET LOCAL statement_timeout
    start = time.monotonic()
    with pytest.raises(ToolInputError, match="ran longer than 0.3 s"):
        call_tool("query_database", query="SELECT COUNT(*) AS n FROM cash_flows a, cash_flows b, cash_flows c, "
                                          "financials d")
    assert time.monotonic() - start < 10
