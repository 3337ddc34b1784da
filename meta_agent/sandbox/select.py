"""Choosing a runner: the container when an engine answers, else the local fallback."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from meta_agent.errors import ConfigError
from meta_agent.sandbox.base import ScriptRunner
from meta_agent.sandbox.container import ContainerRunner
from meta_agent.sandbox.local import LocalRunner

RunnerKind = Literal["auto", "container", "local"]
KINDS = ("auto", "container", "local")


@dataclass(frozen=True)
class SandboxSettings:
    """Where scripts run: ``runner`` (``auto``: a container when the engine answers and the
    image is there, else local; ``container``: a container or a clear error; ``local``), the
    engine's URL (None: ``DOCKER_HOST`` or the default sockets), the image (None: the local
    image) and where runs are staged (None: the system temp dir). The Dagster sandbox resource
    builds one from its fields; the command line from the environment."""

    runner: str = "auto"
    engine_url: str | None = None
    image: str | None = None
    staging_dir: str | None = None

    @classmethod
    def from_environment(cls, runner: str | None = None) -> SandboxSettings:
        """``META_AGENT_RUNNER``, ``DOCKER_HOST``, ``META_AGENT_SANDBOX_IMAGE``, ``META_AGENT_SANDBOX_TMP``
        (``runner`` overrides the first: a ``--runner`` option)."""
        env = os.environ
        return cls(runner=runner or env.get("META_AGENT_RUNNER") or "auto", engine_url=env.get("DOCKER_HOST") or None,
                   image=env.get("META_AGENT_SANDBOX_IMAGE") or None,
                   staging_dir=env.get("META_AGENT_SANDBOX_TMP") or None)


def get_runner(settings: SandboxSettings | str | None = None, *, image: str | None = None) -> ScriptRunner:
    """The runner ``settings`` ask for (a kind name means the environment's other settings;
    None: the environment's). ``container`` raises ``ConfigError`` with the reason when the
    container cannot be used; ``auto`` then falls back to the local runner, whose
    ``describe()`` and results say it is the weaker kind."""
    if not isinstance(settings, SandboxSettings):
        settings = SandboxSettings.from_environment(runner=settings)
    kind = settings.runner.strip().lower()
    if kind not in KINDS:
        raise ConfigError(f"Runner {kind!r} is not one of {', '.join(KINDS)} (META_AGENT_RUNNER or --runner).")
    if kind in ("auto", "container"):
        try:
            return ContainerRunner.connect(image=image or settings.image, engine_url=settings.engine_url,
                                           staging_dir=settings.staging_dir)
        except ConfigError:
            if kind == "container":
                raise
    return LocalRunner(staging_dir=settings.staging_dir)
