"""The vetted tool library: the only thing generated scripts may call.

``BaseTool`` and ``ToolRegistry`` are the contract; ``default_registry()`` returns a fresh
registry holding every built-in tool (database, calculation, data).

Calling convention for generated scripts
----------------------------------------

Scripts are written in the script language (``meta_agent.tools.language``): they import
only from this package — ``call_tool`` and the runtime API (``meta_agent.tools.runtime``:
``run_script``, ``step``, ``log``, row helpers, ``Stop``/``NoData``) — and call tools in
one form, easy to check statically::

    rows = call_tool("fetch_financial_data", year=2024)
    dscr = call_tool("calculate_dscr",
                     noi=[r["noi"] for r in rows],
                     debt_service=[r["debt_service"] for r in rows])
    call_tool("export_to_excel", data=rows, path="dscr.xlsx")

- The first argument is a **string literal** naming a registered tool; every input is a
  **keyword argument** named as in the tool's JSON Schema (``meta-agent tools show NAME``).
- Inputs are validated before the tool runs; a bad input raises ``ToolInputError`` whose
  ``errors`` list names each field. Undefined maths (division by zero, no IRR) raises
  ``CalculationError`` for a scalar and gives NaN plus a ``CalculationWarning`` in arrays
  (see ``calculation``).
- Database tools return lists of row dicts (``QueryResult`` — a list with ``columns`` and
  ``truncated``); data tools take and return lists of row dicts; calculation tools return a
  float for scalars, a list for lists, an ndarray for arrays; exports return the bare file
  name written.
- Export tools write only into the run's results directory, by bare file name
  (``path="dscr.csv"``; ``meta_agent.tools.outputs``): no directories, no symlinks, no hard
  links; anything else raises ``ToolPathError``.
- Database tools read the portfolio database at ``META_AGENT_DATA_URL`` (read-only).

Equivalent forms for library code (not for generated scripts): ``get_tool(name)(**kw)``,
``default_registry().get(name)(**kw)``, or ``from meta_agent.tools import calculate_dscr``
(each registered tool is a module attribute that takes keyword arguments). The pure,
vectorized maths behind the calculation tools is in ``meta_agent.finance``.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from meta_agent.tools.base import (
    BaseTool,
    CalculationError,
    CalculationWarning,
    ToolInputError,
    ToolPathError,
    ValidationResult,
)
from meta_agent.tools.registry import ToolMatch, ToolRegistry
from meta_agent.tools.runtime import (
    NoData,
    Stop,
    clean,
    column,
    figures,
    log,
    number,
    power,
    present,
    put,
    run_script,
    single,
    step,
    to_json,
    warn,
    write_json,
    years_between,
)

# Modules whose ``*_TOOLS`` tuple lists built-in tool classes, in catalogue order.
_BUILTIN_MODULES = (
    ("meta_agent.tools.database", "DATABASE_TOOLS"),
    ("meta_agent.tools.calculation", "CALCULATION_TOOLS"),
    ("meta_agent.tools.data", "DATA_TOOLS"),
)


def builtin_tool_classes() -> list[type[BaseTool]]:
    classes: list[type[BaseTool]] = []
    for module, attr in _BUILTIN_MODULES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module still being written; never hide a real error
            if exc.name != module:
                raise
            continue
        classes.extend(getattr(mod, attr))
    return classes


def default_registry() -> ToolRegistry:
    """A new registry with every built-in tool (callers may register more on it)."""
    return ToolRegistry(cls() for cls in builtin_tool_classes())


@functools.cache
def _shared_registry() -> ToolRegistry:
    return default_registry()


def get_tool(name: str) -> BaseTool:
    """The built-in tool called ``name`` (``KeyError`` naming the registered tools otherwise)."""
    return _shared_registry().get(name)


def call_tool(name: str, /, **kwargs: Any) -> Any:
    """Validate ``kwargs`` against tool ``name``'s schema and run it — the one way generated
    scripts call tools."""
    return get_tool(name)(**kwargs)


def __getattr__(attr: str) -> Any:
    """``from meta_agent.tools import calculate_dscr``: a keyword-only function for the tool."""
    if attr.startswith("_") or attr not in _shared_registry():
        raise AttributeError(f"module 'meta_agent.tools' has no attribute '{attr}'")
    tool = _shared_registry().get(attr)

    def run(**kwargs: Any) -> Any:
        return tool(**kwargs)

    run.__name__ = attr
    run.__doc__ = tool.render_doc()
    return run


__all__ = [
    "BaseTool",
    "CalculationError",
    "CalculationWarning",
    "NoData",
    "Stop",
    "ToolInputError",
    "ToolMatch",
    "ToolPathError",
    "ToolRegistry",
    "ValidationResult",
    "builtin_tool_classes",
    "call_tool",
    "clean",
    "column",
    "default_registry",
    "figures",
    "get_tool",
    "log",
    "number",
    "power",
    "present",
    "put",
    "run_script",
    "single",
    "step",
    "to_json",
    "warn",
    "write_json",
    "years_between",
]
