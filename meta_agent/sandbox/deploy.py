"""DockerRunLauncher configuration for this machine's recipe (Podman, local image, no registry).

``run_launcher_config`` builds the ``run_launcher`` block of a Dagster instance so that each
run executes in its own container made from the local sandbox image: the host's ``/usr``, the
Python prefix, the venv, the project's packages and ``config/`` bind-mounted read-only, the
instance directory (``DAGSTER_HOME``: compute logs, artifacts, staging) read-write at the same
path, the engine socket mounted so the run's scripts get their own sandbox containers
(two levels of isolation), explicit ulimits (runc refuses to start without them), host
networking so the run reaches PostgreSQL on the host, and a label for the cleanup sensor.

``instance_yaml`` renders a whole dagster.yaml around it (PostgreSQL storage through
dagster-postgres, run monitoring, a coordinator). The production variant (deploy/docker)
uses the image built from deploy/docker/Dockerfile instead and needs none of the host mounts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

RUN_CONTAINER_LABEL = "meta-agent.run-container"
RUN_ULIMITS = [{"Name": "nproc", "Soft": 4096, "Hard": 4096}, {"Name": "nofile", "Soft": 4096, "Hard": 4096}]
PASS_THROUGH = ("DAGSTER_PG_URL", "META_AGENT_DB_URL", "META_AGENT_DATA_URL", "META_AGENT_ARTIFACTS",
                "META_AGENT_RUNNER", "META_AGENT_SANDBOX_IMAGE")
SANDBOX_POOL_LIMIT = 5  # generated scripts at once across runs
SCRIPT_RUN_TAG = {"key": "meta_agent/kind", "value": "script_run", "limit": 5}


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def run_launcher_config(*, image: str, dagster_home: Path, engine_socket: str | None,
                        host_mounts: list[str], env_vars: list[str] | None = None,
                        network_mode: str = "host", memory: str = "2g") -> dict[str, Any]:
    """The ``run_launcher`` block (module/class/config) for dagster_docker.DockerRunLauncher."""
    root = project_root()
    ro = list(dict.fromkeys([*host_mounts, str(root / "meta_agent"), str(root / "meta_agent_defs"),
                             str(root / "config")]))
    volumes = [f"{p}:{p}:ro" for p in ro if Path(p).exists()]
    home = str(Path(dagster_home).resolve())
    volumes.append(f"{home}:{home}:rw")
    sock_path = engine_socket.removeprefix("unix://") if engine_socket and engine_socket.startswith("unix://") else None
    if sock_path:
        volumes.append(f"{sock_path}:{sock_path}:rw")
    venv_bin = str(Path(sys.prefix) / "bin")
    env = [
        f"PATH={venv_bin}:/usr/local/bin:/usr/bin:/bin",
        f"DAGSTER_HOME={home}",
        f"META_AGENT_SANDBOX_TMP={home}/sandbox-tmp",
        "HOME=/tmp",  # noqa: S108 — the container's own tmpfs
        "LITELLM_LOCAL_MODEL_COST_MAP=True",
    ]
    # Passed through from the launching process (no value here) — only those it has: the
    # launcher refuses to start a run when a listed variable is unset.
    env += [k for k in PASS_THROUGH if k in os.environ]
    if engine_socket:
        env.append(f"DOCKER_HOST={engine_socket}")
    env += list(env_vars or [])
    container_kwargs: dict[str, Any] = {
        "volumes": volumes,
        "network_mode": network_mode,
        "user": "0:0",  # needs the engine socket and to chown each script's results dir
        "cap_drop": ["ALL"],
        "cap_add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {"/tmp": "rw,nosuid,nodev,size=256m"},  # noqa: S108 — the container's own
        "mem_limit": memory,
        "pids_limit": 1024,
        "ulimits": RUN_ULIMITS,
        "labels": {RUN_CONTAINER_LABEL: "1"},
        "working_dir": home,
    }
    return {"module": "dagster_docker", "class": "DockerRunLauncher",
            "config": {"image": image, "env_vars": env, "container_kwargs": container_kwargs}}


def instance_config(*, launcher: dict[str, Any] | None, coordinator: str = "queued",
                    pg_env: str = "DAGSTER_PG_URL") -> dict[str, Any]:
    """A dagster.yaml as a dict: PostgreSQL storage from ``$pg_env``, run monitoring, and a
    QueuedRunCoordinator with the script-run tag limit (or the DefaultRunCoordinator); the
    ``sandbox`` pool's limit either way."""
    cfg: dict[str, Any] = {
        "storage": {"postgres": {"postgres_url": {"env": pg_env}}},
        "run_monitoring": {"enabled": True, "start_timeout_seconds": 180, "max_resume_run_attempts": 0,
                           "poll_interval_seconds": 30},
        "telemetry": {"enabled": False},
    }
    if coordinator == "queued":
        cfg["run_coordinator"] = {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}
        cfg["concurrency"] = {"runs": {"max_concurrent_runs": 10, "tag_concurrency_limits": [dict(SCRIPT_RUN_TAG)]}}
    else:
        cfg["run_coordinator"] = {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}
        cfg["concurrency"] = {}
    cfg["concurrency"]["pools"] = {"default_limit": SANDBOX_POOL_LIMIT}  # script_run's `sandbox` pool
    if launcher:
        cfg["run_launcher"] = launcher
    return cfg


def instance_yaml(**kwargs: Any) -> str:
    return yaml.safe_dump(instance_config(**kwargs), sort_keys=False)
