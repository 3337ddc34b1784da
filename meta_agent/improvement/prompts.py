"""The prompt registry: every version of every agent's prompt templates, and movable labels.

A prompt is (agent, name); ``DEFAULT_PROMPT`` ("system") is the one executions mean when they
carry only ``prompt_version``. Its versions are ``v1``, ``v2``, … in the order they were
written, immutable, each with its text, the ``{placeholders}`` it expects (``str.format``
syntax, ``{{`` and ``}}`` for literal braces), who wrote it and why, and the version it was
derived from. Registering a text identical to an existing version of the same prompt returns
that version: a re-run of an import or a proposal applied twice writes nothing.

Labels (``production``, ``candidate``, …) point at a version; agents read through a label
(``meta_agent.sdk.prompts``), so moving it is a deploy and moving it back is a rollback. Each
move keeps where the label pointed before (``previous_version``, the rollback target) and is
logged in ``prompt_label_events`` with who and why.

An execution links to the text it ran with by (agent_id, prompt_version): ``version_usage``
counts each version's executions and failures, ``prompt_for_version`` names the prompt.

Every write takes the caller's connection inside the caller's transaction
(``with engine.begin() as conn``), so applying a proposal can create a version and move a
label atomically. Bad input raises ``InputError`` naming the field and the fix, before
anything is written.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.improvement.model import DEFAULT_PROMPT
from meta_agent.store.schema import executions
from meta_agent.store.schema_improvement import prompt_label_events, prompt_labels, prompt_versions

PRODUCTION = "production"
SOURCES = ("manual", "proposal", "import")
NAME_MAX = 128  # agent ids, prompt names, authors (the columns' width)
LABEL_MAX = 32  # prompt_labels.label is String(32)
_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
_VERSION = re.compile(r"v([1-9][0-9]*)")

pv = prompt_versions.c
pl = prompt_labels.c
pe = prompt_label_events.c


@dataclass(frozen=True)
class PromptVersion:
    agent_id: str
    name: str
    version: str  # v1, v2, …
    seq: int
    text: str
    variables: list[str]  # the {placeholders}, in order of first use
    author: str
    message: str
    parent_version: str | None
    source: str  # manual | proposal | import
    proposal_id: str | None
    content_hash: str  # sha256 of the text
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "name": self.name, "version": self.version, "seq": self.seq,
                "text": self.text, "variables": list(self.variables), "author": self.author,
                "message": self.message, "parent_version": self.parent_version, "source": self.source,
                "proposal_id": self.proposal_id, "content_hash": self.content_hash,
                "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class LabelMove:
    agent_id: str
    name: str
    label: str
    from_version: str | None  # None: the label is new
    to_version: str  # == from_version: it already pointed there (nothing written)
    actor: str
    reason: str
    at: datetime

    @property
    def changed(self) -> bool:
        return self.from_version != self.to_version

    def to_dict(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "name": self.name, "label": self.label,
                "from_version": self.from_version, "to_version": self.to_version, "actor": self.actor,
                "reason": self.reason, "at": self.at.isoformat(), "changed": self.changed}


# ------------------------------------------------------------------------------ validation


def check_name(value: Any, field: str, max_len: int = NAME_MAX) -> str:
    """``value`` if it is a usable agent id / prompt name / label, else InputError naming ``field``."""
    example = {"label": "production", "prompt name": DEFAULT_PROMPT}.get(field, "support-triage")
    if not isinstance(value, str) or not value:
        raise InputError(f"{field} is empty; give one (letters, digits and _ . : -, e.g. '{example}').")
    if len(value) > max_len:
        raise InputError(f"{field} '{value[:40]}…' is {len(value)} characters; at most {max_len} are allowed.")
    if not _NAME.fullmatch(value):
        raise InputError(f"{field} '{value}' has characters other than letters, digits and _ . : -; "
                         f"use e.g. '{example}'.")
    return value


def _check_person(value: Any, field: str) -> str:
    who = value.strip() if isinstance(value, str) else ""
    if not who:
        raise InputError(f"{field} is empty; say who does it (a person's name, or e.g. 'auto:rules').")
    if len(who) > NAME_MAX:
        raise InputError(f"{field} '{who[:40]}…' is {len(who)} characters; at most {NAME_MAX} are allowed.")
    return who


def normalize_version(version: Any, field: str = "version") -> str:
    """``v3`` (``3`` and ``V3`` are accepted as ``v3``); anything else is an InputError."""
    text = str(version).strip() if version is not None else ""
    if text.isdigit():
        text = f"v{text}"
    text = text.lower()
    if not _VERSION.fullmatch(text):
        raise InputError(f"{field} '{version}' is not a prompt version; versions are v1, v2, … (e.g. 'v3').")
    return text


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {col}"


def _fields(text: str):
    """(the text inside each ``{…}`` replacement field, its offset); InputError on a brace
    that is never closed or never opened, naming where."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "{":
            if text.startswith("{{", i):
                i += 2
                continue
            depth, j = 1, i + 1
            while j < n and depth:  # a format spec may nest one field: {value:{width}}
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth:
                raise InputError(f"prompt text has an unclosed '{{' at {_position(text, i)}; close it with '}}' "
                                 "or write a literal brace as '{{'.")
            yield text[i + 1:j - 1], i
            i = j
        elif c == "}":
            if text.startswith("}}", i):
                i += 2
                continue
            raise InputError(f"prompt text has a '}}' with no opening '{{' at {_position(text, i)}; "
                             "write a literal brace as '}}'.")
        else:
            i += 1


def parse_variables(text: str) -> list[str]:
    """The ``{placeholders}`` of a ``str.format`` template, in order of first use (``{a.b}``
    and ``{a[0]}`` need ``a``). InputError for unbalanced braces or a field that is not a
    name (a positional ``{}``, literal JSON left unescaped), naming its position."""
    out: list[str] = []
    formatter = string.Formatter()
    for inner, offset in _fields(text):
        try:
            parsed = [p for p in formatter.parse("{" + inner + "}") if p[1] is not None]
        except ValueError as exc:
            raise InputError(f"prompt text has a malformed placeholder '{{{inner[:40]}}}' at "
                             f"{_position(text, offset)} ({exc}); write literal braces as '{{{{' and '}}}}'.") from None
        for _, field_name, spec, conversion in parsed:
            if conversion not in (None, "r", "s", "a"):
                raise InputError(f"prompt text: '{{{inner[:40]}}}' at {_position(text, offset)} has the conversion "
                                 f"'!{conversion}'; only !r, !s and !a exist (or write literal braces as '{{{{' and "
                                 "'}}').")
            root = re.match(r"[^.\[]*", field_name)[0]
            if not root.isidentifier():
                what = "a positional placeholder" if root == "" or root.isdigit() else "not a variable name"
                raise InputError(f"prompt text: '{{{inner[:40]}}}' at {_position(text, offset)} is {what}; "
                                 "name the variable (e.g. '{customer}'), or write literal braces as '{{' and '}}' "
                                 "(JSON examples need them).")
            if root not in out:
                out.append(root)
            for nested in parse_variables(spec) if spec else ():
                if nested not in out:
                    out.append(nested)
    return out


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------ reads


def _row(r: Any) -> PromptVersion:
    return PromptVersion(r.agent_id, r.name, r.version, r.seq, r.text, list(r.variables or []), r.author,
                         r.message or "", r.parent_version, r.source, r.proposal_id, r.content_hash, r.created_at)


def get_version(conn: sa.Connection, agent_id: str, name: str, version: str) -> PromptVersion | None:
    """That version of the prompt, or None."""
    try:
        version = normalize_version(version)
    except InputError:
        return None
    r = conn.execute(sa.select(prompt_versions).where(pv.agent_id == agent_id, pv.name == name,
                                                      pv.version == version)).first()
    return None if r is None else _row(r)


def versions(conn: sa.Connection, agent_id: str, name: str) -> list[PromptVersion]:
    """Every version of the prompt, oldest first."""
    rows = conn.execute(sa.select(prompt_versions).where(pv.agent_id == agent_id, pv.name == name)
                        .order_by(pv.seq)).all()
    return [_row(r) for r in rows]


def resolve(conn: sa.Connection, agent_id: str, name: str, label: str = PRODUCTION) -> PromptVersion | None:
    """The version ``label`` points at, or None if the label is not set."""
    r = conn.execute(sa.select(prompt_versions).join(
        prompt_labels, sa.and_(pl.agent_id == pv.agent_id, pl.name == pv.name, pl.version == pv.version))
        .where(pl.agent_id == agent_id, pl.name == name, pl.label == label)).first()
    return None if r is None else _row(r)


def labels(conn: sa.Connection, agent_id: str, name: str) -> dict[str, str]:
    """label → version, by label."""
    rows = conn.execute(sa.select(pl.label, pl.version).where(pl.agent_id == agent_id, pl.name == name)
                        .order_by(pl.label)).all()
    return {r.label: r.version for r in rows}


def label_history(conn: sa.Connection, agent_id: str, name: str, limit: int = 50) -> list[dict]:
    """The prompt's label moves, newest first."""
    rows = conn.execute(sa.select(pe.event_id, pe.label, pe.from_version, pe.to_version, pe.actor, pe.reason,
                                  pe.proposal_id, pe.at)
                        .where(pe.agent_id == agent_id, pe.name == name)
                        .order_by(pe.at.desc(), pe.event_id.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def list_prompts(conn: sa.Connection, agent_id: str | None = None) -> list[dict]:
    """One row per prompt: agent_id, name, versions (how many), latest_version, labels."""
    q = (sa.select(pv.agent_id, pv.name, sa.func.count().label("n"), sa.func.max(pv.seq).label("max_seq"))
         .group_by(pv.agent_id, pv.name).order_by(pv.agent_id, pv.name))
    lq = sa.select(pl.agent_id, pl.name, pl.label, pl.version).order_by(pl.label)
    if agent_id is not None:
        q = q.where(pv.agent_id == agent_id)
        lq = lq.where(pl.agent_id == agent_id)
    by_prompt: dict[tuple[str, str], dict[str, str]] = {}
    for r in conn.execute(lq):
        by_prompt.setdefault((r.agent_id, r.name), {})[r.label] = r.version
    out = []
    for r in conn.execute(q):
        out.append({"agent_id": r.agent_id, "name": r.name, "versions": r.n, "latest_version": f"v{r.max_seq}",
                    "labels": by_prompt.get((r.agent_id, r.name), {})})
    return out


def version_usage(conn: sa.Connection, agent_id: str, *, since: datetime | None = None) -> dict[str, dict]:
    """Per ``prompt_version`` in the agent's executions (at or after ``since``): executions,
    failures (status other than success), success_rate, first_seen, last_seen."""
    e = executions.c
    failed = sa.func.sum(sa.case((e.status != "success", 1), else_=0))
    q = (sa.select(e.prompt_version, sa.func.count().label("n"), failed.label("failures"),
                   sa.func.min(e.started_at).label("first_seen"), sa.func.max(e.started_at).label("last_seen"))
         .where(e.agent_id == agent_id, e.prompt_version.is_not(None)).group_by(e.prompt_version))
    if since is not None:
        q = q.where(e.started_at >= since)
    out = {}
    for r in conn.execute(q):
        n, failures = int(r.n), int(r.failures or 0)
        out[r.prompt_version] = {"executions": n, "failures": failures,
                                 "success_rate": (n - failures) / n if n else None,
                                 "first_seen": r.first_seen, "last_seen": r.last_seen}
    return dict(sorted(out.items(), key=lambda kv: _version_key(kv[0])))


def _version_key(version: str) -> tuple[int, str]:
    m = _VERSION.fullmatch(version or "")
    return (int(m[1]), "") if m else (1 << 62, version or "")


def prompt_for_version(conn: sa.Connection, agent_id: str, version: str) -> str | None:
    """Which of the agent's prompts has ``version`` (``DEFAULT_PROMPT`` when several do)."""
    names = sorted(conn.execute(sa.select(pv.name).where(pv.agent_id == agent_id, pv.version == version))
                   .scalars())
    if not names:
        return None
    return DEFAULT_PROMPT if DEFAULT_PROMPT in names else names[0]


def diff_texts(a_text: str, b_text: str, a_name: str, b_name: str) -> str:
    """The unified diff from ``a_text`` to ``b_text`` ("" when they are the same)."""
    lines = difflib.unified_diff(a_text.splitlines(), b_text.splitlines(), fromfile=a_name, tofile=b_name,
                                 lineterm="")
    out = "\n".join(lines)
    return out + "\n" if out else ""


def diff(conn: sa.Connection, agent_id: str, name: str, a: str, b: str) -> str:
    """The unified diff between two versions of the prompt (headers ``name@a``, ``name@b``)."""
    va = _existing(conn, agent_id, name, a, "version A")
    vb = _existing(conn, agent_id, name, b, "version B")
    return diff_texts(va.text, vb.text, f"{name}@{va.version}", f"{name}@{vb.version}")


def _existing(conn: sa.Connection, agent_id: str, name: str, version: Any, field: str = "version") -> PromptVersion:
    v = get_version(conn, agent_id, name, normalize_version(version, field))
    if v is None:
        raise InputError(f"{field} '{version}': {_no_such_version(conn, agent_id, name)}")
    return v


def _no_such_version(conn: sa.Connection, agent_id: str, name: str) -> str:
    known = [v.version for v in versions(conn, agent_id, name)]
    if known:
        return f"prompt '{name}' of {agent_id} has no such version; its versions are {', '.join(known)}."
    others = sorted(conn.execute(sa.select(pv.name).where(pv.agent_id == agent_id).distinct()).scalars())
    hint = (f"; {agent_id} has prompts {', '.join(others)}" if others
            else f"; register one with `meta-agent prompts add {agent_id} {name} --file PATH`")
    return f"prompt '{name}' of {agent_id} has no versions{hint}."


# ------------------------------------------------------------------------------ writes


def create_version(conn: sa.Connection, agent_id: str, name: str, text: str, *, author: str, message: str = "",
                   parent_version: str | None = None, source: str = "manual", proposal_id: str | None = None,
                   now: datetime | None = None) -> PromptVersion:
    """Register ``text`` as the prompt's next version (``v{n+1}``) — or return the existing
    version with the same text. ``parent_version`` defaults to what ``production`` points at."""
    check_name(agent_id, "agent_id")
    check_name(name, "prompt name")
    author = _check_person(author, "author")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"prompt text for '{name}' of {agent_id} is empty; give the template's text.")
    if source not in SOURCES:
        raise InputError(f"source '{source}' is not one of {', '.join(SOURCES)}.")
    if not isinstance(message, str):
        raise InputError("message must be text (why this version exists).")
    variables = parse_variables(text)
    digest = content_hash(text)
    same = conn.execute(sa.select(prompt_versions).where(pv.agent_id == agent_id, pv.name == name,
                                                         pv.content_hash == digest).order_by(pv.seq)).all()
    for r in same:
        if r.text == text:
            return _row(r)
    if parent_version is not None:
        parent_version = _existing(conn, agent_id, name, parent_version, "parent_version").version
    else:
        current = conn.execute(sa.select(pl.version).where(pl.agent_id == agent_id, pl.name == name,
                                                           pl.label == PRODUCTION)).scalar()
        parent_version = current
    seq = (conn.execute(sa.select(sa.func.max(pv.seq)).where(pv.agent_id == agent_id, pv.name == name))
           .scalar() or 0) + 1
    row = {"agent_id": agent_id, "name": name, "version": f"v{seq}", "seq": seq, "text": text,
           "variables": variables, "author": author, "message": message, "parent_version": parent_version,
           "source": source, "proposal_id": proposal_id, "content_hash": digest,
           "created_at": now or datetime.now(UTC)}
    conn.execute(prompt_versions.insert().values(**row))
    return PromptVersion(**{**row, "created_at": _utc(row["created_at"])})


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def move_label(conn: sa.Connection, agent_id: str, name: str, label: str, version: str, *, actor: str,
               reason: str, proposal_id: str | None = None, now: datetime | None = None) -> LabelMove:
    """Point ``label`` at ``version`` (creating the label), remembering where it pointed as the
    rollback target and logging the move. Already there: a no-op move, nothing written."""
    check_name(agent_id, "agent_id")
    check_name(name, "prompt name")
    check_name(label, "label", LABEL_MAX)
    actor = _check_person(actor, "actor")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise InputError(f"a reason is required to move label '{label}' of {agent_id}/{name}; "
                         "say why (e.g. 'v4 drops the output format').")
    target = _existing(conn, agent_id, name, version).version
    at = _utc(now) if now is not None else datetime.now(UTC)
    q = sa.select(pl.version).where(pl.agent_id == agent_id, pl.name == name, pl.label == label)
    if conn.dialect.name == "postgresql":  # two movers at once: the second waits, then sees the first's move
        q = q.with_for_update()
    current = conn.execute(q).scalar()
    if current == target:
        return LabelMove(agent_id, name, label, current, target, actor, reason, at)
    values = {"version": target, "previous_version": current, "updated_at": at, "updated_by": actor}
    if current is None:
        conn.execute(prompt_labels.insert().values(agent_id=agent_id, name=name, label=label, **values))
    else:
        conn.execute(prompt_labels.update().where(pl.agent_id == agent_id, pl.name == name, pl.label == label)
                     .values(**values))
    conn.execute(prompt_label_events.insert().values(agent_id=agent_id, name=name, label=label, from_version=current,
                                                     to_version=target, actor=actor, reason=reason,
                                                     proposal_id=proposal_id, at=at))
    return LabelMove(agent_id, name, label, current, target, actor, reason, at)


def rollback_label(conn: sa.Connection, agent_id: str, name: str, label: str = PRODUCTION, *, actor: str,
                   reason: str, now: datetime | None = None) -> LabelMove:
    """Move ``label`` back to where it pointed before its last move (a second rollback
    therefore returns to the version rolled back from)."""
    check_name(agent_id, "agent_id")
    check_name(name, "prompt name")
    check_name(label, "label", LABEL_MAX)
    r = conn.execute(sa.select(pl.version, pl.previous_version)
                     .where(pl.agent_id == agent_id, pl.name == name, pl.label == label)).first()
    if r is None:
        set_ = labels(conn, agent_id, name)
        hint = (f"; its labels are {', '.join(f'{k} → {v}' for k, v in set_.items())}" if set_
                else f"; set it first with `meta-agent prompts label {agent_id} {name} {label} VERSION`")
        raise InputError(f"label '{label}' of {agent_id}/{name} is not set, so there is nothing to roll back{hint}.")
    if r.previous_version is None:
        raise InputError(f"label '{label}' of {agent_id}/{name} has only ever pointed at {r.version}: there is no "
                         f"previous version to roll back to; move it with `meta-agent prompts label`.")
    return move_label(conn, agent_id, name, label, r.previous_version, actor=actor, reason=reason, now=now)
