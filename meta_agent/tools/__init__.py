"""The vetted tool library: the only thing generated scripts may call.

``BaseTool`` and ``ToolRegistry`` are the contract; the built-in tools (database,
calculation, data) are registered by ``default_registry()``.
"""

from meta_agent.tools.base import BaseTool, ToolInputError, ValidationResult
from meta_agent.tools.registry import ToolMatch, ToolRegistry

__all__ = ["BaseTool", "ToolInputError", "ToolMatch", "ToolRegistry", "ValidationResult"]
