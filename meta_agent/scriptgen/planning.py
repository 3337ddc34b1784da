"""What every planner shares: the ``Planner`` interface, request-text checks, closest tools.

The planners themselves (``offline_planner.py``, ``llm_planner.py``) depend on this module;
``planner.py`` picks one of them (``get_planner``). Nothing here imports a planner, so the
arrows run one way: planner -> llm_planner -> offline_planner -> planning.

A planner is given the domain's ``Vocabulary`` (``meta_agent.domain``) by its caller; given
none, it uses the one of the data the tool library reads (``tooling.vocabulary()``).
"""

from __future__ import annotations

from typing import Protocol

from meta_agent.domain import Vocabulary
from meta_agent.errors import InputError
from meta_agent.scriptgen import tooling
from meta_agent.scriptgen.requirements import PlanOutcome, ToolSuggestion

MAX_REQUEST_CHARS = 2000


class Planner(Protocol):
    name: str
    vocabulary: Vocabulary

    def plan(self, request: str, output_format: str | None = None) -> PlanOutcome: ...


def vocabulary_or_default(vocabulary: Vocabulary | None) -> Vocabulary:
    return vocabulary if vocabulary is not None else tooling.vocabulary()


def closest_tools(request: str, k: int = 3) -> list[ToolSuggestion]:
    return [ToolSuggestion(name=m.name, score=round(m.score, 3), description=m.description)
            for m in tooling.registry().search(request, k=k)]


def check_request_text(request: str) -> str:
    """The request, stripped; ``InputError`` when it is empty, too long or not text."""
    if not isinstance(request, str):
        raise InputError(f"a request must be text, got {type(request).__name__}.")
    text = " ".join(request.split())
    if not text:
        raise InputError("the request is empty; describe what to calculate, e.g. "
                         "\"Calculate DSCR for all properties and export to Excel\".")
    if len(text) > MAX_REQUEST_CHARS:
        raise InputError(f"the request is {len(text)} characters; keep it under {MAX_REQUEST_CHARS} "
                         "(one analysis per request).")
    if "\x00" in text:
        raise InputError("the request contains a NUL byte; send plain text.")
    return text
