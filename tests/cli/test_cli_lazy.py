"""The command line loads a group's module only when the group is used, so ``--help`` stays
fast however much the groups import at module level."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

from meta_agent import cli

PROBE = """
import contextlib, io, json, sys
from meta_agent.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded_after(*argv: str) -> tuple[int, set[str]]:
    """Run ``meta-agent ARGV`` in a fresh interpreter; its exit code and every module it imported."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120,
                          check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["code"], set(out["modules"])


def command_modules(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith("meta_agent.cli.") and m != "meta_agent.cli.output"}


def test_help_imports_no_command_module_and_no_database_toolkit():
    code, modules = loaded_after("--help")
    assert code == 0
    assert command_modules(modules) == set()
    heavy = {"sqlalchemy", "alembic", "numpy", "pandas", "polars", "jinja2", "pydantic"} & modules
    assert not heavy, f"--help imported {sorted(heavy)}"
    assert not {m for m in modules if m.startswith(("meta_agent.store", "meta_agent.ops", "meta_agent.scriptgen"))}


def test_a_command_imports_its_own_group_only():
    code, modules = loaded_after("tools", "list", "--json")
    assert code == 0
    assert command_modules(modules) == {"meta_agent.cli.tools"}


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_the_help_line_listed_is_the_groups_own(name):
    """``COMMANDS`` repeats each group's one-line help so ``--help`` needs no import; it must
    say what the group itself says (its first paragraph, as Typer lists it)."""
    cmd = cli.load_command(name)
    own = inspect.cleandoc(cmd.short_help or cmd.help or "").split("\n\n")[0].replace("\n", " ").strip()
    assert cli.COMMANDS[name].help == own


def test_every_group_module_is_listed():
    """A new module under meta_agent/cli with an ``app`` or ``register`` is a command: list it."""
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(cli.__path__)}
    commands = {e.module for e in cli.COMMANDS.values()}
    for name in modules - commands:
        module = __import__(f"meta_agent.cli.{name}", fromlist=["_"])
        assert not hasattr(module, "register"), f"meta_agent.cli.{name} registers commands but is not in COMMANDS"
        assert not isinstance(getattr(module, "app", None), type(cli.app)), \
            f"meta_agent.cli.{name} has a command group but is not in COMMANDS"


def test_an_unknown_command_suggests_the_lazy_ones(capsys):
    assert cli.main(["tool", "list"]) == 2
    assert "tools" in capsys.readouterr().err
