"""``meta-agent learnings``: the knowledge base — list, search, show; deprecate or restore by hand;
suggest learnings to agents with similar failure clusters."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from meta_agent import config
from meta_agent.cli.alerts import _who
from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.improvement import knowledge
from meta_agent.llm import get_gateway, load_config

app = typer.Typer(help="The knowledge base of learnings: list, search, show, deprecate, restore, suggest.",
                  no_args_is_help=True)

ID_ARG = typer.Argument(..., help="The learning id (learn-…, see `meta-agent learnings list`).")
ALL_OPTION = typer.Option(False, "--all", help="Include deprecated learnings.")
REASON_OPTION = typer.Option(..., "--reason", help="Why (kept in the learning's events).")
BY_OPTION = typer.Option(None, "--by", help="Who (default: $META_AGENT_USER or the login name).")


def _effect(r: dict) -> str:
    lo, hi = r.get("ci_low"), r.get("ci_high")
    interval = f" [{lo:+.4g}, {hi:+.4g}]" if lo is not None and hi is not None else ""
    return f"{r['effect']:+.4g}{interval} {r['unit']}"


def _rows(rows: list[dict], score: bool = False) -> list[tuple]:
    return [((f"{r['score']:.3f}",) if score else ()) + (
        r["learning_id"], r["agent_id"] or "fleet", r["title"], r["metric"], _effect(r), f"{r['confidence']:.2f}",
        f"{r['confirmations']}/{r['contradictions']}", r["status"]) for r in rows]


COLUMNS = ["id", "agent", "title", "metric", "effect [95 % CI]", "confidence", "conf./contr.", "status"]


def _print(rows: list[dict], title: str, empty: str, score: bool = False) -> None:
    if not rows:
        stderr.print(empty)
        return
    stdout.print(table(title, (["score"] if score else []) + COLUMNS, _rows(rows, score)))


@app.command("list")
def list_(agent: str = typer.Option(None, "--agent", help="Only this agent's learnings."),
          include_all: bool = ALL_OPTION,
          limit: int = typer.Option(100, "--limit", help="At most this many (1-10000)."),
          as_json: bool = JSON_OPTION) -> None:
    """Learnings, most confident first (deprecated ones only with --all)."""
    with ops_engine().connect() as conn:
        rows = knowledge.list_learnings(conn, agent=agent, include_deprecated=include_all, limit=limit)
    emit({"learnings": rows}, as_json, lambda: _print(
        rows, "learnings", "no learnings yet" + (f" for {agent}" if agent else "")
        + ": they are recorded when an adopted change's effect is measured."))


@app.command()
def search(text: str = typer.Argument(..., help="Words to look for (title, change, metric, agent, signature)."),
           limit: int = typer.Option(10, "--limit", help="At most this many results (1-10000)."),
           include_all: bool = ALL_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Learnings ranked by TF-IDF similarity with TEXT."""
    with ops_engine().connect() as conn:
        rows = knowledge.search(conn, text, limit=limit, include_deprecated=include_all)
    emit({"query": text, "results": rows}, as_json,
         lambda: _print(rows, f"learnings matching '{text}'", f"no learning matches '{text}'.", score=True))


@app.command()
def show(learning_id: str = ID_ARG, as_json: bool = JSON_OPTION) -> None:
    """One learning with its evidence and every event (deprecated ones too)."""
    with ops_engine().connect() as conn:
        row = knowledge.get(conn, learning_id)
    if row is None:
        raise InputError(f"no learning '{learning_id}'; `meta-agent learnings list --all` shows their ids.")

    def human() -> None:
        stdout.print(f"[bold]{row['learning_id']}[/] {row['title']} ({row['status']})")
        stdout.print(f"  where: {row['agent_id'] or 'the fleet'} · {row['kind']} · category {row['category']}")
        stdout.print(f"  change: {row['change']}")
        stdout.print(f"  effect: {row['metric']} {_effect(row)}")
        stdout.print(f"  confidence: {row['confidence']:.3f} ({row['confirmations']} confirmation(s), "
                     f"{row['contradictions']} contradiction(s); last supported {row['last_evidence_at']:%Y-%m-%d})")
        if row["failure_signature"]:
            stdout.print(f"  failure signature: {row['failure_signature']}")
        ev = row["evidence"] or {}
        stdout.print(f"  proposals: {', '.join(ev.get('proposal_ids') or []) or '-'}; "
                     f"sources: {', '.join(ev.get('sources') or []) or '-'}")
        stdout.print(table("events", ["at (UTC)", "kind", "effect", "confidence", "source"],
                           [(f"{e['at']:%Y-%m-%d %H:%M}", e["kind"],
                             "-" if e["effect"] is None else f"{e['effect']:+.4g}",
                             ("-" if e["confidence_before"] is None else f"{e['confidence_before']:.3f}")
                             + f" → {e['confidence_after']:.3f}", e["source"] or "-") for e in row["events"]]))

    emit(row, as_json, human)


def _set(learning_id: str, reason: str, by: str | None, as_json: bool, restore: bool) -> None:
    who = _who(by)
    with ops_engine().begin() as conn:
        fn = knowledge.restore if restore else knowledge.deprecate
        row = fn(conn, learning_id, reason=reason, actor=who, now=datetime.now(UTC))
    emit(row, as_json, lambda: stdout.print(
        f"learning {learning_id} is now {row['status']}"
        + (" (surfaced again)." if restore else " (kept, but no longer listed, searched or suggested).")))


@app.command()
def deprecate(learning_id: str = ID_ARG, reason: str = REASON_OPTION, by: str = BY_OPTION,
              as_json: bool = JSON_OPTION) -> None:
    """Stop surfacing a learning (it is kept, with an event)."""
    _set(learning_id, reason, by, as_json, restore=False)


@app.command()
def restore(learning_id: str = ID_ARG, reason: str = REASON_OPTION, by: str = BY_OPTION,
            as_json: bool = JSON_OPTION) -> None:
    """Surface a deprecated learning again (decay leaves it until new contrary evidence)."""
    _set(learning_id, reason, by, as_json, restore=True)


@app.command()
def suggest(threshold: float = typer.Option(knowledge.SUGGEST_THRESHOLD, "--threshold",
                                            help="Least cosine similarity of the failure signatures (0-1]."),
            as_json: bool = JSON_OPTION) -> None:
    """Learnings to try on other agents whose current failure clusters look like what they fixed."""
    gateway = get_gateway(load_config(None), db_url=config.db_url())
    with ops_engine().connect() as conn:
        rows = knowledge.suggest(conn, embed=lambda texts: gateway.embed(texts, purpose="learning_suggestions"),
                                 threshold=threshold)

    def human() -> None:
        if not rows:
            stderr.print(f"no suggestions at cosine ≥ {threshold:g}: no active learning with a failure signature "
                         "reads like another agent's current failure clusters.")
            return
        stdout.print(table("suggested learnings", ["learning", "from", "to", "similarity", "cluster", "why"],
                           [(s["learning_id"], s["from_agent"] or "fleet", s["to_agent"], f"{s['similarity']:.2f}",
                             s["cluster_key"], s["why"]) for s in rows]))

    emit({"threshold": threshold, "suggestions": rows}, as_json, human)
