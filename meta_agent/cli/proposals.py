"""``meta-agent proposals``: improvement proposals — list, show, approve|reject, apply, roll back.

Approve and reject call ``workflow.decide``, the same function as the Dagster
``proposal_decision`` job; every bad input (unknown id, a state that does not allow it, no
reason) is one sentence on stderr, exit 2, and nothing changed.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from meta_agent.cli.alerts import _who
from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stdout, table
from meta_agent.errors import InputError
from meta_agent.improvement import present, workflow

app = typer.Typer(help="Improvement proposals: list, show, approve|reject, apply, roll back.", no_args_is_help=True)

ID_ARG = typer.Argument(..., help="The proposal id, e.g. prop-1a2b3c4d5e6f (see `meta-agent proposals list`).")
REASON_OPTION = typer.Option(None, "--reason", help="Why (required; kept in the audit trail).")
BY_OPTION = typer.Option(None, "--by", help="Who (default: $META_AGENT_USER or the login name).")


def _time(v) -> str:
    return "-" if v is None else f"{v:%Y-%m-%d %H:%M}"


def _agent(r: dict) -> str:
    return r["agent_id"] or ", ".join(r["agents"] or []) or "-"


def _rows(rows: list[dict]) -> list[tuple]:
    return [(r["proposal_id"], r["state"], r["kind"], escape(_agent(r)), r["risk"], f"{r['confidence']:.2f}",
             f"{r['priority']:.3g}", r["occurrences"], f"{r['last_seen_day']}", escape(r["title"])) for r in rows]


@app.command("list")
def list_(state: str = typer.Option(None, "--state", help="Only this state (proposed, approved, rejected, …)."),
          agent: str = typer.Option(None, "--agent", help="Only proposals touching this agent."),
          kind: str = typer.Option(None, "--kind", help="Only this kind (prompt_change, tool_change, …)."),
          risk: str = typer.Option(None, "--risk", help="Only this risk (low, medium, high)."),
          limit: int = typer.Option(200, "--limit", help="At most this many (highest priority first)."),
          as_json: bool = JSON_OPTION) -> None:
    """Proposals, highest priority first."""
    options = {"--state": state, "--kind": kind, "--risk": risk}
    with ops_engine().connect() as conn:
        try:
            rows = workflow.list_proposals(conn, state=state, agent=agent, kind=kind, risk=risk, limit=limit)
        except InputError as exc:  # name the option, not the library's argument
            text = str(exc)
            for opt, value in options.items():
                if value is not None and text.startswith(f"{opt[2:]} '{value}'"):
                    raise InputError(opt + text[len(opt) - 2:]) from None
            raise

    def human() -> None:
        if not rows:
            stdout.print("no proposals" + (" match" if any((state, agent, kind, risk)) else
                                            " yet: the improvement_proposals asset makes them from findings") + ".")
            return
        stdout.print(table("improvement proposals", ["id", "state", "kind", "agent", "risk", "conf", "priority",
                                                     "seen", "last seen", "title"], _rows(rows)))

    emit({"proposals": rows}, as_json, human)


@app.command()
def show(proposal_id: str = ID_ARG, as_json: bool = JSON_OPTION) -> None:
    """One proposal: the change, its diff, the expected effect with its interval, risk, blast
    radius, rollback plan, evidence and the audit trail."""
    with ops_engine().connect() as conn:
        row = workflow.require(conn, proposal_id)

    def human() -> None:
        p = stdout.print
        p(f"[bold]{escape(row['proposal_id'])}[/] · {row['kind']} · {escape(_agent(row))} · [bold]{row['state']}[/]")
        p(escape(row["title"]), highlight=False)
        if row["summary"]:
            p(escape(row["summary"]), highlight=False)
        p("")
        for label, value in (
                ("expected", present.expected_text(row["expected"])),
                ("method", (row["expected"] or {}).get("method") or "-"),
                ("risk", f"{row['risk']} · confidence {row['confidence']:.0%} · priority {row['priority']:.3g}"),
                ("blast radius", present.blast_text(row["blast_radius"], names=True)),
                ("rollback plan", row["rollback_plan"]),
                ("seen", f"{row['occurrences']} day(s), {row['first_seen_day']} to {row['last_seen_day']}"
                         f"; expires {_time(row['expires_at'])} UTC"),
                ("source", row["source"])):
            p(f"[bold]{label}:[/] {escape(str(value))}", highlight=False)
        p("[bold]change:[/]")
        p(escape(json.dumps(row["change"], indent=2, sort_keys=True, default=str)), highlight=False)
        if row["diff"]:
            p("[bold]diff:[/]")
            p(escape(row["diff"].rstrip()), highlight=False)
        ev = row["evidence"] or {}
        p("[bold]evidence:[/] " + escape(
            f"findings {', '.join(ev.get('finding_ids') or []) or '-'}"
            + (f"; cluster {ev['cluster_key']}" if ev.get("cluster_key") else "")
            + (f"; report {ev['report']}" if ev.get("report") else "")
            + (f"; executions {', '.join((ev.get('execution_ids') or [])[:5])}" if ev.get("execution_ids") else "")),
          highlight=False)
        if row["applied"]:
            p("[bold]applied:[/]")
            p(escape(json.dumps(row["applied"], indent=2, sort_keys=True, default=str)), highlight=False)
        p(table("audit trail", ["at (UTC)", "from", "to", "by", "reason"],
                [(_time(e["at"]), e["from_state"] or "-", e["to_state"], escape(e["actor"]), escape(e["reason"]))
                 for e in row["events"]]))

    emit(row, as_json, human)


def _decide(proposal_id: str, decision: str, reason: str | None, by: str | None, as_json: bool) -> None:
    who = _who(by)
    with ops_engine().begin() as conn:
        d = workflow.decide(conn, proposal_id, decision, reviewer=who, reason=reason)
    emit(d.as_dict(), as_json, lambda: stdout.print(
        f"proposal {d.proposal_id}: {d.from_state} → {d.to_state} by {escape(d.reviewer)} ({escape(d.reason)})."
        + (f" Next: `meta-agent proposals apply {d.proposal_id} --reason …` (a candidate; --apply for production)."
           if d.to_state == "approved" else ""), highlight=False))


@app.command()
def approve(proposal_id: str = ID_ARG, reason: str = REASON_OPTION, by: str = BY_OPTION,
            as_json: bool = JSON_OPTION) -> None:
    """Approve a proposed proposal (proposed → approved); the reason is kept in the audit trail."""
    _decide(proposal_id, "approve", reason, by, as_json)


@app.command()
def reject(proposal_id: str = ID_ARG, reason: str = REASON_OPTION, by: str = BY_OPTION,
           as_json: bool = JSON_OPTION) -> None:
    """Reject a proposed proposal (proposed → rejected, final: generating it again will not reopen it)."""
    _decide(proposal_id, "reject", reason, by, as_json)


@app.command("apply")
def apply_(proposal_id: str = ID_ARG,
           promote: bool = typer.Option(False, "--apply", help="Also promote it: move production to it (a prompt), "
                                                                "or record that the owner made the change; state → "
                                                                "adopted."),
           reason: str = REASON_OPTION, by: str = BY_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Apply an approved proposal the safe way: a prompt change becomes the `candidate` version
    (production untouched), other kinds a change request for their owner; --apply promotes it."""
    who = _who(by)
    with ops_engine().begin() as conn:
        a = workflow.apply(conn, proposal_id, actor=who, reason=reason, promote=promote)

    def human() -> None:
        doc = a.applied
        if doc.get("action") == "change_request":
            what = (f"change request for {doc.get('owner')}: {json.dumps(doc.get('change'), sort_keys=True)}"
                    + ("; recorded as done" if a.promoted else ""))
        else:
            what = (f"{doc.get('agent_id')}/{doc.get('prompt')} {doc.get('prompt_version')} is the candidate"
                    + (f"; production {doc['production']['from'] or '-'} → {doc['production']['to']}"
                       f" (`meta-agent proposals rollback {a.proposal_id}` undoes it)" if a.promoted else
                       "; production untouched (--apply promotes it)"))
        stdout.print(f"proposal {a.proposal_id}: {a.from_state} → {a.to_state}; {escape(what)}.", highlight=False)

    emit(a.as_dict(), as_json, human)


@app.command()
def rollback(proposal_id: str = ID_ARG, reason: str = REASON_OPTION, by: str = BY_OPTION,
             as_json: bool = JSON_OPTION) -> None:
    """Roll back an adopted proposal: production goes back to the version before it (a prompt), or
    a revert request for the owner; state → rolled_back."""
    who = _who(by)
    with ops_engine().begin() as conn:
        a = workflow.rollback(conn, proposal_id, actor=who, reason=reason)

    def human() -> None:
        rb = a.applied.get("rolled_back") or {}
        what = (f"production {rb.get('from')} → {rb.get('to')}" if rb.get("label") else
                f"revert request for {a.applied.get('owner', 'the owner')}")
        stdout.print(f"proposal {a.proposal_id}: adopted → rolled_back; {escape(what)}.", highlight=False)

    emit(a.as_dict(), as_json, human)
