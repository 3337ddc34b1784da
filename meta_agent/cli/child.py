"""Running ``python -m meta_agent_launch...`` as a child process: the library never imports
Dagster, so the commands that drive it (``request --wait``, ``simulate run``) start it in a
child on the instance at ``DAGSTER_HOME`` and read the one JSON line it prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from meta_agent import config
from meta_agent.errors import MetaAgentError


def run_launcher(args: list[str], *, timeout: float, timed_out: str, failed: str) -> dict:
    """``python -m <args>``'s last JSON line. ``timed_out`` is the sentence when it runs past
    ``timeout``; ``failed`` starts the one when it prints none (its exit code and last lines follow)."""
    home = config.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "DAGSTER_HOME": str(home)})
    except subprocess.TimeoutExpired:
        raise MetaAgentError(timed_out) from None
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    raise MetaAgentError(f"{failed} (exit {proc.returncode}): " + " / ".join(tail))
