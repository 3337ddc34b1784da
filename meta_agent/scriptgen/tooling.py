"""The tool library as the script factory sees it: the registry (one shared instance per
process) and the vocabulary of the data the tools read.

The registry's TF-IDF search index is built on the first search and kept (``warm``). The
vocabulary is the portfolio's (the database tools read it), built from the portfolio database
on every call (a few ms: a re-seeded database is seen at once); planners given a vocabulary by
their caller never ask for it.
"""

from __future__ import annotations

import functools

from meta_agent import portfolio
from meta_agent.domain import Vocabulary
from meta_agent.tools import ToolRegistry, default_registry


@functools.cache
def registry() -> ToolRegistry:
    return default_registry()


def vocabulary() -> Vocabulary:
    """The vocabulary of the data the tools read: the portfolio's (``META_AGENT_DATA_URL``)."""
    return portfolio.vocabulary()


def reset() -> None:
    """Forget the shared registry (benchmarks measure a cold index with this)."""
    registry.cache_clear()
