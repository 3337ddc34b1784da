"""The tool contract: what a generated script may call.

Like smolagents' ``Tool``, each tool carries its own name, description and JSON-Schema
inputs, so the registry can list, search and document tools for prompts, and the validator
can check that a script calls only registered tools.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jsonschema
import numpy as np


class ToolInputError(ValueError):
    """A tool was called with inputs that break its schema; ``errors`` lists each problem."""

    def __init__(self, tool: str, errors: list[str]):
        super().__init__(f"{tool}: " + "; ".join(errors))
        self.tool = tool
        self.errors = errors


class CalculationError(ValueError):
    """A calculation is undefined for the inputs given (division by zero, no IRR...): raised
    for a single scalar result; arrays get NaN in that place and a ``CalculationWarning``."""


class CalculationWarning(UserWarning):
    """Some elements of an array result are NaN (or flagged); the message says how many and why."""


class ToolPathError(ToolInputError):
    """An output name is not a bare file name with the right extension, or what is at that name
    in the results directory is not a plain file of its own (symlink, hard link, FIFO...)."""


# JSON Schema for a parameter that takes a number or an array of numbers (any depth).
NUMBER_OR_ARRAY: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "array", "items": {"type": ["number", "array"]}}]
}
# JSON Schema for tabular input: a list of row dicts (a pandas DataFrame is also accepted).
RECORDS: dict[str, Any] = {"type": "array", "items": {"type": "object"}}


@dataclass(frozen=True)
class ValidationResult:
    valid: bool
    errors: list[str] = field(default_factory=list)
    path_error: bool = False  # an output path was refused: ``__call__`` raises ``ToolPathError``


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
    # Parameters taking a number or a numeric array (list, ndarray, Series) -> max ndim.
    # They are checked with numpy (never element by element in Python) and replaced by a
    # stand-in before the JSON Schema check, so a million-sample array validates in C.
    array_params: ClassVar[dict[str, int]] = {}
    # Parameters taking a table: a list of row dicts or a pandas DataFrame.
    table_params: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def execute(self, **kwargs: Any) -> Any:
        """Do the work; inputs have already passed ``validate_inputs`` when called via ``__call__``."""

    def validate_inputs(self, **kwargs: Any) -> ValidationResult:
        """Check ``kwargs`` against ``parameters``. Values JSON Schema cannot describe (numpy
        arrays, DataFrames) are checked with numpy and replaced by stand-ins first
        (``array_params``, ``table_params``); ``prepare_for_validation`` adds tool-specific
        checks. Every problem is reported, each prefixed by the field it concerns."""
        errors: list[str] = []
        instance = dict(kwargs)
        path_error = False
        try:
            instance = self.prepare_for_validation(instance)
        except ToolInputError as exc:
            errors.extend(exc.errors)
            path_error = isinstance(exc, ToolPathError)
        reported = {e.split(":", 1)[0].split(".", 1)[0] for e in errors}  # fields already explained
        errors.extend(self._replace_special_values(instance))
        props = self.parameters.get("properties", {})
        if self.parameters.get("additionalProperties") is False:
            unknown = [k for k in instance if k not in props]
            for k in unknown:  # named one by one, with what the tool does take
                errors.append(f"{k}: is not an argument of {self.name} ('{k}' was unexpected); "
                              f"its arguments are {', '.join(props) or 'none'}")
                instance.pop(k)
        validator = jsonschema.Draft202012Validator(self.parameters)
        for e in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
            path = ".".join(str(p) for p in e.absolute_path) or "inputs"
            if e.absolute_path and str(e.absolute_path[0]) in reported:
                continue
            if e.context:  # anyOf/oneOf: report the branch that came closest, not "not valid under any"
                closer = [c for c in e.context if c.validator != "type"]
                if closer:
                    e = max(closer, key=lambda c: len(c.absolute_path))
                    path = ".".join(str(p) for p in e.absolute_path) or "inputs"
                else:
                    kinds = " or ".join(dict.fromkeys(str(c.validator_value) for c in e.context))
                    errors.append(f"{path}: {e.instance!r} is not of type {kinds}")
                    continue
            errors.append(f"{path}: {e.message}")
        return ValidationResult(not errors, errors, path_error)

    def prepare_for_validation(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Tool-specific checks on the raw inputs before the schema check: return the
        (possibly adjusted) kwargs, or raise ``ToolInputError`` naming the fields."""
        return kwargs

    def _replace_special_values(self, kwargs: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        for name, max_ndim in self.array_params.items():
            if kwargs.get(name) is not None:
                problem = _numeric_problem(kwargs[name], max_ndim)
                if problem:
                    errors.append(f"{name}: {problem}")
                kwargs[name] = 0.0
        for name in self.table_params:
            if kwargs.get(name) is not None:
                problem = _table_problem(kwargs[name])
                if problem:
                    errors.append(f"{name}: {problem}")
                kwargs[name] = []
        return errors

    def __call__(self, **kwargs: Any) -> Any:
        result = self.validate_inputs(**kwargs)
        if not result.valid:
            raise (ToolPathError if result.path_error else ToolInputError)(self.name, result.errors)
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
            kind = spec.get("type") or "|".join(
                str(b.get("type", "any")) for b in spec.get("anyOf", [])) or "any"
            if isinstance(kind, list):
                kind = "|".join(kind)
            extra = f" One of: {', '.join(map(str, spec['enum']))}." if "enum" in spec else ""
            lines.append(f"    {k} ({kind}{', required' if k in required else ''}): {spec.get('description', '')}{extra}")
        lines.append(f"    returns: {self.returns.get('description', self.returns.get('type', ''))}")
        return "\n".join(lines)


def _numeric_problem(value: Any, max_ndim: int) -> str | None:
    """Why ``value`` is not a number or numeric array of at most ``max_ndim`` dims (or None)."""
    if isinstance(value, bool | np.bool_):
        return "must be a number or an array of numbers, not a boolean"
    if isinstance(value, numbers.Real):
        return None
    if isinstance(value, str | bytes | dict):
        return f"must be a number or an array of numbers, not {type(value).__name__}"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return f"must be a number or an array of numbers ({exc})"
    if arr.ndim > max_ndim:
        return f"has {arr.ndim} dimensions; at most {max_ndim} allowed"
    if arr.size == 0:
        return "is empty"
    return None


def _table_problem(value: Any) -> str | None:
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas DataFrame
        return None
    if not isinstance(value, list | tuple):
        return f"must be a list of row objects (dicts) or a DataFrame, not {type(value).__name__}"
    bad = next((i for i, row in enumerate(value) if not isinstance(row, dict)), None)
    if bad is not None:
        return f"row {bad} is a {type(value[bad]).__name__}, not an object (dict)"
    return None
