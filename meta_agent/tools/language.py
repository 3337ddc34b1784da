"""The script language: the exact subset of Python a generated script may use.

A generated script (template, model or person) is accepted only if every construct in it is
on the lists below; anything else is rejected, with its line, the rule and a one-line fix,
by the validator (``meta_agent.scriptgen.validator``), and refused again at run time by the
guard (``meta_agent.tools.guard``), which runs the script under RestrictedPython with the same
lists. The container is still the boundary; these two layers make the contract true first.

The shape of a script::

    \"\"\"What the script answers (a docstring).\"\"\"

    from meta_agent.tools import call_tool, log, run_script, step

    LIMIT = 10  # module-level constants


    def run(params, result):
        step(1, "read the properties")
        rows = call_tool("fetch_property_data", city=params.get("city"))
        log("%d properties", len(rows))
        return rows, None


    def key_figures(rows, summary, params):
        return {"properties": len(rows)}


    run_script(run, key_figures, steps=1)

What is on the list:

- **Imports**: one form only, ``from meta_agent.tools import NAME, ...`` with names from
  ``API`` (the runtime API and the tool dispatch: ``meta_agent.tools.runtime``), no ``as``.
  No other module: reading parameters, logging steps, writing ``result.json`` and outputs are
  all in the runtime API, so a script needs no standard library.
- **Statements** (``STATEMENTS``) at module level: a docstring, the import, assignments of
  constants, ``def`` (no decorators, no nested ``def``), and the final ``run_script(...)``
  call. Inside functions: assignment, augmented assignment of a plain name, ``if``, ``for``,
  ``while``, ``try/except`` (of ``EXCEPTIONS``), ``raise``, ``return``, ``pass``, ``break``,
  ``continue`` and expression statements.
- **Expressions** (``EXPRESSIONS``): literals (str, int, float, bool, None — no bytes),
  containers, comprehensions, lambdas, arithmetic and comparisons, f-strings, subscripts and
  slices, calls. ``**`` needs a literal exponent of at most ``MAX_LITERAL_EXPONENT``
  (``power(x, y)`` bounds a computed one); ``<<`` and ``>>`` are not on the list; a literal
  string or list may be repeated at most ``MAX_LITERAL_REPEAT`` times (chains multiply); a
  power of a power is refused; ``%``-format and f-string widths are literals of at most
  ``MAX_FORMAT_WIDTH``.
- **Names** a script may use without defining them: ``BUILTINS`` (pure functions and types),
  ``EXCEPTIONS`` and the imported ``API`` names. Nothing else — no ``open``, ``getattr``,
  ``eval``, ``type``, ``print``...
- **Calls**: a builtin, an ``API`` function, or a function the script defines, called by
  name; or a method from ``SAFE_METHODS`` on a value (``rows.append(row)``,
  ``row.get("noi")``, ``", ".join(ids)``). The API functions may only be called, never passed
  around or renamed. ``call_tool``'s first argument is a string literal naming a registered
  tool.
- **No attribute access** other than those method calls: no ``x.attr`` reads, no attribute
  assignment. At run time the guard also checks the value's type (``SAFE_METHOD_TYPES``).
- **No name that starts with an underscore**, and no dunder anywhere, string literals
  included (``"{0.__class__}"`` is refused even where no ``format`` could read it).
- **No rebinding**: a name from ``BUILTINS``, ``EXCEPTIONS`` or ``API``, and a function the
  script defines, may not be assigned, used as a parameter, loop or comprehension target,
  ``except ... as`` name or ``def`` name.
"""

from __future__ import annotations

import ast

TOOLS_MODULE = "meta_agent.tools"

# What ``from meta_agent.tools import ...`` may bring in: the tool dispatch, the script
# runtime (meta_agent/tools/runtime.py) and the exceptions a script may catch or raise.
API_FUNCTIONS = frozenset({
    "call_tool",  # call_tool("tool_name", keyword=value, ...)
    "run_script",  # the entry point: run_script(run, key_figures, ...)
    "step", "log", "warn",  # logging
    "present", "single", "number", "clean", "column", "put",  # row helpers
    "figures", "years_between", "to_json", "power",  # figures, dates, JSON text, bounded powers
    "write_json",  # an extra JSON output, by bare file name
})
API_EXCEPTIONS = frozenset({"Stop", "NoData", "ToolInputError", "CalculationError"})
API = API_FUNCTIONS | API_EXCEPTIONS

# Pure builtins (no I/O, no reflection, no code): callable and usable as values (key=abs).
BUILTINS = frozenset({
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "frozenset",
    "int", "isinstance", "len", "list", "map", "max", "min", "range", "reversed", "round", "set",
    "sorted", "str", "sum", "tuple", "zip",
})
EXCEPTIONS = frozenset({"Exception", "ValueError", "KeyError", "TypeError", "IndexError",
                        "ZeroDivisionError", "ArithmeticError", "LookupError"})

# Methods a script may call on a value; the guard also requires the value to be one of
# SAFE_METHOD_TYPES (plain data). No method that formats by attribute path (str.format,
# format_map), encodes, or pads to a caller-chosen width is listed.
DICT_METHODS = frozenset({"get", "items", "keys", "values", "setdefault", "update", "pop", "copy"})
LIST_METHODS = frozenset({"append", "extend", "insert", "index", "count", "sort", "reverse", "pop",
                          "copy", "remove"})
STR_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "join",
                         "startswith", "endswith", "replace", "title", "capitalize", "casefold",
                         "isdigit", "isalpha", "isalnum", "isspace", "find", "rfind", "count",
                         "index", "partition", "rpartition", "splitlines"})
SET_METHODS = frozenset({"add", "discard", "union", "intersection", "difference", "issubset",
                         "issuperset", "copy", "pop", "update"})
FLOAT_METHODS = frozenset({"is_integer"})
SAFE_METHODS = DICT_METHODS | LIST_METHODS | STR_METHODS | SET_METHODS | FLOAT_METHODS
# Type name -> the methods allowed on it (subclasses count: a tool's QueryResult is a list).
SAFE_METHOD_TYPES: dict[type, frozenset[str]] = {
    dict: DICT_METHODS, list: LIST_METHODS, str: STR_METHODS, set: SET_METHODS,
    frozenset: SET_METHODS - {"add", "discard", "pop", "update"}, tuple: frozenset({"index", "count"}),
    float: FLOAT_METHODS,
}

STATEMENTS: frozenset[type[ast.AST]] = frozenset({
    ast.FunctionDef, ast.Return, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.While,
    ast.If, ast.Raise, ast.Try, ast.Expr, ast.Pass, ast.Break, ast.Continue, ast.ImportFrom,
})
EXPRESSIONS: frozenset[type[ast.AST]] = frozenset({
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set, ast.ListComp,
    ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call, ast.FormattedValue,
    ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred, ast.Name, ast.List,
    ast.Tuple, ast.Slice,
})
OPERATORS: frozenset[type[ast.AST]] = frozenset({
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Pow, ast.FloorDiv, ast.BitOr, ast.BitAnd,
    ast.BitXor, ast.And, ast.Or, ast.Not, ast.UAdd, ast.USub, ast.Eq, ast.NotEq, ast.Lt, ast.LtE,
    ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
})
# Helper nodes that only appear inside the ones above.
PARTS: frozenset[type[ast.AST]] = frozenset({
    ast.Module, ast.Load, ast.Store, ast.comprehension, ast.ExceptHandler, ast.arguments, ast.arg,
    ast.keyword, ast.alias,
})
NODES = STATEMENTS | EXPRESSIONS | OPERATORS | PARTS

CONSTANT_TYPES = (str, int, float, bool, type(None))
MAX_LITERAL_EXPONENT = 64  # x ** 2, (1 + r) ** 12; a computed exponent goes through power()
MAX_POWER_EXPONENT = 10_000  # what power() accepts (and |result| below MAX_POWER_RESULT)
MAX_POWER_RESULT = 1e300
MAX_LITERAL_REPEAT = 10_000  # "-" * 40, [0] * 12
MAX_FORMAT_WIDTH = 1_000  # "%10.2f", f"{x:>12}"; widths from arguments ("%*d") are refused
MAX_INT_LITERAL = 10**18
MAX_STRING_LITERAL = 20_000  # characters

RESERVED = BUILTINS | EXCEPTIONS | API  # names no script may bind
ENTRY_POINT = "run_script"

# One-line fixes by rule, shown after each finding's message.
FIXES: dict[str, str] = {
    "syntax": "fix the syntax error; the script must be valid Python 3.11",
    "node-not-allowed": "use only the statements and expressions listed in meta_agent/tools/language.py",
    "constant-not-allowed": "use str, int, float, bool or None literals",
    "import-not-allowed": "import only from meta_agent.tools: from meta_agent.tools import call_tool, run_script, ...",
    "name-not-allowed": "use the runtime API (meta_agent.tools.runtime) or a pure builtin instead",
    "attribute-not-allowed": "call a listed method on a value (row.get, rows.append...) or a runtime API function",
    "call-not-allowed": "call a builtin, a meta_agent.tools function or a function this script defines, by name",
    "alias-not-allowed": "call the meta_agent.tools function directly instead of passing it around",
    "underscore-name": "rename it without the leading underscore (dunder names are never allowed)",
    "dunder-string": "remove the dunder from the string",
    "rebinding": "pick another name; this one is a builtin, a meta_agent.tools name or a function of the script",
    "exponent-bound": "use a literal exponent up to 64, or power(base, exponent) for a computed one",
    "size-bound": "keep literals, literal repetitions (10,000) and format widths (1,000) within the bounds in language.py",
    "structure": "keep the module level to a docstring, the import, constants, defs and one final run_script(...)",
    "unknown-tool": "use a tool listed by `meta-agent tools list`",
    "tool-name": "name the tool with a string literal: call_tool(\"calculate_dscr\", ...)",
    "tool-args": "pass only the tool's parameters (`meta-agent tools show NAME`) as keywords; outputs by bare "
                 "file name (path=\"dscr.csv\")",
    "nosec-comment": "remove the '# nosec' comment",
    "hardcoded-secret": "read credentials from the environment of the service that needs them; scripts never carry them",
    "high-entropy-string": "if this is an id, read it from the parameters file; a script never carries a key",
}
