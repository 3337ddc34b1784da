"""Where is this process running? Evidence that a Dagster run executes inside a container.

Used by the ``sandbox_probe`` asset (and the DockerRunLauncher demo): a process in a container
sees a 64-hex container id in ``/proc/self/cgroup`` (Podman: ``libpod-<id>``; Docker:
``docker/<id>`` or ``docker-<id>.scope``), usually a hostname equal to the id's first 12
characters, and marker files (``/run/.containerenv``, ``/.dockerenv``) when the engine writes them.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any

_ID = re.compile(r"(?:libpod-|docker[-/]|crio-|containerd[-/]|/)([0-9a-f]{64})(?:\.scope)?\b")


def container_id_from_cgroup(text: str) -> str | None:
    for line in text.splitlines():
        m = _ID.search(line)
        if m:
            return m.group(1)
    return None


def where_am_i() -> dict[str, Any]:
    """Hostname, pid, container id (if any) and the evidence for it."""
    try:
        cgroup = Path("/proc/self/cgroup").read_text()
    except OSError:
        cgroup = ""
    cid = container_id_from_cgroup(cgroup)
    hostname = socket.gethostname()
    markers = [p for p in ("/run/.containerenv", "/.dockerenv") if os.path.exists(p)]
    evidence = []
    if cid:
        evidence.append(f"/proc/self/cgroup names container {cid[:12]}")
    if cid and hostname == cid[:12]:
        evidence.append("hostname is the container id")
    evidence += [f"{m} exists" for m in markers]
    # The markers alone prove little (this very host has /.dockerenv): the container id decides.
    return {"in_container": cid is not None, "container_id": cid, "hostname": hostname, "pid": os.getpid(),
            "markers": markers, "evidence": evidence}
