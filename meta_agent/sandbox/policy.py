"""Run policy by provenance: which scripts each runner may run (docs/isolation.md).

Every script has a **provenance** — who wrote it:

- ``template``: rendered by the offline Jinja templates from a validated plan (the scripts
  table's ``author`` = ``template``); our own code, vetted before it ships;
- ``llm``: written by a model (``author`` = ``llm``), judged by the validator;
- ``user``: handed over by a person (``meta-agent sandbox run FILE``), never validated.

Under the weakest runner, ``local:rlimits`` (a plain subprocess: the network and every file
the caller can read stay reachable), only ``template`` scripts run; ``llm`` and ``user``
scripts are refused before anything starts unless the caller explicitly allows weak
isolation (``--allow-weak-isolation``, ``META_AGENT_ALLOW_WEAK_ISOLATION``). Every
provenance runs under ``local:bwrap`` and in a container.

``decide`` is pure; ``MATRIX`` is the same rule as data (the doctor and the docs print it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from meta_agent.errors import InputError


class Provenance(StrEnum):
    TEMPLATE = "template"
    LLM = "llm"
    USER = "user"


PROVENANCES = tuple(p.value for p in Provenance)
RUNNER_KINDS = ("container", "local:bwrap", "local:rlimits")  # strongest first

STRONGER_ISOLATION = ("install bubblewrap (apt-get install bubblewrap) or start a container engine "
                      "(scripts/container-engine.sh, or set DOCKER_HOST) — or pass --allow-weak-isolation "
                      "(META_AGENT_ALLOW_WEAK_ISOLATION=true for the script factory) to run it anyway")

WHO = {Provenance.TEMPLATE: "rendered from the vetted templates",
       Provenance.LLM: "written by a model",
       Provenance.USER: "handed over by a person, unvalidated"}

# runner kind -> provenance -> runs without the override
MATRIX: dict[str, dict[str, bool]] = {
    "container": {"template": True, "llm": True, "user": True},
    "local:bwrap": {"template": True, "llm": True, "user": True},
    "local:rlimits": {"template": True, "llm": False, "user": False},
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # one sentence; for a refusal it names how to get stronger isolation
    override_used: bool  # True only when allow-weak-isolation is what let it run
    provenance: str = ""
    runner: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_provenance(value: object, field: str = "provenance") -> Provenance:
    """``value`` as a ``Provenance``, or ``InputError`` naming ``field`` and the allowed values."""
    if isinstance(value, Provenance):
        return value
    if isinstance(value, str) and value.strip().lower() in PROVENANCES:
        return Provenance(value.strip().lower())
    raise InputError(f"{field} {value!r} is not one of {', '.join(PROVENANCES)} (who wrote the script: "
                     "our templates, a model, or a person).")


def provenance_of_author(author: object) -> Provenance:
    """The provenance of a stored script by its ``author``: ``template`` and ``llm`` are
    themselves; anything else (unknown, missing) is the most cautious, ``user``."""
    if isinstance(author, str) and author.strip().lower() in (Provenance.TEMPLATE, Provenance.LLM):
        return Provenance(author.strip().lower())
    return Provenance.USER


def runner_kind(runner_name: object) -> str:
    """``container:podman 4.3.1`` -> ``container``; ``local:bwrap``, ``local:rlimits`` as they are."""
    if isinstance(runner_name, str):
        name = runner_name.strip()
        if name == "container" or name.startswith("container:"):
            return "container"
        if name in RUNNER_KINDS:
            return name
    raise InputError(f"runner {runner_name!r} is not one of container[:ENGINE], local:bwrap, local:rlimits.")


def check_flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{field} must be true or false, got {value!r}.")
    return value


def decide(provenance: Provenance | str, runner_name: str, allow_weak_isolation: bool = False) -> Decision:
    """May a script of ``provenance`` run under ``runner_name``? Pure: no I/O."""
    prov = parse_provenance(provenance)
    kind = runner_kind(runner_name)
    allow = check_flag(allow_weak_isolation, "allow_weak_isolation")
    what = f"{'An' if prov is Provenance.LLM else 'A'} {prov.value} script ({WHO[prov]})"
    if MATRIX[kind][prov.value]:
        return Decision(True, f"{what} may run under {runner_name}.", False, prov.value, runner_name)
    if allow:
        return Decision(True, f"{what} runs under {runner_name}, the weakest isolation (no filesystem or network "
                              "isolation), only because allow-weak-isolation was given.", True, prov.value, runner_name)
    return Decision(False, f"{what} is not run under {runner_name}, the weakest isolation (a plain subprocess that "
                           f"can read the caller's files and reach the network): {STRONGER_ISOLATION}.",
                    False, prov.value, runner_name)


def verdict(kind: str, provenance: str) -> str:
    """One word or two for a matrix cell: ``runs`` or ``refused (override runs it)``."""
    return "runs" if MATRIX[kind][provenance] else "refused (--allow-weak-isolation runs it)"


def matrix_rows(available: dict[str, bool] | None = None, used: str | None = None) -> list[dict[str, Any]]:
    """The matrix as rows, strongest runner first: ``{runner, available?, used?, template, llm, user}``.
    ``available`` (kind -> bool) and ``used`` (the runner name scripts get) describe a machine."""
    used_kind = runner_kind(used) if used else None
    rows = []
    for kind in RUNNER_KINDS:
        row: dict[str, Any] = {"runner": kind}
        if available is not None:
            row["available"] = bool(available.get(kind))
        if used is not None:
            row["used"] = kind == used_kind
        row.update({p: verdict(kind, p) for p in PROVENANCES})
        rows.append(row)
    return rows
