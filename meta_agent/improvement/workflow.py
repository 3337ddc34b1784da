"""The approval workflow of improvement proposals: states, the audit trail, applying.

Every state change is one ``proposal_events`` row (who, when, why, details) written in the
same transaction as the state itself. The moves ``TRANSITIONS`` allows:

=============  ==============================  ================================================
from           to                              by
=============  ==============================  ================================================
(new)          proposed                        the generator (``upsert``), actor "generator"
proposed       approved, rejected              a person (``decide``) or a rule ("auto:<rule>")
proposed       expired                         ``expire`` past ``expires_at``, actor "expiry"
approved       experimenting                   the experiments machinery (``transition``)
approved       adopted                         ``apply(promote=True)`` (the CLI's ``--apply``)
approved       expired                         ``expire``: approved but never applied
experimenting  adopted, rolled_back            the experiment's verdict, or ``apply(promote=True)``
adopted        rolled_back                     ``rollback``
expired        proposed                        ``upsert``: generated again, so reopened
=============  ==============================  ================================================

``rejected`` and ``rolled_back`` are final: generating the same proposal again counts it
(``occurrences``, ``last_seen_day``) but never resurrects it — a person's no stands.

One function decides, whoever asks: ``decide`` is what ``meta-agent proposals approve|reject``
and the Dagster ``proposal_decision`` job (Launchpad) both call. Bad input (unknown id, a state
that does not allow the move, a missing reason or reviewer, a decision that is not approve or
reject) raises ``InputError`` naming the field and the fix, before anything is written.

Concurrency: every move reads the row ``FOR UPDATE`` on PostgreSQL (a second reviewer waits,
then sees the first one's decision) and writes it with a conditional ``UPDATE … WHERE state =
:read_state AND updated_at = :read_updated_at`` checked by rowcount (SQLite, which has no row
locks, and any writer that did not lock): of two reviewers racing, exactly one wins and the
other gets the wrong-state error; their transaction writes nothing.

Applying (``apply``) is the safe way: a prompt change becomes a new registry version under the
``candidate`` label — the hand-off point for the experiments issue, which moves the proposal to
``experimenting`` and decides — and only ``promote=True`` (a person's ``--apply``) moves
``production``, keeping the previous version as the label's rollback target, so ``rollback``
is one ``rollback_label``. Tool, config and SLA changes cannot be made from here: applying
records the exact change as a change request for its owner, and ``promote=True`` is the
owner saying it is done.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meta_agent.errors import InputError
from meta_agent.improvement import prompts
from meta_agent.improvement.model import DEFAULT_EXPIRY, DEFAULT_PROMPT, Proposal, _plain
from meta_agent.store.schema_improvement import (
    PROPOSAL_KINDS,
    PROPOSAL_STATES,
    RISK_LEVELS,
    improvement_proposals,
    proposal_events,
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "rejected", "expired"}),
    "approved": frozenset({"experimenting", "adopted", "expired"}),
    "experimenting": frozenset({"adopted", "rolled_back"}),
    "adopted": frozenset({"rolled_back"}),
    "expired": frozenset({"proposed"}),
    "rejected": frozenset(),
    "rolled_back": frozenset(),
}
OPEN_STATES = ("proposed", "approved", "experimenting")
CLOSED_STATES = ("rejected", "adopted", "rolled_back")  # seen again: counted, never resurrected
DECISIONS = {"approve": "approved", "reject": "rejected"}
PROMPT_KINDS = ("prompt_change", "prompt_rollback")
REQUEST_KINDS = ("tool_change", "config_change", "sla_change")  # applied by their owner
GENERATOR = "generator"
EXPIRY = "expiry"
CANDIDATE = "candidate"
ACTOR_MAX = 128  # proposal_events.actor is String(128)

# refreshed from a new generation of a still-proposed (or reopened) row: what the generator
# says today; kind and agents are the identity (dedup key), never changed
CONTENT = ("title", "summary", "change", "diff", "expected", "risk", "confidence", "blast_radius",
           "rollback_plan", "priority", "source", "category")

ip = improvement_proposals.c
pe = proposal_events.c

assert set(TRANSITIONS) == set(PROPOSAL_STATES)


@dataclass(frozen=True)
class Decision:
    """One state change, as the audit trail keeps it (``reviewer`` is whoever moved it: a
    person, ``auto:<rule>``, ``expiry``, ``generator``)."""

    proposal_id: str
    from_state: str | None
    to_state: str
    reviewer: str
    reason: str
    at: datetime

    @property
    def actor(self) -> str:
        return self.reviewer

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class UpsertReport:
    """What ``upsert`` did with each proposal id (each id in exactly one list).

    - ``created``: a new row (event: None → proposed);
    - ``merged``: an open row (proposed, approved, experimenting) absorbed it: seen on a new
      day (``occurrences`` + 1), and for a still-proposed row its content refreshed;
    - ``reopened``: an expired row is proposed again (event: expired → proposed);
    - ``unchanged``: state and content stay — a same-day repeat, or a rejected / adopted /
      rolled-back row seen again (its ``occurrences`` and ``last_seen_day`` still move).
    """

    created: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Applied:
    """What ``apply`` (or ``rollback``) did: the state move and the ``applied`` document."""

    proposal_id: str
    kind: str
    from_state: str
    to_state: str
    promoted: bool
    applied: dict  # what improvement_proposals.applied now holds
    at: datetime

    def as_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------ validation


def _text(value: Any, fld: str, fix: str, max_len: int | None = None) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InputError(f"{fld} is {'missing' if value is None else 'empty'}; {fix}. Nothing was changed.")
    if max_len is not None and len(text) > max_len:
        raise InputError(f"{fld} '{text[:40]}…' is longer than {max_len} characters; shorten it. Nothing was changed.")
    return text


def _actor(value: Any, fld: str = "actor") -> str:
    return _text(value, fld, "say who makes this change (a name, or e.g. 'auto:<rule>')", ACTOR_MAX)


def _reason(value: Any, what: str) -> str:
    return _text(value, "reason", f"say why you {what} (--reason on the CLI, reason in the Launchpad config)")


def _reviewer(value: Any) -> str:
    return _text(value, "reviewer", "give the name of the person deciding (--by on the CLI, reviewer in the "
                 "Launchpad config)", ACTOR_MAX)


def _choice(value: Any, fld: str, choices: Sequence[str]) -> str:
    if value not in choices:
        hint = difflib.get_close_matches(str(value), choices, n=1)
        raise InputError(f"{fld} '{value}' is not one of {', '.join(choices)}"
                         + (f"; did you mean '{hint[0]}'?" if hint else "; use one of them."))
    return value


def _decision(value: Any) -> str:
    choices = "approve (proposed → approved) or reject (proposed → rejected)"
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"decision is missing; use {choices}. Nothing was changed.")
    verb = value.strip().lower() if isinstance(value, str) else value
    if verb not in DECISIONS:
        raise InputError(f"decision '{value}' is not one of approve, reject; use {choices}. Nothing was changed.")
    return verb


# ------------------------------------------------------------------------------ reads


def _row(conn: sa.Connection, proposal_id: str, *, lock: bool = False) -> dict | None:
    q = sa.select(improvement_proposals).where(ip.proposal_id == proposal_id)
    if lock and conn.dialect.name == "postgresql":  # a second mover waits, then sees the first one's move
        q = q.with_for_update()
    r = conn.execute(q).first()
    return None if r is None else dict(r._mapping)


def _load(conn: sa.Connection, proposal_id: Any, *, lock: bool = False) -> dict:
    """The row, or the unknown-id error with the closest ids."""
    pid = proposal_id.strip() if isinstance(proposal_id, str) else ""
    if not pid:
        raise InputError("proposal id is empty; give one (`meta-agent proposals list` shows the ids). "
                         "Nothing was changed.")
    row = _row(conn, pid, lock=lock)
    if row is not None:
        return row
    known = list(conn.execute(sa.select(ip.proposal_id)).scalars())
    close = difflib.get_close_matches(pid, known, n=3, cutoff=0.6)
    hint = (f"; did you mean {' or '.join(close)}?" if close
            else "; there are no proposals yet." if not known else ".")
    raise InputError(f"there is no proposal '{pid}'{hint} `meta-agent proposals list` shows the ids. "
                     "Nothing was changed.")


def events(conn: sa.Connection, proposal_id: str) -> list[dict]:
    """The audit trail of one proposal, oldest first."""
    q = sa.select(proposal_events).where(pe.proposal_id == proposal_id).order_by(pe.at, pe.event_id)
    return [dict(r._mapping) for r in conn.execute(q)]


def get(conn: sa.Connection, proposal_id: str) -> dict | None:
    """The proposal's row with its ``events`` (the audit trail), or None."""
    row = _row(conn, proposal_id)
    if row is None:
        return None
    return {**row, "events": events(conn, proposal_id)}


def require(conn: sa.Connection, proposal_id: str) -> dict:
    """``get``, or the unknown-id ``InputError`` with the closest ids."""
    row = _load(conn, proposal_id)
    return {**row, "events": events(conn, row["proposal_id"])}


def list_proposals(conn: sa.Connection, *, state: str | None = None, agent: str | None = None,
                   kind: str | None = None, risk: str | None = None, limit: int | None = 200) -> list[dict]:
    """Proposals, highest priority first, each with its ``events``. ``agent`` matches the
    proposal's agent or one of its agents (fleet-wide proposals)."""
    q = sa.select(improvement_proposals)
    if state is not None:
        q = q.where(ip.state == _choice(state, "state", PROPOSAL_STATES))
    if kind is not None:
        q = q.where(ip.kind == _choice(kind, "kind", PROPOSAL_KINDS))
    if risk is not None:
        q = q.where(ip.risk == _choice(risk, "risk", RISK_LEVELS))
    if agent is not None:
        q = q.where(sa.or_(ip.agent_id == agent, ip.agent_id.is_(None)))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"limit {limit!r} must be a whole number ≥ 1.")
    q = q.order_by(ip.priority.desc(), ip.last_seen_day.desc(), ip.proposal_id)
    rows = []
    for r in conn.execute(q):
        row = dict(r._mapping)
        if agent is not None and row["agent_id"] != agent and agent not in (row["agents"] or []):
            continue
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    trail = _events_of(conn, [r["proposal_id"] for r in rows])
    return [{**r, "events": trail.get(r["proposal_id"], [])} for r in rows]


def _events_of(conn: sa.Connection, ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    if not ids:
        return out
    q = sa.select(proposal_events).order_by(pe.at, pe.event_id)
    if len(ids) <= 500:
        q = q.where(pe.proposal_id.in_(ids))
    wanted = set(ids)
    for r in conn.execute(q):
        if r.proposal_id in wanted:
            out.setdefault(r.proposal_id, []).append(dict(r._mapping))
    return out


def _last_event(conn: sa.Connection, proposal_id: str) -> dict | None:
    q = (sa.select(proposal_events).where(pe.proposal_id == proposal_id)
         .order_by(pe.at.desc(), pe.event_id.desc()).limit(1))
    r = conn.execute(q).first()
    return None if r is None else dict(r._mapping)


def _since(conn: sa.Connection, row: dict) -> str:
    """'by alice at 2026-03-12 10:00 UTC: "too risky"' — who put the row in its state."""
    ev = _last_event(conn, row["proposal_id"])
    if ev is None:
        return "no audit trail"
    why = ev["reason"] if len(ev["reason"]) <= 80 else ev["reason"][:77] + "…"
    return f"by {ev['actor']} at {ev['at']:%Y-%m-%d %H:%M} UTC: \"{why}\""


def _allowed(state: str) -> str:
    nxt = sorted(TRANSITIONS[state])
    if not nxt:
        return f"{state} is final"
    return f"from {state} it can only become " + (nxt[0] if len(nxt) == 1 else f"{', '.join(nxt[:-1])} or {nxt[-1]}")


# ------------------------------------------------------------------------------ moving


def _event(conn: sa.Connection, proposal_id: str, from_state: str | None, to_state: str, actor: str, reason: str,
           details: dict | None, at: datetime) -> None:
    conn.execute(proposal_events.insert().values(proposal_id=proposal_id, from_state=from_state, to_state=to_state,
                                                 actor=actor, reason=reason,
                                                 details=_plain(details) if details else None, at=at))


def _stamp(row: dict, now: datetime) -> datetime:
    """``updated_at`` for the next write: ``now``, but always after the row's own, so the
    optimistic check on it catches any write in between, even with a frozen clock."""
    prev = row["updated_at"]
    return now if prev is None or now > prev else prev + timedelta(microseconds=1)


def _write(conn: sa.Connection, row: dict, to_state: str, *, actor: str, reason: str, details: dict | None,
           now: datetime, values: dict | None = None) -> Decision | None:
    """Move ``row`` (as read) to ``to_state`` with its event, if nobody moved it since it was
    read; None if someone did (nothing written)."""
    stamp = _stamp(row, now)
    res = conn.execute(improvement_proposals.update()
                       .where(ip.proposal_id == row["proposal_id"], ip.state == row["state"],
                              ip.updated_at == row["updated_at"])
                       .values(state=to_state, updated_at=stamp, **(values or {})))
    if res.rowcount != 1:
        return None
    _event(conn, row["proposal_id"], row["state"], to_state, actor, reason, details, now)
    return Decision(row["proposal_id"], row["state"], to_state, actor, reason, now)


def _wrong_state(conn: sa.Connection, row: dict, to_state: str, verb: str | None = None) -> InputError:
    pid, state = row["proposal_id"], row["state"]
    if verb is not None:
        already = "already " if DECISIONS.get(verb) == state else ""
        return InputError(f"cannot {verb} proposal {pid}: it is {already}{state} ({_since(conn, row)}); only a "
                          f"proposed proposal can be approved or rejected, and {_allowed(state)}. "
                          "Nothing was changed.")
    return InputError(f"proposal {pid} is {state} ({_since(conn, row)}); it cannot become {to_state}: "
                      f"{_allowed(state)}. Nothing was changed.")


def _move(conn: sa.Connection, proposal_id: Any, to_state: str, *, actor: str, reason: str, details: dict | None,
          now: datetime, verb: str | None = None, values: dict | None = None) -> Decision:
    row = _load(conn, proposal_id, lock=True)
    if to_state not in TRANSITIONS[row["state"]]:
        raise _wrong_state(conn, row, to_state, verb)
    done = _write(conn, row, to_state, actor=actor, reason=reason, details=details, now=now, values=values)
    if done is None:  # lost a race with a writer that did not lock (SQLite): say what it did
        raise _wrong_state(conn, _load(conn, row["proposal_id"]), to_state, verb)
    return done


def transition(conn: sa.Connection, proposal_id: str, to_state: str, *, actor: str, reason: str,
               details: dict | None = None, now: datetime | None = None) -> Decision:
    """The generic validated move (``TRANSITIONS``), with its audit event, atomically.
    ``decide``, ``apply``, ``expire``, auto-approval and the experiments use it."""
    to_state = _choice(to_state, "to_state", PROPOSAL_STATES)
    actor = _actor(actor)
    reason = _reason(reason, f"move the proposal to {to_state}")
    return _move(conn, proposal_id, to_state, actor=actor, reason=reason, details=details,
                 now=now or datetime.now(UTC))


def try_transition(conn: sa.Connection, proposal_id: str, from_state: str, to_state: str, *, actor: str, reason: str,
                   details: dict | None = None, now: datetime | None = None) -> Decision | None:
    """``transition`` if the proposal is still ``from_state``; None (nothing written) if
    someone moved it first — for automatic movers (rules, expiry) that must yield to people."""
    to_state = _choice(to_state, "to_state", PROPOSAL_STATES)
    _choice(from_state, "from_state", PROPOSAL_STATES)
    actor = _actor(actor)
    reason = _reason(reason, f"move the proposal to {to_state}")
    if to_state not in TRANSITIONS[from_state]:
        raise InputError(f"{from_state} → {to_state} is not a move the workflow allows: {_allowed(from_state)}.")
    row = _row(conn, proposal_id, lock=True)
    if row is None or row["state"] != from_state:
        return None
    return _write(conn, row, to_state, actor=actor, reason=reason, details=details, now=now or datetime.now(UTC))


def decide(conn: sa.Connection, proposal_id: str, decision: str, *, reviewer: str, reason: str,
           now: datetime | None = None) -> Decision:
    """A person approves or rejects a proposed proposal — the one function the CLI and the
    Dagster ``proposal_decision`` job call. ``decision`` is approve or reject (any case)."""
    verb = _decision(decision)
    reviewer = _reviewer(reviewer)
    reason = _reason(reason, f"{verb} it")
    return _move(conn, proposal_id, DECISIONS[verb], actor=reviewer, reason=reason, details={"decision": verb},
                 now=now or datetime.now(UTC), verb=verb)


def expire(conn: sa.Connection, now: datetime) -> list[str]:
    """Proposed rows, and approved rows never applied, past ``expires_at`` → expired (actor
    "expiry"). A row someone decided or applied meanwhile is left alone."""
    q = (sa.select(ip.proposal_id, ip.state, ip.expires_at)
         .where(ip.expires_at.is_not(None), ip.expires_at <= now,
                sa.or_(ip.state == "proposed", sa.and_(ip.state == "approved", ip.applied.is_(None))))
         .order_by(ip.expires_at, ip.proposal_id))
    out = []
    for r in conn.execute(q).all():
        row = _row(conn, r.proposal_id, lock=True)
        if row is None or row["state"] != r.state or (row["state"] == "approved" and row["applied"] is not None):
            continue
        what = "not decided" if r.state == "proposed" else "approved but never applied"
        done = _write(conn, row, "expired", actor=EXPIRY,
                      reason=f"{what} by {r.expires_at:%Y-%m-%d %H:%M} UTC", details={"expires_at": r.expires_at},
                      now=now)
        if done is not None:
            out.append(r.proposal_id)
    return out


# ------------------------------------------------------------------------------ upsert


def _seen_days(row: dict) -> list[str]:
    days = (row.get("evidence") or {}).get("seen_days")
    if days:
        return sorted(set(days))
    return sorted({row["first_seen_day"].isoformat(), row["last_seen_day"].isoformat()})


def _evidence(old: dict | None, new: dict | None, days: list[str]) -> dict:
    old, new = old or {}, dict(new or {})
    ids = list(old.get("finding_ids") or [])
    ids += [f for f in new.get("finding_ids") or [] if f not in ids]
    new["finding_ids"] = ids
    new["seen_days"] = days
    return new


def upsert(conn: sa.Connection, proposals: Sequence[Proposal], *, day: date, now: datetime | None = None,
           expiry: timedelta = DEFAULT_EXPIRY) -> UpsertReport:
    """Store the day's proposals: new ones inserted (with their creation event), duplicates
    merged into their row (see ``UpsertReport``). ``occurrences`` counts distinct days
    (kept in ``evidence.seen_days``), so re-running a day changes nothing."""
    now = now or datetime.now(UTC)
    report = UpsertReport()
    done: set[str] = set()
    dialect = conn.dialect.name
    for p in proposals:
        row = p.to_row(day, now=now, expiry=expiry)
        row["evidence"] = {**(row["evidence"] or {}), "seen_days": [day.isoformat()]}
        pid = row["proposal_id"]
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        created = conn.execute(insert(improvement_proposals).values(**row).on_conflict_do_nothing()
                               .returning(ip.proposal_id)).scalar() is not None
        if created:
            _event(conn, pid, None, "proposed", GENERATOR, f"generated on {day} from {p.source}",
                   {"day": day, "source": p.source, "finding_ids": (p.evidence or {}).get("finding_ids") or []}, now)
            outcome = "created"
        else:
            outcome = _merge(conn, row, day, now, expiry)
        if pid not in done:
            done.add(pid)
            getattr(report, outcome).append(pid)
    return report


def _merge(conn: sa.Connection, new: dict, day: date, now: datetime, expiry: timedelta) -> str:
    cur = _row(conn, new["proposal_id"], lock=True)
    days = _seen_days(cur)
    fresh = day.isoformat() not in days
    days = sorted({*days, day.isoformat()})
    values: dict[str, Any] = {}
    if fresh:
        values.update(occurrences=cur["occurrences"] + 1, first_seen_day=min(cur["first_seen_day"], day),
                      last_seen_day=max(cur["last_seen_day"], day))
    state = cur["state"]
    if state in ("proposed", "expired"):
        values.update({k: new[k] for k in CONTENT if new[k] != cur[k]})
        evidence = _evidence(cur["evidence"], new["evidence"], days)
    else:  # what a person approved (or closed) stays as they saw it; only the days seen grow
        evidence = {**(cur["evidence"] or {}), "seen_days": days}
    if evidence != cur["evidence"]:
        values["evidence"] = evidence
    if state == "expired":
        values["expires_at"] = now + expiry
        done = _write(conn, cur, "proposed", actor=GENERATOR, reason=f"generated again on {day}: reopened",
                      details={"day": day, "occurrences": values.get("occurrences", cur["occurrences"])},
                      now=now, values=values)
        if done is None:
            raise RuntimeError(f"proposal {cur['proposal_id']} changed while it was locked")  # a bug, not input
        return "reopened"
    if not values:
        return "unchanged"
    conn.execute(improvement_proposals.update().where(ip.proposal_id == cur["proposal_id"])
                 .values(updated_at=_stamp(cur, now), **values))
    return "merged" if state in OPEN_STATES else "unchanged"


# ------------------------------------------------------------------------------ apply


def _prompt_target(row: dict) -> tuple[str, str]:
    agent = row["agent_id"] or (row["agents"][0] if len(row["agents"] or []) == 1 else None)
    if agent is None:
        raise InputError(f"proposal {row['proposal_id']} changes a prompt but names no single agent "
                         f"({', '.join(row['agents'] or []) or 'none'}); it cannot be applied — reject it.")
    return agent, (row["change"] or {}).get("prompt") or DEFAULT_PROMPT


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def _check_production(conn: sa.Connection, row: dict, agent: str, prompt: str) -> None:
    """The proposal was made against what ``production`` pointed at: if it moved since, the
    change is stale (it would undo what moved it)."""
    change = row["change"] or {}
    base = change.get("base_version") if row["kind"] == "prompt_change" else change.get("from_version")
    if row["kind"] == "prompt_change" and base is not None and prompts.get_version(conn, agent, prompt, base) is None:
        raise InputError(f"proposal {row['proposal_id']} changes {agent}/{prompt} {base}, which the prompt registry "
                         f"does not have; register it (`meta-agent prompts add {agent} {prompt} --file PATH`) or "
                         "reject the proposal. Nothing was changed.")
    current = prompts.resolve(conn, agent, prompt, prompts.PRODUCTION)
    if base is not None and current is not None and current.version != base:
        raise InputError(f"proposal {row['proposal_id']} was made against {agent}/{prompt} {base}, but production "
                         f"now points at {current.version}; the change is stale — reject it and let the next "
                         "proposals run propose against the current version. Nothing was changed.")


def _apply_prompt(conn: sa.Connection, row: dict, prev: dict | None, *, actor: str, reason: str, promote: bool,
                  now: datetime) -> dict:
    agent, prompt = _prompt_target(row)
    pid, change = row["proposal_id"], row["change"] or {}
    doc = dict(prev or {})
    if not doc.get("prompt_version"):
        _check_production(conn, row, agent, prompt)
        if row["kind"] == "prompt_change":
            if not isinstance(change.get("text"), str) or not change["text"].strip():
                raise InputError(f"proposal {pid} is a prompt change without the new text (change.text); it "
                                 "cannot be applied — reject it. Nothing was changed.")
            version = prompts.create_version(
                conn, agent, prompt, change["text"], author=actor, message=f"{row['title']} ({pid}): {reason}",
                parent_version=change.get("base_version"), source="proposal", proposal_id=pid, now=now).version
            action = "prompt_version"
        else:
            target = change.get("to_version")
            if not target or prompts.get_version(conn, agent, prompt, target) is None:
                raise InputError(f"proposal {pid} rolls {agent}/{prompt} back to {target or '(no version)'}, which "
                                 "the prompt registry does not have; register it (`meta-agent prompts add`) or "
                                 "reject the proposal. Nothing was changed.")
            version = prompts.normalize_version(target)
            action = "label_move"
        mv = prompts.move_label(conn, agent, prompt, CANDIDATE, version, actor=actor, reason=reason,
                                proposal_id=pid, now=now)
        doc.update(action=action, agent_id=agent, prompt=prompt, prompt_version=version, label=CANDIDATE,
                   previous=mv.from_version, candidate={"from": mv.from_version, "to": mv.to_version},
                   by=actor, at=_iso(now), reason=reason,
                   handoff="candidate ready: the experiments machinery compares it with production; "
                           "`meta-agent proposals apply ID --apply` promotes it by hand")
    if promote:
        mv = prompts.move_label(conn, agent, prompt, prompts.PRODUCTION, doc["prompt_version"], actor=actor,
                                reason=reason, proposal_id=pid, now=now)
        doc.update(production={"from": mv.from_version, "to": mv.to_version}, promoted_by=actor,
                   promoted_at=_iso(now), promote_reason=reason,
                   rollback=f"`meta-agent proposals rollback {pid}` moves production back to "
                            f"{mv.from_version or 'its previous version'}")
    return doc


def _apply_request(row: dict, prev: dict | None, *, actor: str, reason: str, promote: bool, now: datetime) -> dict:
    doc = dict(prev or {})
    if not doc:
        change = row["change"] or {}
        owner = {"tool_change": "the tool's owner", "config_change": "the agent's owner",
                 "sla_change": "the SLA's owner (config/slas.yaml or `meta-agent sla set`)"}[row["kind"]]
        doc.update(action="change_request", kind=row["kind"], agent_id=row["agent_id"], agents=row["agents"],
                   change=change, owner=owner, by=actor, at=_iso(now), reason=reason,
                   handoff=f"{owner} makes this exact change; `meta-agent proposals apply "
                           f"{row['proposal_id']} --apply` records that it is done")
    if promote:
        doc.update(done_by=actor, promoted_by=actor, promoted_at=_iso(now), promote_reason=reason)
    return doc


def apply(conn: sa.Connection, proposal_id: str, *, actor: str, reason: str, promote: bool = False,
          now: datetime | None = None) -> Applied:
    """Apply an approved proposal the safe way (see the module's docstring); with ``promote``
    (the CLI's ``--apply``) also to production, and the state becomes adopted. Without it the
    state stays approved, ``applied`` records the candidate — the hand-off to the experiments
    machinery — and the event approved → approved keeps who applied it and why."""
    actor = _actor(actor)
    reason = _reason(reason, "apply it")
    now = now or datetime.now(UTC)
    row = _load(conn, proposal_id, lock=True)
    pid, state = row["proposal_id"], row["state"]
    if not (state == "approved" or (state == "experimenting" and promote)):
        extra = " (or an experimenting one, promoted with --apply)" if not promote else \
            " (or an experimenting one, promoted)"
        raise InputError(f"cannot apply proposal {pid}: it is {state} ({_since(conn, row)}); only an approved "
                         f"proposal can be applied{extra}. Nothing was changed.")
    prev = row["applied"]
    if prev and not promote:
        raise InputError(f"proposal {pid} is already applied ({_applied_text(prev)}); promote it with "
                         f"`meta-agent proposals apply {pid} --apply`, or leave the candidate to the experiment. "
                         "Nothing was changed.")
    if row["kind"] in PROMPT_KINDS:
        doc = _apply_prompt(conn, row, prev, actor=actor, reason=reason, promote=promote, now=now)
    else:
        doc = _apply_request(row, prev, actor=actor, reason=reason, promote=promote, now=now)
    to_state = "adopted" if promote else state
    done = _write(conn, row, to_state, actor=actor, reason=reason,
                  details={"applied": doc, "promote": promote}, now=now, values={"applied": _plain(doc)})
    if done is None:
        raise _wrong_state(conn, _load(conn, pid), to_state)
    return Applied(pid, row["kind"], state, to_state, promote, _plain(doc), now)


def _applied_text(doc: dict) -> str:
    if doc.get("action") == "change_request":
        return f"a change request for {doc.get('owner')}, by {doc.get('by')} at {doc.get('at')}"
    return (f"{doc.get('agent_id')}/{doc.get('prompt')} {doc.get('prompt_version')} is the {doc.get('label')}, "
            f"by {doc.get('by')} at {doc.get('at')}")


def rollback(conn: sa.Connection, proposal_id: str, *, actor: str, reason: str, now: datetime | None = None) -> Applied:
    """Undo an adopted proposal: a prompt change's ``production`` label goes back where it
    pointed before (one ``rollback_label``); a tool/config/SLA change gets a revert request
    for its owner. State → rolled_back."""
    actor = _actor(actor)
    reason = _reason(reason, "roll it back")
    now = now or datetime.now(UTC)
    row = _load(conn, proposal_id, lock=True)
    pid, state = row["proposal_id"], row["state"]
    if state != "adopted":
        raise InputError(f"cannot roll back proposal {pid}: it is {state} ({_since(conn, row)}); only an adopted "
                         "proposal can be rolled back (an experimenting one is ended by its experiment). "
                         "Nothing was changed.")
    doc = dict(row["applied"] or {})
    if row["kind"] in PROMPT_KINDS:
        agent, prompt = _prompt_target(row)
        ours = doc.get("prompt_version")
        current = prompts.resolve(conn, agent, prompt, prompts.PRODUCTION)
        if ours is None or current is None or current.version != ours:
            raise InputError(f"production of {agent}/{prompt} points at {current.version if current else 'nothing'}, "
                             f"not {ours or 'a version of this proposal'}: it moved since proposal {pid} was "
                             "adopted, so rolling back would undo someone else's change — move it by hand with "
                             "`meta-agent prompts`. Nothing was changed.")
        mv = prompts.rollback_label(conn, agent, prompt, prompts.PRODUCTION, actor=actor, reason=reason, now=now)
        doc["rolled_back"] = {"label": prompts.PRODUCTION, "from": mv.from_version, "to": mv.to_version,
                              "by": actor, "at": _iso(now), "reason": reason}
    else:
        doc["rolled_back"] = {"action": "revert_request", "change": row["change"], "by": actor, "at": _iso(now),
                              "reason": reason, "handoff": f"{doc.get('owner', 'the owner')} reverts this change"}
    done = _write(conn, row, "rolled_back", actor=actor, reason=reason, details={"rolled_back": doc["rolled_back"]},
                  now=now, values={"applied": _plain(doc)})
    if done is None:
        raise _wrong_state(conn, _load(conn, pid), "rolled_back")
    return Applied(pid, row["kind"], state, "rolled_back", False, _plain(doc), now)
