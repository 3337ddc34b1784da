"""Data tools: reshape, filter and summarize rows; export them as CSV, Excel or PDF.

Tables are lists of row dicts (what the database tools return) or pandas DataFrames; the
data tools return lists of row dicts. Exports take ``path`` as a bare file name
(``"dscr.csv"``) and write it into the run's results directory (``META_AGENT_RESULTS_DIR``)
through ``meta_agent.tools.outputs.open_output``: there is no directory argument, a name with a
directory part, ``..``, an absolute path or the wrong extension is refused, and a symlink, hard
link, FIFO or directory already at that name is refused rather than followed. They return the
name written.
"""

from __future__ import annotations

import ast
import io
import math
import operator
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meta_agent.tools.base import RECORDS, BaseTool, ToolInputError
from meta_agent.tools.outputs import (
    MAX_NAME_CHARS,
    NAME_PATTERN,
    check_output_name,
    write_output,
)

# ----------------------------------------------------------------------------- helpers


def to_frame(data: Any):
    if isinstance(data, pd.DataFrame):
        return data.copy()
    return pd.DataFrame.from_records(list(data))


def to_records(frame) -> list[dict[str, Any]]:
    out = frame.replace([np.inf, -np.inf], np.nan).to_dict(orient="records")
    return [{str(k): _native(v) for k, v in row.items()} for row in out]


def _native(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _columns_error(tool: str, field: str, wanted: list[str], frame) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ToolInputError(tool, [f"{field}: no column {', '.join(repr(m) for m in missing)}; "
                                    f"available: {', '.join(map(str, frame.columns))}"])


_PATH_PARAMS = {
    "path": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS, "pattern": NAME_PATTERN,
             "description": "a bare file name such as \"dscr.csv\" (letters, digits, '.', '_', '-'); it is written "
                            "into the run's results directory — no directories, no absolute paths"},
}


class _DataTool(BaseTool):
    category = "data"
    table_params = ("data",)


class _ExportTool(_DataTool):
    suffixes: tuple[str, ...] = ()

    def prepare_for_validation(self, kwargs):
        if "path" in kwargs:
            # a bare name (str or Path) with the right extension, or ToolPathError naming the fix
            kwargs["path"] = check_output_name(kwargs["path"], tool=self.name, argument="path",
                                               extensions=self.suffixes)
        return kwargs

    def _write(self, path, payload: bytes) -> str:
        """Write ``payload`` to the output ``path`` (a bare name) through ``outputs.write_output``:
        only in the results directory, never through a symlink, hard link, FIFO or directory at
        the name. Returns the name."""
        return write_output(path, payload, tool=self.name, argument="path", extensions=self.suffixes)


# -------------------------------------------------------------------- safe expressions

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow, ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv}
_CMPOPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}

# Limits of the expression evaluator (each refusal names the limit).
MAX_EXPRESSION_CHARS = 2_000
MAX_EXPRESSION_DEPTH = 50  # nesting of the syntax tree
MAX_EXPRESSION_NODES = 500  # nodes of the syntax tree
MAX_EXPONENT = 1_000  # |b| in a ** b
MAX_INT_BITS = 4_096  # a Python integer (from literals) may not grow past ~1,233 digits


class ExpressionLimit(ValueError):
    """An expression is too long, too deep or would compute a number too large."""


def _functions():
    return {"abs": np.abs, "round": np.round, "sqrt": np.sqrt, "log": np.log, "exp": np.exp,
            "min": np.minimum, "max": np.maximum, "floor": np.floor, "ceil": np.ceil}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_series(v: Any, what: str) -> None:
    if isinstance(v, pd.Series) and not (pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v)):
        raise ExpressionLimit(f"'{what}' needs numeric columns; column '{v.name}' holds text or objects")


def _bounded_binop(node: ast.BinOp, left: Any, right: Any) -> Any:
    """``left <op> right``, refusing, before computing, what would grow without bound: Python
    integers past ``MAX_INT_BITS``, exponents past ``MAX_EXPONENT``, arithmetic on object columns."""
    op = type(node.op)
    what = ast.unparse(node)
    if len(what) > 80:
        what = what[:77] + "..."
    for v in (left, right):
        _check_series(v, what)
    if op is ast.Pow:
        exponents = np.asarray(right, dtype=np.float64) if not _is_int(right) else None
        too_big = (abs(right) > MAX_EXPONENT if _is_int(right)
                   else bool(np.nanmax(np.abs(exponents), initial=0) > MAX_EXPONENT))
        if too_big:
            raise ExpressionLimit(f"the exponent in '{what}' is larger than {MAX_EXPONENT:,} in magnitude "
                                  f"(the limit for **)")
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            if abs(left).bit_length() * right > MAX_INT_BITS:
                raise ExpressionLimit(f"'{what}' would be an integer of more than {MAX_INT_BITS:,} bits "
                                      f"(the limit for integer arithmetic)")
    elif op is ast.Mult and _is_int(left) and _is_int(right):
        if abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS + 1:
            raise ExpressionLimit(f"'{what}' would be an integer of more than {MAX_INT_BITS:,} bits "
                                  f"(the limit for integer arithmetic)")
    result = _BINOPS[op](left, right)
    if _is_int(result) and result.bit_length() > MAX_INT_BITS:
        raise ExpressionLimit(f"'{what}' is an integer of more than {MAX_INT_BITS:,} bits "
                              f"(the limit for integer arithmetic)")
    return result


def check_expression(expression: str) -> ast.Expression:
    """Parse ``expression`` within the length, depth and node-count limits, or ``ValueError``."""
    if not isinstance(expression, str):
        raise ValueError(f"the expression must be a string, not {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ExpressionLimit(f"the expression is {len(expression):,} characters long; the limit is "
                              f"{MAX_EXPRESSION_CHARS:,}")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"'{expression}' is not a valid expression ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise ExpressionLimit(f"the expression nests deeper than {MAX_EXPRESSION_DEPTH} levels (the limit)") from None
    nodes = 0
    stack = [(tree, 1)]
    while stack:  # iterative: a deep tree must not exhaust the Python stack while being measured
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionLimit(f"the expression nests deeper than {MAX_EXPRESSION_DEPTH} levels (the limit)")
        if nodes > MAX_EXPRESSION_NODES:
            raise ExpressionLimit(f"the expression has more than {MAX_EXPRESSION_NODES} parts (the limit)")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree


def evaluate(expression: str, frame):
    """Evaluate an arithmetic expression over columns, vectorized: column names, numbers,
    + - * / // % **, comparisons, and abs/round/sqrt/log/exp/min/max/floor/ceil. Anything
    else (attributes, subscripts, other calls, strings) is refused, as is an expression past
    the limits (``MAX_EXPRESSION_CHARS`` characters, ``MAX_EXPRESSION_DEPTH`` levels,
    ``MAX_EXPRESSION_NODES`` parts, exponents past ``MAX_EXPONENT``, integers past
    ``MAX_INT_BITS`` bits) — before anything is computed."""
    tree = check_expression(expression)
    funcs = _functions()

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _bounded_binop(node, ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = ev(node.operand)
            _check_series(v, ast.unparse(node)[:80])
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPOPS:
            return _CMPOPS[type(node.ops[0])](ev(node.left), ev(node.comparators[0]))
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            if _is_int(node.value) and node.value.bit_length() > MAX_INT_BITS:
                raise ExpressionLimit(f"the number {str(node.value)[:20]}... has more than {MAX_INT_BITS:,} bits "
                                      "(the limit for integer arithmetic)")
            return node.value
        if isinstance(node, ast.Name):
            if node.id in frame.columns:
                return frame[node.id]
            raise ValueError(f"no column '{node.id}'; available: {', '.join(map(str, frame.columns))}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in funcs
                and not node.keywords and 1 <= len(node.args) <= 2):
            args = [ev(a) for a in node.args]
            for a in args:
                _check_series(a, ast.unparse(node)[:80])
            # large integers go to numpy as floats: numpy has no loop for Python's unbounded ints
            args = [float(a) if _is_int(a) and a.bit_length() > 62 else a for a in args]
            return funcs[node.func.id](*args)
        raise ValueError(f"'{ast.unparse(node)}' is not allowed in an expression (use columns, numbers, "
                         "arithmetic, comparisons and abs/round/sqrt/log/exp/min/max/floor/ceil)")

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        try:
            return ev(tree)
        except ZeroDivisionError:
            raise ValueError(f"'{expression}' divides a number by zero") from None
        except OverflowError as exc:
            raise ExpressionLimit(f"'{expression}' overflows ({exc})") from None


# ----------------------------------------------------------------------------- tools


class TransformData(_DataTool):
    name = "transform_data"
    description = ("Reshape rows with a list of operations applied in order: select, drop, rename, compute (a new "
                   "column from an arithmetic expression over columns), round, sort, limit, fill_missing.")
    keywords = ("transform", "compute column", "derive", "rename", "select columns", "sort", "rank", "top",
                "round", "reshape", "calculate column")
    parameters = {
        "type": "object",
        "properties": {
            "data": {**RECORDS, "description": "rows (list of objects) or a DataFrame"},
            "operations": {
                "type": "array", "minItems": 1,
                "items": {"type": "object", "required": ["op"], "properties": {
                    "op": {"type": "string", "enum": ["select", "drop", "rename", "compute", "round", "sort",
                                                      "limit", "fill_missing"]},
                    "columns": {"anyOf": [{"type": "array", "items": {"type": "string"}},
                                          {"type": "object", "additionalProperties": {"type": "string"}}]},
                    "column": {"type": "string"},
                    "expression": {"type": "string", "description": f"at most {MAX_EXPRESSION_CHARS:,} characters"},
                    "decimals": {"type": "integer", "minimum": 0, "maximum": 12},
                    "by": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                    "descending": {"type": "boolean"},
                    "n": {"type": "integer", "minimum": 0},
                    "value": {"type": ["number", "string", "boolean", "null"]},
                }},
                "description": ("e.g. [{'op': 'compute', 'column': 'dscr', 'expression': 'noi / debt_service'}, "
                                "{'op': 'sort', 'by': 'dscr'}, {'op': 'limit', 'n': 10}]"),
            },
        },
        "required": ["data", "operations"],
        "additionalProperties": False,
    }
    returns = {"type": "array", "description": "the transformed rows"}

    def prepare_for_validation(self, kwargs):
        """Expressions are parsed and measured (length, depth, parts) before anything runs."""
        errors = []
        for i, op in enumerate(kwargs.get("operations") or []):
            expression = op.get("expression") if isinstance(op, dict) else None
            if isinstance(expression, str):
                try:
                    check_expression(expression)
                except ExpressionLimit as exc:
                    errors.append(f"operations.{i}.expression: {exc}")
                except ValueError:
                    pass  # a syntax error is reported, with its place, when the operation runs
        if errors:
            raise ToolInputError(self.name, errors)
        return kwargs

    def execute(self, data, operations):
        frame = to_frame(data)
        for i, op in enumerate(operations):
            kind = op["op"]
            where = f"operations.{i} ({kind})"
            try:
                if kind in ("select", "drop"):
                    cols = list(op.get("columns") or [])
                    _columns_error(self.name, where, cols, frame)
                    frame = frame[cols] if kind == "select" else frame.drop(columns=cols)
                elif kind == "rename":
                    mapping = dict(op.get("columns") or {})
                    _columns_error(self.name, where, list(mapping), frame)
                    frame = frame.rename(columns=mapping)
                elif kind == "compute":
                    if not op.get("column") or not op.get("expression"):
                        raise ValueError("needs 'column' and 'expression'")
                    try:
                        values = evaluate(op["expression"], frame)
                    except ExpressionLimit as exc:
                        raise ToolInputError(self.name, [f"operations.{i}.expression: {exc}"]) from None
                    if hasattr(values, "replace") and values.dtype.kind == "f":
                        infinite = int(np.isinf(values).sum())
                        if infinite:
                            warnings.warn(f"transform_data: {infinite} value(s) of '{op['column']}' divide by zero "
                                          "and are NaN.", stacklevel=2)
                            values = values.replace([np.inf, -np.inf], np.nan)
                    frame[op["column"]] = values
                elif kind == "round":
                    cols = list(op.get("columns") or frame.select_dtypes("number").columns)
                    _columns_error(self.name, where, cols, frame)
                    frame[cols] = frame[cols].round(int(op.get("decimals", 2)))
                elif kind == "sort":
                    by = op.get("by")
                    by = [by] if isinstance(by, str) else list(by or [])
                    if not by:
                        raise ValueError("needs 'by'")
                    _columns_error(self.name, where, by, frame)
                    frame = frame.sort_values(by, ascending=not op.get("descending", False), na_position="last",
                                              kind="stable")
                elif kind == "limit":
                    frame = frame.head(int(op.get("n", 10)))
                elif kind == "fill_missing":
                    cols = list(op.get("columns") or frame.columns)
                    _columns_error(self.name, where, cols, frame)
                    frame[cols] = frame[cols].fillna(op.get("value", 0))
            except ToolInputError:
                raise
            except (ValueError, TypeError, KeyError) as exc:
                raise ToolInputError(self.name, [f"{where}: {exc}"]) from None
        return to_records(frame.reset_index(drop=True))


_FILTER_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "contains", "is_null", "not_null")


class FilterData(_DataTool):
    name = "filter_data"
    description = ("Keep the rows that match conditions such as dscr < 1.25, property_type in [office, retail], "
                   "year between 2020 and 2024; combine with all (and) or any (or).")
    keywords = ("filter", "where", "below", "above", "less than", "greater than", "threshold", "only", "select rows",
                "exclude", "matching")
    parameters = {
        "type": "object",
        "properties": {
            "data": {**RECORDS, "description": "rows (list of objects) or a DataFrame"},
            "conditions": {
                "type": "array", "minItems": 1,
                "items": {"type": "object", "required": ["column", "op"], "additionalProperties": False,
                          "properties": {"column": {"type": "string"}, "op": {"type": "string", "enum": list(_FILTER_OPS)},
                                         "value": {}}},
                "description": "e.g. [{'column': 'dscr', 'op': '<', 'value': 1.25}]",
            },
            "match": {"type": "string", "enum": ["all", "any"], "default": "all",
                      "description": "all conditions (and) or any (or)"},
        },
        "required": ["data", "conditions"],
        "additionalProperties": False,
    }
    returns = {"type": "array", "description": "the matching rows, in their original order"}

    def execute(self, data, conditions, match="all"):
        frame = to_frame(data)
        if frame.empty:
            return []
        masks = []
        for i, cond in enumerate(conditions):
            col, op, value = cond["column"], cond["op"], cond.get("value")
            _columns_error(self.name, f"conditions.{i}.column", [col], frame)
            s = frame[col]
            try:
                if op in ("is_null", "not_null"):
                    m = s.isna() if op == "is_null" else s.notna()
                elif op in ("in", "not_in"):
                    if not isinstance(value, list):
                        raise ValueError(f"'{op}' needs a list value")
                    m = s.isin(value) if op == "in" else ~s.isin(value)
                elif op == "between":
                    if not (isinstance(value, list) and len(value) == 2):
                        raise ValueError("'between' needs [low, high]")
                    m = (s >= value[0]) & (s <= value[1])
                elif op == "contains":
                    m = s.astype(str).str.contains(str(value), case=False, regex=False)
                else:
                    if value is None or isinstance(value, list | dict):
                        raise ValueError(f"'{op}' needs a single value")
                    m = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                         ">": operator.gt, ">=": operator.ge}[op](s, value)
            except TypeError as exc:
                raise ToolInputError(self.name, [f"conditions.{i}: cannot compare column '{col}' with {value!r} ({exc})"]) from None
            except ValueError as exc:
                raise ToolInputError(self.name, [f"conditions.{i}: {exc}"]) from None
            masks.append(np.asarray(m.fillna(False), dtype=bool) if hasattr(m, "fillna") else np.asarray(m, dtype=bool))
        keep = np.logical_and.reduce(masks) if match == "all" else np.logical_or.reduce(masks)
        return to_records(frame[keep].reset_index(drop=True))


_METRIC_FUNCS = ("sum", "mean", "avg", "median", "min", "max", "count", "std", "first", "last")


class AggregateMetrics(_DataTool):
    name = "aggregate_metrics"
    description = ("Summary statistics of rows (sum, mean, median, min, max, count, std), overall or per group — "
                   "e.g. average DSCR and total NOI by property type.")
    keywords = ("aggregate", "summary", "statistics", "average", "mean", "median", "total", "group by", "by type",
                "portfolio summary", "count")
    parameters = {
        "type": "object",
        "properties": {
            "data": {**RECORDS, "description": "rows (list of objects) or a DataFrame"},
            "metrics": {"type": "object", "minProperties": 1,
                        "additionalProperties": {"anyOf": [
                            {"type": "string", "enum": list(_METRIC_FUNCS)},
                            {"type": "array", "items": {"type": "string", "enum": list(_METRIC_FUNCS)}, "minItems": 1}]},
                        "description": "column -> function(s), e.g. {'dscr': ['mean', 'min'], 'noi': 'sum'}"},
            "group_by": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                         "description": "group columns (omit for one overall row)"},
        },
        "required": ["data", "metrics"],
        "additionalProperties": False,
    }
    returns = {"type": "array", "description": "one row per group with <column>_<function> values"}

    def execute(self, data, metrics, group_by=None):
        frame = to_frame(data)
        groups = [group_by] if isinstance(group_by, str) else list(group_by or [])
        _columns_error(self.name, "group_by", groups, frame)
        _columns_error(self.name, "metrics", list(metrics), frame)
        spec = []
        for col, funcs in metrics.items():
            for fn in [funcs] if isinstance(funcs, str) else funcs:
                spec.append((f"{col}_{fn}", col, "mean" if fn == "avg" else fn))
        for _label, col, fn in spec:
            if fn not in ("count", "first", "last") and not pd.api.types.is_numeric_dtype(frame[col]):
                raise ToolInputError(self.name, [f"metrics.{col}: '{fn}' needs a numeric column; '{col}' is not"])
        named = {label: pd.NamedAgg(column=col, aggfunc=fn) for label, col, fn in spec}
        if groups:
            out = frame.groupby(groups, dropna=False, sort=True).agg(**named).reset_index()
        else:
            out = pd.DataFrame([{label: frame[col].agg(fn) for label, col, fn in spec}])
        return to_records(out)


class ExportToCSV(_ExportTool):
    name = "export_to_csv"
    description = ("Write rows to a CSV file in the run's results directory; path is a bare file name "
                   "such as \"dscr.csv\". Returns the name written.")
    keywords = ("csv", "export", "save", "comma separated", "file", "download")
    suffixes = (".csv",)
    parameters = {
        "type": "object",
        "properties": {"data": {**RECORDS, "description": "rows (list of objects) or a DataFrame"},
                       **_PATH_PARAMS,
                       "columns": {"type": "array", "items": {"type": "string"}, "description": "columns, in order"}},
        "required": ["data", "path"],
        "additionalProperties": False,
    }
    returns = {"type": "string", "description": "the file name written (in the results directory)"}

    def execute(self, data, path, columns=None):
        frame = to_frame(data)
        if columns:
            _columns_error(self.name, "columns", columns, frame)
            frame = frame[columns]
        return self._write(path, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))


class ExportToExcel(_ExportTool):
    name = "export_to_excel"
    description = ("Write rows to an Excel workbook (.xlsx) inside the results directory: a formatted header, "
                   "number formats, frozen header row and filters; extra sheets optional. path is a bare file name "
                   "such as \"dscr.xlsx\". Returns the name written.")
    keywords = ("excel", "xlsx", "spreadsheet", "workbook", "export", "save", "sheet")
    suffixes = (".xlsx",)
    parameters = {
        "type": "object",
        "properties": {
            "data": {**RECORDS, "description": "rows (list of objects) or a DataFrame for the first sheet"},
            **_PATH_PARAMS,
            "sheet_name": {"type": "string", "minLength": 1, "maxLength": 31, "default": "Data",
                           "description": "name of the first sheet"},
            "sheets": {"type": "object", "additionalProperties": RECORDS,
                       "description": "more sheets: name -> rows"},
        },
        "required": ["data", "path"],
        "additionalProperties": False,
    }
    returns = {"type": "string", "description": "the file name written (in the results directory)"}

    def prepare_for_validation(self, kwargs):
        kwargs = super().prepare_for_validation(kwargs)
        names = [kwargs.get("sheet_name") or "Data", *(kwargs.get("sheets") or {})]
        bad = [n for n in names if isinstance(n, str) and (any(ch in n for ch in "[]:*?/\\") or len(n) > 31)]
        if bad:
            raise ToolInputError(self.name, [f"sheet_name: '{b}' is not a valid sheet name (max 31 characters, "
                                             "none of []:*?/\\)" for b in bad])
        if len(set(names)) != len(names):
            raise ToolInputError(self.name, ["sheets: sheet names must be unique"])
        return kwargs

    def execute(self, data, path, sheet_name="Data", sheets=None):
        # local: openpyxl takes ~0.2 s to import; every script imports this module, few write Excel
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        _fill_sheet(ws, sheet_name, to_frame(data))
        for name, rows in (sheets or {}).items():
            _fill_sheet(wb.create_sheet(), name, to_frame(rows))
        buf = io.BytesIO()
        wb.save(buf)
        return self._write(path, buf.getvalue())


def _fill_sheet(ws, title: str, frame) -> None:
    # local: openpyxl (~0.2 s) loads only for Excel exports
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws.title = title
    columns = [str(c) for c in frame.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
    for row in to_records(frame):
        ws.append([None if isinstance(v, float) and math.isnan(v) else v for v in row.values()])
    for idx, col in enumerate(columns, start=1):
        letter = get_column_letter(idx)
        lower = col.lower()
        fmt = None
        if any(k in lower for k in ("rate", "ratio", "ltv", "yield", "occupancy", "irr", "roi")):
            fmt = "0.00%" if "dscr" not in lower else "0.00"
        elif lower == "dscr" or lower.endswith("_dscr") or lower.startswith("dscr"):
            fmt = "0.00"
        elif frame.shape[0] and str(frame[frame.columns[idx - 1]].dtype).startswith("float"):
            fmt = "#,##0.00"
        if fmt:
            for cell in ws[letter][1:]:
                cell.number_format = fmt
        width = max([len(col)] + [len(str(c.value)) for c in ws[letter][1:200] if c.value is not None])
        ws.column_dimensions[letter].width = min(max(10, width + 2), 60)
    ws.freeze_panes = "A2"
    if frame.shape[0]:
        ws.auto_filter.ref = ws.dimensions


class ExportToPDF(_ExportTool):
    name = "export_to_pdf"
    description = ("Write a PDF report inside the results directory: a title, optional notes, a table of the rows "
                   "and a chart (bar or line of one or more numeric columns). path is a bare file name such as "
                   "\"report.pdf\". Returns the name written.")
    keywords = ("pdf", "report", "chart", "document", "export", "print", "summary report", "plot")
    suffixes = (".pdf",)
    parameters = {
        "type": "object",
        "properties": {
            "data": {**RECORDS, "description": "rows (list of objects) or a DataFrame"},
            **_PATH_PARAMS,
            "title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "the report's title"},
            "notes": {"type": "array", "items": {"type": "string"}, "description": "paragraphs under the title"},
            "columns": {"type": "array", "items": {"type": "string"}, "description": "table columns (default all)"},
            "chart": {"type": "object", "additionalProperties": False, "properties": {
                "x": {"type": "string", "description": "label column"},
                "y": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
                "kind": {"type": "string", "enum": ["bar", "line"]},
                "title": {"type": "string"},
                "reference_line": {"type": "number", "description": "a horizontal line, e.g. 1.25 for DSCR"},
            }, "description": "default: first text column vs first numeric column, as bars"},
            "max_table_rows": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200,
                               "description": "at most this many table rows (default 200)"},
        },
        "required": ["data", "path", "title"],
        "additionalProperties": False,
    }
    returns = {"type": "string", "description": "the file name written (in the results directory)"}

    def execute(self, data, path, title, notes=None, columns=None, chart=None, max_table_rows=200):
        frame = to_frame(data)
        if columns:
            _columns_error(self.name, "columns", columns, frame)
        chart_spec = _chart_spec(self.name, frame, chart)
        pdf = _render_pdf(frame, title, notes or [], columns or [str(c) for c in frame.columns], chart_spec,
                          max_table_rows)
        return self._write(path, pdf)


def _chart_spec(tool: str, frame, chart: dict | None) -> dict | None:
    chart = dict(chart or {})
    numeric = [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    text = [str(c) for c in frame.columns if str(c) not in numeric]
    if frame.empty or not numeric:
        if chart:
            raise ToolInputError(tool, ["chart: the data has no numeric column to plot"])
        return None
    x = chart.get("x") or (text[0] if text else None)
    y = chart.get("y") or numeric[0]
    ys = [y] if isinstance(y, str) else list(y)
    _columns_error(tool, "chart", [c for c in [x, *ys] if c], frame)
    bad = [c for c in ys if c not in numeric]
    if bad:
        raise ToolInputError(tool, [f"chart.y: {', '.join(bad)} is not numeric"])
    return {"x": x, "y": ys, "kind": chart.get("kind", "bar"), "title": chart.get("title") or ", ".join(ys),
            "reference_line": chart.get("reference_line")}


def _font_paths() -> tuple[str, str]:
    import matplotlib  # local: ~0.25 s to import; only PDF exports need its fonts

    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return str(base / "DejaVuSans.ttf"), str(base / "DejaVuSans-Bold.ttf")


def _chart_png(frame, spec: dict) -> bytes:
    import matplotlib  # local: matplotlib (~0.5 s with pyplot) loads only when a chart is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # local, after choosing the Agg backend (needs no display)

    sub = frame.head(40).replace([np.inf, -np.inf], np.nan)
    labels = sub[spec["x"]].astype(str).tolist() if spec["x"] else [str(i + 1) for i in range(len(sub))]
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=120)
    try:
        if spec["kind"] == "line":
            for col in spec["y"]:
                ax.plot(labels, sub[col].astype(float), marker="o", label=col)
        else:
            n = len(spec["y"])
            width = 0.8 / n
            for k, col in enumerate(spec["y"]):
                ax.bar([i + (k - (n - 1) / 2) * width for i in range(len(sub))], sub[col].astype(float), width,
                       label=col)
            ax.set_xticks(range(len(sub)))
            ax.set_xticklabels(labels)
        if spec["reference_line"] is not None:
            ax.axhline(spec["reference_line"], color="crimson", linestyle="--", linewidth=1,
                       label=f"{spec['reference_line']:g}")
        ax.set_title(spec["title"])
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        ax.grid(axis="y", alpha=0.3)
        if len(spec["y"]) > 1 or spec["reference_line"] is not None:
            ax.legend(fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    return str(v)


def _render_pdf(frame, title: str, notes: list[str], columns: list[str], chart: dict | None,
                max_rows: int) -> bytes:
    from fpdf import FPDF  # local: ~0.4 s to import; only PDF exports need it

    regular, bold = _font_paths()
    landscape = len(columns) > 6
    pdf = FPDF(orientation="L" if landscape else "P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("DejaVu", "", regular)
    pdf.add_font("DejaVu", "B", bold)
    pdf.set_title(title)
    pdf.set_creator("meta-agent export_to_pdf")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    # fpdf2 leaves the cursor right of a multi_cell by default; the next one would have no width
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 6, f"{len(frame):,} rows", new_x="LMARGIN", new_y="NEXT")
    for para in notes:
        pdf.multi_cell(0, 5, para, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    if chart is not None:
        png = _chart_png(frame, chart)
        pdf.image(io.BytesIO(png), w=pdf.epw)
        pdf.ln(3)
    records = to_records(frame[columns].head(max_rows)) if columns else []
    size = 7 if len(columns) > 8 else 8
    pdf.set_font("DejaVu", "", size)
    if columns:
        with pdf.table(text_align="LEFT", line_height=1.6 * size / 2.8, first_row_as_headings=True) as table:
            header = table.row()
            for c in columns:
                header.cell(c)
            for rec in records:
                row = table.row()
                for c in columns:
                    row.cell(_cell(rec.get(c)))
    if len(frame) > max_rows:
        pdf.ln(2)
        pdf.cell(0, 5, f"first {max_rows:,} of {len(frame):,} rows shown", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


DATA_TOOLS: tuple[type[BaseTool], ...] = (
    TransformData, FilterData, AggregateMetrics, ExportToCSV, ExportToExcel, ExportToPDF,
)
