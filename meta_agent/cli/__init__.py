"""``meta-agent``: the command line for people and scripts.

Each group lives in its own module and is registered in ``GROUPS``. Conventions (see
``output.py``): ``--json`` prints one JSON document on stdout; errors are one sentence on
stderr with a non-zero exit code (2 for bad input or usage, 1 for failures, 3 when the
database cannot be reached); ``META_AGENT_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import click
import typer

from meta_agent.errors import MetaAgentError

app = typer.Typer(
    name="meta-agent",
    help="meta-agent: script factory, scenario simulation, agent operations and evaluation on Dagster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module under meta_agent.cli, group name); a module exposes ``app`` (a group) or ``register``.
GROUPS: list[tuple[str, str | None]] = [
    ("demo", None),
    ("db", "db"),
    ("logs", "logs"),
    ("fleet", "fleet"),
    ("data", "data"),
    ("tools", "tools"),
    ("sandbox", "sandbox"),
    ("metrics", "metrics"),
    ("sla", "sla"),
    ("health", "health"),
    ("circuit", "circuit"),
    ("alerts", "alerts"),
    ("request", None),
    ("script", "script"),
]

for _module, _name in GROUPS:
    _mod = importlib.import_module(f"meta_agent.cli.{_module}")
    if _name is None:
        _mod.register(app)
    else:
        app.add_typer(_mod.app, name=_name)


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
