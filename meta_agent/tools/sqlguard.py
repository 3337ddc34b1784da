"""SELECT-only SQL, checked with a real parser (sqlglot) before it reaches the database.

``check_select`` parses the text in the target dialect and refuses, with one reason each:
more than one statement; anything but SELECT / UNION / INTERSECT / EXCEPT at the root or
anywhere inside (DML in a CTE, ``SELECT ... INTO``, ``FOR UPDATE``, PRAGMA, ATTACH, VACUUM,
EXPLAIN, SET, COPY...); functions outside an allowlist (``load_extension``, ``readfile``,
``pg_read_file``, ``pg_sleep``, ``dblink``... are refused by name as well); table functions;
tables outside the allowed set or qualified with a schema/database; positional or ``$n``
placeholders (named ``:name`` only).

The statement that runs is the one sqlglot parsed, regenerated in the target dialect, with
each ``:name`` placeholder turned into the driver's native bind marker — so what was checked
is what executes, and values are always bound, never formatted in. The connection is also
read-only at the database (see ``meta_agent.portfolio.db``); this is a pre-filter.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

MAX_SQL_CHARS = 20_000

# Node types that are never allowed anywhere in a query (looked up by name: sqlglot versions vary).
_FORBIDDEN_NODE_NAMES = (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterTable", "TruncateTable",
    "Command", "Pragma", "Attach", "Detach", "Transaction", "Commit", "Rollback", "Set", "Use", "Copy",
    "Into", "Lock", "LoadData", "Grant", "Revoke", "Analyze", "Describe", "Kill", "Show", "Cache", "Uncache",
    "Refresh", "Summarize", "Export", "Install", "Comment",
)
FORBIDDEN_NODES = tuple(getattr(exp, n) for n in _FORBIDDEN_NODE_NAMES if hasattr(exp, n))

# Functions sqlglot does not model (``exp.Anonymous``) that a read query may call.
ALLOWED_ANONYMOUS = frozenset({
    "printf", "format", "ifnull", "nullif", "iif", "instr", "ltrim", "rtrim", "trim", "replace", "substr",
    "substring", "char", "unicode", "hex", "quote", "julianday", "strftime", "date", "time", "datetime",
    "unixepoch", "total", "group_concat", "string_agg", "round", "sign", "typeof", "likely", "unlikely",
    "date_part", "date_trunc", "to_char", "extract", "age", "make_date", "width_bucket", "percentile_cont",
    "percentile_disc", "median", "mode", "stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp",
    "variance", "corr", "covar_pop", "covar_samp", "regr_slope", "regr_intercept", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value", "cume_dist", "percent_rank", "dense_rank", "rank",
    "row_number", "greatest", "least", "exp", "ln", "log", "log10", "power", "pow", "sqrt", "floor", "ceil",
    "ceiling", "abs", "mod", "trunc", "cbrt", "pi", "degrees", "radians", "initcap", "lpad", "rpad", "left",
    "right", "length", "lower", "upper", "concat", "concat_ws", "coalesce", "cast", "bool_and", "bool_or",
    "every", "array_agg", "json_extract", "json_array_length", "json_object", "json_array", "strpos",
})

# Refused even if a dialect models them as typed functions: file, network, process, timing, config.
DENIED_FUNCTION = re.compile(
    r"(load_extension|readfile|writefile|edit|fts3_tokenizer|zeroblob|randomblob|sqlite_|"
    r"pg_|lo_|dblink|copy|read_|write_|file|sleep|system|shell|exec|import|export|set_config|"
    r"current_setting|version|inet_|txid|nextval|setval|currval|query_to_xml|xmlparse|http|url)",
    re.IGNORECASE,
)


class SQLRefused(ValueError):
    """The query is not a single, plain, read-only SELECT over the allowed tables."""


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # regenerated, with the driver's native bind markers
    parameters: tuple[str, ...]  # named placeholders used
    tables: tuple[str, ...]


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    try:
        return node.sql_name()
    except Exception:  # some typed functions have no single name
        return type(node).__name__


def check_select(sql: str, *, dialect: str, allowed_tables: set[str] | frozenset[str],
                 paramstyle: str = "named") -> CheckedQuery:
    """Parse ``sql`` and return the statement to execute, or raise ``SQLRefused``."""
    if not isinstance(sql, str) or not sql.strip():
        raise SQLRefused("the query is empty; write one SELECT statement.")
    if len(sql) > MAX_SQL_CHARS:
        raise SQLRefused(f"the query is {len(sql):,} characters long; the limit is {MAX_SQL_CHARS:,}.")
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.CRITICAL)  # sqlglot warns on unsupported syntax; we refuse it instead
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise SQLRefused(f"the query does not parse as {dialect} SQL: {str(exc).splitlines()[0]}") from None
    finally:
        log.setLevel(level)
    if len(statements) != 1:
        raise SQLRefused(f"exactly one statement is allowed; found {len(statements)}.")
    tree = statements[0]
    root = tree.this if isinstance(tree, exp.Subquery) else tree
    if not isinstance(root, exp.Select | exp.SetOperation):
        raise SQLRefused(f"only SELECT queries are allowed; this is a {type(root).__name__.upper()} statement.")

    cte_names = {str(c.alias_or_name).lower() for c in tree.find_all(exp.CTE)}
    tables: set[str] = set()
    params: list[str] = []
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise SQLRefused(f"{type(node).__name__.upper()} is not allowed in a read-only query.")
        if isinstance(node, exp.Func):
            fname = _function_name(node)
            if DENIED_FUNCTION.search(fname) or (isinstance(node, exp.Anonymous) and fname.lower() not in ALLOWED_ANONYMOUS):
                raise SQLRefused(f"the function {fname.upper()}() is not allowed.")
        if isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier):
                raise SQLRefused("table functions are not allowed in FROM; select from the portfolio tables.")
            if node.args.get("db") is not None or node.args.get("catalog") is not None:
                raise SQLRefused(f"'{node.sql(dialect=dialect)}': schema- or database-qualified tables are not allowed.")
            name = str(node.name).lower()
            if name not in cte_names:
                if name not in allowed_tables:
                    raise SQLRefused(f"the table '{node.name}' is not available; use one of "
                                     f"{', '.join(sorted(allowed_tables))}.")
                tables.add(name)
        if isinstance(node, exp.Identifier) and not node.quoted and str(node.this)[:1] in ("$", "@", ":", "?"):
            raise SQLRefused("use named placeholders like :property_id, not $1 or @name.")
        if isinstance(node, exp.Parameter):
            raise SQLRefused("use named placeholders like :property_id, not $1 or @name.")
        if isinstance(node, exp.Placeholder):
            if not node.name or node.name == "?":
                raise SQLRefused("use named placeholders like :property_id, not '?'.")
            params.append(str(node.name))

    # Regenerate: placeholders become unique tokens, then the driver's bind markers.
    token = f"ma_param_{uuid.uuid4().hex}_"
    tree = tree.transform(lambda n: exp.var(f"{token}{n.name}") if isinstance(n, exp.Placeholder) else n)
    text = tree.sql(dialect=dialect)
    if paramstyle == "pyformat":
        text = text.replace("%", "%%")
        text = re.sub(rf"{token}(\w+)", r"%(\1)s", text)
    else:
        text = re.sub(rf"{token}(\w+)", r":\1", text)
    return CheckedQuery(sql=text, parameters=tuple(dict.fromkeys(params)), tables=tuple(sorted(tables)))
