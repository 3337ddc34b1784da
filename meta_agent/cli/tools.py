"""``meta-agent tools``: the tool library generated scripts may call."""

from __future__ import annotations

import json

import typer
from rich.syntax import Syntax

from meta_agent.cli.output import JSON_OPTION, emit, stdout, table
from meta_agent.errors import InputError
from meta_agent.tools import default_registry

app = typer.Typer(help="The vetted tool library: list, search by meaning, show a tool's schema.",
                  no_args_is_help=True)


def _registry():
    return default_registry()


def _summary(tool) -> dict:
    props = tool.parameters.get("properties", {})
    required = tool.parameters.get("required", [])
    return {"name": tool.name, "category": tool.category, "description": tool.description,
            "parameters": list(props), "required": list(required)}


@app.command("list")
def list_(
    category: str = typer.Option(None, help="Only this category: database, calculation or data."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Every registered tool, by category."""
    reg = _registry()
    categories = sorted({t.category for t in reg.list()})
    if category is not None and category not in categories:
        raise InputError(f"--category '{category}' is not a tool category; use one of {', '.join(categories)}.")
    tools = sorted(reg.list(category), key=lambda t: (t.category, t.name))
    payload = {"count": len(tools), "tools": [_summary(t) for t in tools]}

    def human() -> None:
        stdout.print(table(f"{len(tools)} tools", ["category", "name", "description"],
                           [(t.category, t.name, t.description) for t in tools]))

    emit(payload, as_json, human)


@app.command()
def search(
    query: str = typer.Argument(..., help="What you want to do, in words (e.g. 'debt service coverage')."),
    limit: int = typer.Option(5, "--limit", "-k", min=1, max=50, help="At most this many tools."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Tools ranked by TF-IDF similarity of the query to their names, descriptions and keywords."""
    if not query.strip():
        raise InputError("the search query is empty; describe what you want to do, e.g. 'net present value'.")
    matches = _registry().search(query, k=limit)
    payload = {"query": query, "matches": [{"name": m.name, "score": round(m.score, 4),
                                            "description": m.description} for m in matches]}

    def human() -> None:
        if not matches:
            stdout.print(f"no tool matches '{query}'; try `meta-agent tools list`.")
            return
        stdout.print(table(f"tools for '{query}'", ["name", "score", "description"],
                           [(m.name, f"{m.score:.3f}", m.description) for m in matches]))

    emit(payload, as_json, human)


@app.command()
def show(
    name: str = typer.Argument(..., help="Tool name, e.g. calculate_dscr."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A tool's full schema (parameters as JSON Schema, returns) and its prompt-ready doc."""
    reg = _registry()
    if name not in reg:
        close = [m.name for m in reg.search(name.replace("_", " "), k=3)]
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"no tool named '{name}'.{hint} See `meta-agent tools list`.")
    tool = reg.get(name)
    payload = {**tool.get_schema(), "doc": tool.render_doc()}

    def human() -> None:
        stdout.print(f"[bold]{tool.name}[/] ({tool.category})")
        stdout.print(tool.render_doc())
        stdout.print(Syntax(json.dumps(tool.parameters, indent=2), "json"))

    emit(payload, as_json, human)
