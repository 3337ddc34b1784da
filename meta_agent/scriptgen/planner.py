"""Planners: a request in plain English -> ``PlanOutcome`` (a plan, or a refusal saying why).

Two implementations behind one interface (``Planner.plan``, in ``planning.py``):

- ``OfflinePlanner`` (``offline_planner.py``, the default): deterministic keyword and
  pattern extraction; it refuses rather than guess, naming the closest tools.
- ``LLMPlanner`` (``llm_planner.py``): the model fills the same pydantic model through the
  gateway; the execution layer is derived the same way.

``get_planner()`` picks by ``META_AGENT_PLANNER`` (``offline`` | ``llm``; default offline) and
hands it the domain's ``Vocabulary`` (``meta_agent.domain``) when the caller has one, e.g.
``get_planner("offline", portfolio.vocabulary(url))``. This module only selects: the planners
never import it.
"""

from __future__ import annotations

import os

from meta_agent.domain import Vocabulary
from meta_agent.errors import ConfigError
from meta_agent.scriptgen.llm_planner import LLMPlanner
from meta_agent.scriptgen.offline_planner import OfflinePlanner
from meta_agent.scriptgen.planning import (
    MAX_REQUEST_CHARS,
    Planner,
    check_request_text,
    closest_tools,
)

__all__ = ["MAX_REQUEST_CHARS", "LLMPlanner", "OfflinePlanner", "Planner", "check_request_text",
           "closest_tools", "get_planner"]


def get_planner(kind: str | None = None, vocabulary: Vocabulary | None = None) -> Planner:
    """The planner ``kind`` names, over ``vocabulary`` (default: the tool library's data)."""
    kind = (kind or os.environ.get("META_AGENT_PLANNER") or "offline").strip().lower()
    if kind == "offline":
        return OfflinePlanner(vocabulary)
    if kind == "llm":
        return LLMPlanner(vocabulary=vocabulary)
    raise ConfigError(f"planner '{kind}' is not one of offline, llm (META_AGENT_PLANNER or --planner).")
