"""The Dagster layer's dependency rule (docs/architecture.md, Capability packages).

Inside a capability: assets -> checks -> jobs -> sensors -> definitions, never backwards. Across
capabilities: only another capability's assets. Shared modules import no capability. Jobs
select objects, not key strings. Imports are counted wherever they are (function-local too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFS = ROOT / "meta_agent_defs"
RANK = {"assets": 0, "checks": 1, "jobs": 2, "sensors": 3, "definitions": 4}


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imported(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative imports resolved."""
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return out


def capabilities() -> list[str]:
    return sorted(p.name for p in DEFS.iterdir() if p.is_dir() and (p / "definitions.py").exists())


def violations(path: Path, caps: list[str], root: Path = ROOT) -> list[str]:
    mod = module_name(path, root).split(".")
    out = []
    for line, target in imported(path, root):
        t = target.split(".")
        where = f"{path.relative_to(root)}:{line} imports {target}"
        if t[0] in ("meta_agent_demo", "meta_agent_launch"):
            out.append(f"{where}: the code location never imports the packages on top of it")
        if t[0] != "meta_agent_defs" or len(t) < 3 or t[1] not in caps:
            continue
        if mod == ["meta_agent_defs", "definitions"]:
            if t[2] != "definitions":
                out.append(f"{where}: the root merges each capability's definitions module only")
            continue
        if len(mod) < 3 or mod[1] not in caps:
            out.append(f"{where}: shared modules (partitions, resources, metadata, …) import no capability")
            continue
        cap, kind, target_cap, target_kind = mod[1], mod[2], t[1], t[2]
        if target_cap == cap and target_kind in RANK and RANK[target_kind] >= RANK.get(kind, 99):
            out.append(f"{where}: {kind}.py may import only what comes before it (assets → checks → jobs → "
                       f"sensors → definitions)")
        if target_cap != cap and target_kind != "assets":
            out.append(f"{where}: another capability's {target_kind} — only its assets may be imported")
    return out


def string_selections(path: Path, root: Path = ROOT) -> list[str]:
    """Asset selections built from key strings (jobs must select objects or groups)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        args = list(node.args)
        if name == "define_asset_job":
            args = [k.value for k in node.keywords if k.arg == "selection"] + args[1:2]
        elif name not in ("assets", "keys"):
            continue
        items = [i for a in args for i in (a.elts if isinstance(a, ast.List | ast.Tuple) else [a])]
        if any(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items):
            out.append(f"{path.relative_to(root)}:{node.lineno}: a selection by key string")
    return out


def test_there_are_capability_packages_with_the_expected_files():
    caps = capabilities()
    assert {"agent_ops", "alerts", "script_factory", "isolation"} <= set(caps)
    for cap in caps:
        files = {p.stem for p in (DEFS / cap).glob("*.py")} - {"__init__"}
        assert files <= set(RANK), f"{cap}: unexpected modules {files - set(RANK)}"
        assert {"assets", "definitions"} <= files, cap


@pytest.mark.parametrize("path", sorted(DEFS.rglob("*.py")), ids=lambda p: str(p.relative_to(DEFS)))
def test_imports_run_one_way(path):
    assert violations(path, capabilities()) == []
    assert string_selections(path) == []


def test_the_checker_sees_a_backward_import(tmp_path):
    """The rule is a real check: a jobs module importing its sensors, and a selection by key string, are caught."""
    pkg = tmp_path / "meta_agent_defs" / "demo_cap"
    pkg.mkdir(parents=True)
    (pkg / "definitions.py").write_text("")
    bad = pkg / "jobs.py"
    bad.write_text("import dagster as dg\n\ndef f():\n    from meta_agent_defs.demo_cap.sensors import s\n"
                   "job = dg.define_asset_job('j', selection=dg.AssetSelection.assets('a', 'b'))\n")
    found = violations(bad, ["demo_cap"], tmp_path)
    assert found and all("jobs.py may import only what comes before it" in f for f in found)
    assert string_selections(bad, tmp_path) == ["meta_agent_defs/demo_cap/jobs.py:5: a selection by key string"]
    ok = pkg / "sensors.py"
    ok.write_text("from meta_agent_defs.demo_cap.jobs import job\nfrom meta_agent_defs.agent_ops.assets import x\n")
    assert violations(ok, ["demo_cap", "agent_ops"], tmp_path) == []
