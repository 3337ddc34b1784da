"""The import graph: dependencies run one way, and nothing hides a cycle inside a function.

For each of ``meta_agent``, ``meta_agent_defs``, ``meta_agent_demo`` and ``meta_agent_launch`` (a package that does
not exist on disk is skipped), read with ``ast`` — nothing is imported:

(a) no import cycle between modules, nor between packages (the first two name components:
    ``meta_agent.store``, ``meta_agent.config``), counting imports anywhere in a file —
    a cycle hidden behind a function-local import is still a cycle;
(b) no function-local import of a ``meta_agent*`` module: one module needing another imports
    it at the top, and if that makes a cycle the design is fixed (move the shared piece down,
    invert the dependency, pass a collaborator in);
(c) a function-local import of anything else only for a module in ``LOCAL_IMPORT_ALLOWLIST``:
    a heavy optional third-party module whose import cost matters on a path that often does
    not need it. Standard-library modules and the third-party modules loaded anyway (sqlalchemy,
    numpy, pandas, polars, pydantic, yaml, httpx, ...) are imported at the top.

Failures list every offender as ``file:line``. ``test_the_checks_find_*`` run the analysis on a
small package written to ``tmp_path``, so the checks are known to bite.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("meta_agent", "meta_agent_defs", "meta_agent_demo", "meta_agent_launch")
INTERNAL_PREFIX = "meta_agent"  # meta_agent, meta_agent_defs, meta_agent_demo, meta_agent_launch ...
SKIP_DIRS = frozenset({"migrations", "__pycache__"})  # Alembic runs migrations as scripts, not modules

# top-level module -> why importing it inside a function is right
LOCAL_IMPORT_ALLOWLIST: dict[str, str] = {
    "sklearn": "~1.4 s to import; only the tool registry's search and the offline embedders use it",
    "matplotlib": "~0.5 s with pyplot, and the Agg backend must be chosen first; only charts need it",
    "openpyxl": "~0.2 s; only Excel exports and previews need it, and every generated script imports the tools",
    "fpdf": "~0.4 s; only PDF exports need it",
    "scipy": "~0.3 s for scipy.special, ~1 s for scipy.stats; only health windows with failures and Sobol indices need it",
    "docker": "the docker SDK; only code that talks to a container engine needs it",
    "litellm": "seconds to import (and a network fetch without LITELLM_LOCAL_MODEL_COST_MAP); only a live gateway",
    "great_expectations": "seconds to import; only the data-quality checks need it",
    "statsmodels": "~1 s to import; only statistical fits need it",
}

# Offenders in files another change owns, waiting for it: (file, imported module) -> owner.
# Strict both ways: a new offender fails, and so does an entry that no longer matches one.
PENDING: dict[tuple[str, str], str] = {}


# ------------------------------------------------------------------------------ analysis


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str  # the importing module
    names: tuple[str, ...]  # absolute names the statement may refer to: "a.b" and "a.b.c" for from a.b import c
    local: bool  # inside a function (def, async def, lambda)
    text: str  # the statement as written

    @property
    def imported(self) -> str:
        return self.names[0]

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


@dataclass
class Scan:
    root: Path
    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "file:line: why"


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def scan(root: Path, packages: Iterable[str]) -> Scan:
    """Every module of ``packages`` under ``root`` and every import statement in it."""
    out = Scan(root)
    files = []
    for pkg in packages:
        base = root / pkg
        if base.is_dir():
            files += [p for p in sorted(base.rglob("*.py")) if not SKIP_DIRS & set(p.relative_to(root).parts)]
    for path in files:
        out.modules[module_name(root, path)] = path
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            out.unreadable.append(f"{path.relative_to(root)}:{exc.lineno}: does not parse ({exc.msg})")
            continue
        mod = module_name(root, path)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        out.imports += list(_imports(tree, path, mod, package))
    return out


def _imports(tree: ast.AST, path: Path, module: str, package: str):
    def visit(node: ast.AST, local: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(path, child.lineno, module, (alias.name,), local, f"import {alias.name}")
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the importing module's package, level - 1 up
                    parts = package.split(".")
                    base = ".".join([*parts[: len(parts) - child.level + 1], *([base] if base else [])])
                yield Import(path, child.lineno, module, (base, *(f"{base}.{a.name}" for a in child.names)),
                             local, ast.unparse(child))
            yield from visit(child, local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    yield from visit(tree, False)


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` lives in (``a.b.c`` may be the attribute ``c`` of module ``a.b``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def module_edges(s: Scan) -> dict[str, dict[str, Import]]:
    """importer -> {imported module: the first statement that imports it}. Importing ``a.b.c``
    runs ``a/b/__init__.py`` too, so a package's ``__init__`` is an edge as well (never the
    importer's own ancestors: Python has run those already)."""
    edges: dict[str, dict[str, Import]] = {m: {} for m in s.modules}
    for imp in s.imports:
        own = set(_ancestors(imp.module))
        for name in imp.names:
            target = _known(name, s.modules)
            if target is None:
                continue
            for t in [*_ancestors(target), target]:
                if t in s.modules and t != imp.module and t not in own:
                    edges[imp.module].setdefault(t, imp)
    return edges


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def package_edges(edges: dict[str, dict[str, Import]]) -> dict[str, dict[str, Import]]:
    out: dict[str, dict[str, Import]] = {}
    for a, targets in edges.items():
        for b, imp in targets.items():
            pa, pb = package_of(a), package_of(b)
            if pa != pb:
                out.setdefault(pa, {}).setdefault(pb, imp)
                out.setdefault(pb, {})
    return out


def strongly_connected(graph: dict[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; only components with more than one node (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1 or node in graph.get(node, ()):
                        found.append(sorted(comp))
    return sorted(found)


def cycle_report(s: Scan, edges: dict[str, dict[str, Import]], level: str, only: str | None = None) -> list[str]:
    """One paragraph per cycle: its members, then each edge inside it with file:line."""
    out = []
    for comp in strongly_connected(edges):
        if only is not None and not any(m == only or m.startswith(only + ".") for m in comp):
            continue
        members = set(comp)
        lines = [f"{level}-level import cycle: {' <-> '.join(comp)}"]
        for a in comp:
            for b, imp in sorted(edges[a].items()):
                if b in members:
                    kind = "function-local: " if imp.local else ""
                    lines.append(f"    {imp.where(s.root)}: {a} -> {b} ({kind}{imp.text})")
        out.append("\n".join(lines))
    return out


def cycles(s: Scan, only: str | None = None) -> list[str]:
    edges = module_edges(s)
    return cycle_report(s, edges, "module", only) + cycle_report(s, package_edges(edges), "package", only)


def _in(module: str, package: str | None) -> bool:
    return package is None or module == package or module.startswith(package + ".")


def local_internal_imports(s: Scan, internal: str = INTERNAL_PREFIX, only: str | None = None) -> list[str]:
    return [f"{imp.where(s.root)}: function-local import of {imp.imported} (import it at the top of "
            f"{imp.module}; if that makes a cycle, fix the design)"
            for imp in s.imports
            if imp.local and _in(imp.module, only) and imp.imported.split(".")[0].startswith(internal)]


def local_other_imports(s: Scan, allowlist: dict[str, str], internal: str = INTERNAL_PREFIX,
                        only: str | None = None) -> list[str]:
    out = []
    for imp in s.imports:
        top = imp.imported.split(".")[0]
        if imp.local and _in(imp.module, only) and not top.startswith(internal) and top not in allowlist:
            out.append(f"{imp.where(s.root)}: function-local import of {imp.imported} (not a heavy optional "
                       "module on LOCAL_IMPORT_ALLOWLIST: import it at the top)")
    return out


# ---------------------------------------------------------------------------------- checks


def _top_level_packages(root: Path) -> list[str]:
    """Every meta_agent* package on disk: a cycle through one that is not tested here still counts."""
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and p.name.startswith(INTERNAL_PREFIX) and (p / "__init__.py").exists())


@pytest.fixture(scope="module")
def repo_scan() -> Scan:
    return scan(ROOT, sorted({*PACKAGES, *_top_level_packages(ROOT)}))


def _present(package: str) -> None:
    if not (ROOT / package).is_dir():
        pytest.skip(f"{package}/ does not exist in this checkout")


def _fail(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{len(problems)} {what}:\n" + "\n".join(problems), pytrace=False)


def _without_pending(problems: list[str], package: str) -> list[str]:
    """``problems`` minus the PENDING ones; a PENDING entry of ``package`` that matches nothing is a problem."""
    left, used = [], set()
    for p in problems:
        key = next((k for k in PENDING if p.startswith(k[0] + ":") and f"import of {k[1]} " in p), None)
        if key is None:
            left.append(p)
        else:
            used.add(key)
    stale = [k for k in PENDING if k[0].startswith(package + "/") and k not in used]
    return left + [f"{f}: PENDING lists a function-local import of {m} that is gone: remove the entry"
                   for f, m in stale]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package, repo_scan):
    _present(package)
    _fail([u for u in repo_scan.unreadable if u.startswith(package + "/")], "files that do not parse")
    _fail(cycles(repo_scan, only=package), "import cycles")


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_local_import_of_meta_agent_modules(package, repo_scan):
    _present(package)
    _fail(local_internal_imports(repo_scan, only=package), "function-local imports of meta_agent modules")


@pytest.mark.parametrize("package", PACKAGES)
def test_function_local_imports_only_of_heavy_optional_modules(package, repo_scan):
    _present(package)
    _fail(_without_pending(local_other_imports(repo_scan, LOCAL_IMPORT_ALLOWLIST, only=package), package),
          "function-local imports outside the allowlist")


# ------------------------------------------------------------------- the checks themselves


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


SYNTHETIC = {
    "pkgx/__init__.py": "",
    "pkgx/a.py": "from pkgx import b\n\nVALUE = 1\n",
    "pkgx/b.py": "def f():\n    from pkgx.a import VALUE\n    return VALUE\n",
    "pkgx/c.py": ("import os\n\n\ndef g():\n    import json\n    import sklearn  # heavy\n"
                  "    return json, sklearn, os\n"),
    "pkgx/store/__init__.py": "",
    "pkgx/store/schema.py": "from pkgx.sdk.records import FIELDS\n",
    "pkgx/sdk/__init__.py": "",
    "pkgx/sdk/records.py": "FIELDS = ()\n",
    "pkgx/sdk/logger.py": "def write():\n    from ..store import schema\n    return schema\n",
}


def test_the_checks_find_a_cycle_hidden_behind_a_local_import(tmp_path):
    _write(tmp_path, SYNTHETIC)
    s = scan(tmp_path, ["pkgx"])
    found = cycles(s)
    assert any(c.startswith("module-level import cycle: pkgx.a <-> pkgx.b") for c in found), found
    module_cycle = next(c for c in found if c.startswith("module-level import cycle: pkgx.a <-> pkgx.b"))
    assert "pkgx/a.py:1: pkgx.a -> pkgx.b (from pkgx import b)" in module_cycle
    assert "pkgx/b.py:2: pkgx.b -> pkgx.a (function-local: from pkgx.a import VALUE)" in module_cycle
    # store -> sdk at module level; sdk -> store through a relative import inside a function
    package_cycle = [c for c in found if c.startswith("package-level import cycle: pkgx.sdk <-> pkgx.store")]
    assert len(package_cycle) == 1, found
    assert "pkgx/store/schema.py:1: pkgx.store -> pkgx.sdk (from pkgx.sdk.records import FIELDS)" in package_cycle[0]
    assert "pkgx/sdk/logger.py:2: pkgx.sdk -> pkgx.store (function-local: from ..store import schema)" \
        in package_cycle[0]


def test_the_checks_find_function_local_imports(tmp_path):
    _write(tmp_path, SYNTHETIC)
    s = scan(tmp_path, ["pkgx"])
    internal = local_internal_imports(s, internal="pkgx")
    assert [p.split(": ")[0] for p in internal] == ["pkgx/b.py:2", "pkgx/sdk/logger.py:2"], internal
    assert "function-local import of pkgx.store" in internal[1]  # the relative import, resolved
    other = local_other_imports(s, {"sklearn": "heavy"}, internal="pkgx")
    assert [p.split(": ")[0] for p in other] == ["pkgx/c.py:5"], other  # json; sklearn is allowed
    assert "function-local import of json" in other[0]


def test_a_clean_package_passes(tmp_path):
    _write(tmp_path, {"pkgy/__init__.py": "", "pkgy/a.py": "import json\n\nfrom pkgy import b\n",
                      "pkgy/b.py": "def f():\n    import sklearn  # heavy\n    return sklearn\n"})
    s = scan(tmp_path, ["pkgy"])
    assert cycles(s) == []
    assert local_internal_imports(s, internal="pkgy") == []
    assert local_other_imports(s, {"sklearn": "heavy"}, internal="pkgy") == []


def test_a_file_that_does_not_parse_is_reported(tmp_path):
    _write(tmp_path, {"pkgz/__init__.py": "", "pkgz/bad.py": "def f(:\n"})
    assert scan(tmp_path, ["pkgz"]).unreadable[0].startswith("pkgz/bad.py:1: does not parse")


def test_pending_entries_are_strict(monkeypatch):
    monkeypatch.setitem(globals(), "PENDING", {("pkgx/c.py", "json"): "someone", ("pkgx/d.py", "csv"): "gone"})
    problems = ["pkgx/c.py:5: function-local import of json (not a heavy optional module ...)",
                "pkgx/e.py:3: function-local import of io (not a heavy optional module ...)"]
    left = _without_pending(problems, "pkgx")
    assert left[0].startswith("pkgx/e.py:3")  # not pending: still a problem
    assert left[1] == "pkgx/d.py: PENDING lists a function-local import of csv that is gone: remove the entry"
    assert len(left) == 2
