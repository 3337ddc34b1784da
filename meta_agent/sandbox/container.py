"""The container runner (Docker API; Docker Engine or Podman). Lands in the next commit."""

from __future__ import annotations

from meta_agent.errors import ConfigError


class ContainerRunner:
    isolation = "container"

    @classmethod
    def connect(cls, image: str | None = None) -> ContainerRunner:
        raise ConfigError("The container runner is not available yet; using the local runner.")
