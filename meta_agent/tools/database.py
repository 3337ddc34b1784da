"""Database tools: read the portfolio database (``META_AGENT_DATA_URL``), never write it.

- ``query_database``: one SELECT, checked by ``sqlguard`` (sqlglot), parameters bound, run
  on a read-only connection (SQLite ``mode=ro`` + an authorizer that allows only reads;
  PostgreSQL ``READ ONLY`` transaction) with a time limit and a row limit.
- ``fetch_property_data`` / ``fetch_financial_data``: the common reads, built with SQLAlchemy
  Core (no SQL text from the caller at all).
- ``batch_query``: several named SELECTs, each checked like ``query_database``.
- ``aggregate_data``: group-by aggregates over a portfolio table, columns checked against
  the schema.

Size limits: sqlguard allows only listed functions and no recursion, so a query cannot grow
values or rows without bound; SQLite additionally runs tool queries with
``SQLITE_LIMIT_LENGTH`` = ``SQLITE_MAX_LENGTH`` (1 MiB) and a progress-handler deadline,
PostgreSQL with ``SET LOCAL statement_timeout``; rows are fetched in chunks and a value past
``MAX_CELL_BYTES`` (64 KiB) or a result past ``MAX_RESULT_BYTES`` (32 MiB) is refused.

Rows come back as a ``QueryResult``: a list of dicts (dates as ISO strings, decimals as
floats) with ``columns`` and ``truncated`` attributes.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import warnings
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meta_agent.portfolio import db as pdb
from meta_agent.portfolio import schema as ps
from meta_agent.tools.base import BaseTool, ToolInputError
from meta_agent.tools.sqlguard import SQLRefused, check_select

DEFAULT_MAX_ROWS = 1_000
HARD_MAX_ROWS = 10_000
TIME_LIMIT_S = pdb.STATEMENT_TIMEOUT_MS / 1000
ALLOWED_TABLES = frozenset(ps.TABLES)
MAX_CELL_BYTES = 64 * 1024  # one text/blob value in a result
MAX_RESULT_BYTES = 32 * 1024 * 1024  # all values of one result together
SQLITE_MAX_LENGTH = 1024 * 1024  # SQLITE_LIMIT_LENGTH while a tool query runs: no string/blob/row past 1 MiB
FETCH_CHUNK = 200  # rows fetched at a time, so the size limits stop a result before it is all in memory


class QueryResult(list):
    """Rows as dicts; ``columns`` in order; ``truncated`` when the row limit cut the result."""

    def __init__(self, rows=(), columns=(), truncated: bool = False):
        super().__init__(rows)
        self.columns = list(columns)
        self.truncated = truncated


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def _size(v: Any) -> int:
    """Bytes a value takes in a result (text as UTF-8; numbers and dates as 8)."""
    if isinstance(v, str):
        return len(v) if len(v) * 4 <= MAX_CELL_BYTES else len(v.encode("utf-8", "surrogatepass"))
    if isinstance(v, bytes | bytearray | memoryview):
        return len(v)
    if isinstance(v, Decimal):
        return max(8, len(v.as_tuple().digits))
    if isinstance(v, int) and not isinstance(v, bool):
        return max(8, v.bit_length() // 8)
    if isinstance(v, list | tuple):
        return sum(_size(x) for x in v)
    return 8


def _rows(result, max_rows: int, label: str) -> QueryResult:
    """Fetch at most ``max_rows`` rows in chunks, refusing (``SQLRefused``) a cell past
    ``MAX_CELL_BYTES`` or a result past ``MAX_RESULT_BYTES`` as soon as it is seen."""
    columns = list(result.keys())
    fetched: list = []
    total = 0
    while len(fetched) <= max_rows:
        chunk = result.fetchmany(min(FETCH_CHUNK, max_rows + 1 - len(fetched)))
        if not chunk:
            break
        for r in chunk:
            for c, v in zip(columns, r, strict=True):
                size = _size(v)
                if size > MAX_CELL_BYTES:
                    result.close()
                    raise SQLRefused(f"column '{c}' of result row {len(fetched) + 1:,} holds {size:,} bytes; a value "
                                     f"may hold at most {MAX_CELL_BYTES:,} bytes (64 KiB). Select a shorter value "
                                     "(e.g. substr) or leave the column out.")
                total += size
            if total > MAX_RESULT_BYTES:
                result.close()
                raise SQLRefused(f"the result is larger than {MAX_RESULT_BYTES:,} bytes after {len(fetched) + 1:,} "
                                 "rows (the limit for one result); select fewer rows or columns, or aggregate in SQL.")
            fetched.append(r)
    result.close()
    truncated = len(fetched) > max_rows
    rows = [{c: _plain(v) for c, v in zip(columns, r, strict=True)} for r in fetched[:max_rows]]
    if truncated:
        warnings.warn(f"{label}: the result has more than {max_rows:,} rows; only the first {max_rows:,} "
                      "are returned (raise max_rows, up to 10,000, or aggregate in SQL).", stacklevel=3)
    return QueryResult(rows, columns, truncated)


# SQLite authorizer: reads only; everything else (PRAGMA, ATTACH, writes, DDL, recursive CTEs)
# is denied, and so are the functions that touch files or grow values (a second line behind
# sqlguard's allowlist).
_SQLITE_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}
_SQLITE_DENIED_FUNCTIONS = frozenset({
    "load_extension", "readfile", "writefile", "fts3_tokenizer", "edit", "zeroblob", "randomblob", "printf",
    "format", "char", "hex", "unhex", "quote", "replicate", "repeat", "group_concat", "string_agg",
    "json_group_array", "json_group_object", "sqlite_compileoption_get", "sqlite_compileoption_used",
    "sqlite_offset", "sqlite_source_id", "sqlite_version",
})


def _sqlite_authorizer(action, arg1, arg2, _db, _trigger):
    if action not in _SQLITE_ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and arg2 and arg2.lower() in _SQLITE_DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def run_select(sql: str, params: dict[str, Any] | None = None, *, max_rows: int = DEFAULT_MAX_ROWS,
               url: str | None = None, label: str = "query_database") -> QueryResult:
    """Check ``sql`` with sqlguard and run it read-only; ``SQLRefused`` or ``ToolInputError`` on bad input."""
    params = dict(params or {})
    engine = pdb.read_engine(url)
    dialect = "postgres" if engine.dialect.name == "postgresql" else "sqlite"
    checked = check_select(sql, dialect=dialect, allowed_tables=ALLOWED_TABLES,
                           paramstyle="pyformat" if dialect == "postgres" else "named")
    missing = [p for p in checked.parameters if p not in params]
    unused = [p for p in params if p not in checked.parameters]
    if missing or unused:
        problems = ([f"no value for :{p}" for p in missing] + [f"'{p}' is not a placeholder in the query" for p in unused])
        raise ToolInputError(label, [f"params: {'; '.join(problems)}"])
    with engine.connect() as conn:
        if dialect == "sqlite":
            raw = conn.connection.driver_connection
            deadline = time.monotonic() + TIME_LIMIT_S
            raw.set_authorizer(_sqlite_authorizer)
            raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 20_000)
            old_length = raw.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQLITE_MAX_LENGTH)
            try:
                result = conn.exec_driver_sql(checked.sql, params)
                return _rows(result, max_rows, label)
            except (sa.exc.OperationalError, sa.exc.DataError, sqlite3.Error) as exc:
                orig = getattr(exc, "orig", exc)
                if "interrupted" in str(orig):
                    raise SQLRefused(f"the query ran longer than {TIME_LIMIT_S:g} s and was stopped.") from None
                if "not authorized" in str(orig):
                    raise SQLRefused("the database refused the query: only reads are allowed.") from None
                if "too big" in str(orig):
                    raise SQLRefused(f"the query made a value larger than {SQLITE_MAX_LENGTH // 1024} KiB "
                                     "(the database's size limit for tool queries) and was stopped.") from None
                raise SQLRefused(f"the database rejected the query: {orig}") from None
            finally:
                raw.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, old_length)
                raw.set_authorizer(None)
                raw.set_progress_handler(None, 0)
                conn.rollback()
        try:
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(pdb.STATEMENT_TIMEOUT_MS)}")
                # a server-side cursor: rows arrive FETCH_CHUNK at a time, so the size limits
                # apply before a large result is in this process's memory
                result = conn.execution_options(stream_results=True, max_row_buffer=FETCH_CHUNK).exec_driver_sql(
                    checked.sql, params)
                return _rows(result, max_rows, label)
        except sa.exc.DBAPIError as exc:
            msg = str(exc.orig).splitlines()[0]
            if "statement timeout" in msg:
                raise SQLRefused(f"the query ran longer than {TIME_LIMIT_S:g} s and was stopped.") from None
            raise SQLRefused(f"the database rejected the query: {msg}") from None


_SCALAR = {"type": ["string", "number", "integer", "boolean", "null"]}
_MAX_ROWS = {"type": "integer", "minimum": 1, "maximum": HARD_MAX_ROWS, "default": DEFAULT_MAX_ROWS,
             "description": f"row limit (default {DEFAULT_MAX_ROWS:,}, at most {HARD_MAX_ROWS:,})"}
_TABLE_DOC = ("tables: properties(property_id, name, property_type, city, state, units, square_feet, year_built, "
              "acquisition_date, purchase_price, current_value, valuation_date, occupancy); loans(loan_id, property_id, "
              "lender, loan_type, principal, interest_rate, term_years, amortization_years, origination_date, "
              "maturity_date, annual_debt_service, outstanding_balance); financials(property_id, year, "
              "potential_gross_income, vacancy_loss, other_income, effective_gross_income, operating_expenses, noi, "
              "debt_service, capital_expenditures, cash_flow, occupancy); cash_flows(property_id, period, year, "
              "operating, capital, amount)")


class _DBTool(BaseTool):
    category = "database"

    def _guard(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SQLRefused as exc:
            raise ToolInputError(self.name, [f"query: {exc}"]) from None


class QueryDatabase(_DBTool):
    name = "query_database"
    description = ("Run one read-only SQL SELECT against the portfolio database with bound :named parameters "
                   "and a row limit. " + _TABLE_DOC)
    keywords = ("sql", "sql query", "select query", "run sql", "custom query", "query", "database", "read rows")
    parameters = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "one SELECT statement; values as :name placeholders"},
            "params": {"type": "object", "additionalProperties": _SCALAR,
                       "description": "values for the :name placeholders (bound, never formatted in)"},
            "max_rows": _MAX_ROWS,
        },
        "required": ["query"],
        "additionalProperties": False,
    }
    returns = {"type": "array", "description": "rows as objects (QueryResult: .columns, .truncated)"}

    def execute(self, query, params=None, max_rows=DEFAULT_MAX_ROWS):
        return self._guard(run_select, query, params, max_rows=max_rows, label=self.name)


class BatchQuery(_DBTool):
    name = "batch_query"
    description = ("Run several named read-only SELECT queries in one call (each checked like query_database); "
                   "returns {name: rows}.")
    keywords = ("batch", "multiple queries", "several queries", "many queries at once")
    parameters = {
        "type": "object",
        "properties": {
            "queries": {
                "type": "object", "minProperties": 1, "maxProperties": 20,
                "additionalProperties": {
                    "anyOf": [
                        {"type": "string"},
                        {"type": "object", "properties": {"query": {"type": "string"},
                                                          "params": {"type": "object", "additionalProperties": _SCALAR}},
                         "required": ["query"], "additionalProperties": False},
                    ]
                },
                "description": "name -> SELECT text, or name -> {query, params}",
            },
            "max_rows": _MAX_ROWS,
        },
        "required": ["queries"],
        "additionalProperties": False,
    }
    returns = {"type": "object", "description": "{name: rows} in the order given"}

    def execute(self, queries, max_rows=DEFAULT_MAX_ROWS):
        out: dict[str, QueryResult] = {}
        for key, spec in queries.items():
            sql, params = (spec, None) if isinstance(spec, str) else (spec["query"], spec.get("params"))
            try:
                out[key] = run_select(sql, params, max_rows=max_rows, label=f"{self.name}[{key}]")
            except SQLRefused as exc:
                raise ToolInputError(self.name, [f"queries.{key}: {exc}"]) from None
            except ToolInputError as exc:
                raise ToolInputError(self.name, [f"queries.{key}.{e}" for e in exc.errors]) from None
        return out


def _ids(value) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


_IDS = {"anyOf": [{"type": "string", "pattern": "^P-\\d{3}$"},
                  {"type": "array", "items": {"type": "string", "pattern": "^P-\\d{3}$"}, "minItems": 1}],
        "description": "one property id like 'P-007' or a list of them (default: all)"}


class FetchPropertyData(_DBTool):
    name = "fetch_property_data"
    description = ("Properties with their loan: id, name, type, city, units, square feet, purchase price, current "
                   "value, occupancy, loan principal, interest rate, term, amortization, annual debt service, "
                   "outstanding balance. Filter by ids, type or city.")
    keywords = ("property", "properties", "portfolio", "asset", "building", "loan", "value", "fetch", "list")
    parameters = {
        "type": "object",
        "properties": {
            "property_ids": _IDS,
            "property_type": {"type": "string", "enum": list(ps.PROPERTY_TYPES),
                              "description": "only this property type"},
            "city": {"type": "string", "description": "only this city (exact name)"},
        },
        "additionalProperties": False,
    }
    returns = {"type": "array", "description": "one row per property, ordered by property_id"}

    def execute(self, property_ids=None, property_type=None, city=None):
        p, ln = ps.properties, ps.loans
        stmt = (sa.select(*p.c, ln.c.loan_id, ln.c.lender, ln.c.loan_type, ln.c.principal.label("loan_principal"),
                          ln.c.interest_rate, ln.c.term_years, ln.c.amortization_years, ln.c.maturity_date,
                          ln.c.annual_debt_service, ln.c.outstanding_balance)
                .select_from(p.outerjoin(ln, ln.c.property_id == p.c.property_id)).order_by(p.c.property_id))
        ids = _ids(property_ids)
        if ids:
            stmt = stmt.where(p.c.property_id.in_(ids))
        if property_type:
            stmt = stmt.where(p.c.property_type == property_type)
        if city:
            stmt = stmt.where(sa.func.lower(p.c.city) == city.lower())
        rows = _core_rows(stmt, self.name)
        _check_ids(self.name, ids, rows)
        return rows


class FetchFinancialData(_DBTool):
    name = "fetch_financial_data"
    description = ("Yearly operating financials per property: potential and effective gross income, vacancy, "
                   "operating expenses, NOI, debt service, capex, cash flow, occupancy, with the property's name, "
                   "type, city and current value. Default: the latest year.")
    keywords = ("financials", "noi", "net operating income", "income", "expenses", "debt service", "cash flow",
                "yearly", "annual", "operating statement")
    parameters = {
        "type": "object",
        "properties": {
            "property_ids": _IDS,
            "year": {"type": "integer", "minimum": 1900, "maximum": 2100, "description": "one year"},
            "start_year": {"type": "integer", "minimum": 1900, "maximum": 2100, "description": "first year of a range"},
            "end_year": {"type": "integer", "minimum": 1900, "maximum": 2100, "description": "last year of a range"},
            "property_type": {"type": "string", "enum": list(ps.PROPERTY_TYPES), "description": "only this type"},
        },
        "additionalProperties": False,
    }
    returns = {"type": "array", "description": "one row per property and year, ordered by property_id, year"}

    def prepare_for_validation(self, kwargs):
        if kwargs.get("year") is not None and (kwargs.get("start_year") is not None or kwargs.get("end_year") is not None):
            raise ToolInputError(self.name, ["year: give either year or start_year/end_year, not both"])
        s, e = kwargs.get("start_year"), kwargs.get("end_year")
        if isinstance(s, int) and isinstance(e, int) and s > e:
            raise ToolInputError(self.name, [f"start_year: {s} is after end_year {e}"])
        return kwargs

    def execute(self, property_ids=None, year=None, start_year=None, end_year=None, property_type=None):
        p, f = ps.properties, ps.financials
        stmt = (sa.select(f.c.property_id, p.c.name, p.c.property_type, p.c.city, p.c.current_value,
                          *[c for c in f.c if c.name != "property_id"])
                .select_from(f.join(p, p.c.property_id == f.c.property_id)).order_by(f.c.property_id, f.c.year))
        if year is None and start_year is None and end_year is None:
            stmt = stmt.where(f.c.year == sa.select(sa.func.max(f.c.year)).scalar_subquery())
        if year is not None:
            stmt = stmt.where(f.c.year == year)
        if start_year is not None:
            stmt = stmt.where(f.c.year >= start_year)
        if end_year is not None:
            stmt = stmt.where(f.c.year <= end_year)
        ids = _ids(property_ids)
        if ids:
            stmt = stmt.where(f.c.property_id.in_(ids))
        if property_type:
            stmt = stmt.where(p.c.property_type == property_type)
        rows = _core_rows(stmt, self.name)
        _check_ids(self.name, ids, rows)
        return rows


_AGG_FUNCS = {"sum": sa.func.sum, "avg": sa.func.avg, "mean": sa.func.avg, "min": sa.func.min,
              "max": sa.func.max, "count": sa.func.count}


class AggregateData(_DBTool):
    name = "aggregate_data"
    description = ("Group-by aggregates (sum, avg, min, max, count) over a portfolio table — e.g. total NOI by "
                   "property type per year. Property columns (property_type, city, state) can group any table.")
    keywords = ("aggregate", "group by", "total", "sum", "average", "by type", "by city", "summary", "rollup")
    parameters = {
        "type": "object",
        "properties": {
            "table": {"type": "string", "enum": sorted(ps.TABLES), "description": "the table to aggregate"},
            "metrics": {"type": "object", "minProperties": 1,
                        "additionalProperties": {"anyOf": [
                            {"type": "string", "enum": sorted(_AGG_FUNCS)},
                            {"type": "array", "items": {"type": "string", "enum": sorted(_AGG_FUNCS)}, "minItems": 1}]},
                        "description": "column -> function or list of functions, e.g. {'noi': ['sum', 'avg']}"},
            "group_by": {"type": "array", "items": {"type": "string"}, "description": "columns to group by"},
            "filters": {"type": "object", "additionalProperties": {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR}]},
                        "description": "column -> value (equality) or list of values (IN)"},
        },
        "required": ["table", "metrics"],
        "additionalProperties": False,
    }
    returns = {"type": "array", "description": "one row per group: group columns then <column>_<function>"}

    def prepare_for_validation(self, kwargs):
        table = ps.TABLES.get(kwargs.get("table")) if isinstance(kwargs.get("table"), str) else None
        if table is None:
            return kwargs
        available = set(table.c.keys()) | ({"property_type", "city", "state", "name"} if table is not ps.properties else set())
        errors = []
        for field in ("metrics", "filters"):
            value = kwargs.get(field)
            if isinstance(value, dict):
                errors += [f"{field}.{c}: no column '{c}' in {table.name}; available: {', '.join(sorted(available))}"
                           for c in value if c not in available and not (field == "metrics" and c == "*")]
        for c in kwargs.get("group_by") or []:
            if isinstance(c, str) and c not in available:
                errors.append(f"group_by: no column '{c}' in {table.name}; available: {', '.join(sorted(available))}")
        if errors:
            raise ToolInputError(self.name, errors)
        return kwargs

    def execute(self, table, metrics, group_by=None, filters=None):
        t = ps.TABLES[table]
        p = ps.properties
        joined = t is not p and any(c not in t.c for c in [*metrics, *(group_by or []), *(filters or {})] if c != "*")
        source = t.join(p, p.c.property_id == t.c.property_id) if joined else t

        def col(name):
            return t.c[name] if name in t.c else p.c[name]

        group_cols = [col(g) for g in group_by or []]
        measures = []
        for column, funcs in metrics.items():
            for fn in [funcs] if isinstance(funcs, str) else funcs:
                target = sa.literal_column("*") if column == "*" else col(column)
                label = f"{'rows' if column == '*' else column}_{fn}"
                measures.append(_AGG_FUNCS[fn](target).label(label))
        stmt = sa.select(*group_cols, *measures).select_from(source)
        for column, value in (filters or {}).items():
            stmt = stmt.where(col(column).in_(value) if isinstance(value, list) else col(column) == value)
        if group_cols:
            stmt = stmt.group_by(*group_cols).order_by(*group_cols)
        return _core_rows(stmt, self.name)


def _core_rows(stmt, label: str) -> QueryResult:
    engine = pdb.read_engine()
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                with conn.begin():
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(pdb.STATEMENT_TIMEOUT_MS)}")
                    return _rows(conn.execute(stmt), HARD_MAX_ROWS, label)
            return _rows(conn.execute(stmt), HARD_MAX_ROWS, label)
    except SQLRefused as exc:  # a size limit on the result
        raise ToolInputError(label, [f"result: {exc}"]) from None


def _check_ids(tool: str, ids: list[str] | None, rows: QueryResult) -> None:
    if ids:
        found = {r["property_id"] for r in rows}
        missing = [i for i in ids if i not in found]
        if missing and len(missing) == len(ids):
            raise ToolInputError(tool, [f"property_ids: no data for {', '.join(missing)}; "
                                        "see fetch_property_data for the ids in the portfolio"])
        if missing:
            warnings.warn(f"{tool}: no data for {', '.join(missing)}.", stacklevel=3)


DATABASE_TOOLS: tuple[type[BaseTool], ...] = (
    QueryDatabase, FetchPropertyData, FetchFinancialData, BatchQuery, AggregateData,
)
