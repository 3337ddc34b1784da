"""The script validator: a script is accepted only if every construct is on the script language's lists.

The lists are ``meta_agent.tools.language`` (its docstring is the language's reference). The
validator parses the script and walks every node: a node type, name, method, import or
binding not on a list is a ``Finding`` with line, column, rule, message and a one-line fix.
Then ``# nosec`` comments and hard-coded secrets (``secret_scan``). Nothing is patched out of
a larger language: what is not listed is refused.

It is the first layer. The runtime guard (``meta_agent.tools.guard``, RestrictedPython with
the same lists) is the second, inside the sandbox; the container is the boundary.

Rule ids are the keys of ``language.FIXES``: ``syntax``, ``node-not-allowed``,
``constant-not-allowed``, ``import-not-allowed``, ``name-not-allowed``,
``attribute-not-allowed``, ``call-not-allowed``, ``alias-not-allowed``, ``underscore-name``,
``dunder-string``, ``rebinding``, ``exponent-bound``, ``size-bound``, ``structure``,
``unknown-tool``, ``tool-name``, ``tool-args``, ``nosec-comment``, ``hardcoded-secret``,
``high-entropy-string``.
"""

from __future__ import annotations

import ast
import functools
import io
import math
import re
import time
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from meta_agent.errors import InputError
from meta_agent.scriptgen.secret_scan import scan_source
from meta_agent.scriptgen.tooling import registry
from meta_agent.tools import language as L
from meta_agent.tools.outputs import is_bare_name

_DUNDER = re.compile(r"__\w+__")
_NOSEC = re.compile(r"#\s*nosec\b", re.IGNORECASE)

# What to call a construct that is not on the lists (by AST node type name).
_CONSTRUCTS = {
    "Import": "'import' statements (only 'from meta_agent.tools import ...')",
    "ClassDef": "class definitions", "AsyncFunctionDef": "async functions", "With": "'with' blocks",
    "AsyncWith": "'async with' blocks", "AsyncFor": "'async for' loops", "Match": "'match' statements",
    "Global": "'global'", "Nonlocal": "'nonlocal'", "Delete": "'del'", "Assert": "'assert'",
    "TryStar": "'except*'", "NamedExpr": "the ':=' operator", "Yield": "'yield' (generators)",
    "YieldFrom": "'yield from'", "Await": "'await'", "LShift": "the '<<' operator",
    "RShift": "the '>>' operator", "MatMult": "the '@' operator", "Invert": "the '~' operator",
    "Del": "'del'",
}
# Why some names that scripts reach for are not on the list, and what to use instead.
_NAME_HINTS = {
    "open": "files are written by the export tools and write_json, by bare file name",
    "print": "use log(...)", "eval": "code is never built at run time", "exec": "code is never built at run time",
    "compile": "code is never built at run time", "getattr": "attributes are not part of the language",
    "setattr": "attributes are not part of the language", "globals": "namespaces are not reachable",
    "locals": "namespaces are not reachable", "vars": "namespaces are not reachable",
    "type": "types are not inspected", "input": "scripts read their parameters with run_script",
}


@dataclass(frozen=True)
class Finding:
    line: int
    rule: str
    message: str
    severity: str = "error"  # "error" rejects the script; "warning" is shown only
    col: int = 0
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self, where: str = "script") -> str:
        """``where:line:col: [rule] message — fix: ...`` (one line, what a person reads)."""
        fix = self.fix or L.FIXES.get(self.rule.split(":")[0], "")
        return f"{where}:{self.line}:{self.col + 1}: [{self.rule}] {self.message}" + (f" — fix: {fix}" if fix else "")


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    duration_ms: float = 0.0
    language: str = "meta_agent.tools.language"

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error"]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def rules(self) -> set[str]:
        return {f.rule for f in self.errors}

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "errors": [f.as_dict() for f in self.errors],
                "warnings": [f.as_dict() for f in self.warnings],
                "duration_ms": round(self.duration_ms, 2), "language": self.language}

    def summary(self) -> str:
        if self.valid:
            return "valid" + (f" ({len(self.warnings)} warnings)" if self.warnings else "")
        return f"invalid: {len(self.errors)} errors ({', '.join(sorted(self.rules))})"

    def render(self, where: str = "script") -> str:
        return "\n".join(f.render(where) for f in self.errors)


@dataclass(frozen=True)
class ToolCatalog:
    """What the validator knows about tools: names and each tool's parameter names."""

    params: Mapping[str, frozenset[str]]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.params)

    @classmethod
    def from_registry(cls, registry) -> ToolCatalog:
        return cls({t.name: frozenset(t.parameters.get("properties", {})) for t in registry.list()})

    @classmethod
    def default(cls) -> ToolCatalog:
        return _catalog_of(registry())


@functools.lru_cache(maxsize=4)
def _catalog_of(tool_registry) -> ToolCatalog:
    """The catalog of a registry object (the shared registry is built once per process)."""
    return ToolCatalog.from_registry(tool_registry)


def validate_script(source: str, tools: ToolCatalog | None = None) -> ValidationReport:
    """Validate ``source`` against the script language; ``tools`` defaults to the tool registry."""
    t0 = time.perf_counter()
    tools = tools or ToolCatalog.default()
    report = ValidationReport()
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        report.findings.append(_finding(exc.lineno or 1, "syntax", f"the script does not parse: {exc.msg}",
                                        (exc.offset or 1) - 1))
        report.duration_ms = (time.perf_counter() - t0) * 1000
        return report
    report.findings.extend(LanguageChecker(tools).check(tree))
    report.findings.extend(_nosec_findings(source))
    report.findings.extend(_finding(h.line, h.rule, h.message) for h in scan_source(source, tree))
    report.findings = _dedupe(report.findings)
    report.duration_ms = (time.perf_counter() - t0) * 1000
    return report


def validate_file(path: Path, tools: ToolCatalog | None = None) -> ValidationReport:
    try:
        source = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; give the path of a Python script to validate.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); a script must be UTF-8.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None
    return validate_script(source, tools)


def _finding(line: int, rule: str, message: str, col: int = 0) -> Finding:
    return Finding(line, rule, message, col=col, fix=L.FIXES.get(rule, ""))


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[int, str, str]] = set()
    out = []
    for f in sorted(findings, key=lambda f: (f.line, f.col, f.rule)):
        key = (f.line, f.rule, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _nosec_findings(source: str) -> list[Finding]:
    out = []
    if "nosec" not in source.lower():
        return out
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and _NOSEC.search(tok.string):
                out.append(_finding(tok.start[0], "nosec-comment",
                                    "'# nosec' is not honoured: scripts may not silence security checks",
                                    tok.start[1]))
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


def _src(node: ast.AST, limit: int = 60) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 — only for the message
        text = type(node).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Node types that bind names.
_BINDERS = frozenset({ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension, ast.arguments,
                      ast.ExceptHandler, ast.FunctionDef, ast.ImportFrom})


def _bound_names(target: ast.AST) -> Iterable[ast.Name]:
    """The names an assignment/loop target binds (``a``, ``a, *b``, ``(a, b)``)."""
    if isinstance(target, ast.Name):
        yield target
    elif isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            yield from _bound_names(elt)
    elif isinstance(target, ast.Starred):
        yield from _bound_names(target.value)


class LanguageChecker:
    """One pass over the tree; every construct is looked up on the language's lists."""

    def __init__(self, tools: ToolCatalog):
        self.tools = tools
        self.findings: list[Finding] = []
        self.imported: set[str] = set()
        self.functions: set[str] = set()
        self.variables: set[str] = set()
        self.called: set[int] = set()  # id() of nodes that are the func of a Call

    def add(self, node: ast.AST, rule: str, message: str) -> None:
        self.findings.append(_finding(getattr(node, "lineno", 1), rule, message, getattr(node, "col_offset", 0)))

    def check(self, tree: ast.Module) -> list[Finding]:
        nodes = list(ast.walk(tree))  # one walk; every pass below reads this list
        self._structure(tree, nodes)
        self._bindings(tree, nodes)
        self.called = {id(node.func) for node in nodes if isinstance(node, ast.Call)}
        for node in nodes:
            kind = type(node)
            if kind in _QUIET:
                continue
            self._node(node)
        return self.findings

    # -------------------------------------------------------------- module level

    def _structure(self, tree: ast.Module, nodes: list[ast.AST]) -> None:
        body = list(tree.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        entry_calls = [n for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                       and n.func.id == L.ENTRY_POINT]
        last = body[-1] if body else None
        ends_with_entry = (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
                           and isinstance(last.value.func, ast.Name) and last.value.func.id == L.ENTRY_POINT)
        if not ends_with_entry:
            self.add(last or tree, "structure", f"the script must end with one {L.ENTRY_POINT}(run, ...) call")
        if len(entry_calls) > 1:
            self.add(entry_calls[1], "structure", f"{L.ENTRY_POINT}(...) may be called once, at the end")
        for stmt in body[:-1] if ends_with_entry else body:
            if isinstance(stmt, ast.ImportFrom | ast.Import | ast.FunctionDef):
                continue
            if isinstance(stmt, ast.Assign | ast.AnnAssign):
                value = stmt.value
                calls = [n for n in ast.walk(value) if isinstance(n, ast.Call)] if value is not None else []
                if calls:
                    self.add(calls[0], "structure", f"module-level constants are literals; move {_src(calls[0])} "
                                                    "into a function")
                continue
            if type(stmt).__name__ in _CONSTRUCTS or type(stmt) not in L.NODES:
                continue  # reported as node-not-allowed
            self.add(stmt, "structure", f"{_src(stmt, 40)!r} at module level: only a docstring, the import, "
                                        "constants, defs and the final run_script(...) call belong there")
        top = {id(stmt) for stmt in tree.body}
        for node in nodes:
            if isinstance(node, ast.FunctionDef) and id(node) not in top:
                self.add(node, "structure", f"def {node.name} inside a function: define functions at module level")
            elif isinstance(node, ast.ImportFrom | ast.Import) and id(node) not in top:
                self.add(node, "import-not-allowed", "imports belong at the top of the script")

    # -------------------------------------------------------------------- names

    def _bindings(self, tree: ast.Module, nodes: list[ast.AST]) -> None:
        """Collect what the script defines, and refuse every binding of a reserved name."""
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef):
                if stmt.name in self.functions:
                    self.add(stmt, "rebinding", f"def {stmt.name} is defined twice")
                self.functions.add(stmt.name)
            if isinstance(stmt, ast.ImportFrom) and stmt.module == L.TOOLS_MODULE and not stmt.level:
                self.imported.update(a.name for a in stmt.names if a.name in L.API and a.asname is None)
        for node in nodes:
            if type(node) not in _BINDERS:
                continue
            for name, where in self._binds(node):
                if name in L.RESERVED or (name in self.functions and not isinstance(node, ast.FunctionDef)
                                          and not (isinstance(node, ast.ImportFrom))):
                    what = ("a builtin" if name in L.BUILTINS or name in L.EXCEPTIONS
                            else f"a {L.TOOLS_MODULE} name" if name in L.API else "a function of this script")
                    self.add(where, "rebinding", f"{name!r} is {what}; it may not be bound here")
                if not isinstance(node, ast.FunctionDef | ast.ImportFrom):
                    self.variables.add(name)

    def _binds(self, node: ast.AST) -> Iterable[tuple[str, ast.AST]]:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield from ((n.id, n) for n in _bound_names(target))
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.comprehension):
            yield from ((n.id, n) for n in _bound_names(node.target))
        elif isinstance(node, ast.arguments):
            for a in [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]:
                if a is not None:
                    yield a.arg, a
        elif isinstance(node, ast.ExceptHandler) and node.name:
            yield node.name, node
        elif isinstance(node, ast.FunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                if a.asname:
                    yield a.asname, node

    # -------------------------------------------------------------------- nodes

    def _node(self, node: ast.AST) -> None:
        kind = type(node)
        if kind not in L.NODES:
            if not hasattr(node, "lineno"):
                return  # an operator, a 'del' context, a with-item: its statement or expression reports it
            name = kind.__name__
            what = _CONSTRUCTS.get(name, f"{name} nodes")
            rule = "import-not-allowed" if kind is ast.Import else "node-not-allowed"
            self.add(node, rule, f"{what} are not in the script language" if not what.startswith("the ")
                     else f"{what} is not in the script language")
            return
        handler = getattr(self, f"_{kind.__name__}", None)
        if handler is not None:
            handler(node)

    def _ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module != L.TOOLS_MODULE or node.level:
            self.add(node, "import-not-allowed", f"'from {'.' * node.level}{node.module or ''} import ...': the only "
                                                 f"import is from {L.TOOLS_MODULE}")
            return
        for alias in node.names:
            if alias.name not in L.API:
                self.add(node, "import-not-allowed", f"{alias.name!r} is not part of the script API "
                                                     f"(importable: {', '.join(sorted(L.API))})")
            elif alias.asname:
                self.add(node, "import-not-allowed", f"'{alias.name} as {alias.asname}': import names as they are")

    def _FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.decorator_list:
            self.add(node.decorator_list[0], "node-not-allowed", "decorators are not in the script language")
        self._identifier(node, node.name)

    def _arg(self, node: ast.arg) -> None:
        self._identifier(node, node.arg)

    def _ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._identifier(node, node.name)

    def _keyword(self, node: ast.keyword) -> None:
        if node.arg:
            self._identifier(node, node.arg)

    def _identifier(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            self.add(node, "underscore-name", f"{name!r}: names may not start with an underscore")

    def _Name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            self._identifier(node, name)
            return
        if not isinstance(node.ctx, ast.Load):
            return
        if name in L.API:
            if name not in self.imported:
                self.add(node, "name-not-allowed", f"{name!r} is used but not imported: "
                                                   f"from {L.TOOLS_MODULE} import {name}")
            elif name in L.API_FUNCTIONS and id(node) not in self.called:
                self.add(node, "alias-not-allowed", f"{name!r} may only be called, not used as a value")
            return
        if name in L.BUILTINS or name in L.EXCEPTIONS or name in self.functions or name in self.variables:
            return
        hint = _NAME_HINTS.get(name)
        self.add(node, "name-not-allowed", f"{name!r} is not in the script language"
                                           + (f" ({hint})" if hint else " (not a listed builtin, API name or a name "
                                                                       "this script defines)"))

    def _Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            self.add(node, "underscore-name", f".{node.attr}: attributes that start with an underscore are never "
                                              "allowed")
        elif id(node) not in self.called or not isinstance(node.ctx, ast.Load):
            self.add(node, "attribute-not-allowed", f"{_src(node)}: attributes may not be read or assigned; only "
                                                    "listed methods may be called")
        elif node.attr not in L.SAFE_METHODS:
            why = " (format strings can read attributes; use an f-string)" if node.attr in ("format", "format_map") \
                else ""
            self.add(node, "attribute-not-allowed", f".{node.attr}(...) is not a listed method{why}")

    def _Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            return  # the method is checked as an attribute
        if not isinstance(func, ast.Name):
            self.add(node, "call-not-allowed", f"{_src(func)}(...): only names and listed methods may be called")
            return
        name = func.id
        if name in self.variables and name not in self.functions:
            self.add(node, "call-not-allowed", f"{name}(...): {name!r} is a variable; call functions by their name")
        if name == "call_tool":
            self._tool_call(node)
        elif name in _LOG_FUNCS and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            self._format_widths(node.args[0], node.args[0].value)
        elif name == "write_json" and node.args:
            self._bare_name(node.args[0], "write_json: name")

    def _tool_call(self, node: ast.Call) -> None:
        if not node.args or not isinstance(node.args[0], ast.Constant) or not isinstance(node.args[0].value, str):
            self.add(node, "tool-name", "call_tool's first argument must be a string literal naming the tool")
            return
        tool = node.args[0].value
        if tool not in self.tools.names:
            self.add(node, "unknown-tool", f"no tool named {tool!r}")
            return
        if len(node.args) > 1:
            self.add(node, "tool-args", f"{tool}: pass inputs as keywords (named as in the tool's schema)")
        known = self.tools.params[tool]
        for kw in node.keywords:
            if kw.arg is not None and kw.arg not in known:
                self.add(kw, "tool-args", f"{tool} has no parameter {kw.arg!r} (parameters: {', '.join(sorted(known))})")
            elif kw.arg in _NAME_ARGS:
                self._bare_name(kw.value, f"{tool}: {kw.arg}")

    def _bare_name(self, value: ast.AST, what: str) -> None:
        """A literal output name must be a bare file name (the tool refuses computed ones at run time)."""
        if isinstance(value, ast.Constant) and isinstance(value.value, str) and not is_bare_name(value.value):
            self.add(value, "tool-args", f"{what} {value.value!r} must be a bare file name such as \"dscr.csv\" "
                                         "(outputs go to the run's results directory by name only)")

    def _Constant(self, node: ast.Constant) -> None:
        value = node.value
        if not isinstance(value, L.CONSTANT_TYPES):
            self.add(node, "constant-not-allowed", f"{type(value).__name__} literals are not in the script language")
        elif isinstance(value, str):
            if len(value) > L.MAX_STRING_LITERAL:
                self.add(node, "size-bound", f"a string literal of {len(value):,} characters "
                                             f"(at most {L.MAX_STRING_LITERAL:,})")
            dunder = _DUNDER.search(value)
            if dunder:
                self.add(node, "dunder-string", f"the string contains the dunder {dunder.group(0)!r}")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > L.MAX_INT_LITERAL:
            self.add(node, "size-bound", f"an integer literal of {len(str(abs(value)))} digits (at most 10**18)")

    def _operator(self, node: ast.AST, op: ast.AST) -> bool:
        """Report ``op`` at ``node``'s position when it is not on the list (operators carry none)."""
        if type(op) in L.NODES:
            return True
        what = _CONSTRUCTS.get(type(op).__name__, f"the {type(op).__name__} operator")
        self.add(node, "node-not-allowed", f"{what} is not in the script language")
        return False

    def _UnaryOp(self, node: ast.UnaryOp) -> None:
        self._operator(node, node.op)

    def _BinOp(self, node: ast.BinOp) -> None:
        if not self._operator(node, node.op):
            return
        if isinstance(node.op, ast.Pow):
            self._exponent(node, node.right)
            if _contains_power(node.left):
                self.add(node, "exponent-bound", f"{_src(node)}: a power of a power does not stay bounded; "
                                                 "use power(base, exponent)")
        elif isinstance(node.op, ast.Mult):
            size = _literal_size(node)
            if size is not None and size > L.MAX_LITERAL_REPEAT:
                self.add(node, "size-bound", f"{_src(node)} builds a literal of {size:,} items "
                                             f"(at most {L.MAX_LITERAL_REPEAT:,})")
        elif isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            self._format_widths(node.left, node.left.value)

    def _format_widths(self, node: ast.AST, text: str) -> None:
        """%-format widths and precisions: literal and at most MAX_FORMAT_WIDTH."""
        for match in _PERCENT_SPEC.finditer(text):
            for part in (match.group("width"), match.group("precision")):
                if part == "*":
                    self.add(node, "size-bound", f"{match.group(0)!r}: a width or precision taken from the "
                                                 "arguments is not bounded; write it as a number")
                elif part and int(part) > L.MAX_FORMAT_WIDTH:
                    self.add(node, "size-bound", f"{match.group(0)!r}: width {int(part):,} is above "
                                                 f"{L.MAX_FORMAT_WIDTH:,}")

    def _FormattedValue(self, node: ast.FormattedValue) -> None:
        spec = node.format_spec
        if spec is None:
            return
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        if any(not isinstance(p, ast.Constant) for p in parts):
            self.add(node, "size-bound", "an f-string format spec computed at run time is not bounded; write it "
                                         "as a literal (f\"{x:>10}\")")
            return
        text = "".join(str(p.value) for p in parts)
        for digits in re.findall(r"\d+", text):
            if int(digits) > L.MAX_FORMAT_WIDTH:
                self.add(node, "size-bound", f"format spec {text!r}: {int(digits):,} is above {L.MAX_FORMAT_WIDTH:,}")

    def _AugAssign(self, node: ast.AugAssign) -> None:
        self._operator(node, node.op)
        if not isinstance(node.target, ast.Name):
            self.add(node, "node-not-allowed", f"augmented assignment to {_src(node.target)}: write "
                                               "x[k] = x[k] + v (only plain names take +=)")
        if isinstance(node.op, ast.Pow):
            self._exponent(node, node.value)

    def _exponent(self, node: ast.AST, exponent: ast.AST) -> None:
        n = _literal_number(exponent)
        if n is None:
            self.add(node, "exponent-bound", f"{_src(node)}: the exponent is computed; use power(base, exponent)")
        elif abs(n) > L.MAX_LITERAL_EXPONENT:
            self.add(node, "exponent-bound", f"{_src(node)}: exponent {n:g} is above {L.MAX_LITERAL_EXPONENT}")


_NAME_ARGS = frozenset({"path", "name", "filename"})
_LOG_FUNCS = frozenset({"log", "warn"})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[a-zA-Z%]")
_FOLD_LIMIT = 10**12  # constant arithmetic is folded only while it stays this small


def _literal_number(node: ast.AST) -> float | None:
    """The value of numeric literal arithmetic (``3``, ``-2.5``, ``10 ** 9``, ``1000 * 1000``), else None.
    Folding stops (None) once a value would leave +-10**12 — it is then too large anyway, and
    the callers' bounds are far below that."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _literal_number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Pow):
        left, right = _literal_number(node.left), _literal_number(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Pow):
            if abs(left) > 1 and (right > 64 or abs(right) * math.log10(abs(left)) > 12):
                return float(_FOLD_LIMIT) * 10  # beyond the limit: a bound above it will refuse it
            value = left**right
        else:
            value = left + right if isinstance(node.op, ast.Add) else left - right if isinstance(node.op, ast.Sub) \
                else left * right
        if isinstance(value, complex) or abs(value) > _FOLD_LIMIT:
            return float(_FOLD_LIMIT) * 10 * (1 if not isinstance(value, complex) and value >= 0 else -1)
        return value
    return None


def _literal_size(node: ast.AST) -> int | None:
    """How many items (characters, elements) a literal repetition builds: ``"-" * 40`` is 40,
    ``[0] * 10 ** 9`` is 10**9, ``"a" * 1000 * 1000`` is 10**6; None when not a literal repetition."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return len(node.value)
    if isinstance(node, ast.List | ast.Tuple):
        return len(node.elts)
    if isinstance(node, ast.JoinedStr):
        return max(1, len(node.values))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for seq, count in ((node.left, node.right), (node.right, node.left)):
            size, n = _literal_size(seq), _literal_number(count)
            if size is not None and n is not None:
                return int(max(size, 1) * max(n, 0))
    return None


def _contains_power(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node))


# Node types on the lists with nothing more to check (no handler): skipped in the walk.
_QUIET = frozenset(kind for kind in L.NODES if not hasattr(LanguageChecker, f"_{kind.__name__}"))
