"""The container runner: one container per script, through the Docker API.

This is the security boundary for generated code. Every container gets: no network
(``network_mode="none"``), every capability dropped, ``no-new-privileges``, a read-only root
filesystem, an unprivileged user (``nobody`` when the engine is rootful), a memory limit
without swap, a pids limit, a CPU quota, explicit ulimits (nproc, nofile, fsize, core), a
small ``/tmp`` tmpfs (counted against the memory limit), the script and its parameters
read-only under ``/sandbox``, the per-run results directory as the only writable mount, and
``data_files`` read-only under ``/data``. No engine-side log is kept (``log_config=none``):
output is streamed from the attach socket line by line to ``on_output``.

Containers are labelled (``meta-agent.sandbox=1``, the caller's host/pid/start time, the
run's deadline) and removed in every outcome; ``sweep_orphans`` removes those whose caller
died (a crash or SIGKILL skips ``finally``), and the in-container launcher enforces the
deadline itself, so an orphan cannot run past it.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meta_agent.errors import ConfigError
from meta_agent.sandbox.base import (
    SANDBOX_DATA,
    SANDBOX_DIR,
    SANDBOX_PARAMS,
    SANDBOX_RESULTS,
    OutputCallback,
    RunLimits,
    RunResult,
)
from meta_agent.sandbox.common import (
    DEADLINE_GRACE_S,
    OutputCollector,
    StagedRun,
    classify,
    dir_size_bytes,
    governed_run,
    launcher_argv,
    sandbox_env,
    sandbox_uid_for_container,
    stage,
)
from meta_agent.sandbox.engine import Engine, connect
from meta_agent.sandbox.images import (
    build_local_image,
    default_image,
    host_layout,
    image_info,
    layout_digest,
)
from meta_agent.sandbox.results import complete

LABEL = "meta-agent.sandbox"
LABEL_CALLER = "meta-agent.caller"
LABEL_RUN = "meta-agent.run-id"
LABEL_DEADLINE = "meta-agent.deadline"
LABEL_STAGING = "meta-agent.staging"
ORPHAN_GRACE_S = 60.0
REPORT_GRACE_S = 0.15  # after the launcher's final report, wait this long for the stream to end
_MB = 1024 * 1024
_last_sweep = 0.0
_sweep_lock = threading.Lock()


def caller_identity() -> str:
    """``host:pid:starttime`` — the start time tells a live caller from a reused pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def _caller_alive(identity: str) -> bool | None:
    """True/False for callers on this host, None when we cannot tell (another host)."""
    try:
        host, pid, start = identity.rsplit(":", 2)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    return os.path.exists(f"/proc/{pid}") and _start_time(int(pid)) == start


def sweep_orphans(client, *, now: float | None = None) -> list[str]:
    """Remove sandbox containers whose caller died or whose deadline has long passed."""
    now = time.time() if now is None else now
    removed = []
    for ct in client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True):
        labels = ct.labels or {}
        alive = _caller_alive(labels.get(LABEL_CALLER, ""))
        try:
            deadline = float(labels.get(LABEL_DEADLINE, "inf"))
        except ValueError:
            deadline = float("inf")
        if alive is False or now > deadline + ORPHAN_GRACE_S:
            try:
                ct.remove(force=True)
                removed.append(ct.name)
            except Exception:  # noqa: BLE001,S112 — already gone or being removed
                continue
            if alive is False:  # its caller (on this host) never cleaned up the staging either
                _remove_staging(labels.get(LABEL_STAGING, ""), labels.get(LABEL_RUN, ""))
    return removed


def _remove_staging(path: str, run_id: str) -> None:
    """Remove a dead caller's staging dir — only one that is what stage() makes for that run."""
    p = Path(path)
    if run_id and p.is_absolute() and p.name.startswith(f"meta-agent-run-{run_id}-") and p.is_dir():
        shutil.rmtree(p, ignore_errors=True)


def _maybe_sweep(client, every_s: float = 30.0) -> None:
    global _last_sweep
    with _sweep_lock:
        if time.monotonic() - _last_sweep < every_s:
            return
        _last_sweep = time.monotonic()
    try:
        sweep_orphans(client)
    except Exception:  # noqa: BLE001,S110 — sweeping is housekeeping; a run must not fail on it
        pass


class _CgroupWatch(threading.Thread):
    """Polls the container's memory cgroup on this host for the peak usage and OOM kills
    (Podman with cgroupfs does not report ``OOMKilled``); silent when the engine is remote."""

    def __init__(self, pid: int, container_id: str):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.peak_bytes = 0
        self.oom_kills = 0
        self.path = _memory_cgroup(pid, container_id)

    def run(self) -> None:
        if self.path is None:
            return
        while not self.stop_event.is_set():
            self.poll()
            self.stop_event.wait(0.05)

    def poll(self) -> None:
        p = self.path
        if p is None:
            return
        for name in ("memory.max_usage_in_bytes", "memory.peak"):
            try:
                self.peak_bytes = max(self.peak_bytes, int((p / name).read_text()))
                break
            except (OSError, ValueError):
                continue
        for name in ("memory.oom_control", "memory.events"):
            try:
                for line in (p / name).read_text().splitlines():
                    k, _, v = line.partition(" ")
                    if k == "oom_kill":
                        self.oom_kills = max(self.oom_kills, int(v))
                break
            except (OSError, ValueError):
                continue


def _memory_cgroup(pid: int, container_id: str) -> Path | None:
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if container_id[:12] not in path:
            continue
        if "memory" in controllers.split(","):
            p = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
        elif controllers == "":
            p = Path("/sys/fs/cgroup") / path.lstrip("/")
        else:
            continue
        if p.is_dir():
            return p
    return None


class ContainerRunner:
    """Runs each script in its own container; see the module docstring for the limits."""

    isolation = "container"

    def __init__(self, engine: Engine, image: str, info: dict[str, Any], staging_dir: str | None = None):
        self.engine = engine
        self.staging_dir = staging_dir
        self.client = engine.client
        self.image = image
        self.info = info
        self.python = info.get("python") or "python3"
        self.host_mounts: list[str] = list(info.get("mounts") or [])
        self.name = f"container:{engine.label}"

    @classmethod
    def connect(cls, image: str | None = None, engine_url: str | None = None,
                staging_dir: str | None = None) -> ContainerRunner:
        """The runner for the engine at ``engine_url`` (default ``DOCKER_HOST``) and ``image``
        (default ``META_AGENT_SANDBOX_IMAGE`` or the local image); ``ConfigError`` with the reason."""
        engine = connect(url=engine_url)
        image = default_image(image)
        info = image_info(engine.client, image)
        if info is None:
            raise ConfigError(f"The sandbox image {image} is not in the {engine.label} engine: build it with "
                              "`meta-agent sandbox build-image`.")
        if info.get("kind") == "local" and info.get("digest") != layout_digest(host_layout()):
            # Built from another checkout or venv sharing this engine (its python does not exist
            # here): the local image is a few kilobytes of mount points, so rebuild it for this host.
            build_local_image(engine.client, image)
            info = image_info(engine.client, image)
        _maybe_sweep(engine.client)
        return cls(engine, image, info, staging_dir)

    def describe(self) -> str:
        kind = self.info.get("kind", "unknown")
        return (f"container runner on {self.engine.label} ({self.engine.base_url}), image {self.image} "
                f"({kind}): no network, no capabilities, read-only root, memory/pids limits, "
                "only /results writable — the strong kind of isolation.")

    # ------------------------------------------------------------------ run
    def run(self, script: str | Path, params: Mapping[str, Any], limits: RunLimits | None = None, *,
            results_dir: Path | None = None, data_files: tuple[Path, ...] = (),
            on_output: OutputCallback | None = None, env: Mapping[str, str] | None = None,
            run_id: str | None = None, provenance: str = "user", allow_weak_isolation: bool = False,
            guard: bool = False) -> RunResult:
        def execute() -> RunResult:
            lim = limits or RunLimits()
            uid = sandbox_uid_for_container()
            staged = stage(script, params, results_dir=results_dir, data_files=data_files, sandbox_uid=uid,
                           run_id=run_id, staging_dir=self.staging_dir)
            try:
                result = self._run_staged(staged, lim, on_output, env, uid, guard)
            finally:
                staged.finish()
            return complete(result)

        return governed_run(self, script, provenance=provenance, allow_weak_isolation=allow_weak_isolation,
                            guard=guard, run_id=run_id, execute=execute)

    def create_kwargs(self, staged: StagedRun, limits: RunLimits, env: dict[str, str], uid: int,
                      guard: bool = False) -> dict[str, Any]:
        """Everything the container is created with (the tests read this to check the limits)."""
        # local: the docker SDK (~0.1 s) loads only when a container runs
        from docker.types import LogConfig, Mount, Ulimit

        mounts = [Mount(m, m, type="bind", read_only=True) for m in self.host_mounts]
        mounts.append(Mount(SANDBOX_DIR, str(staged.sandbox_dir), type="bind", read_only=True))
        mounts.append(Mount(SANDBOX_RESULTS, str(staged.work_results), type="bind", read_only=False))
        for name, host in staged.data_files.items():
            mounts.append(Mount(f"{SANDBOX_DATA}/{name}", str(host), type="bind", read_only=True))
        deadline = time.time() + limits.timeout_s + DEADLINE_GRACE_S
        fsize = limits.output_mb * _MB
        return {
            "image": self.image,
            "command": launcher_argv(self.python, SANDBOX_DIR, limits, guard),
            "name": f"meta-agent-run-{staged.run_id}",
            "hostname": "sandbox",
            "user": f"{uid}:{uid}",
            "working_dir": SANDBOX_RESULTS,
            "environment": env,
            "mounts": mounts,
            "tmpfs": {"/tmp": "rw,nosuid,nodev,size=64m,mode=1777"},  # noqa: S108 — the container's own
            "read_only": True,
            "network_mode": "bridge" if limits.network else "none",
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "mem_limit": f"{limits.memory_mb}m",
            "memswap_limit": f"{limits.memory_mb}m",  # the same: no swap on top
            "pids_limit": limits.pids,
            "nano_cpus": int(limits.cpus * 1e9),
            "ulimits": [Ulimit(name="nproc", soft=4096, hard=4096),
                        Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
                        Ulimit(name="fsize", soft=fsize, hard=fsize),
                        Ulimit(name="core", soft=0, hard=0)],
            "log_config": LogConfig(type="none"),
            "labels": {LABEL: "1", LABEL_CALLER: caller_identity(), LABEL_RUN: staged.run_id,
                       LABEL_DEADLINE: f"{deadline:.0f}", LABEL_STAGING: str(staged.run_dir)},
            "stdin_open": False,
            "tty": False,
            "detach": True,
        }

    def _run_staged(self, staged: StagedRun, limits: RunLimits, on_output: OutputCallback | None,
                    extra_env: Mapping[str, str] | None, uid: int, guard: bool = False) -> RunResult:
        import docker  # local: the docker SDK (~0.1 s) loads only when a container runs

        env = sandbox_env(extra_env, params=SANDBOX_PARAMS, results=SANDBOX_RESULTS, data=SANDBOX_DATA,
                          tmp="/tmp")  # noqa: S108 — the container's own tmpfs
        kwargs = self.create_kwargs(staged, limits, env, uid, guard)
        collector = OutputCollector(on_output)
        where = "its container"
        t0 = time.perf_counter()
        container = None
        timed_out = output_limit_hit = False
        watch: _CgroupWatch | None = None
        state: dict[str, Any] = {}
        exit_code: int | None = None
        try:
            try:
                container = self.client.containers.create(**kwargs)
                stream = container.attach(stdout=True, stderr=True, stream=True, logs=False, demux=True)
                container.start()
            except docker.errors.APIError as exc:
                return self._error(staged, t0, f"The container engine refused to run the script: "
                                   f"{exc.explanation or exc}.")
            t_started = time.perf_counter()
            pump = threading.Thread(target=_pump, args=(stream, collector), daemon=True)
            pump.start()
            try:
                container.reload()
                watch = _CgroupWatch(int(container.attrs["State"].get("Pid") or 0), container.id)
                watch.start()
            except Exception:  # noqa: BLE001 — the container may already be gone; then no watch
                watch = None
            deadline = t0 + limits.timeout_s
            budget = limits.output_mb * _MB
            next_size_check = time.perf_counter() + 1.0
            while pump.is_alive():
                pump.join(timeout=0.05)
                now = time.perf_counter()
                if not pump.is_alive():
                    break
                if collector.report_at is not None and now - collector.report_at >= REPORT_GRACE_S:
                    # The launcher has reported and is exiting: Podman takes ~0.4 s more to
                    # close the attach stream; take the exit code from the report and remove.
                    break
                if now >= deadline:
                    timed_out = True
                elif now >= next_size_check:
                    next_size_check = now + 1.0
                    output_limit_hit = dir_size_bytes(staged.work_results, stop_after=budget) > budget
                if timed_out or output_limit_hit:
                    _kill(container)
                    pump.join(timeout=10)
                    break
            if collector.launcher_report is not None and not timed_out and not output_limit_hit:
                # The launcher reported how the script ended: no need for the engine's wait,
                # which Podman answers 0.2-0.6 s after the exit.
                exit_code = int(collector.launcher_report.get("exit_code", 0))
                if watch is not None:
                    watch.poll()
            else:
                try:
                    exit_code = int(container.wait(timeout=30).get("StatusCode"))
                    container.reload()
                    state = container.attrs.get("State", {})
                except Exception:  # noqa: BLE001 — the engine lost it: report what we have
                    state = {}
            duration = time.perf_counter() - t0
        except (docker.errors.DockerException, OSError) as exc:
            return self._error(staged, t0, f"The container engine failed during the run: {exc}.")
        finally:
            if watch is not None:
                watch.poll()
                watch.stop_event.set()
            if container is not None:
                _remove(container)
        collector.close()
        report = collector.launcher_report or {}
        stderr = collector.text("stderr")
        oom = bool(state.get("OOMKilled")) or bool(watch and watch.oom_kills) or (
            not timed_out and report.get("signal") == 9) or (
            not timed_out and exit_code == 137 and not report)
        if report.get("deadline_hit"):
            timed_out = True
        status, message = classify(exit_code=exit_code, timed_out=timed_out, oom_killed=oom,
                                   memory_error=bool(report.get("memory_error")), stderr=stderr, limits=limits,
                                   duration_s=duration, where=where, output_limit_hit=output_limit_hit)
        peaks = [v for v in (collector.peak_memory_mb(), (watch.peak_bytes / _MB) if watch and watch.peak_bytes
                             else None) if v is not None]
        return RunResult(
            status=status, exit_code=exit_code, duration_s=round(duration, 3),
            peak_memory_mb=round(max(peaks), 1) if peaks else None, stdout=collector.text("stdout"),
            stderr=stderr, runner=self.name, results_dir=str(staged.results_dir), message=message,
            isolation="container", run_id=staged.run_id, stdout_bytes=collector.bytes["stdout"],
            stderr_bytes=collector.bytes["stderr"],
            details={**staged.base_details(), "container_name": kwargs["name"], "container_id": container.id if container else None,
                     "image": self.image, "engine": self.engine.label, "user": kwargs["user"],
                     "network": kwargs["network_mode"], "limits": limits.__dict__, "launcher": report,
                     "oom_killed_flag": state.get("OOMKilled"), "cgroup_oom_kills": watch.oom_kills if watch else None,
                     "cgroup_peak_mb": round(watch.peak_bytes / _MB, 1) if watch and watch.peak_bytes else None,
                     "startup_s": round(t_started - t0, 3), "describe": self.describe()},
        )

    def _error(self, staged: StagedRun, t0: float, message: str) -> RunResult:
        return RunResult(status="error", exit_code=None, duration_s=round(time.perf_counter() - t0, 3),
                         peak_memory_mb=None, stdout="", stderr="", runner=self.name,
                         results_dir=str(staged.results_dir), message=message, isolation="container",
                         run_id=staged.run_id, details={**staged.base_details(), "image": self.image, "engine": self.engine.label})


def _pump(stream, collector: OutputCollector) -> None:
    try:
        for out, err in stream:
            if out:
                collector.feed("stdout", out)
            if err:
                collector.feed("stderr", err)
    except Exception:  # noqa: BLE001,S110 — the socket closes when the container is killed
        pass


def _kill(container) -> None:
    try:
        container.kill()
    except Exception:  # noqa: BLE001,S110 — it may have exited on its own meanwhile
        pass


def _remove(container, attempts: int = 5) -> None:
    import docker  # local: the docker SDK (~0.1 s) loads only when a container runs

    for i in range(attempts):
        try:
            container.remove(force=True)
            return
        except docker.errors.NotFound:
            return
        except Exception:  # noqa: BLE001 — "removal in progress" and friends: retry
            time.sleep(0.2 * (i + 1))


def container_exists(client, name: str) -> bool:
    import docker  # local: the docker SDK (~0.1 s) loads only when a container runs

    try:
        client.containers.get(name)
        return True
    except docker.errors.NotFound:
        return False
