"""The SELECT-only guard, on its own (no database): a corpus of things it must refuse."""

from __future__ import annotations

import pytest
from sql_corpus import REFUSED

from meta_agent.tools.sqlguard import SQLRefused, check_select

TABLES = frozenset({"properties", "loans", "financials", "cash_flows"})

@pytest.mark.parametrize("dialect", ["sqlite", "postgres"], ids=["sqlite_dialect", "postgres_dialect"])
@pytest.mark.parametrize(("query", "reason"), REFUSED, ids=[q[:40] or "empty" for q, _ in REFUSED])
def test_refused(query, reason, dialect):
    with pytest.raises(SQLRefused) as exc:
        check_select(query, dialect=dialect, allowed_tables=TABLES)
    assert reason.lower() in str(exc.value).lower()


def test_refuses_very_long_queries():
    with pytest.raises(SQLRefused, match="limit"):
        check_select("SELECT 1" + " " * 30_000, dialect="sqlite", allowed_tables=TABLES)


ALLOWED = [
    "SELECT * FROM properties",
    "select property_id, noi / debt_service as dscr from financials where year = :year and debt_service > 0",
    "SELECT p.property_type, AVG(f.noi) FROM properties p JOIN financials f ON f.property_id = p.property_id "
    "GROUP BY p.property_type ORDER BY 2 DESC",
    "WITH latest AS (SELECT MAX(year) y FROM financials) SELECT * FROM financials, latest WHERE year = latest.y",
    "SELECT property_id FROM properties UNION SELECT property_id FROM loans",
    "SELECT name FROM properties WHERE name LIKE '%Tower%' AND city = :city",
    "SELECT COUNT(*) FILTER (WHERE noi > 1000000) FROM financials",
    "SELECT property_id, ROW_NUMBER() OVER (ORDER BY current_value DESC) AS rnk FROM properties",
    "SELECT ROUND(AVG(interest_rate), 4), COALESCE(MAX(term_years), 0) FROM loans",
    "SELECT ':not_a_param' AS s, property_id FROM properties WHERE property_id = :pid",
]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"], ids=["sqlite_dialect", "postgres_dialect"])
@pytest.mark.parametrize("query", ALLOWED)
def test_allowed_selects_are_regenerated_with_native_bind_markers(query, dialect):
    style = "pyformat" if dialect == "postgres" else "named"
    checked = check_select(query, dialect=dialect, allowed_tables=TABLES, paramstyle=style)
    assert checked.sql.upper().lstrip("( ").startswith(("SELECT", "WITH"))
    for p in checked.parameters:
        assert (f"%({p})s" if style == "pyformat" else f":{p}") in checked.sql
    if style == "pyformat" and "LIKE" in query:
        assert "'%%Tower%%'" in checked.sql  # literal % escaped for the driver
    if ":not_a_param" in query:
        assert checked.parameters == ("pid",)
