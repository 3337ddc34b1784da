"""Where generated scripts run: a container per script, or the weaker local sandbox."""

from __future__ import annotations

from enum import StrEnum

import dagster as dg

from meta_agent.errors import InputError
from meta_agent.sandbox import RunLimits, SandboxSettings, ScriptRunner, get_runner

TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class RunnerKind(StrEnum):
    AUTO = "auto"  # a container when an engine answers and the image is there, else local
    CONTAINER = "container"  # a container or fail with the reason
    LOCAL = "local"  # bubblewrap/rlimits on this host (weaker; every run says so)


class SandboxResource(dg.ConfigurableResource):
    """The script runner and its limits (docs/isolation.md): ``runner`` bound to
    ``META_AGENT_RUNNER``, the engine's ``docker_host`` to ``DOCKER_HOST`` (empty: the default
    sockets), the ``image`` to ``META_AGENT_SANDBOX_IMAGE`` (empty: the local image), the
    ``staging_dir`` to ``META_AGENT_SANDBOX_TMP`` (empty: the system temp dir), and
    ``allow_weak_isolation`` to ``META_AGENT_ALLOW_WEAK_ISOLATION``: ``true`` lets model-written
    scripts run under ``local:rlimits`` (refused there otherwise; meta_agent.sandbox.policy).
    It is a string (``true``/``false``, ``1``/``0``, ``yes``/``no``) because ``dg.EnvVar`` binds
    only string fields; ``weak_isolation_allowed()`` reads it. ``runner`` is a string for the same
    reason (an enum field rejects the unresolved ``EnvVar``); ``runner_kind()`` checks it."""

    runner: str = RunnerKind.AUTO.value
    docker_host: str | None = None
    image: str | None = None
    staging_dir: str | None = None
    timeout_s: float = 300.0
    memory_mb: int = 512
    allow_weak_isolation: str = "false"

    def weak_isolation_allowed(self) -> bool:
        value = (self.allow_weak_isolation or "").strip().lower()
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        raise InputError(f"allow_weak_isolation (META_AGENT_ALLOW_WEAK_ISOLATION) {self.allow_weak_isolation!r} "
                         "is not true or false (also accepted: 1/0, yes/no, on/off).")

    def runner_kind(self) -> RunnerKind:
        try:
            return RunnerKind((self.runner or "auto").strip().lower())
        except ValueError:
            raise InputError(f"runner (META_AGENT_RUNNER) {self.runner!r} is not one of "
                             f"{', '.join(k.value for k in RunnerKind)}.") from None

    def settings(self) -> SandboxSettings:
        return SandboxSettings(runner=self.runner_kind().value, engine_url=self.docker_host or None,
                               image=self.image or None, staging_dir=self.staging_dir or None)

    def get_runner(self) -> ScriptRunner:
        return get_runner(self.settings())

    def limits(self) -> RunLimits:
        return RunLimits(memory_mb=self.memory_mb, timeout_s=self.timeout_s)
