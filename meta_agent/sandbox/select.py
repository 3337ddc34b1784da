"""Choosing a runner: the container when an engine answers, else the local fallback."""

from __future__ import annotations

import os
from typing import Literal

from meta_agent.errors import ConfigError
from meta_agent.sandbox.base import ScriptRunner
from meta_agent.sandbox.container import ContainerRunner
from meta_agent.sandbox.local import LocalRunner

RunnerKind = Literal["auto", "container", "local"]
KINDS = ("auto", "container", "local")


def get_runner(kind: str | None = None, *, image: str | None = None) -> ScriptRunner:
    """``kind``: ``auto`` | ``container`` | ``local`` (default ``META_AGENT_RUNNER`` or auto).

    ``auto`` returns the container runner when the engine answers and the image is there,
    otherwise the local runner (whose ``describe()`` and results say it is the weaker kind).
    ``container`` raises ``ConfigError`` with the reason when the container cannot be used.
    """
    kind = (kind or os.environ.get("META_AGENT_RUNNER") or "auto").strip().lower()
    if kind not in KINDS:
        raise ConfigError(f"Runner {kind!r} is not one of {', '.join(KINDS)} (META_AGENT_RUNNER or --runner).")
    if kind in ("auto", "container"):
        try:
            return ContainerRunner.connect(image=image)
        except ConfigError:
            if kind == "container":
                raise
    return LocalRunner()
