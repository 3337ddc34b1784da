"""Reading a YAML file node by node, so every problem names its file, line and field.

The config files people edit (``config/slas.yaml``, ``config/judge_rubric.yaml``) are read as
PyYAML nodes (``yaml.compose``), not plain values, to keep each value's line for the message:
``config/slas.yaml:7: agents.sql-analyst.max_latency_p95_ms: must be a number > 0 (got 'fast').``
"""

from __future__ import annotations

from pathlib import Path

import yaml

from meta_agent.errors import InputError


def fail(path: Path, node, fld: str, problem: str):
    """Raise the ``file:line: field: problem.`` error for ``node``."""
    raise InputError(f"{path}:{node.start_mark.line + 1}: {fld}: {problem}.")


def is_null(node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def mapping(path: Path, node, fld: str, expected: str) -> dict[str, tuple]:
    """A mapping node as ``{key: (key node, value node)}``; plain keys only, each once."""
    if not isinstance(node, yaml.MappingNode):
        fail(path, node, fld, f"expected {expected}")
    out: dict[str, tuple] = {}
    for knode, vnode in node.value:
        if not isinstance(knode, yaml.ScalarNode):
            fail(path, knode, fld, "keys must be plain names")
        if knode.value in out:
            fail(path, knode, f"{fld}.{knode.value}", "defined twice; keep one")
        out[knode.value] = (knode, vnode)
    return out


def read(path: Path) -> str | None:
    """The file's text, or None when there is no such file; unreadable (a directory, no
    permission, not UTF-8) is the error with the fix."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc}); it must be a UTF-8 YAML file.") from None


def compose(path: Path, text: str):
    """``text`` (the file at ``path``) as a PyYAML node tree, or None for an empty file; a
    syntax error is the ``file:line`` error with the fix."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc}); "
                         "fix the syntax (indentation, a missing ':').") from None
