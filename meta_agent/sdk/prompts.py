"""Which prompt should this agent run with? A cached, never-raising read of the prompt registry.

    with logger.agent("support-triage") as agent:
        prompt = agent.prompt()                          # "system" through the "production" label
        messages = [{"role": "system", "content": prompt.format(company="Acme")}]
        with agent.execution(prompt_version=prompt.version) as ex:   # links the run to the text
            ...

People and approved proposals move labels (``meta-agent prompts label|rollback``,
``meta_agent.improvement.prompts``); this module only reads. One indexed query (the label
joined to its version, both primary-key lookups) per (agent, name, label) at most every
``ttl`` seconds (default 30); in between a call is a dictionary lookup and a clock read.

It never raises into the agent. When the database cannot be read the answer is, in order:
the last version this process read (``source="last_known"``); the last version any process
using the same spill directory read (``source="disk"``: a small JSON file under the logger's
spill dir, replaced atomically whenever a read finds a version different from the one it
holds — it survives a process restart, so an agent restarted while the database is down
still gets its prompt; it is a last-known cache, not a replication of the registry); the
caller's ``default`` (``source="default"``); else an empty prompt (text "", version None)
and a warning (at most once a minute). A database that answers "no such label" gives the
default too: the registry is readable and says there is nothing to run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from meta_agent import config
from meta_agent.errors import InputError
from meta_agent.improvement.model import DEFAULT_PROMPT
from meta_agent.improvement.prompts import PRODUCTION, parse_variables
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_improvement import prompt_labels, prompt_versions

log = logging.getLogger("meta_agent.sdk")

DEFAULT_TTL = 30.0
SOURCES = ("db", "cache", "last_known", "disk", "default")
_WARN_EVERY = 60.0
_ABSENT = object()  # the registry was read and has no such label


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt as the agent sees it; ``str(prompt)`` is its text."""

    text: str
    version: str | None  # v3; None when it came from no registry (a default, or nothing)
    name: str
    label: str
    source: str  # db | cache | last_known | disk | default
    variables: tuple[str, ...] = field(default=())
    agent_id: str | None = None

    def format(self, **values: Any) -> str:
        """The text with its ``{placeholders}`` filled; a missing one is the agent's own bug,
        so it raises ValueError naming every variable that is missing."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ValueError(f"prompt '{self.name}' ({self.version or self.source}) needs "
                             f"{', '.join(missing)}; pass {', '.join(f'{v}=…' for v in missing)} to format().")
        try:
            return self.text.format(**values)
        except (KeyError, IndexError, ValueError) as exc:  # a default text the registry never checked
            raise ValueError(f"prompt '{self.name}' ({self.version or self.source}) cannot be formatted: "
                             f"{type(exc).__name__}: {exc}") from None

    def __str__(self) -> str:
        return self.text


def _variables(text: str) -> tuple[str, ...]:
    try:
        return tuple(parse_variables(text))
    except InputError:  # a caller's default with stray braces: format() will say so
        return ()


class PromptReader:
    """Labelled prompt versions of one ops database, cached for ``ttl`` seconds per
    (agent, name, label), with a last-known copy in memory and on disk."""

    def __init__(self, db_url: str, ttl: float = DEFAULT_TTL, *, cache_dir: str | Path | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.db_url = db_url
        self.ttl = ttl
        self._clock = clock
        self.cache_path = Path(cache_dir or config.spill_dir()) / \
            f"prompts-last-known-{hashlib.sha256(db_url.encode()).hexdigest()[:12]}.json"
        # key → (good until, the prompt a hit returns, or _ABSENT); replaced whole, never mutated,
        # so the hit path needs no lock
        self._cache: dict[tuple[str, str, str], tuple[float, Any]] = {}
        self._last: dict[tuple[str, str, str], Prompt] = {}  # what the database last said (source "db")
        self._disk: dict[str, dict] | None = None  # the file's entries, loaded on first need
        self._lock = threading.Lock()
        self._warned: dict[str, float] = {}
        self._defaults: dict[tuple[tuple[str, str, str], str], Prompt] = {}  # the caller's default, as a Prompt
        self.db_reads = 0  # queries sent (tests and benchmarks count them)

    def get(self, agent_id: str, name: str = DEFAULT_PROMPT, label: str = PRODUCTION,
            default: str | None = None) -> Prompt:
        """The prompt ``label`` points at (see the module doc for what happens when it cannot
        be read). ``default`` is the text to run with when the registry has nothing."""
        key = (agent_id, name, label)
        hit = self._cache.get(key)
        if hit is not None and self._clock() < hit[0]:  # the warm path: inline, no extra call
            found = hit[1]
            return found if found is not _ABSENT else self._default(key, default)
        # a miss: one thread reads; the others keep using the stale answer meanwhile
        if not self._lock.acquire(blocking=hit is None):
            return self._answer(hit[1], key, default)
        try:
            hit = self._cache.get(key)
            if hit is not None and self._clock() < hit[0]:
                return self._answer(hit[1], key, default)
            return self._refresh(key, default)
        finally:
            self._lock.release()

    def _answer(self, found: Any, key: tuple[str, str, str], default: str | None) -> Prompt:
        """A cached answer: the prompt, or — the registry has none — the caller's default."""
        return found if found is not _ABSENT else self._default(key, default)

    def _refresh(self, key: tuple[str, str, str], default: str | None) -> Prompt:
        try:
            self.db_reads += 1
            row = self._read(*key)
        except Exception as exc:  # never raise into the agent
            fallback = self._fallback(key)
            self._warn("read", f"meta-agent: cannot read prompt {key[1]}@{key[2]} of {key[0]} (%s: %s); %s",
                       type(exc).__name__, str(exc)[:200],
                       f"using {fallback.version} ({fallback.source})" if fallback else "no last known version")
            self._cache[key] = (self._clock() + self.ttl, fallback if fallback is not None else _ABSENT)
            return fallback if fallback is not None else self._default(key, default)
        if row is None:
            self._last.pop(key, None)
            self._cache[key] = (self._clock() + self.ttl, _ABSENT)
            return self._default(key, default)
        fresh = Prompt(row.text, row.version, key[1], key[2], "db", tuple(row.variables or ()), key[0])
        self._last[key] = fresh
        self._cache[key] = (self._clock() + self.ttl, replace(fresh, source="cache"))
        self._remember(key, fresh)
        return fresh

    def _read(self, agent_id: str, name: str, label: str) -> Any:
        pl, pv = prompt_labels.c, prompt_versions.c
        q = (sa.select(pv.version, pv.text, pv.variables)
             .join_from(prompt_labels, prompt_versions,
                        sa.and_(pv.agent_id == pl.agent_id, pv.name == pl.name, pv.version == pl.version))
             .where(pl.agent_id == agent_id, pl.name == name, pl.label == label))
        with engine_for(self.db_url).connect() as conn:
            return conn.execute(q).first()

    def _fallback(self, key: tuple[str, str, str]) -> Prompt | None:
        last = self._last.get(key)
        if last is not None:
            return replace(last, source="last_known")
        entry = self._disk_entries().get(_disk_key(key))
        if entry is None:
            return None
        try:
            return Prompt(str(entry["text"]), str(entry["version"]), key[1], key[2], "disk",
                          tuple(entry.get("variables") or ()), key[0])
        except (KeyError, TypeError):  # a damaged entry is no entry
            return None

    def _default(self, key: tuple[str, str, str], default: str | None) -> Prompt:
        if default is None:
            self._warn(f"empty:{key}", "meta-agent: no prompt %s@%s for %s and no default given; using an empty "
                       "prompt (register one with `meta-agent prompts add`, or pass default=…)", key[1], key[2], key[0])
            return Prompt("", None, key[1], key[2], "default", (), key[0])
        p = self._defaults.get((key, default))
        if p is None:
            if len(self._defaults) > 1024:  # defaults built on the fly: keep the memo bounded
                self._defaults.clear()
            p = self._defaults[(key, default)] = Prompt(default, None, key[1], key[2], "default",
                                                        _variables(default), key[0])
        return p

    # ---- the on-disk last-known copy --------------------------------------------------
    def _disk_entries(self) -> dict[str, dict]:
        if self._disk is None:
            self._disk = self._load()
        return self._disk

    def _load(self) -> dict[str, dict]:
        try:
            doc = json.loads(self.cache_path.read_text(encoding="utf-8"))
            entries = doc.get("prompts") if isinstance(doc, dict) else None
            return dict(entries) if isinstance(entries, dict) else {}
        except FileNotFoundError:
            return {}
        except Exception as exc:  # unreadable or damaged: start over, the next read rewrites it
            self._warn("disk-read", "meta-agent: cannot read the prompt cache %s (%s: %s); ignoring it",
                       self.cache_path, type(exc).__name__, str(exc)[:200])
            return {}

    def _remember(self, key: tuple[str, str, str], p: Prompt) -> None:
        """Keep ``p`` in the on-disk file if it is not there already (another process may
        have written other entries since: merge into what the file holds now)."""
        dk = _disk_key(key)
        entry = {"version": p.version, "text": p.text, "variables": list(p.variables)}
        if self._disk_entries().get(dk) == entry:
            return
        try:
            entries = self._load()
            entries[dk] = entry
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".prompts-", suffix=".tmp", dir=self.cache_path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"db": config.redact_url(self.db_url), "prompts": entries}, f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.cache_path)  # readers see the old file or the new one, never half
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._disk = entries
        except Exception as exc:  # the cache is a convenience: never fail a read over it
            self._warn("disk-write", "meta-agent: cannot write the prompt cache %s (%s: %s)", self.cache_path,
                       type(exc).__name__, str(exc)[:200])

    def _warn(self, kind: str, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._warned.get(kind, float("-inf")) >= _WARN_EVERY:
            self._warned[kind] = now
            log.warning(msg, *args)


def _disk_key(key: tuple[str, str, str]) -> str:
    return "\x1f".join(key)


_readers: dict[tuple[str, float, str | None], PromptReader] = {}
_readers_lock = threading.Lock()


def reader_for(db_url: str, ttl: float = DEFAULT_TTL, cache_dir: str | Path | None = None) -> PromptReader:
    """One shared reader per (database, ttl, cache dir) in the process; ``cache_dir`` defaults
    to ``META_AGENT_SPILL_DIR`` (the logger passes its own spill dir)."""
    key = (db_url, ttl, None if cache_dir is None else str(cache_dir))
    reader = _readers.get(key)
    if reader is None:
        with _readers_lock:
            reader = _readers.get(key)
            if reader is None:
                reader = _readers[key] = PromptReader(db_url, ttl, cache_dir=cache_dir)
    return reader
