"""The runtime guard: a generated script runs under RestrictedPython with the script language's lists.

The validator checks the source before a script may run; this is the second layer, inside
the sandbox, for what only shows at run time. The script is compiled with RestrictedPython's
``compile_restricted`` (which refuses underscore names, ``exec``/``eval`` and the like on its
own) and executed with:

- ``__builtins__``: only ``language.BUILTINS`` and ``language.EXCEPTIONS``; ``__import__``
  lets through ``from meta_agent.tools import NAME`` for names in ``language.API`` and gives a
  namespace holding only those names — never the module itself;
- ``_getattr_``: a method on the list for the value's type (``language.SAFE_METHOD_TYPES``),
  nothing else — so a method name that is fine on a ``dict`` is refused on a generator,
  module, type or function;
- ``_getitem_``/``_write_``: subscripts of plain data (dict, list, tuple, str, range, arrays),
  item assignment into dicts and lists only;
- ``_inplacevar_``: ``+=`` and friends; ``**=`` with the same exponent bound as ``power()``.

A refusal raises ``GuardError`` (a ``TypeError``/``ImportError`` kind is not enough: the
message names the rule). The container stays the boundary.
"""

from __future__ import annotations

import builtins
import json
import operator
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import numpy as np
from RestrictedPython import compile_restricted
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

import meta_agent.tools as tools  # the package: call_tool and the runtime API are exported there
from meta_agent.tools import language as L
from meta_agent.tools.outputs import write_output
from meta_agent.tools.runtime import EXIT_CRASHED, RESULT_JSON


class GuardError(Exception):
    """The runtime guard refused an operation the script language does not allow."""


_SUBSCRIPTABLE = (dict, list, tuple, str, range, np.ndarray)
_WRITABLE = (dict, list)
_INPLACE: Mapping[str, Callable[[Any, Any], Any]] = MappingProxyType({
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand,
    "^=": operator.ixor,
})


def methods_allowed_on(value: Any) -> frozenset[str]:
    """The methods the script language allows on ``value`` (by its type, subclasses included)."""
    for kind, methods in L.SAFE_METHOD_TYPES.items():
        if isinstance(value, kind):
            return methods
    return frozenset()


def guarded_getattr(value: Any, name: str) -> Any:
    allowed = methods_allowed_on(value)
    if not isinstance(name, str) or name.startswith("_") or name not in allowed:
        raise GuardError(f"the script language does not allow .{name} on a {type(value).__name__} value "
                         f"(allowed methods: {', '.join(sorted(allowed)) or 'none'})")
    return getattr(value, name)


def guarded_getitem(value: Any, key: Any) -> Any:
    if not isinstance(value, _SUBSCRIPTABLE):
        raise GuardError(f"the script language does not allow subscripting a {type(value).__name__} value")
    return value[key]


def guarded_write(value: Any) -> Any:
    if not isinstance(value, _WRITABLE):
        raise GuardError(f"the script language allows item assignment only into dicts and lists, "
                         f"not into a {type(value).__name__}")
    return value


def guarded_inplace(op: str, target: Any, value: Any) -> Any:
    if op == "**=":
        if not isinstance(value, int | float) or abs(value) > L.MAX_LITERAL_EXPONENT:
            raise GuardError(f"'**=' with exponent {value!r}: use power(base, exponent) for computed exponents")
        return target**value
    if op not in _INPLACE:
        raise GuardError(f"the script language does not allow {op!r}")
    return _INPLACE[op](target, value)


def guarded_apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def api_namespace() -> SimpleNamespace:
    """What ``from meta_agent.tools import ...`` yields under the guard: the API names only."""
    return SimpleNamespace(**{name: getattr(tools, name) for name in sorted(L.API)})


def guarded_import(name: str, globals_: Any = None, locals_: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    names = tuple(fromlist or ())
    bad = [n for n in names if n not in L.API]
    if level != 0 or name != L.TOOLS_MODULE or not names or bad:
        what = f"from {name} import {', '.join(names)}" if names else f"import {name}"
        raise GuardError(f"the script language does not allow {what!r}: only "
                         f"'from {L.TOOLS_MODULE} import NAME' for NAME in {', '.join(sorted(L.API))}")
    return api_namespace()


def script_globals() -> dict[str, Any]:
    """The globals a guarded script starts with."""
    allowed = {name: getattr(builtins, name) for name in sorted(L.BUILTINS | L.EXCEPTIONS)}
    allowed["__import__"] = guarded_import
    return {
        "__builtins__": allowed,
        "__name__": "__main__",
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": iter,
        "_write_": guarded_write,
        "_inplacevar_": guarded_inplace,
        "_apply_": guarded_apply,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
    }


def compile_script(source: str, filename: str = "script.py"):
    """The script compiled by RestrictedPython (``GuardError`` listing its refusals)."""
    try:
        return compile_restricted(source, filename, "exec")
    except SyntaxError as exc:
        # RestrictedPython raises SyntaxError with every refusal, one per line of its message
        raise GuardError(f"the runtime guard refused the script: {exc}") from None


def run_source(source: str, filename: str = "script.py") -> None:
    """Run ``source`` under the guard (a script's ``SystemExit`` passes through)."""
    _execute(compile_script(source, filename))


def _execute(code) -> None:
    exec(code, script_globals())  # noqa: S102 — compiled by RestrictedPython, run with the guards above


def run_path(path: str) -> None:
    """Run the script at ``path`` under the guard: what the sandbox launcher calls. A script
    the guard refuses before it starts gets a result.json saying why and exit code 1."""
    source = Path(path).read_text(encoding="utf-8")
    try:
        code = compile_script(source, Path(path).name)
    except GuardError as exc:
        print(str(exc), file=sys.stderr)
        try:
            write_output(RESULT_JSON, json.dumps({"status": "failed", "error": str(exc)}) + "\n",
                         tool="guard", argument="result", extensions=(".json",))
        except Exception as write_exc:  # noqa: BLE001 — the refusal is on stderr either way
            print(f"(result.json not written: {write_exc})", file=sys.stderr)
        raise SystemExit(EXIT_CRASHED) from None
    _execute(code)

