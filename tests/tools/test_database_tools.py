"""Database tools against a real seeded portfolio on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import sqlalchemy as sa
from sql_corpus import REFUSED

from meta_agent.errors import InputError
from meta_agent.portfolio import db as pdb
from meta_agent.tools import ToolInputError, call_tool
from meta_agent.tools import database as dbt


def direct(url: str, sql: str, **params):
    """Plain SQL on a separate writer engine: the independent computation."""
    with pdb.write_engine(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]


def test_query_database_binds_parameters_and_returns_rows(portfolio_url):
    rows = call_tool("query_database", query="SELECT property_id, noi, debt_service FROM financials "
                                              "WHERE year = :year AND debt_service > :min ORDER BY property_id",
                     params={"year": 2024, "min": 0})
    expected = direct(portfolio_url, "SELECT property_id, noi, debt_service FROM financials "
                                     "WHERE year = 2024 AND debt_service > 0 ORDER BY property_id")
    assert rows == expected and rows.columns == ["property_id", "noi", "debt_service"] and not rows.truncated


def test_a_value_is_never_spliced_into_the_sql(portfolio_url):
    rows = call_tool("query_database", query="SELECT * FROM properties WHERE property_id = :pid",
                     params={"pid": "P-001' OR '1'='1"})
    assert rows == []
    assert len(call_tool("query_database", query="SELECT * FROM properties WHERE property_id = :pid",
                         params={"pid": "P-001"})) == 1


def test_row_limit_truncates_and_says_so(portfolio_url):
    with pytest.warns(UserWarning, match="more than 5 rows"):
        rows = call_tool("query_database", query="SELECT * FROM financials", max_rows=5)
    assert len(rows) == 5 and rows.truncated
    with pytest.raises(ToolInputError, match="max_rows"):
        call_tool("query_database", query="SELECT 1 AS x FROM properties", max_rows=50_000)


def test_parameter_mismatches_are_named(portfolio_url):
    with pytest.raises(ToolInputError, match="no value for :year"):
        call_tool("query_database", query="SELECT * FROM financials WHERE year = :year")
    with pytest.raises(ToolInputError, match="'yaer' is not a placeholder"):
        call_tool("query_database", query="SELECT * FROM financials WHERE year = :year", params={"year": 1, "yaer": 2})
    with pytest.raises(ToolInputError, match="params"):
        call_tool("query_database", query="SELECT * FROM financials WHERE year = :y", params={"y": [1, 2]})


@pytest.mark.parametrize(("query", "reason"), REFUSED[:30], ids=[q[:40] or "empty" for q, _ in REFUSED[:30]])
def test_refusals_leave_the_data_intact(portfolio_url, query, reason):
    before = direct(portfolio_url, "SELECT COUNT(*) AS n FROM properties")[0]["n"]
    with pytest.raises(ToolInputError) as exc:
        call_tool("query_database", query=query)
    assert exc.value.errors[0].startswith("query: ")
    assert direct(portfolio_url, "SELECT COUNT(*) AS n FROM properties")[0]["n"] == before == 25


def test_the_connection_itself_is_read_only(portfolio_url):
    engine = pdb.read_engine(portfolio_url)
    with pytest.raises(sa.exc.DBAPIError), engine.connect() as conn:  # bypassing the parser entirely
        conn.exec_driver_sql("UPDATE properties SET current_value = 0")
        conn.commit()
    assert direct(portfolio_url, "SELECT MIN(current_value) AS v FROM properties")[0]["v"] > 0


def test_long_queries_are_stopped(portfolio_url, monkeypatch):
    monkeypatch.setattr(dbt, "TIME_LIMIT_S", 0.3)
    monkeypatch.setattr(pdb, "STATEMENT_TIMEOUT_MS", 300)
    # no recursion (refused): a cross join of the cash flows with themselves three times over
    slow = "SELECT COUNT(*) AS n FROM cash_flows a, cash_flows b, cash_flows c, cash_flows d"
    with pytest.raises(ToolInputError, match="ran longer than"):
        call_tool("query_database", query=slow)


def test_missing_sqlite_database_says_how_to_create_it(tmp_path, monkeypatch):
    monkeypatch.setenv("META_AGENT_DATA_URL", f"sqlite:///{tmp_path / 'nope.db'}")
    with pytest.raises(InputError, match="meta-agent data seed"):
        call_tool("query_database", query="SELECT * FROM properties")
    assert not (tmp_path / "nope.db").exists()  # a read never creates the file


def test_fetch_property_data(portfolio_url):
    one = call_tool("fetch_property_data", property_ids="P-007")
    assert len(one) == 1 and one[0]["property_id"] == "P-007"
    expected = direct(portfolio_url, "SELECT * FROM properties WHERE property_id = 'P-007'")[0]
    assert one[0]["current_value"] == expected["current_value"] and one[0]["name"] == expected["name"]
    offices = call_tool("fetch_property_data", property_type="office")
    assert offices and {r["property_type"] for r in offices} == {"office"}
    assert len(call_tool("fetch_property_data")) == 25
    levered = [r for r in call_tool("fetch_property_data") if r["loan_id"]]
    loans = direct(portfolio_url, "SELECT COUNT(*) AS n FROM loans")[0]["n"]
    assert len(levered) == loans


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"property_ids": "P-999"}, "no data for P-999"),
        ({"property_ids": "7"}, "does not match"),
        ({"property_type": "castle"}, "is not one of"),
        ({"property_ids": []}, "property_ids"),
    ],
)
def test_fetch_property_data_bad_input(portfolio_url, kwargs, fragment):
    with pytest.raises(ToolInputError) as exc:
        call_tool("fetch_property_data", **kwargs)
    assert any(fragment in e for e in exc.value.errors), exc.value.errors


def test_fetch_financial_data_latest_year_and_ranges(portfolio_url):
    latest = call_tool("fetch_financial_data")
    assert len(latest) == 25 and {r["year"] for r in latest} == {2024}
    expected = direct(portfolio_url, "SELECT property_id, noi, debt_service FROM financials WHERE year = 2024 "
                                     "ORDER BY property_id")
    assert [(r["property_id"], r["noi"], r["debt_service"]) for r in latest] == \
        [(e["property_id"], e["noi"], e["debt_service"]) for e in expected]
    span = call_tool("fetch_financial_data", property_ids=["P-001", "P-002"], start_year=2020, end_year=2022)
    assert {(r["property_id"], r["year"]) for r in span} <= {(p, y) for p in ("P-001", "P-002") for y in (2020, 2021, 2022)}
    with pytest.raises(ToolInputError, match="either year or start_year"):
        call_tool("fetch_financial_data", year=2024, start_year=2020)
    with pytest.raises(ToolInputError, match="after end_year"):
        call_tool("fetch_financial_data", start_year=2024, end_year=2020)


def test_dscr_end_to_end_matches_plain_sql(portfolio_url):
    rows = call_tool("fetch_financial_data", year=2024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dscr = call_tool("calculate_dscr", noi=[r["noi"] for r in rows], debt_service=[r["debt_service"] for r in rows])
    expected = {r["property_id"]: r["dscr"] for r in direct(
        portfolio_url, "SELECT property_id, noi / debt_service AS dscr FROM financials "
                       "WHERE year = 2024 AND debt_service > 0")}
    for row, value in zip(rows, dscr, strict=True):
        if row["property_id"] in expected:
            assert value == pytest.approx(expected[row["property_id"]], rel=1e-12)
        else:
            assert value != value  # NaN: no debt


def test_batch_query(portfolio_url):
    out = call_tool("batch_query", queries={
        "n": "SELECT COUNT(*) AS n FROM properties",
        "p": {"query": "SELECT name FROM properties WHERE property_id = :pid", "params": {"pid": "P-003"}},
    })
    assert list(out) == ["n", "p"] and out["n"][0]["n"] == 25 and len(out["p"]) == 1
    with pytest.raises(ToolInputError, match=r"queries\.bad: .*only SELECT"):
        call_tool("batch_query", queries={"ok": "SELECT 1 AS x FROM properties", "bad": "DELETE FROM loans"})
    with pytest.raises(ToolInputError, match="queries"):
        call_tool("batch_query", queries={})


def test_aggregate_data_matches_pandas(portfolio_url):
    out = call_tool("aggregate_data", table="financials", metrics={"noi": ["sum", "avg"], "*": "count"},
                    group_by=["property_type"], filters={"year": 2024})
    frame = pd.DataFrame(call_tool("fetch_financial_data", year=2024))
    ref = frame.groupby("property_type").agg(noi_sum=("noi", "sum"), noi_avg=("noi", "mean"),
                                             rows_count=("noi", "size")).reset_index()
    got = pd.DataFrame(out)
    assert got["property_type"].tolist() == ref["property_type"].tolist()
    pd.testing.assert_series_equal(got["noi_sum"], ref["noi_sum"], rtol=1e-9, check_names=False)
    pd.testing.assert_series_equal(got["noi_avg"], ref["noi_avg"], rtol=1e-9, check_names=False)
    assert got["rows_count"].tolist() == ref["rows_count"].tolist()
    total = call_tool("aggregate_data", table="loans", metrics={"principal": "sum"})
    assert total[0]["principal_sum"] == pytest.approx(direct(portfolio_url, "SELECT SUM(principal) AS s FROM loans")[0]["s"])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"table": "financials", "metrics": {"nio": "sum"}}, "no column 'nio'"),
        ({"table": "financials", "metrics": {"noi": "median"}}, "metrics"),
        ({"table": "secrets", "metrics": {"noi": "sum"}}, "is not one of"),
        ({"table": "financials", "metrics": {"noi": "sum"}, "group_by": ["colour"]}, "no column 'colour'"),
        ({"table": "financials", "metrics": {}}, "metrics"),
    ],
)
def test_aggregate_data_bad_input(portfolio_url, kwargs, fragment):
    with pytest.raises(ToolInputError) as exc:
        call_tool("aggregate_data", **kwargs)
    assert any(fragment in e for e in exc.value.errors), exc.value.errors
