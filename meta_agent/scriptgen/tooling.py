"""The tool registry as the script factory sees it: one shared instance per process.

The registry's TF-IDF search index is built on the first search and kept (``warm``).
"""

from __future__ import annotations

import functools

from meta_agent.tools import ToolRegistry, default_registry


@functools.cache
def registry() -> ToolRegistry:
    return default_registry()


def reset() -> None:
    """Forget the shared registry (benchmarks measure a cold index with this)."""
    registry.cache_clear()
