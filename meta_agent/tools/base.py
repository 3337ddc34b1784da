"""The tool contract: what a generated script may call.

Like smolagents' ``Tool``, each tool carries its own name, description and JSON-Schema
inputs, so the registry can list, search and document tools for prompts, and the validator
can check that a script calls only registered tools.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jsonschema


class ToolInputError(ValueError):
    """A tool was called with inputs that break its schema; ``errors`` lists each problem."""

    def __init__(self, tool: str, errors: list[str]):
        super().__init__(f"{tool}: " + "; ".join(errors))
        self.tool = tool
        self.errors = errors


@dataclass(frozen=True)
class ValidationResult:
    valid: bool
    errors: list[str] = field(default_factory=list)


class BaseTool(ABC):
    """Subclasses set the class attributes and implement ``execute``.

    ``parameters`` is a JSON Schema object (``{"type": "object", "properties": ...,
    "required": [...]}``); ``returns`` describes the result (a JSON Schema with a description).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    category: ClassVar[str]  # "database" | "calculation" | "data"
    parameters: ClassVar[dict[str, Any]]
    returns: ClassVar[dict[str, Any]]
    keywords: ClassVar[tuple[str, ...]] = ()  # extra words for search (synonyms, acronyms)

    @abstractmethod
    def execute(self, **kwargs: Any) -> Any:
        """Do the work; inputs have already passed ``validate_inputs`` when called via ``__call__``."""

    def validate_inputs(self, **kwargs: Any) -> ValidationResult:
        """Check ``kwargs`` against ``parameters``. Values JSON Schema cannot describe (numpy
        arrays, DataFrames) are checked by the tool's ``prepare_for_validation`` hook."""
        instance = self.prepare_for_validation(dict(kwargs))
        validator = jsonschema.Draft202012Validator(self.parameters)
        errors = [
            f"{'.'.join(str(p) for p in e.absolute_path) or 'inputs'}: {e.message}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        ]
        return ValidationResult(not errors, errors)

    def prepare_for_validation(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Replace values JSON Schema cannot see into with stand-ins (override as needed)."""
        return kwargs

    def __call__(self, **kwargs: Any) -> Any:
        result = self.validate_inputs(**kwargs)
        if not result.valid:
            raise ToolInputError(self.name, result.errors)
        return self.execute(**kwargs)

    def get_schema(self) -> dict[str, Any]:
        """The tool as an OpenAI-style function definition (what LLM planners see)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
            "returns": self.returns,
            "category": self.category,
        }

    def render_doc(self) -> str:
        """A compact, prompt-ready description: signature, purpose, parameters, result."""
        props = self.parameters.get("properties", {})
        required = set(self.parameters.get("required", []))
        args = ", ".join(f"{k}{'' if k in required else '=...'}" for k in props)
        lines = [f"{self.name}({args}) — {self.description}"]
        for k, spec in props.items():
            kind = spec.get("type", "any")
            lines.append(f"    {k} ({kind}{', required' if k in required else ''}): {spec.get('description', '')}")
        lines.append(f"    returns: {self.returns.get('description', self.returns.get('type', ''))}")
        return "\n".join(lines)
