"""Finding a container engine that answers: Docker Engine or Podman's Docker-compatible API."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from meta_agent.errors import ConfigError

# Tried in order when DOCKER_HOST is not set (scripts/container-engine.sh starts the second).
DEFAULT_SOCKETS = ("unix:///var/run/docker.sock", "unix:///run/meta-agent/podman.sock",
                   "unix:///run/podman/podman.sock")
PING_TIMEOUT_S = 3


@dataclass
class Engine:
    client: Any  # docker.DockerClient
    base_url: str
    name: str  # "podman" | "docker"
    version: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


def candidate_urls() -> list[str]:
    host = os.environ.get("DOCKER_HOST")
    if host:
        return [host]
    return [u for u in DEFAULT_SOCKETS if os.path.exists(u.removeprefix("unix://"))]


def connect(timeout: float = 120) -> Engine:
    """The first engine that answers a ping; ``ConfigError`` says which places were tried."""
    import docker

    tried: list[str] = []
    for url in candidate_urls():
        try:
            ping_client = docker.DockerClient(base_url=url, timeout=PING_TIMEOUT_S)
            ping_client.ping()
            info = ping_client.version()
            ping_client.close()
        except Exception as exc:  # noqa: BLE001 — every failure is a reason to try the next one
            tried.append(f"{url} ({type(exc).__name__}: {str(exc)[:120]})")
            continue
        client = docker.DockerClient(base_url=url, timeout=timeout)
        components = [c.get("Name", "") for c in info.get("Components", [])]
        name = "podman" if any("podman" in c.lower() for c in components) else "docker"
        return Engine(client=client, base_url=url, name=name, version=str(info.get("Version", "?")))
    where = "; ".join(tried) if tried else ("DOCKER_HOST is not set and none of "
                                            + ", ".join(DEFAULT_SOCKETS) + " exists")
    raise ConfigError(f"No container engine answers: {where}. Start one with "
                      "`export DOCKER_HOST=$(scripts/container-engine.sh)`.")
