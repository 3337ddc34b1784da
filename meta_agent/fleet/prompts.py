"""The simulated fleet's prompt texts, and registering them in the prompt registry.

The fleet's executions carry prompt versions (``simulate``: every agent moves from v2 to v3 on
a day of its own; incidents bring v4 and later). So that a proposal can diff the version an
incident runs against the one before it, each version has a text here — deterministic, a
realistic system prompt with ``{placeholders}``, instructions, the agent's tools and an
explicit output-format section naming the JSON fields the agent's answer schema has:

- v1: the first cut — role, task, output format;
- v2: adds tool guidance and when to hand over to a person;
- v3 (the background switch): a house-style rewrite — calibrated ``confidence``, plainer tone;
- v4 (the incident version): asks for step-by-step reasoning written out before the answer
  and drops ``STRICT_OUTPUT_LINE`` — the line that kept answers to bare JSON (the incident
  fleet's parse failures and slower runs follow from that; a rule-based fix puts it back);
- v5 and later: further edits on v4 (still without the strict line).

``seed_registry`` registers them under ``DEFAULT_PROMPT`` (v1 up to the highest version asked
for, gaps included, so the registry's ``v{n}`` are the fleet's) and points ``production`` at
the version given per agent; ``observed_versions`` reads both from the executions stored.
Running either again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.fleet.profiles import CATALOG
from meta_agent.improvement import prompts as registry
from meta_agent.improvement.model import DEFAULT_PROMPT
from meta_agent.store.schema import executions

STRICT_OUTPUT_LINE = "Return only the JSON object: no prose before or after it, no Markdown code fences."
PRODUCTION_REASON = "fleet simulator: the version of the agent's most recent execution"
_VERSION = re.compile(r"v([1-9][0-9]*)")


@dataclass(frozen=True)
class _Spec:
    role: str  # "the support triage agent for {company}"
    task: tuple[str, ...]  # what to do, one instruction a line
    context: tuple[str, ...]  # "Customer tier: {customer_tier}" lines
    fields: tuple[tuple[str, str], ...]  # (JSON field, how it is described)
    handover: str  # when to ask a person
    tools: tuple[str, ...] = ()


_SPECS: dict[str, _Spec] = {
    "support-triage": _Spec(
        "the support triage agent of {company}",
        ("Read the customer's ticket and classify its intent.", "Search the knowledge base before you answer.",
         "Draft a reply the support team can send as is."),
        ("Customer tier: {customer_tier}", "Channel: {channel}"),
        (("summary", "string, one sentence"), ("category", "billing | technical | account | other"),
         ("confidence", "number between 0 and 1"), ("next_action", "reply | escalate | close")),
        "a legal threat, a security report or a customer asking for a person"),
    "invoice-extractor": _Spec(
        "the invoice extraction agent of {company}'s accounts-payable team",
        ("Extract the supplier, the invoice lines and the totals from the OCR text.",
         "Check the VAT id of the supplier before posting.", "Amounts are in {currency} unless the invoice says "
                                                             "otherwise."),
        ("ERP system: {erp_system}", "Currency: {currency}"),
        (("counterparty", "the supplier's legal name"), ("line_items", "list of {{description, quantity, amount}}"),
         ("total_amount", "number, the invoice total"), ("due_date", "YYYY-MM-DD"),
         ("confidence", "number between 0 and 1")),
        "a total that does not match its lines, or a VAT id that fails validation"),
    "sql-analyst": _Spec(
        "the analytics agent of {company}, answering questions with SQL on {warehouse}",
        ("List the tables before you write a query.", "Write read-only SQL; never modify data.",
         "Answer with the figures the query returned, not estimates."),
        ("Warehouse: {warehouse}", "Question from: {requester}"),
        (("summary", "the answer in two sentences"), ("citations", "list of the queries you ran"),
         ("confidence", "number between 0 and 1"), ("next_action", "answer | clarify | escalate")),
        "a question about personal data, or a query that would scan more than a day of events"),
    "lease-abstractor": _Spec(
        "the lease abstraction agent of {company}'s real-estate team",
        ("Summarize the commercial lease into its key terms.", "Quote the clause for every term you extract.",
         "Leases are governed by {jurisdiction} law unless a clause says otherwise."),
        ("Jurisdiction: {jurisdiction}", "Property: {property_name}"),
        (("summary", "the lease in five sentences"), ("counterparty", "the tenant's legal name"),
         ("due_date", "the lease expiry, YYYY-MM-DD"), ("risk_flags", "list of unusual or one-sided clauses"),
         ("citations", "list of clause numbers")),
        "a clause you cannot read, or a break option with a penalty"),
    "research-assistant": _Spec(
        "the research assistant of {company}'s strategy team",
        ("Research the market question with web searches.", "Fetch and read every source you cite.",
         "Write for {audience}: lead with the conclusion."),
        ("Audience: {audience}", "Deadline: {deadline}"),
        (("summary", "the brief's conclusion in three sentences"), ("citations", "list of source URLs"),
         ("confidence", "number between 0 and 1"), ("risk_flags", "list of caveats a reader must know")),
        "sources that contradict each other on the main figure"),
    "code-reviewer": _Spec(
        "the code review agent of {company}, reviewing pull requests in {repository}",
        ("Read the diff and run the linters.", "Comment on correctness first, style last.",
         "Suggest a fix with every problem you raise."),
        ("Repository: {repository}", "Author: {author}"),
        (("summary", "the review in two sentences"), ("risk_flags", "list of problems, most severe first"),
         ("next_action", "approve | request_changes | comment"), ("confidence", "number between 0 and 1")),
        "a change to authentication, payments or database migrations"),
    "email-drafter": _Spec(
        "the email drafting agent of {company}'s customer team",
        ("Read the email thread and the customer's record.", "Draft a follow-up in {sender_name}'s voice.",
         "Keep it under 150 words."),
        ("Sender: {sender_name}", "Customer: {customer_name}"),
        (("summary", "what the email says, one sentence"), ("category", "follow_up | reminder | apology | offer"),
         ("next_action", "send | review"), ("confidence", "number between 0 and 1")),
        "a complaint, a cancellation or a price the customer disputes"),
    "rent-roll-parser": _Spec(
        "the rent roll parsing agent of {company}'s real-estate team",
        ("Parse the rent roll into one row per unit.", "Reconcile the unit count with the property record.",
         "Rents are monthly, in {currency}."),
        ("Property: {property_name}", "Currency: {currency}"),
        (("line_items", "list of {{unit, tenant, rent, lease_end}}"), ("total_amount", "number, total monthly rent"),
         ("summary", "one sentence on occupancy"), ("confidence", "number between 0 and 1")),
        "units that do not reconcile, or a rent roll older than 90 days"),
}

_MESSAGES = {
    1: "first version: role, task and output format",
    2: "tool guidance and when to hand over to a person",
    3: "house style: calibrated confidence, plainer tone",
    4: "asks for step-by-step reasoning before the answer (the output-format line went with the rewrite)",
}


def _spec(agent_id: str) -> _Spec:
    """The agent's spec; numbered copies (``support-triage-2``) share their profile's."""
    for p in CATALOG:
        if agent_id == p.agent_id or re.fullmatch(re.escape(p.agent_id) + r"-\d+", agent_id):
            return replace(_SPECS[p.agent_id], tools=p.tools)
    words = agent_id.replace("_", "-").replace(".", "-").split("-")
    return _Spec(f"the {' '.join(w for w in words if w)} agent of {{company}}",
                 ("Do the task you are given.", "Use your tools rather than guessing."),
                 ("Requester: {requester}",),
                 (("summary", "the answer in two sentences"), ("confidence", "number between 0 and 1"),
                  ("next_action", "answer | escalate")),
                 "anything you are not sure is safe")


def _version_number(version: str, agent_id: str) -> int:
    m = _VERSION.fullmatch(str(version))
    if m is None:
        raise InputError(f"prompt version '{version}' of {agent_id}: the registry numbers versions v1, v2, …; "
                         "the fleet can only register versions of that form.")
    return int(m[1])


def _text(spec: _Spec, schema: str, n: int) -> str:
    lines = [f"You are {spec.role}. Today is {{today}}.", ""]
    lines += ["## Context", *spec.context, ""]
    lines += ["## Task", *(f"- {t}" for t in spec.task)]
    if n >= 3:
        lines.append("- Write plainly: short sentences, no filler, no apologies.")
    if n >= 4:
        lines.append("- Think step by step and write out your reasoning in full before you give the answer.")
    if n >= 5:
        lines.append("- Mention every assumption you made, with the reason for it.")
    if n >= 6:
        lines.append(f"- (revision {n}) Prefer recall to precision: include anything possibly relevant.")
    lines.append("")
    if n >= 2:
        tools = ", ".join(spec.tools) if spec.tools else "the tools you are given"
        lines += ["## Tools", f"You can call {tools}. Call a tool rather than guess; never invent a tool's result.",
                  f"Hand the case to a person (next_action or a note) on {spec.handover}.", ""]
    fields = spec.fields if n < 5 else spec.fields[:-1]  # v5 on: the last field was folded into the prose
    lines += ["## Output format", f"Respond with one JSON object ({schema}) with exactly these fields:"]
    lines += [f'- "{name}": {desc}' for name, desc in fields]
    lines.append("{{" + ", ".join(f'"{name}": …' for name, _ in fields) + "}}")
    if n >= 3 and any(name == "confidence" for name, _ in fields):
        lines.append("Set confidence to how sure you are; 0.5 means a guess.")
    if n < 4:
        lines.append(STRICT_OUTPUT_LINE)
    return "\n".join(lines) + "\n"


def prompt_texts(agent_id: str, versions: Sequence[str]) -> dict[str, str]:
    """{version: system prompt text} for each of ``versions`` (v1, v2, …) of the agent."""
    spec = _spec(agent_id)
    # the name the fleet's parse failures give the answer schema (simulate._incident_error)
    schema = "".join(w.title() for w in agent_id.split("-") if not w.isdigit()) + "Answer"
    return {v: _text(spec, schema, _version_number(v, agent_id)) for v in versions}


def seed_registry(conn: sa.Connection, agent_versions: Mapping[str, Sequence[str]], *,
                  production: Mapping[str, str], author: str = "fleet-simulator",
                  now: datetime | None = None) -> dict[str, dict]:
    """Register v1 … the highest version asked for of each agent's ``DEFAULT_PROMPT`` (what is
    there already stays) and point ``production`` at ``production[agent]``. Per agent:
    ``{"created": [versions written now], "production": version, "moved": bool}``."""
    out: dict[str, dict] = {}
    for agent in sorted(set(agent_versions) | set(production)):
        wanted = [*agent_versions.get(agent, ()), *([production[agent]] if agent in production else [])]
        top = max(_version_number(v, agent) for v in wanted) if wanted else 0
        texts = prompt_texts(agent, [f"v{n}" for n in range(1, top + 1)])
        created = []
        for n in range(1, top + 1):
            version = f"v{n}"
            if registry.get_version(conn, agent, DEFAULT_PROMPT, version) is not None:
                continue
            pv = registry.create_version(conn, agent, DEFAULT_PROMPT, texts[version], author=author,
                                         message=_MESSAGES.get(n, f"revision {n} of the v4 rewrite"),
                                         parent_version=f"v{n - 1}" if n > 1 else None, source="import", now=now)
            if pv.version != version:
                raise InputError(f"the registry's prompt '{DEFAULT_PROMPT}' of {agent} numbers this text {pv.version}, "
                                 f"not the fleet's {version} (versions were added by hand); register the fleet's "
                                 "prompts into a registry without them.")
            created.append(version)
        entry = {"created": created, "production": None, "moved": False}
        if agent in production:
            target = registry.normalize_version(production[agent], f"production version of {agent}")
            move = registry.move_label(conn, agent, DEFAULT_PROMPT, registry.PRODUCTION, target, actor=author,
                                       reason=PRODUCTION_REASON, now=now)
            entry.update(production=move.to_version, moved=move.changed)
        out[agent] = entry
    return out


def observed_versions(conn: sa.Connection) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(agent → the prompt versions its executions carry, oldest first; agent → the version of
    its most recent execution — its production)."""
    e = executions.c
    rows = conn.execute(sa.select(e.agent_id, e.prompt_version, sa.func.max(e.started_at).label("last"))
                        .where(e.prompt_version.is_not(None)).group_by(e.agent_id, e.prompt_version)).all()
    seen: dict[str, list[str]] = {}
    latest: dict[str, tuple] = {}
    for r in rows:
        seen.setdefault(r.agent_id, []).append(r.prompt_version)
        rank = (r.last, _order(r.prompt_version))
        if r.agent_id not in latest or rank > latest[r.agent_id][0]:
            latest[r.agent_id] = (rank, r.prompt_version)
    agent_versions = {a: sorted(vs, key=_order) for a, vs in sorted(seen.items())}
    return agent_versions, {a: v for a, (_, v) in sorted(latest.items())}


def _order(version: str) -> tuple[int, str]:
    m = _VERSION.fullmatch(version)
    return (int(m[1]), "") if m else (1 << 62, version)
