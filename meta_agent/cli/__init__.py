"""``meta-agent``: the command line for people and scripts.

Each command group lives in its own module (``COMMANDS``: name -> module and one-line help)
and is imported only when it is used: ``meta-agent --help`` lists the groups from that table,
``meta-agent tools list`` imports ``meta_agent.cli.tools`` alone. So a group module imports
what it needs at module level and ``--help`` stays fast however heavy the groups are.
Packages built on the library (``meta-agent demo`` from meta_agent_demo) add commands through
the ``meta_agent.cli`` entry-point group: an entry point named ``X`` is a callable
``register(app)`` that adds the command ``X``; it is loaded when ``X`` runs or help is listed.

Conventions (see ``output.py``): ``--json`` prints one JSON document on stdout; errors are one
sentence on stderr with a non-zero exit code (2 for bad input or usage, 1 for failures, 3 when
the database cannot be reached); ``META_AGENT_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from dataclasses import dataclass
from typing import Any

import click
import typer
import typer.core
import typer.main

from meta_agent.errors import MetaAgentError

ENTRY_POINT_GROUP = "meta_agent.cli"


@dataclass(frozen=True)
class Entry:
    module: str  # under meta_agent.cli; exposes ``app`` (a Typer group) or ``register(app)``
    help: str  # what ``meta-agent --help`` shows; tests/cli/test_cli_lazy.py checks it is the module's own


# In the order ``--help`` lists them (plain commands first, as Typer does).
COMMANDS: dict[str, Entry] = {
    "request": Entry("request", "Record a request for the script factory (and with --wait, run it to the end)."),
    "db": Entry("db", "The ops database: migrations and status."),
    "logs": Entry("logs", "Execution logs: ingest files, list quarantined records."),
    "fleet": Entry("fleet", "The demo fleet: simulate realistic agent executions."),
    "data": Entry("data", "The portfolio database the tools read (META_AGENT_DATA_URL)."),
    "tools": Entry("tools", "The vetted tool library: list, search by meaning, show a tool's schema."),
    "sandbox": Entry("sandbox", "Isolated script execution: run, doctor, build-image, sweep."),
    "metrics": Entry("metrics", "Daily agent metrics: executions, success rate, latency, cost, errors."),
    "sla": Entry("sla", "SLA compliance per agent and day; list and change SLA definitions."),
    "health": Entry("health", "Agent health: healthy / degraded / critical from the 5-minute and 1-hour windows."),
    "circuit": Entry("circuit", "Circuit breakers: status, and open|close|auto to override one by hand."),
    "alerts": Entry("alerts", "Alerts: list them, acknowledge and resolve them, deliver and digest them."),
    "script": Entry("script", "Generated scripts: validate a file, list requests, show one, the script library."),
    "simulate": Entry("simulate", "Scenario simulation: scenarios, batch runs as Dagster backfills, comparisons."),
    "eval": Entry("evaluate", "Evaluation: agent reports, failure clusters, root causes, similar failures."),
    "prompts": Entry("prompts", "Prompt registry: versions, diffs, labels and rollback; how each version's executions did."),
    "learnings": Entry("learnings", "The knowledge base of learnings: list, search, show, deprecate, restore, suggest."),
    "proposals": Entry("proposals", "Improvement proposals: list, show, approve|reject, apply, roll back."),
}


def load_command(name: str) -> click.Command:
    """The click command for built-in command ``name`` (imports its module)."""
    module = importlib.import_module(f"meta_agent.cli.{COMMANDS[name].module}")
    if hasattr(module, "app"):
        cmd = typer.main.get_group(module.app)
        cmd.name = name
        return cmd
    return _registered(module.register)[name]


def _registered(register: Any) -> dict[str, click.Command]:
    """The commands a ``register(app)`` callable adds, as click commands."""
    holder = typer.Typer()
    register(holder)
    return dict(typer.main.get_group(holder).commands)


class _NotLoaded(click.Command):
    """Stands in for a command until it is used: a name and a line of help, nothing imported."""

    def __init__(self, name: str, help: str | None, entry_point: importlib.metadata.EntryPoint | None = None):
        super().__init__(name, help=help)
        self.entry_point = entry_point


class LazyGroup(typer.core.TyperGroup):
    """The root group: built-in groups and plugins are resolved by name when first used."""

    _listing = False  # True while help is printed: built-ins show their line without importing

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        given = dict(self.commands)
        plugins = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
        commands: dict[str, click.Command] = {}
        for name, entry in COMMANDS.items():
            commands[name] = _NotLoaded(name, entry.help)
            if name == "request":  # plugins' commands follow the built-in plain command
                commands.update({n: _NotLoaded(n, None, ep) for n, ep in plugins.items() if n not in COMMANDS})
        self.commands = {**commands, **given}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = self.commands.get(cmd_name)
        if not isinstance(cmd, _NotLoaded) or (self._listing and cmd.entry_point is None):
            return cmd
        if cmd.entry_point is not None:
            self.commands.update(_registered(cmd.entry_point.load()))
        else:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="meta-agent",
    cls=LazyGroup,
    help="meta-agent: script factory, scenario simulation, agent operations and evaluation on Dagster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    # A callback makes the app a group even with no command registered on it directly.
    pass


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: runs the app and turns failures into one-line errors."""
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="meta-agent")
        return rv if isinstance(rv, int) else 0
    except (typer.Exit, click.exceptions.Exit) as exc:
        return exc.exit_code
    except (typer.Abort, click.exceptions.Abort):
        print("meta-agent: aborted.", file=sys.stderr)
        return 130
    except (typer.TyperException, click.ClickException) as exc:  # usage errors: exit 2
        if hasattr(exc, "show"):
            exc.show()
        else:
            print(f"meta-agent: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except MetaAgentError as exc:
        print(f"meta-agent: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("meta-agent: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one sentence, the traceback on request
        if os.environ.get("META_AGENT_DEBUG"):
            raise
        print(f"meta-agent: unexpected {type(exc).__name__}: {exc} "
              "(set META_AGENT_DEBUG=1 for the traceback)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
