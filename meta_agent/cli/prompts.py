"""``meta-agent prompts``: the prompt registry from the command line.

``list`` the prompts, ``show`` one version (its text, variables, labels, the label history and
what each version's executions did), ``diff`` two versions, ``add`` a version from a file,
``label`` (deploy: move a label to a version) and ``rollback`` (move it back). ``--json`` on
each; bad input is one sentence naming the argument and the fix, exit 2, nothing written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.text import Text

from meta_agent.cli.alerts import _who
from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.improvement import prompts as registry
from meta_agent.improvement.model import DEFAULT_PROMPT

app = typer.Typer(help="Prompt registry: versions, diffs, labels and rollback; how each version's executions did.",
                  no_args_is_help=True)

AGENT_ARG = typer.Argument(..., help="The agent id (see `meta-agent prompts list`).")
NAME_ARG = typer.Argument(DEFAULT_PROMPT, help=f"The prompt's name (default: {DEFAULT_PROMPT}).")
REQUIRED_NAME_ARG = typer.Argument(..., help=f"The prompt's name ({DEFAULT_PROMPT} for the one executions carry).")
REASON_OPTION = typer.Option(None, "--reason", help="Why (required; kept in the label's history).")
BY_OPTION = typer.Option(None, "--by", help="Who (default: $META_AGENT_USER or the login name).")
MAX_FILE_BYTES = 1_000_000


def _time(v) -> str:
    return "-" if v is None else f"{v:%Y-%m-%d %H:%M}"


def _reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise InputError("--reason is required: say why the label moves (it is kept in the label's history).")
    return reason.strip()


def _known(conn, agent: str, name: str) -> list[registry.PromptVersion]:
    """The prompt's versions, or InputError saying which prompts exist."""
    registry.check_name(agent, "agent")
    registry.check_name(name, "prompt name")
    found = registry.versions(conn, agent, name)
    if found:
        return found
    mine = [p["name"] for p in registry.list_prompts(conn, agent)]
    if mine:
        raise InputError(f"agent '{agent}' has no prompt '{name}'; its prompts are {', '.join(mine)}.")
    agents = sorted({p["agent_id"] for p in registry.list_prompts(conn)})
    if agents:
        raise InputError(f"no prompts registered for agent '{agent}'; prompts exist for {', '.join(agents)} "
                         "(see `meta-agent prompts list`).")
    raise InputError(f"the prompt registry is empty; register a version with `meta-agent prompts add {agent} "
                     f"{name} --file PATH`.")


@app.command("list")
def list_(agent: str = typer.Option(None, "--agent", help="Only this agent's prompts."),
          as_json: bool = JSON_OPTION) -> None:
    """Every prompt: how many versions, the latest, and where its labels point."""
    if agent is not None:
        registry.check_name(agent, "--agent")
    with ops_engine().connect() as conn:
        rows = registry.list_prompts(conn, agent)

    def human() -> None:
        if not rows:
            stderr.print(f"no prompts{f' for {agent}' if agent else ''} yet: register one with "
                         "`meta-agent prompts add AGENT NAME --file PATH`.")
            return
        stdout.print(table("prompts", ["agent", "name", "versions", "latest", "labels"],
                           [(r["agent_id"], r["name"], r["versions"], r["latest_version"],
                             ", ".join(f"{k} → {v}" for k, v in r["labels"].items()) or "-") for r in rows]))

    emit({"prompts": rows}, as_json, human)


@app.command()
def show(agent: str = AGENT_ARG, name: str = NAME_ARG,
         version: str = typer.Option(None, "--version", help="This version (v3)."),
         label: str = typer.Option(None, "--label", help="The version this label points at (default: production, "
                                                         "else the latest)."),
         as_json: bool = JSON_OPTION) -> None:
    """One version's text and variables, the prompt's labels and history, and per version how
    its executions did (executions link by their prompt_version)."""
    if version is not None and label is not None:
        raise InputError("give --version or --label, not both.")
    with ops_engine().connect() as conn:
        all_versions = _known(conn, agent, name)
        current = registry.labels(conn, agent, name)
        if version is not None:
            wanted = registry.normalize_version(version, "--version")
            chosen = next((v for v in all_versions if v.version == wanted), None)
            if chosen is None:
                raise InputError(f"--version {version}: prompt '{name}' of {agent} has versions "
                                 f"{', '.join(v.version for v in all_versions)}.")
        elif label is not None:
            registry.check_name(label, "--label", registry.LABEL_MAX)
            chosen = registry.resolve(conn, agent, name, label)
            if chosen is None:
                raise InputError(f"--label {label} is not set on prompt '{name}' of {agent}; its labels are "
                                 f"{', '.join(current) or 'none yet'} (set one with `meta-agent prompts label`).")
        else:
            chosen = registry.resolve(conn, agent, name) or all_versions[-1]
        history = registry.label_history(conn, agent, name, limit=20)
        ours = {v.version for v in all_versions}
        usage = {v: u for v, u in registry.version_usage(conn, agent).items()
                 if v in ours and registry.prompt_for_version(conn, agent, v) == name}
    pointing = {}
    for lab, v in current.items():
        pointing.setdefault(v, []).append(lab)
    payload = {"agent_id": agent, "name": name, "version": chosen.to_dict(), "labels": current,
               "versions": [{"version": v.version, "author": v.author, "message": v.message,
                             "parent_version": v.parent_version, "source": v.source, "created_at": v.created_at,
                             "labels": pointing.get(v.version, [])} for v in all_versions],
               "history": history, "usage": usage}

    def human() -> None:
        on = pointing.get(chosen.version)
        stdout.print(f"[bold]{agent} / {name} @ {chosen.version}[/]" + (f" ({', '.join(on)})" if on else ""))
        stdout.print(Text(f"by {chosen.author}, {_time(chosen.created_at)} UTC, {chosen.source}"
                          + (f", from {chosen.parent_version}" if chosen.parent_version else "")
                          + (f": {chosen.message}" if chosen.message else "")))
        stdout.print(Text(f"variables: {', '.join(chosen.variables) or 'none'}"))
        stdout.print(Text("─" * 40))
        stdout.print(Text(chosen.text.rstrip("\n")))
        stdout.print(Text("─" * 40))
        stdout.print(table("versions", ["version", "labels", "created (UTC)", "author", "executions", "success",
                                        "last seen (UTC)", "message"],
                           [(v.version, ", ".join(pointing.get(v.version, [])) or "-", _time(v.created_at),
                             escape(v.author),
                             usage.get(v.version, {}).get("executions", 0),
                             _rate(usage.get(v.version, {}).get("success_rate")),
                             _time(usage.get(v.version, {}).get("last_seen")), escape(v.message))
                            for v in all_versions]))
        if history:
            stdout.print(table("label history", ["at (UTC)", "label", "from", "to", "actor", "reason"],
                               [(_time(h["at"]), h["label"], h["from_version"] or "-", h["to_version"],
                                 escape(h["actor"]), escape(h["reason"])) for h in history]))

    emit(payload, as_json, human)


def _rate(v) -> str:
    return "-" if v is None else f"{v:.1%}"


@app.command()
def diff(agent: str = AGENT_ARG, name: str = REQUIRED_NAME_ARG,
         a: str = typer.Argument(..., help="The version to diff from (v3)."),
         b: str = typer.Argument(..., help="The version to diff to (v4)."),
         as_json: bool = JSON_OPTION) -> None:
    """The unified diff between two versions of a prompt."""
    with ops_engine().connect() as conn:
        _known(conn, agent, name)
        text = registry.diff(conn, agent, name, a, b)
    va, vb = registry.normalize_version(a), registry.normalize_version(b)

    def human() -> None:
        if not text:
            stderr.print(f"{name}@{va} and {name}@{vb} are the same text.")
            return
        styles = {"+": "green", "-": "red", "@": "cyan"}
        for line in text.splitlines():
            style = "bold" if line.startswith(("+++", "---")) else styles.get(line[:1])
            stdout.print(Text(line, style=style or ""))

    emit({"agent_id": agent, "name": name, "a": va, "b": vb, "diff": text}, as_json, human)


@app.command()
def add(agent: str = AGENT_ARG, name: str = REQUIRED_NAME_ARG,
        file: str = typer.Option(None, "--file", help="The prompt's text: a file, or - for stdin."),
        message: str = typer.Option("", "--message", help="Why this version (kept with it)."),
        by: str = BY_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Register a version from a file (the same text as an existing version: that version)."""
    if file is None:
        raise InputError("--file is required: give the file holding the prompt's text, or - to read stdin.")
    text = _read_text(file)
    who = _who(by)
    with ops_engine().begin() as conn:
        before = {v.version for v in registry.versions(conn, agent, name)}
        pv = registry.create_version(conn, agent, name, text, author=who, message=message)
        current = registry.labels(conn, agent, name)
    created = pv.version not in before
    payload = {"created": created, "version": pv.to_dict(), "labels": current}

    def human() -> None:
        if created:
            stdout.print(f"registered {agent} / {name} @ {pv.version} "
                         f"(variables: {', '.join(pv.variables) or 'none'}). Deploy it with "
                         f"`meta-agent prompts label {agent} {name} production {pv.version} --reason …`.")
        else:
            stdout.print(f"{agent} / {name} @ {pv.version} already has this text; nothing registered.")

    emit(payload, as_json, human)


def _read_text(file: str) -> str:
    if file == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        where = "stdin"
    else:
        path = Path(file)
        if not path.is_file():
            raise InputError(f"--file '{file}': no such file; give the file holding the prompt's text "
                             "(or - for stdin).")
        data = path.read_bytes()[:MAX_FILE_BYTES + 1]
        where = f"'{file}'"
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"--file {where} is over {MAX_FILE_BYTES:,} bytes; a prompt template is text, not a "
                         "document to embed.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"--file {where} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None


@app.command("label")
def label_(agent: str = AGENT_ARG, name: str = REQUIRED_NAME_ARG,
           label: str = typer.Argument(..., help="The label (production, candidate, …)."),
           version: str = typer.Argument(..., help="The version it should point at (v4)."),
           reason: str = REASON_OPTION, by: str = BY_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Point a label at a version (agents reading that label get it within their cache TTL)."""
    why = _reason(reason)
    who = _who(by)
    with ops_engine().begin() as conn:
        _known(conn, agent, name)
        move = registry.move_label(conn, agent, name, label, version, actor=who, reason=why)
    _print_move(move, as_json)


@app.command()
def rollback(agent: str = AGENT_ARG, name: str = NAME_ARG,
             label: str = typer.Option(registry.PRODUCTION, "--label", help="The label to move back."),
             reason: str = REASON_OPTION, by: str = BY_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Move a label back to the version it pointed at before its last move."""
    why = _reason(reason)
    who = _who(by)
    with ops_engine().begin() as conn:
        _known(conn, agent, name)
        move = registry.rollback_label(conn, agent, name, label, actor=who, reason=why)
    _print_move(move, as_json)


def _print_move(move: registry.LabelMove, as_json: bool) -> None:
    def human() -> None:
        where = f"{move.label} of {move.agent_id} / {move.name}"
        if move.changed:
            stdout.print(Text(f"{where}: {move.from_version or '(new)'} → {move.to_version} (by {move.actor})."))
        else:
            stdout.print(Text(f"{where} already points at {move.to_version}; nothing changed."))

    emit(move.to_dict(), as_json, human)
