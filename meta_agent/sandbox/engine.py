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


def candidate_urls(url: str | None = None) -> list[str]:
    """``url`` when given (the sandbox resource's ``docker_host``), else ``DOCKER_HOST`` (the
    command line's), else the default sockets that exist."""
    host = url or os.environ.get("DOCKER_HOST")
    if host:
        return [host]
    return [u for u in DEFAULT_SOCKETS if os.path.exists(u.removeprefix("unix://"))]


API_VERSION = "1.41"  # Podman 4 and Docker Engine >= 20.10 speak it; pinning skips a slow /version call
_cache: dict[str, Engine] = {}


def _identify(client) -> tuple[str, str]:
    """("podman"|"docker", version) from the /_ping headers (Podman's /version takes ~0.3 s)."""
    resp = client.api.get(client.api.base_url + "/_ping", timeout=PING_TIMEOUT_S)
    resp.raise_for_status()
    headers = resp.headers
    if headers.get("Libpod-Api-Version"):
        return "podman", headers["Libpod-Api-Version"]
    server = headers.get("Server", "")
    if server.startswith("Docker/"):
        return "docker", server.split("/", 1)[1].split()[0]
    info = client.version()
    components = [c.get("Name", "") for c in info.get("Components", [])]
    name = "podman" if any("podman" in c.lower() for c in components) else "docker"
    return name, str(info.get("Version", "?"))


def connect(timeout: float = 120, url: str | None = None) -> Engine:
    """The first engine that answers a ping (at ``url`` when given, see ``candidate_urls``);
    ``ConfigError`` says which places were tried. Engines are cached per URL and re-pinged on
    every call (about a millisecond)."""
    import docker  # local: the docker SDK (~0.1 s) loads only when an engine is asked for

    tried: list[str] = []
    for candidate in candidate_urls(url):
        cached = _cache.get(candidate)
        if cached is not None:
            try:
                cached.client.ping()
                return cached
            except Exception:  # noqa: BLE001 — the engine went away: try afresh
                _cache.pop(candidate, None)
        try:
            client = docker.DockerClient(base_url=candidate, version=API_VERSION, timeout=timeout)
            name, version = _identify(client)
        except Exception as exc:  # noqa: BLE001 — every failure is a reason to try the next one
            tried.append(f"{candidate} ({type(exc).__name__}: {str(exc)[:120]})")
            continue
        engine = Engine(client=client, base_url=candidate, name=name, version=version)
        _cache[candidate] = engine
        return engine
    where = "; ".join(tried) if tried else ("DOCKER_HOST is not set and none of "
                                            + ", ".join(DEFAULT_SOCKETS) + " exists")
    raise ConfigError(f"No container engine answers: {where}. Start one with "
                      "`export DOCKER_HOST=$(scripts/container-engine.sh)`.")
