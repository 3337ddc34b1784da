"""``meta-agent sandbox doctor``: which runner scripts would get here, and how strong it is."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from meta_agent.errors import ConfigError
from meta_agent.sandbox.base import RunLimits
from meta_agent.sandbox.container import LABEL
from meta_agent.sandbox.engine import candidate_urls, connect
from meta_agent.sandbox.images import default_image, image_info
from meta_agent.sandbox.local import LocalRunner, _bwrap_works
from meta_agent.sandbox.policy import matrix_rows
from meta_agent.sandbox.select import get_runner

STRENGTH = {
    "container": "strong: a container per script (no network, no capabilities, read-only root, "
                 "memory and pids limits)",
    "local:bwrap": "weaker: local runner with bubblewrap (no network, read-only binds, rlimits; no "
                   "memory cgroup, shared kernel) — start a container engine for the strong kind",
    "local:rlimits": "weakest: local subprocess with rlimits only (network and host files reachable) — "
                     "install bubblewrap or, better, start a container engine",
}

PROBE_SCRIPT = """\
import json, os, socket
try:
    socket.create_connection(("192.0.2.1", 80), timeout=1)
    net = "reachable"
except OSError as exc:
    net = f"blocked ({exc.strerror or exc})"
out = {"uid": os.getuid(), "network": net, "hostname": socket.gethostname()}
json.dump(out, open(os.path.join(os.environ["META_AGENT_RESULTS_DIR"], "result.json"), "w"))
print(json.dumps(out))
"""


def strength_of(runner_name: str) -> str:
    if runner_name.startswith("container"):
        return STRENGTH["container"]
    return STRENGTH.get(runner_name, runner_name)


def diagnose(probe: bool = True, image: str | None = None) -> dict[str, Any]:
    """Engine, image, bwrap, the runner ``get_runner()`` picks, and (``probe``) a trivial run."""
    image = image or default_image()
    report: dict[str, Any] = {"engine": {"answers": False, "tried": candidate_urls()},
                              "image": {"name": image, "present": False}, "notes": []}
    try:
        engine = connect()
        report["engine"].update(answers=True, url=engine.base_url, name=engine.name, version=engine.version)
        info = image_info(engine.client, image)
        if info:
            report["image"].update(present=True, kind=info["kind"], id=info["id"][:19],
                                   host_mounts=info["mounts"], python=info["python"])
        else:
            report["notes"].append(f"The engine answers but the image {image} is missing: run "
                                   "`meta-agent sandbox build-image`.")
        try:
            report["engine"]["sandbox_containers"] = len(engine.client.containers.list(
                all=True, filters={"label": LABEL}, ignore_removed=True))
        except Exception:  # noqa: BLE001,S110 — a count is a nicety
            pass
    except ConfigError as exc:
        report["engine"]["error"] = str(exc)
        report["notes"].append("No container engine answers: scripts run in the weaker local runner. "
                               "Start one with `export DOCKER_HOST=$(scripts/container-engine.sh)`.")
    bwrap = shutil.which("bwrap")
    report["bwrap"] = {"installed": bool(bwrap), "works": bool(bwrap) and _bwrap_works(bwrap)}
    available = {"container": report["image"]["present"], "local:bwrap": report["bwrap"]["works"],
                 "local:rlimits": True}
    try:
        runner = get_runner(image=image)
    except ConfigError as exc:  # META_AGENT_RUNNER=container without an engine
        report["runner"] = {"name": None, "error": str(exc)}
        report["isolation"] = "none"
        report["strength"] = f"no runner: {exc}"
        report["policy"] = {"runner": None, "matrix": matrix_rows(available)}
        return report
    # Which provenance may run where (meta_agent.sandbox.policy), for this machine's runners.
    report["policy"] = {"runner": runner.name, "matrix": matrix_rows(available, used=runner.name)}
    report["runner"] = {"name": runner.name, "isolation": runner.isolation, "describe": runner.describe()}
    report["isolation"] = runner.isolation
    report["strength"] = strength_of(runner.name)
    report["weaker"] = runner.isolation != "container"
    if isinstance(runner, LocalRunner):
        report["runner"]["uid_per_run"] = runner.drop_uid
    if probe:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="meta-agent-doctor-") as tmp:
            res = runner.run(PROBE_SCRIPT, {}, RunLimits(timeout_s=30, memory_mb=128),
                             results_dir=Path(tmp) / "results", provenance="template")  # our own script
        report["probe"] = {"status": res.status, "message": res.message, "seconds": round(time.perf_counter() - t0, 3),
                           "network": (res.result_json or {}).get("network"),
                           "uid": (res.result_json or {}).get("uid")}
    return report
