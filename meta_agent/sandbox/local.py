"""The local runner: a subprocess with rlimits, a timeout and — when installed — bubblewrap.

The fallback where no container engine answers. It is weaker than a container and every
result says so (``isolation="local"``, ``runner="local:bwrap"`` or ``"local:rlimits"``).

With ``bwrap`` the script sees only /usr, the Python installation and the project package
(read-only), its own /sandbox (read-only), /results (writable), /data (read-only) and a
small /tmp; it has no network (``--unshare-net``), its own pid/ipc/uts namespaces, no
capabilities, and — when the caller is root — its own unprivileged uid (so ``RLIMIT_NPROC``
binds and the host's root-only files stay closed). Without bwrap it is a plain subprocess
with rlimits and a cleared environment: the network and world-readable host files stay
reachable. docs/isolation.md lists what the local runner does not protect against.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import meta_agent
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
    OutputCollector,
    StagedRun,
    classify,
    dir_size_bytes,
    governed_run,
    is_root,
    launcher_argv,
    sandbox_env,
    stage,
)
from meta_agent.sandbox.results import complete

_MB = 1024 * 1024
_UID_BASE = 200_000  # per-run uids for the local runner when the caller is root
_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def python_mounts() -> list[Path]:
    """Host directories a sandboxed Python needs: the interpreter prefix, the venv and the
    project package when installed in editable mode (never the repo root: it holds the ops DB)."""
    paths = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()]
    pkg = Path(meta_agent.__file__).resolve().parent
    if not any(pkg.is_relative_to(p) for p in paths):
        paths.append(pkg)
    out: list[Path] = []
    for p in sorted(set(paths), key=lambda x: (len(x.parts), str(x))):  # stable: the image digest uses it
        if not any(p.is_relative_to(q) for q in out) and not any(p.is_relative_to(s) for s in _SYSTEM_DIRS):
            out.append(p)
    return out


_SYSTEM_DIRS = [Path("/usr")]


def _world_traversable(path: Path) -> bool:
    for p in [path, *path.parents]:
        try:
            if not os.stat(p).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _allocate_uid() -> int:
    """A uid no live process uses, for one run (released by ``_release_uid``)."""
    with _uid_lock:
        live = _live_uids()
        for _ in range(1000):
            uid = _UID_BASE + secrets.randbelow(60_000)
            if uid not in _uids_in_use and uid not in live:
                _uids_in_use.add(uid)
                return uid
    raise ConfigError("Could not find a free uid for the local sandbox.")


def _release_uid(uid: int) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


def _live_uids() -> set[int]:
    uids: set[int] = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                uids.add(os.stat(entry.path).st_uid)
            except OSError:
                continue
    return uids


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (kill(-1) from a helper running as that uid: the
    kernel walks all processes at once, so a fork bomb cannot outrun it)."""
    for _ in range(3):
        pid = os.fork()
        if pid == 0:  # pragma: no cover — the child only calls async-signal-safe things
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            except BaseException:  # noqa: BLE001,S110
                pass
            os._exit(0)
        os.waitpid(pid, 0)
        if uid not in _live_uids():
            return


def _no_new_privs() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except Exception:  # noqa: BLE001,S110 — best effort; bwrap sets it anyway
        pass


class LocalRunner:
    """Runs a script as a local subprocess; see the module docstring for what it isolates."""

    isolation = "local"

    def __init__(self, use_bwrap: bool | None = None, python: str | None = None, staging_dir: str | None = None):
        bwrap = shutil.which("bwrap") if use_bwrap is not False else None
        if use_bwrap is True and not bwrap:
            raise ConfigError("bwrap is not installed: apt-get install bubblewrap, or use the plain local runner.")
        self.bwrap = bwrap if bwrap and (use_bwrap is True or _bwrap_works(bwrap)) else None
        if use_bwrap is True and not self.bwrap:
            raise ConfigError("bwrap is installed but cannot create namespaces here.")
        self.python = python or sys.executable
        self.staging_dir = staging_dir
        self.setpriv = shutil.which("setpriv")
        self.mounts = python_mounts()
        self.name = "local:bwrap" if self.bwrap else "local:rlimits"
        root = is_root()
        # A separate uid per run when we can: RLIMIT_NPROC is not enforced for root.
        if self.bwrap:
            self.drop_uid = root and bool(self.setpriv)
        else:
            self.drop_uid = root and all(_world_traversable(p) for p in self.mounts)

    def describe(self) -> str:
        if self.bwrap:
            who = "its own unprivileged uid" if self.drop_uid else "the caller's uid without capabilities"
            return ("local runner with bubblewrap: no network, private /tmp, read-only system, only "
                    f"/results writable, runs as {who}; weaker than a container (no memory cgroup, "
                    "shared kernel and uid space).")
        who = "its own uid" if self.drop_uid else "the caller's uid"
        return ("local runner with rlimits only (bwrap not available): no filesystem or network "
                f"isolation, runs as {who}; the weakest kind — use a container engine.")

    # ------------------------------------------------------------------ run
    def run(self, script: str | Path, params: Mapping[str, Any], limits: RunLimits | None = None, *,
            results_dir: Path | None = None, data_files: tuple[Path, ...] = (),
            on_output: OutputCallback | None = None, env: Mapping[str, str] | None = None,
            run_id: str | None = None, provenance: str = "user", allow_weak_isolation: bool = False,
            guard: bool = False) -> RunResult:
        def execute() -> RunResult:
            lim = limits or RunLimits()
            uid = _allocate_uid() if self.drop_uid else None
            try:
                staged = stage(script, params, results_dir=results_dir, data_files=data_files,
                               sandbox_uid=uid, run_id=run_id, staging_dir=self.staging_dir)
                try:
                    result = self._run_staged(staged, lim, on_output, env, uid, guard)
                finally:
                    staged.finish()
                return complete(result)
            finally:
                if uid is not None:
                    _release_uid(uid)

        return governed_run(self, script, provenance=provenance, allow_weak_isolation=allow_weak_isolation,
                            guard=guard, run_id=run_id, execute=execute)

    def _run_staged(self, staged: StagedRun, limits: RunLimits, on_output: OutputCallback | None,
                    extra_env: Mapping[str, str] | None, uid: int | None, guard: bool = False) -> RunResult:
        if self.bwrap:
            env = sandbox_env(extra_env, params=SANDBOX_PARAMS, results=SANDBOX_RESULTS,
                              data=SANDBOX_DATA, tmp="/tmp")  # noqa: S108 — the sandbox's own tmpfs
            argv = self._bwrap_argv(staged, limits, env, uid, guard)
            popen_env: dict[str, str] = {"PATH": "/usr/bin:/bin"}
            cwd = "/"
        else:
            data_dir = staged.run_dir / "data"
            data_dir.mkdir()
            for name, host in staged.data_files.items():
                (data_dir / name).symlink_to(host)
            tmp = staged.run_dir / "tmp"
            tmp.mkdir(mode=0o700)
            if uid is not None:
                os.chown(tmp, uid, uid)
            env = sandbox_env(extra_env, params=str(staged.sandbox_dir / "params.json"),
                              results=str(staged.work_results), data=str(data_dir), tmp=str(tmp))
            argv = launcher_argv(self.python, str(staged.sandbox_dir), limits, guard)
            popen_env = env
            cwd = str(staged.work_results)

        preexec = self._preexec(limits, uid, drop_in_preexec=not self.bwrap and uid is not None)
        collector = OutputCollector(on_output)
        where = "the bwrap sandbox" if self.bwrap else "the local subprocess"
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=popen_env, cwd=cwd,
                                    preexec_fn=preexec, start_new_session=True, close_fds=True)
        except OSError as exc:
            return self._error(staged, f"The local runner could not start the script: {exc}.", t0)
        readers = [threading.Thread(target=_pump, args=(proc.stdout, "stdout", collector), daemon=True),
                   threading.Thread(target=_pump, args=(proc.stderr, "stderr", collector), daemon=True)]
        for r in readers:
            r.start()
        timed_out = output_limit_hit = False
        deadline = t0 + limits.timeout_s
        next_size_check = t0 + 1.0
        budget = limits.output_mb * _MB
        while True:
            try:
                proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                now = time.perf_counter()
                if now >= deadline:
                    timed_out = True
                elif now >= next_size_check:
                    next_size_check = now + 1.0
                    output_limit_hit = dir_size_bytes(staged.work_results, stop_after=budget) > budget
                if timed_out or output_limit_hit:
                    self._kill(proc, uid)
                    proc.wait()
                    break
        duration = time.perf_counter() - t0
        if uid is not None:
            _kill_uid(uid)  # anything the script left running in the background
        for r in readers:
            r.join(timeout=5)
        collector.close()
        report = collector.launcher_report or {}
        exit_code = report.get("exit_code", proc.returncode) if not timed_out else proc.returncode
        if exit_code is not None and exit_code < 0:
            exit_code = 128 - exit_code
        stderr = collector.text("stderr")
        cpu_hit = report.get("signal") == signal.SIGXCPU
        status, message = classify(
            exit_code=exit_code, timed_out=timed_out, oom_killed=False,
            memory_error=bool(report.get("memory_error")), stderr=stderr, limits=limits,
            duration_s=duration, where=where, cpu_limit_hit=cpu_hit, output_limit_hit=output_limit_hit)
        if timed_out:
            message = message.replace(f"and {where} was removed", f"and every process of {where} was killed")
        if proc.returncode not in (0, None) and not report and not timed_out and status == "failed":
            status = "error"
            message = (f"The local runner could not run the script (exit code {proc.returncode}): "
                       f"{stderr.strip().splitlines()[-1] if stderr.strip() else 'no output'}.")
        return RunResult(
            status=status, exit_code=exit_code, duration_s=round(duration, 3),
            peak_memory_mb=collector.peak_memory_mb(), stdout=collector.text("stdout"), stderr=stderr,
            outputs=[], runner=self.name, results_dir=str(staged.results_dir), message=message,
            isolation="local", run_id=staged.run_id, stdout_bytes=collector.bytes["stdout"],
            stderr_bytes=collector.bytes["stderr"],
            details={**staged.base_details(), "uid": uid if uid is not None else os.getuid(), "bwrap": bool(self.bwrap),
                     "network": "none" if self.bwrap and not limits.network else "host",
                     "limits": limits.__dict__, "launcher": report, "describe": self.describe()},
        )

    def _error(self, staged: StagedRun, message: str, t0: float) -> RunResult:
        return RunResult(status="error", exit_code=None, duration_s=round(time.perf_counter() - t0, 3),
                         peak_memory_mb=None, stdout="", stderr="", runner=self.name,
                         results_dir=str(staged.results_dir), message=message, isolation="local",
                         run_id=staged.run_id)

    def _kill(self, proc: subprocess.Popen, uid: int | None) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if uid is not None:
            _kill_uid(uid)

    def _preexec(self, limits: RunLimits, uid: int | None, drop_in_preexec: bool):
        mem = limits.memory_mb * _MB
        cpu = max(1, math.ceil(limits.timeout_s)) + 1
        nproc = limits.pids
        if uid is None and not is_root():
            # Not root: RLIMIT_NPROC counts all of the caller's processes, so leave room for them.
            nproc = limits.pids + _count_processes(os.getuid())
        fsize = limits.output_mb * _MB
        nofile = limits.nofile

        def preexec() -> None:  # runs in the child between fork and exec
            resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
            resource.setrlimit(resource.RLIMIT_AS, (mem + 1024 * _MB, mem + 1024 * _MB))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            if drop_in_preexec and uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            _no_new_privs()

        return preexec

    def _bwrap_argv(self, staged: StagedRun, limits: RunLimits, env: dict[str, str],
                    uid: int | None, guard: bool = False) -> list[str]:
        argv = [self.bwrap or "bwrap"]
        argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not limits.network:
            argv += ["--unshare-net"]
        argv += ["--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox"]
        if uid is not None:  # root: keep just enough to switch to the run uid, then setpriv drops all
            argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        dirs: set[str] = set()

        def parents(target: str) -> None:
            for p in reversed(Path(target).parents):
                s = str(p)
                if s != "/" and s not in dirs:
                    dirs.add(s)
                    argv.extend(["--perms", "0755", "--dir", s])

        argv += ["--ro-bind", "/usr", "/usr"]
        for d in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / d
            if host.is_symlink():
                argv += ["--symlink", os.readlink(host), str(host)]
            elif host.is_dir():
                argv += ["--ro-bind", str(host), str(host)]
        argv += ["--proc", "/proc", "--dev", "/dev"]
        # The private /tmp comes before the host mounts: a checkout (and its .venv) under /tmp
        # is then bound on top of the tmpfs instead of being hidden by it.
        argv += ["--perms", "01777", "--size", str(64 * _MB), "--tmpfs", "/tmp"]  # noqa: S108 — its own tmpfs
        dirs.add("/tmp")  # noqa: S108
        for m in self.mounts:
            parents(str(m))
            argv += ["--ro-bind", str(m), str(m)]
        argv += ["--ro-bind", str(staged.sandbox_dir), SANDBOX_DIR]
        argv += ["--bind", str(staged.work_results), SANDBOX_RESULTS]
        argv += ["--perms", "0755", "--dir", SANDBOX_DATA]
        for name, host in staged.data_files.items():
            argv += ["--ro-bind", str(host), f"{SANDBOX_DATA}/{name}"]
        argv += ["--remount-ro", "/"]
        argv += ["--chdir", SANDBOX_RESULTS]
        for k, v in env.items():
            argv += ["--setenv", k, v]
        if uid is not None:
            argv += [self.setpriv or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                     "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
        argv += launcher_argv(self.python, SANDBOX_DIR, limits, guard)
        return argv


def _pump(pipe, stream: str, collector: OutputCollector) -> None:
    fd = pipe.fileno()
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            collector.feed(stream, chunk)
    except OSError:
        pass
    finally:
        pipe.close()


def _count_processes(uid: int) -> int:
    n = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.stat(entry.path).st_uid == uid:
                    n += 1
            except OSError:
                continue
    return n


_bwrap_ok: dict[str, bool] = {}


def _bwrap_works(bwrap: str) -> bool:
    """bwrap can be installed but unusable (no user namespaces, seccomp): try it once."""
    if bwrap not in _bwrap_ok:
        try:
            r = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--dev", "/dev",
                                "--proc", "/proc", "true"], capture_output=True, timeout=10)
            _bwrap_ok[bwrap] = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _bwrap_ok[bwrap] = False
    return _bwrap_ok[bwrap]
