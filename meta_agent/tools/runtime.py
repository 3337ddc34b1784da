"""The script runtime: what every generated script used to carry as boilerplate.

A script in the script language (``meta_agent.tools.language``) imports no standard library;
it defines ``run(params, result)`` (and optionally ``key_figures(rows, summary, params)``) and
ends with ``run_script(run, key_figures, ...)``, which reads the parameters file, sets up
logging, runs the steps, and writes ``result.json`` to the results directory — through
``meta_agent.tools.outputs``, so the script never names a path.

``result.json``: ``status`` (succeeded | no_data | failed), ``rows``, ``key_figures``,
``table`` (first 500 rows), ``summary``, ``outputs``, ``notes``, ``error``/``message``,
``duration_s``, plus ``shape``, ``fingerprint``, ``metrics`` and ``parameters``.
"""

from __future__ import annotations

import datetime
import inspect
import json
import logging
import math
import os
import statistics
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from meta_agent.tools.base import CalculationError, ToolInputError
from meta_agent.tools.language import API_FUNCTIONS, MAX_POWER_EXPONENT, MAX_POWER_RESULT
from meta_agent.tools.outputs import write_output

PARAMS_ENV = "META_AGENT_PARAMS"
RESULT_JSON = "result.json"
TABLE_ROWS = 500
EXIT_FAILED = 2  # the script ran and says why it could not answer (result.json status "failed")
EXIT_CRASHED = 1  # an unexpected error (a bug, or something the guard refused)

_log = logging.getLogger("meta_agent.script")
_steps = {"total": 0}


class Stop(Exception):
    """The script cannot go on; the message says why (it lands in result.json)."""


class NoData(Stop):
    """Nothing matches the request: a valid, empty answer (status "no_data", exit code 0)."""


# --------------------------------------------------------------------------- logging

def step(n: int, text: str) -> None:
    """Log the start of step ``n`` of the script's steps."""
    _log.info("step %d/%d: %s", n, _steps["total"], text)


def log(message: str, *args: Any) -> None:
    """Log a line (``%``-style arguments, as the logging module formats them)."""
    _log.info(str(message), *args)


def warn(message: str, *args: Any) -> None:
    """Log a warning line (``%``-style arguments)."""
    _log.warning(str(message), *args)


# ---------------------------------------------------------------------- row helpers

def present(**kwargs: Any) -> dict[str, Any]:
    """The keyword arguments that were given (None means: not given)."""
    return {key: value for key, value in kwargs.items() if value is not None}


def single(values: Sequence[Any] | None) -> Any:
    """The one value of a one-element list, else None."""
    return values[0] if values and len(values) == 1 else None


def number(value: Any, default: float | None = None) -> float | None:
    """``value`` as a float when it is a number (not a bool), else ``default``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def clean(value: Any) -> Any:
    """A JSON-safe number: NaN and infinities become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def column(rows: Iterable[dict[str, Any]], name: str, default: float | None = None) -> list[float | None]:
    """``row[name]`` of each row as a number (``default`` where it is not one)."""
    return [number(row.get(name), default) for row in rows]


def put(rows: Iterable[dict[str, Any]], name: str, values: Iterable[Any]) -> None:
    """Set ``row[name]`` of each row to the matching value (NaN and infinities become None)."""
    for row, value in zip(rows, values, strict=False):
        row[name] = clean(value)


def years_between(start: Any, end: Any) -> float:
    """Years from one ISO date to another (365.25-day years)."""
    days = (datetime.date.fromisoformat(str(end)[:10]) - datetime.date.fromisoformat(str(start)[:10])).days
    return days / 365.25


def figures(values: Iterable[Any]) -> dict[str, Any]:
    """Count, undefined, mean, median, min, max and total of the finite numbers in ``values``."""
    values = list(values)
    finite = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]
    out: dict[str, Any] = {"count": len(finite), "undefined": len(values) - len(finite)}
    if finite:
        out.update(mean=statistics.fmean(finite), median=statistics.median(finite),
                   min=min(finite), max=max(finite), total=math.fsum(finite))
    return out


def to_json(value: Any) -> str:
    """``value`` as compact JSON text (keys sorted; dates and other objects as strings)."""
    return json.dumps(value, sort_keys=True, default=str)


def power(base: float, exponent: float) -> float:
    """``base ** exponent`` in floating point, bounded: the exponent at most 10,000 in size and
    the result finite and below 1e300 (``CalculationError`` otherwise)."""
    b, e = number(base), number(exponent)
    if b is None or e is None:
        raise CalculationError(f"power: base and exponent must be numbers, got {base!r} and {exponent!r}")
    if abs(e) > MAX_POWER_EXPONENT:
        raise CalculationError(f"power: exponent {e:g} is larger than {MAX_POWER_EXPONENT:,} in size")
    try:
        out = math.pow(b, e)
    except (OverflowError, ValueError) as exc:
        raise CalculationError(f"power({b:g}, {e:g}) is undefined or too large ({exc})") from None
    if not math.isfinite(out) or abs(out) > MAX_POWER_RESULT:
        raise CalculationError(f"power({b:g}, {e:g}) is too large (limit 1e300)")
    return out


def write_json(name: str, data: Any) -> str:
    """Write ``data`` as JSON to the results directory under the bare file name ``name``."""
    if name == RESULT_JSON:
        raise ToolInputError("write_json", [f"name: {RESULT_JSON} is written by run_script; pick another name"])
    text = json.dumps(data, indent=2, default=str)
    return write_output(name, text, tool="write_json", argument="name", extensions=(".json",))


# ------------------------------------------------------------------------ the entry

def read_params() -> dict[str, Any]:
    """The run's parameters (``$META_AGENT_PARAMS``, a JSON object)."""
    path = os.environ.get(PARAMS_ENV)
    if not path:
        raise Stop(f"${PARAMS_ENV} is not set: scripts run in the sandbox, which sets it")
    try:
        with open(path, encoding="utf-8") as fh:  # noqa: PTH123 — the runtime, not the script
            params = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise Stop(f"the parameters file cannot be read: {exc}") from None
    if not isinstance(params, dict):
        raise Stop(f"the parameters file holds a {type(params).__name__}, not a JSON object")
    return params


def run_script(run: Callable[[dict, dict], tuple[list, Any]],
               key_figures: Callable[[list, Any, dict], dict] | None = None, *, shape: str = "",
               fingerprint: str = "", metrics: Sequence[str] = (), steps: int = 0) -> None:
    """Run ``run(params, result)`` -> ``(rows, summary)``, write ``result.json`` and exit:
    0 for succeeded and no_data, 2 when the script stops with a reason, 1 on an unexpected error."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    _steps["total"] = int(steps)
    started = time.perf_counter()
    result: dict[str, Any] = {"status": "running", "shape": shape, "fingerprint": fingerprint,
                              "metrics": list(metrics), "parameters": {}, "outputs": [], "notes": []}
    code = 0
    try:
        params = read_params()
        result["parameters"] = params
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows, summary = run(params, result)
        result["notes"] += sorted({str(w.message) for w in caught})
        result["status"] = "succeeded"
        result["rows"] = len(rows)
        if key_figures is not None:
            result["key_figures"] = key_figures(rows, summary, params)
        result["table"] = [{key: clean(value) for key, value in row.items()} for row in rows[:TABLE_ROWS]]
        if summary is not None:
            result["summary"] = summary
    except NoData as exc:
        _log.warning("%s", exc)
        result.update(status="no_data", rows=0, message=str(exc))
    except (Stop, ToolInputError, CalculationError) as exc:
        _log.error("%s", exc)
        result.update(status="failed", error=str(exc))
        code = EXIT_FAILED
    except MemoryError:
        raise  # the launcher reports it and the runner classifies the run as out_of_memory
    except Exception as exc:  # noqa: BLE001 — a bug or a guard refusal: say so in result.json too
        traceback.print_exc()
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        code = EXIT_CRASHED
    result["duration_s"] = round(time.perf_counter() - started, 3)
    write_output(RESULT_JSON, json.dumps(result, indent=2, default=str), tool="run_script", argument="result",
                 extensions=(".json",))
    _log.info("done: %s, result.json written", result["status"])
    raise SystemExit(code)


def runtime_api_doc() -> str:
    """The runtime API for a prompt: one line per function (signature and first doc line)."""
    funcs = [CALL_TOOL_SIGNATURE, *(f"{f.__name__}{_plain_signature(f)} — {(f.__doc__ or '').strip().splitlines()[0]}"
                                      for f in API_DOCUMENTED)]
    exceptions = "Stop(message): the script cannot go on; NoData(message): nothing matches (a valid, empty answer)"
    return "\n".join(f"- {line}" for line in [*funcs, exceptions])


def _plain_signature(func: Callable[..., Any]) -> inspect.Signature:
    sig = inspect.signature(func)
    return sig.replace(parameters=[p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()],
                       return_annotation=inspect.Signature.empty)


CALL_TOOL_SIGNATURE = 'call_tool("tool_name", keyword=value, ...) — run a registered tool; inputs are keywords'


# The language's API functions defined here (call_tool is the package's), run_script first.
API_DOCUMENTED = tuple(globals()[name] for name in sorted(API_FUNCTIONS - {"call_tool"},
                                                          key=lambda name: (name != "run_script", name)))
