"""SELECT-only SQL, checked with a real parser (sqlglot) before it reaches the database.

``check_select`` parses the text in the target dialect and refuses, with one reason each:
more than one statement; anything but SELECT / UNION / INTERSECT / EXCEPT at the root or
anywhere inside (DML in a CTE, ``SELECT ... INTO``, ``FOR UPDATE``, PRAGMA, ATTACH, VACUUM,
EXPLAIN, SET, COPY...); functions outside an allowlist (``ALLOWED_FUNCTIONS``: aggregates,
window functions, maths, dates, basic strings — so ``load_extension``, ``pg_read_file``,
``zeroblob``, ``printf``, ``repeat``, ``group_concat``... are refused, each by name); uses that
grow a value (``replace`` with a longer replacement, ``lpad``/``rpad`` past ``MAX_PAD_LENGTH``,
more than ``MAX_CONCATENATIONS`` concatenations, text literals past
``MAX_STRING_LITERAL_CHARS``, ``CHAR(n)`` past ``MAX_TYPE_SIZE``); recursive CTEs (``WITH
RECURSIVE``, or a CTE naming itself); table functions;
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

# The functions a read query may call: aggregates, window functions, maths, conditionals,
# dates and basic string functions. Names are sqlglot's (``exp.Func.sql_name()`` for functions
# it models, the name as written for the rest), lower case; anything else is refused by name.
ALLOWED_FUNCTIONS = frozenset({
    # aggregates (string aggregates — group_concat, string_agg, array_agg — are not: their size
    # grows with the row count)
    "count", "sum", "avg", "min", "max", "total", "median", "percentile_cont", "percentile_disc", "mode",
    "stddev", "stddev_pop", "stddev_samp", "variance", "variance_pop", "var_pop", "var_samp", "corr",
    "covar_pop", "covar_samp", "regr_slope", "regr_intercept", "logical_and", "logical_or", "bool_and",
    "bool_or", "every",
    # window functions
    "row_number", "rank", "dense_rank", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
    "cume_dist", "percent_rank",
    # maths
    "abs", "round", "ceil", "ceiling", "floor", "sqrt", "cbrt", "power", "pow", "exp", "ln", "log", "log10",
    "mod", "sign", "trunc", "pi", "degrees", "radians", "greatest", "least", "width_bucket", "rand", "random",
    # conditionals and types
    "coalesce", "ifnull", "nullif", "if", "iif", "case", "cast", "typeof", "likely", "unlikely",
    # operators sqlglot models as functions
    "and", "or", "xor", "exists", "collate",
    # strings (replace, lpad/rpad and concatenation are checked further below)
    "lower", "upper", "length", "char_length", "octet_length", "trim", "ltrim", "rtrim", "substring", "substr",
    "str_position", "instr", "strpos", "left", "right", "initcap", "unicode", "replace", "pad", "concat",
    "concat_ws",
    # dates
    "date", "time", "datetime", "julianday", "strftime", "time_to_str", "ts_or_ds_to_timestamp", "unixepoch",
    "date_part", "extract", "date_trunc", "timestamp_trunc", "age", "make_date", "to_char", "to_date",
    "str_to_date", "current_date", "current_timestamp", "now",
})
# What the refusal message lists (the allowed names as a planner would write them).
ALLOWED_FOR_PEOPLE = ("count, sum, avg, min, max, total, median, stddev, variance, corr, row_number, rank, "
                      "dense_rank, ntile, lag, lead, first_value, last_value, abs, round, ceil, floor, sqrt, "
                      "power, exp, ln, log, mod, sign, trunc, greatest, least, coalesce, ifnull, nullif, iif, "
                      "case, cast, lower, upper, length, trim, substr, instr, left, right, replace, lpad, rpad, "
                      "concat, ||, date, datetime, julianday, strftime, extract, date_trunc, to_char")
# sqlglot's canonical names that read badly in a message -> the names people write
_DISPLAY = {"pad": "lpad/rpad", "chr": "char", "repeat": "repeat/replicate", "group_concat": "group_concat/string_agg",
            "str_position": "instr/strpos", "j_s_o_n_object": "json_object", "format": "format/printf"}

# Size limits: no value may grow past these by the query's own doing.
MAX_STRING_LITERAL_CHARS = 1_000
MAX_CONCATENATIONS = 12  # ||, concat() and concat_ws() pieces per query (each can double a value)
MAX_PAD_LENGTH = 1_000  # lpad/rpad target length (an integer literal)
MAX_TYPE_SIZE = 1_000  # CHAR(n), VARCHAR(n)... (PostgreSQL pads CHAR(n) with spaces)

# Refused even if a dialect models them as typed functions: file, network, process, timing, config,
# and the size amplifiers (already off the allowlist; named here so a future allowlist edit cannot
# let them back in).
DENIED_FUNCTION = re.compile(
    r"(load_extension|readfile|writefile|edit|fts3_tokenizer|zeroblob|randomblob|sqlite_|"
    r"pg_|lo_|dblink|copy|read_|write_|file|sleep|system|shell|exec|import|export|set_config|"
    r"current_setting|version|inet_|txid|nextval|setval|currval|query_to_xml|xmlparse|http|url|"
    r"printf|format|repeat|replicate|space|hex|quote|group_concat|string_agg|array_agg|json_group)",
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


def _display(node: exp.Func) -> str:
    name = _function_name(node)
    return _DISPLAY.get(name.lower(), name.lower())


def _int_literal(node: exp.Expression | None) -> int | None:
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        inner = _int_literal(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return int(str(node.this))
        except ValueError:
            return None
    return None


def _check_function(node: exp.Func) -> None:
    """Refuse a function off the allowlist, or an allowed one used so that it can grow a value."""
    fname = _function_name(node)
    shown = _display(node)
    if DENIED_FUNCTION.search(fname) or fname.lower() not in ALLOWED_FUNCTIONS:
        raise SQLRefused(f"the query uses function {shown}(), which is not on the allowed list "
                         f"({ALLOWED_FOR_PEOPLE}); compute it in Python with the data tools instead.")
    if isinstance(node, exp.Pad):
        length = _int_literal(node.expression)
        if length is None or not 0 <= length <= MAX_PAD_LENGTH:
            raise SQLRefused(f"the query uses {shown}() with length {node.expression.sql() if node.expression else '?'}; "
                             f"the length must be an integer literal of at most {MAX_PAD_LENGTH:,}.")
    if isinstance(node, exp.Replace):
        search, repl = node.expression, node.args.get("replacement")
        ok = (isinstance(search, exp.Literal) and search.is_string and
              (repl is None or (isinstance(repl, exp.Literal) and repl.is_string and len(repl.this) <= len(search.this))))
        if not ok:
            raise SQLRefused("the query uses replace() with a replacement that is not a string literal at most as "
                             "long as the (literal) text it replaces; replace() may not make a value longer.")


def _concatenations(tree: exp.Expression) -> int:
    n = 0
    for node in tree.walk():
        if isinstance(node, exp.DPipe):
            n += 1
        elif isinstance(node, exp.Concat | exp.ConcatWs):
            n += max(len(node.expressions) - 1, 0)
    return n


def _check_recursion(tree: exp.Expression) -> None:
    """Refuse ``WITH RECURSIVE`` and any CTE that refers to itself or to a later CTE (SQLite runs
    such a CTE recursively even without the keyword): recursion makes rows without bound."""
    for with_ in tree.find_all(exp.With):
        if with_.args.get("recursive"):
            raise SQLRefused("WITH RECURSIVE is not allowed: a recursive query can produce rows without bound; "
                             "select from the portfolio tables directly.")
        ctes = list(with_.expressions)
        for i, cte in enumerate(ctes):
            later = {str(c.alias_or_name).lower() for c in ctes[i:]}
            used = {str(t.name).lower() for t in cte.this.find_all(exp.Table)}
            if used & later:
                raise SQLRefused(f"the CTE '{cte.alias_or_name}' refers to itself (or a later CTE); recursive "
                                 "queries are not allowed.")


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

    _check_recursion(tree)
    concatenations = _concatenations(tree)
    if concatenations > MAX_CONCATENATIONS:
        raise SQLRefused(f"the query concatenates {concatenations} times (||, concat, concat_ws); the limit is "
                         f"{MAX_CONCATENATIONS}. Build long texts in Python instead.")
    cte_names = {str(c.alias_or_name).lower() for c in tree.find_all(exp.CTE)}
    tables: set[str] = set()
    params: list[str] = []
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise SQLRefused(f"{type(node).__name__.upper()} is not allowed in a read-only query.")
        if isinstance(node, exp.Func):
            _check_function(node)
        if isinstance(node, exp.Literal) and node.is_string and len(node.this) > MAX_STRING_LITERAL_CHARS:
            raise SQLRefused(f"the query has a text literal of {len(node.this):,} characters; the limit is "
                             f"{MAX_STRING_LITERAL_CHARS:,}. Pass long values as :name parameters.")
        if isinstance(node, exp.DataType):
            for param in node.find_all(exp.DataTypeParam):
                size = _int_literal(param.this)
                if size is not None and size > MAX_TYPE_SIZE:
                    raise SQLRefused(f"the type {node.sql(dialect=dialect)} is too large; type sizes are limited "
                                     f"to {MAX_TYPE_SIZE:,}.")
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
