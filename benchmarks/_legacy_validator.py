"""The previous script validator, frozen as it was before issue #9 (commit 584ac7a), kept only as
bench_validator.py's same-run baseline. Not used by the product.

The script validator: a static pre-filter every script passes before it may run.

It parses the script (AST) and applies the generated-script contract (``contract.py``):
imports on an allowlist, only registered tools, no code execution or reflection games, no
dunder or frame access, file access only to the parameters file and under the results
directory, environment reads only of ``META_AGENT_*``; then bandit (with ``ignore_nosec``:
generated code can write ``# nosec`` too) and a secret scan (key formats and high-entropy
literals). Every problem is a ``Finding`` with line, rule and message.

It is a pre-filter, not the boundary: the container the sandbox starts is. Rules are
deliberately strict — a template-generated script uses a small, known subset of Python.

Rule ids: ``syntax``, ``import-not-allowed``, ``dynamic-import``, ``module-attr-not-allowed``,
``code-exec``, ``reflection``, ``forbidden-call``, ``dunder-access``, ``private-access``,
``frame-introspection``, ``file-outside-results``, ``path-traversal``,
``results-dir-redefined``, ``env-access``, ``unknown-tool``, ``dynamic-tool``, ``tool-args``,
``nosec-comment``, ``hardcoded-secret``, ``high-entropy-string``, ``contract`` and
``bandit:<test id>`` (e.g. ``bandit:B602``).
"""

from __future__ import annotations

import ast
import io
import logging
import re
import tempfile
import time
import tokenize
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import _legacy_contract as C  # noqa: E402 — the contract as it was
from _legacy_secret_scan import scan_source  # the scanner as it was

from meta_agent.errors import InputError
from meta_agent.scriptgen.tooling import registry

_DUNDER = re.compile(r"^__\w+__$")
_FORMAT_DUNDER = re.compile(r"\{[^{}]*(?:\.|\[)\s*_")  # "{0.__class__}", "{x._private}", "{0[_x]}"
_NOSEC = re.compile(r"#\s*nosec\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    line: int
    rule: str
    message: str
    severity: str = "error"  # "error" rejects the script; "warning" is shown only
    col: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    duration_ms: float = 0.0
    bandit: str = ""  # "bandit 1.9.4" or why it did not run

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
                "duration_ms": round(self.duration_ms, 2), "bandit": self.bandit}

    def summary(self) -> str:
        if self.valid:
            return "valid" + (f" ({len(self.warnings)} warnings)" if self.warnings else "")
        return f"invalid: {len(self.errors)} errors ({', '.join(sorted(self.rules))})"


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
        return cls.from_registry(registry())


def validate_script(source: str, tools: ToolCatalog | None = None, *, run_bandit: bool = True) -> ValidationReport:
    """Validate ``source``; ``tools`` defaults to the default tool registry."""
    t0 = time.perf_counter()
    tools = tools or ToolCatalog.default()
    report = ValidationReport()
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        report.findings.append(Finding(exc.lineno or 1, "syntax", f"the script does not parse: {exc.msg}",
                                       col=(exc.offset or 1) - 1))
        report.duration_ms = (time.perf_counter() - t0) * 1000
        return report
    checker = _Checker(tools)
    checker.run(tree)
    report.findings.extend(checker.findings)
    report.findings.extend(_nosec_findings(source))
    report.findings.extend(Finding(h.line, h.rule, h.message) for h in scan_source(source, tree))
    if run_bandit:
        found, report.bandit = _bandit(source)
        report.findings.extend(found)
    else:
        report.bandit = "not run"
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
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and _NOSEC.search(tok.string):
                out.append(Finding(tok.start[0], "nosec-comment",
                                   "'# nosec' is not honoured: generated scripts may not silence security checks",
                                   col=tok.start[1]))
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


# --- bandit -------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _bandit_config():
    from bandit.core import config as bandit_config  # local: bandit + plugins take ~0.5 s to load

    logging.getLogger("bandit").setLevel(logging.ERROR)
    with warnings.catch_warnings():  # stevedore's deprecation notices while bandit loads its plugins
        warnings.simplefilter("ignore", DeprecationWarning)
        return bandit_config.BanditConfig()


def _bandit(source: str) -> tuple[list[Finding], str]:
    """Bandit's findings for ``source`` with ``# nosec`` ignored (every test except B101)."""
    with warnings.catch_warnings():  # stevedore's deprecation notices while bandit loads its plugins
        warnings.simplefilter("ignore", DeprecationWarning)
        # local: bandit and its plugins take ~0.5 s to load (run_bandit=False never loads
        # them); imported inside this filter because importing bandit warns
        import bandit
        from bandit.core import manager

        mgr = manager.BanditManager(_bandit_config(), "file", quiet=True, ignore_nosec=True)
    with tempfile.TemporaryDirectory(prefix="meta-agent-bandit-") as tmp:
        path = Path(tmp) / "script.py"
        path.write_text(source, encoding="utf-8")
        mgr.discover_files([str(path)])
        mgr.run_tests()
        skipped = mgr.get_skipped()
        issues = mgr.get_issue_list()
    version = f"bandit {bandit.__version__}"
    if skipped:
        return [Finding(1, "bandit:skipped", f"bandit could not scan the script ({skipped[0][1]})")], version
    out = [
        Finding(i.lineno, f"bandit:{i.test_id}",
                f"{i.text} (bandit {i.test_id} {i.test}, severity {i.severity.lower()}, "
                f"confidence {i.confidence.lower()})", col=i.col_offset)
        for i in issues if i.test_id not in C.BANDIT_SKIP
    ]
    return out, version


# --- the AST checker -----------------------------------------------------------------------

class _Checker(ast.NodeVisitor):
    def __init__(self, tools: ToolCatalog):
        self.tools = tools
        self.findings: list[Finding] = []
        self.modules: dict[str, str] = {}  # local name -> allowlisted module ("os", "os.path")
        self.from_names: dict[str, tuple[str, str]] = {}  # local name -> (module, attr)
        self.tool_names: dict[str, str] = {}  # local name -> tool imported from meta_agent.tools
        self.helper_names: set[str] = set()  # call_tool, default_registry... imported locally
        self.registries: set[str] = set()  # names bound to default_registry()
        self.assignments: dict[str, list[ast.AST | None]] = {}  # name -> values (None = unknown)
        self.rooted: set[str] = set()
        self.safe_segments: set[str] = set()
        self.writes_result_json = False

    def add(self, node: ast.AST, rule: str, message: str, severity: str = "error") -> None:
        self.findings.append(Finding(getattr(node, "lineno", 1), rule, message, severity,
                                     getattr(node, "col_offset", 0)))

    # -- passes
    def run(self, tree: ast.Module) -> None:
        self._collect_imports(tree)
        self._collect_assignments(tree)
        self._check_sanctioned_names(tree)
        self._resolve_rooted()
        self.visit(tree)
        if C.RESULTS_NAME not in self.assignments:
            self.add(tree, "contract", f"the script never defines {C.RESULTS_NAME} = "
                     f"Path(os.environ[\"{C.RESULTS_ENV}\"]); every output goes under it")
        elif not self.writes_result_json:
            self.add(tree, "contract", f"the script never writes {C.RESULTS_NAME} / \"{C.RESULT_JSON}\"; "
                     "it must end with a machine-readable result.json")

    def _collect_imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._import(node, alias.name, alias.asname)
            elif isinstance(node, ast.ImportFrom):
                self._import_from(node)

    def _import(self, node: ast.AST, name: str, asname: str | None) -> None:
        top = name.split(".")[0]
        if top in C.DYNAMIC_IMPORT_MODULES:
            self.add(node, "dynamic-import", f"'import {name}': importing modules by name is not allowed")
        elif name == C.TOOLS_MODULE or top == "meta_agent":
            self.add(node, "import-not-allowed",
                     f"'import {name}': use 'from {C.TOOLS_MODULE} import <tool>' to reach the tool library")
        elif name in C.MODULE_ALLOWLIST:
            if asname:
                self.modules[asname] = name
            else:
                self.modules[top] = top if top in C.MODULE_ALLOWLIST else name
        else:
            self.add(node, "import-not-allowed", f"'import {name}': module '{name}' is not on the "
                     "script allowlist (standard-library helpers and meta_agent.tools only)")

    def _import_from(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        if node.level:
            self.add(node, "import-not-allowed", "relative imports are not allowed in a script")
            return
        top = mod.split(".")[0]
        if top in C.DYNAMIC_IMPORT_MODULES:
            self.add(node, "dynamic-import", f"'from {mod} import ...': importing modules by name is not allowed")
            return
        for alias in node.names:
            local = alias.asname or alias.name
            if alias.name == "*":
                self.add(node, "import-not-allowed", f"'from {mod} import *' hides what the script uses")
            elif mod == C.TOOLS_MODULE:
                if alias.name in self.tools.names:
                    self.tool_names[local] = alias.name
                elif alias.name in C.TOOL_HELPERS:
                    self.helper_names.add(local)
                    if alias.name in C.TOOL_DISPATCH_FUNCS:
                        self.from_names[local] = (mod, alias.name)
                else:
                    self.add(node, "unknown-tool", f"'{alias.name}' is not a registered tool or script helper "
                             f"of {C.TOOLS_MODULE}; see 'meta-agent tools list'")
            elif top == "meta_agent":
                self.add(node, "import-not-allowed", f"'from {mod} import ...': scripts reach meta-agent "
                         f"only through {C.TOOLS_MODULE}")
            elif mod in C.MODULE_ALLOWLIST:
                allowed = C.MODULE_ALLOWLIST[mod]
                sub = f"{mod}.{alias.name}"
                if sub in C.MODULE_ALLOWLIST and (allowed is None or alias.name in allowed):
                    self.modules[local] = sub
                elif alias.name.startswith("_"):
                    self.add(node, "private-access", f"'{mod}.{alias.name}' is private")
                elif allowed is not None and alias.name not in allowed:
                    self.add(node, "module-attr-not-allowed", f"'{mod}.{alias.name}' is not allowed in a script")
                else:
                    self.from_names[local] = (mod, alias.name)
            else:
                self.add(node, "import-not-allowed", f"'from {mod} import ...': module '{mod}' is not on the "
                         "script allowlist (standard-library helpers and meta_agent.tools only)")

    def _collect_assignments(self, tree: ast.Module) -> None:
        def bind(target: ast.AST, value: ast.AST | None) -> None:
            if isinstance(target, ast.Name):
                self.assignments.setdefault(target.id, []).append(value)
            elif isinstance(target, ast.Tuple | ast.List):
                for elt in target.elts:
                    bind(elt, None)
            elif isinstance(target, ast.Starred):
                bind(target.value, None)

        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    bind(t, node.value)
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
                bind(node.target, node.value)
            elif isinstance(node, ast.AugAssign):
                bind(node.target, None)
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                bind(node.target, None)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                bind(node.optional_vars, None)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                a = node.args
                for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                    if arg is not None:
                        self.assignments.setdefault(arg.arg, []).append(None)
                if not isinstance(node, ast.Lambda):
                    self.assignments.setdefault(node.name, []).append(None)
            elif isinstance(node, ast.ClassDef):
                self.assignments.setdefault(node.name, []).append(None)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.assignments.setdefault(node.name, []).append(None)
            elif isinstance(node, ast.Global | ast.Nonlocal):
                for n in node.names:
                    self.assignments.setdefault(n, []).append(None)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    self.assignments.setdefault((alias.asname or alias.name).split(".")[0], []).append(None)
        for name, values in self.assignments.items():
            if values and all(isinstance(v, ast.Call) and self._is_registry_call(v) for v in values):
                self.registries.add(name)

    def _is_registry_call(self, node: ast.Call) -> bool:
        return (isinstance(node.func, ast.Name) and node.func.id in self.helper_names
                and node.func.id == "default_registry")

    def _check_sanctioned_names(self, tree: ast.Module) -> None:
        for name, env in ((C.RESULTS_NAME, C.RESULTS_ENV), (C.PARAMS_NAME, C.PARAMS_ENV)):
            values = self.assignments.get(name)
            if not values:
                continue
            top_level = [n for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)
                         and any(isinstance(t, ast.Name) and t.id == name
                                 for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))]
            ok = len(values) == 1 and len(top_level) == 1 and self._is_env_path(values[0], env)
            if not ok:
                node = top_level[0] if top_level else tree
                self.add(node, "results-dir-redefined",
                         f"{name} must be assigned exactly once, at module level, as "
                         f"Path(os.environ[\"{env}\"]) (optionally .resolve()); the sandbox decides where it is")

    def _is_env_path(self, value: ast.AST | None, env: str) -> bool:
        """``Path(os.environ["ENV"])``, ``Path(os.environ.get("ENV", "."))``, ``.resolve()``..."""
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                value.func.attr in ("resolve", "absolute") and not value.args:
            return self._is_env_path(value.func.value, env)
        if not (isinstance(value, ast.Call) and len(value.args) == 1 and not value.keywords
                and self._is_path_ctor(value.func)):
            return False
        return self._env_key(value.args[0]) == env

    def _is_path_ctor(self, func: ast.AST) -> bool:
        if isinstance(func, ast.Name):
            return self.from_names.get(func.id) == ("pathlib", "Path")
        return (isinstance(func, ast.Attribute) and func.attr == "Path"
                and isinstance(func.value, ast.Name) and self.modules.get(func.value.id) == "pathlib")

    def _env_key(self, node: ast.AST) -> str | None:
        """The variable name of ``os.environ["X"]``, ``os.environ.get("X"[, d])``, ``os.getenv(...)``."""
        if isinstance(node, ast.Subscript) and self._is_environ(node.value):
            key = node.slice
            return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            is_get = isinstance(f, ast.Attribute) and f.attr == "get" and self._is_environ(f.value)
            is_getenv = (isinstance(f, ast.Attribute) and f.attr == "getenv" and isinstance(f.value, ast.Name)
                         and self.modules.get(f.value.id) == "os") or \
                        (isinstance(f, ast.Name) and self.from_names.get(f.id) == ("os", "getenv"))
            if is_get or is_getenv:
                key = node.args[0]
                return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
        return None

    def _is_environ(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            return isinstance(node.value, ast.Name) and self.modules.get(node.value.id) == "os"
        return isinstance(node, ast.Name) and self.from_names.get(node.id) == ("os", "environ")

    # -- rooted paths: names whose every assignment is under RESULTS_DIR
    def _resolve_rooted(self) -> None:
        for name, values in self.assignments.items():
            if values and all(isinstance(v, ast.Constant) and isinstance(v.value, str)
                              and _safe_literal(v.value) for v in values):
                self.safe_segments.add(name)
        if C.RESULTS_NAME in self.assignments:
            self.rooted.add(C.RESULTS_NAME)
        changed = True
        while changed:
            changed = False
            for name, values in self.assignments.items():
                if name in self.rooted or not values:
                    continue
                if all(v is not None and self._rooted_expr(v) for v in values):
                    self.rooted.add(name)
                    changed = True

    def _rooted_expr(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.rooted
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self._rooted_expr(node.left) and self._segment_ok(node.right)
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "joinpath" and self._rooted_expr(f.value):
                return all(self._segment_ok(a) for a in node.args)
            if isinstance(f, ast.Attribute) and f.attr in ("with_suffix", "with_name", "with_stem") \
                    and self._rooted_expr(f.value):
                return all(self._segment_ok(a) for a in node.args)
            if isinstance(f, ast.Name) and f.id in ("str",) and len(node.args) == 1:
                return self._rooted_expr(node.args[0])
            if self._is_path_ctor(f) and len(node.args) == 1:
                return self._rooted_expr(node.args[0])
            if isinstance(f, ast.Attribute) and f.attr == "join" and self._is_os_path(f.value) and node.args:
                return self._rooted_expr(node.args[0]) and all(self._segment_ok(a) for a in node.args[1:])
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            return (isinstance(first, ast.FormattedValue) and self._rooted_expr(first.value)
                    and all(self._segment_ok(v) for v in node.values[1:]))
        return False

    def _is_os_path(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return self.modules.get(node.id) == "os.path"
        return isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name) \
            and self.modules.get(node.value.id) == "os"

    def _segment_ok(self, node: ast.AST) -> bool:
        """A path segment that cannot climb out: a literal without '..', '/' at the start or '~'."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return _safe_literal(node.value)
        if isinstance(node, ast.Name):
            return node.id in self.safe_segments
        if isinstance(node, ast.FormattedValue):
            return True  # a value inside an f-string: its literal parts are checked
        if isinstance(node, ast.JoinedStr):
            return all(self._segment_ok(v) if isinstance(v, ast.Constant) else True for v in node.values) \
                and not (node.values and isinstance(node.values[0], ast.Constant)
                         and str(node.values[0].value).startswith(("/", "~")))
        return False

    def _path_problem(self, node: ast.AST, *, read: bool) -> str | None:
        """None when ``node`` is a path the script may use (read: also the params file)."""
        if self._rooted_expr(node):
            return None
        if read and isinstance(node, ast.Name) and node.id == C.PARAMS_NAME:
            return None
        if self._climbs(node):
            return "path-traversal"
        return "file-outside-results"

    def _climbs(self, node: ast.AST) -> bool:
        """A path under RESULTS_DIR made to climb out with '..' or an absolute segment."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self._rooted_expr(node.left) or self._climbs(node.left)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "joinpath":
            return self._rooted_expr(node.func.value)
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            return self._rooted_expr(node.value) or self._climbs(node.value)
        return False

    def _report_path(self, node: ast.AST, where: ast.AST, what: str, *, read: bool) -> None:
        problem = self._path_problem(node, read=read)
        if problem == "path-traversal":
            self.add(where, problem, f"{what}: '{_src(node)}' may climb out of {C.RESULTS_NAME} ('..', an "
                     "absolute or computed segment, or .parent); build it as RESULTS_DIR / \"name.ext\"")
        elif problem:
            allowed = f"{C.PARAMS_NAME} or a path under {C.RESULTS_NAME}" if read else f"a path under {C.RESULTS_NAME}"
            self.add(where, problem, f"{what}: '{_src(node)}' is not {allowed}")
        elif not read and self._mentions_result_json(node):
            self.writes_result_json = True

    def _mentions_result_json(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return any(v is not None and self._mentions_result_json(v) for v in self.assignments.get(node.id, []))
        return _mentions(node, C.RESULT_JSON)

    # -- visitors
    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if isinstance(node.ctx, ast.Load):
            if name in C.CODE_EXEC_BUILTINS:
                self.add(node, "code-exec", f"'{name}' runs code built at run time; scripts call tools instead")
            elif name == "__import__":
                self.add(node, "dynamic-import", "'__import__' imports modules by name")
            elif name in C.REFLECTION_BUILTINS and name not in ("getattr", "hasattr"):
                self.add(node, "reflection", f"'{name}' reaches into namespaces or objects by name")
            elif name in ("getattr", "hasattr") and not getattr(node, "_called_ok", False):
                self.add(node, "reflection", f"'{name}' with a computed or hidden attribute name")
            elif name in C.FORBIDDEN_BUILTINS:
                self.add(node, "forbidden-call", f"'{name}' is not available to scripts")
            elif name in self.modules and not getattr(node, "_attr_base", False):
                self.add(node, "reflection", f"the module '{name}' may only be used as '{name}.<name>', "
                         "not passed around or rebound")
            elif self.from_names.get(name) == ("os", "environ") and not getattr(node, "_env_ok", False):
                self.add(node, "env-access", "os.environ may only be read as "
                         f"environ[\"{C.ENV_PREFIX}...\"] or environ.get(\"{C.ENV_PREFIX}...\")")
        if _DUNDER.match(name) and name not in C.ALLOWED_DUNDER_NAMES and name != "__import__":
            self.add(node, "dunder-access", f"'{name}' reaches interpreter internals")
        if isinstance(node.ctx, ast.Store) and name in ("open", "print", "Path"):
            self.add(node, "reflection", f"rebinding '{name}' changes what the validator checked")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        node.value._attr_base = True  # type: ignore[attr-defined]
        if _DUNDER.match(attr):
            if not (attr in ("__init__", "__post_init__") and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Name) and node.value.func.id == "super"):
                self.add(node, "dunder-access", f"'.{attr}' reaches interpreter internals")
        elif attr in C.FRAME_ATTRS:
            self.add(node, "frame-introspection", f"'.{attr}' leads to frames, code objects or namespaces")
        elif attr.startswith("_"):
            self.add(node, "private-access", f"'.{attr}' is private")
        else:
            mod = self._module_of(node.value)
            if mod is not None:
                allowed = C.MODULE_ALLOWLIST.get(mod)
                if allowed is not None and attr not in allowed:
                    self.add(node, "module-attr-not-allowed", f"'{mod}.{attr}' is not allowed in a script")
                if mod == "os" and attr == "environ" and not getattr(node, "_env_ok", False):
                    self.add(node, "env-access", "os.environ may only be read as "
                             f"os.environ[\"{C.ENV_PREFIX}...\"] or os.environ.get(\"{C.ENV_PREFIX}...\")")
            if isinstance(node.value, ast.Name) and node.value.id in self.tool_names \
                    and attr not in ("__call__",):
                self.add(node, "reflection", f"'{node.value.id}.{attr}': call tools, do not reach into them")
        self.generic_visit(node)

    def _module_of(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.modules.get(node.id)
        if isinstance(node, ast.Attribute):
            parent = self._module_of(node.value)
            if parent and f"{parent}.{node.attr}" in C.MODULE_ALLOWLIST:
                return f"{parent}.{node.attr}"
        return None

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and _DUNDER.match(key.value):
            self.add(node, "dunder-access", f"'[{key.value!r}]' reaches interpreter internals")
        if self._is_environ(node.value):
            self._check_env_key(node, self._env_key(node))
            self._mark_env_ok(node.value)
        self.generic_visit(node)

    def _mark_env_ok(self, environ: ast.AST) -> None:
        environ._env_ok = True  # type: ignore[attr-defined]

    def _check_env_key(self, node: ast.AST, key: str | None) -> None:
        if key is None or not key.startswith(C.ENV_PREFIX):
            shown = "a computed name" if key is None else f"'{key}'"
            self.add(node, "env-access", f"reading the environment variable {shown}: scripts may read only "
                     f"{C.ENV_PREFIX}* variables (their parameters come from {C.PARAMS_NAME})")

    def visit_Constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, str):
            if _DUNDER.match(v) and v not in C.ALLOWED_DUNDER_STRINGS:
                self.add(node, "dunder-access", f"the string {v!r} names interpreter internals")
            elif _FORMAT_DUNDER.search(v) or ".__" in v:
                self.add(node, "dunder-access", "a format string that reaches private or dunder attributes")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if _DUNDER.match(node.name) and node.name not in C.ALLOWED_DUNDER_DEFS:
            self.add(node, "dunder-access", f"defining '{node.name}' changes interpreter behaviour")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Name):
            self._call_name(node, f)
        elif isinstance(f, ast.Attribute):
            self._call_attr(node, f)
        self.generic_visit(node)

    def _call_name(self, node: ast.Call, f: ast.Name) -> None:
        name = f.id
        if name in ("getattr", "hasattr") and name not in self.assignments:
            attr = node.args[1] if len(node.args) > 1 else None
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                f._called_ok = True  # type: ignore[attr-defined] — a literal name: judged like .name
                if _DUNDER.match(attr.value):
                    self.add(node, "dunder-access", f"{name}(..., {attr.value!r}) reaches interpreter internals")
                elif attr.value.startswith("_"):
                    self.add(node, "private-access", f"{name}(..., {attr.value!r}) is private")
                elif attr.value in C.FRAME_ATTRS:
                    self.add(node, "frame-introspection", f"{name}(..., {attr.value!r}) leads to frames or code")
        elif name == "open" and name not in self.assignments:
            self._check_open(node)
        elif name in self.tool_names:
            self._check_tool_args(node, self.tool_names[name], node.args)
        elif self.from_names.get(name, ("", ""))[0] == C.TOOLS_MODULE:
            self._check_dispatch(node, node.args)
        elif self.from_names.get(name) == ("os", "getenv"):
            self._check_env_key(node, self._env_key(node))

    def _call_attr(self, node: ast.Call, f: ast.Attribute) -> None:
        method = f.attr
        recv = f.value
        if method == "get" and self._is_environ(recv):
            self._check_env_key(node, self._env_key(node))
            self._mark_env_ok(recv)
            return
        if method == "getenv" and self._module_of(recv) == "os":
            self._check_env_key(node, self._env_key(node))
            return
        if isinstance(recv, ast.Name) and recv.id in self.registries and method in C.TOOL_DISPATCH_METHODS:
            self._check_dispatch(node, node.args)
            return
        if method in ("format", "format_map") and not isinstance(recv, ast.Constant):
            self.add(node, "reflection", f"'.{method}' on a string built at run time can reach attributes")
            return
        if method == "open":
            self._check_open(node, receiver=recv)
            return
        if method == "basicConfig" and self._module_of(recv) == "logging":
            for kw in node.keywords:
                if kw.arg == "filename":
                    self._report_path(kw.value, node, "logging.basicConfig(filename=...)", read=False)
            return
        single_arg_only = method in ("rename", "replace")
        if method in C.PATH_WRITE_METHODS and not (single_arg_only and len(node.args) != 1):
            if isinstance(recv, ast.Constant | ast.JoinedStr):
                return  # str.replace and friends on a literal
            self._report_path(recv, node, f".{method}()", read=False)
        elif method in C.PATH_READ_METHODS:
            self._report_path(recv, node, f".{method}()", read=True)

    def _check_open(self, node: ast.Call, receiver: ast.AST | None = None) -> None:
        args = list(node.args)
        target = receiver if receiver is not None else (args.pop(0) if args else None)
        if target is None:
            for kw in node.keywords:
                if kw.arg == "file":
                    target = kw.value
        mode_node = args[0] if args else next((k.value for k in node.keywords if k.arg == "mode"), None)
        if mode_node is None:
            read = True
        elif isinstance(mode_node, ast.Constant) and isinstance(mode_node.value, str):
            read = not set(mode_node.value) & set("wax+")
        else:
            read = False
        what = "open()" if receiver is None else ".open()"
        if target is None:
            self.add(node, "file-outside-results", f"{what} without a path the validator can check")
        else:
            self._report_path(target, node, what, read=read)

    def _check_dispatch(self, node: ast.Call, args: list[ast.AST]) -> None:
        first = args[0] if args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            self.add(node, "dynamic-tool", "a tool must be named by a literal string so it can be checked")
            return
        if first.value not in self.tools.names:
            self.add(node, "unknown-tool", f"'{first.value}' is not a registered tool; see 'meta-agent tools list'")
            return
        self._check_tool_args(node, first.value, args[1:])

    def _check_tool_args(self, node: ast.Call, tool: str, positional: list[ast.AST]) -> None:
        params = self.tools.params.get(tool, frozenset())
        if positional:
            self.add(node, "tool-args", f"{tool}: pass every input as a keyword argument named as in the "
                     "tool's schema ('meta-agent tools show NAME')")
        for kw in node.keywords:
            if kw.arg is None:
                continue
            if params and kw.arg not in params:
                self.add(node, "tool-args", f"{tool} has no parameter '{kw.arg}' "
                         f"(it takes {', '.join(sorted(params))})")
            if kw.arg in C.ROOT_KWARGS and not self._rooted_expr(kw.value):
                self.add(node, "file-outside-results", f"{tool}({kw.arg}=...): '{_src(kw.value)}' is not "
                         f"{C.RESULTS_NAME}; tools write only inside the results directory")
            if kw.arg in C.PATH_KWARGS:
                if self._segment_ok(kw.value) and not isinstance(kw.value, ast.FormattedValue):
                    # a relative name: export tools resolve it inside the results directory
                    self.writes_result_json |= _mentions(kw.value, C.RESULT_JSON)
                    continue
                self._report_path(kw.value, node, f"{tool}({kw.arg}=...)", read=False)


def _safe_literal(text: str) -> bool:
    parts = re.split(r"[/\\]", text)
    return bool(text) and not text.startswith(("/", "~", "\\")) and ".." not in parts and ":" not in text[:3]


def _mentions(node: ast.AST, literal: str) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith(literal)
               for n in ast.walk(node))


def _src(node: ast.AST, limit: int = 60) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 — only for messages
        text = type(node).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
