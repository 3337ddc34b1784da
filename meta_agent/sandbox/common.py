"""What every runner shares: staging a run, streaming output, and naming how a run ended."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meta_agent.config import artifacts_dir
from meta_agent.errors import InputError
from meta_agent.sandbox.base import MAX_LINE_CHARS, OutputCallback, RunLimits, RunResult, RunStatus
from meta_agent.sandbox.launcher import GUARD_FLAG, MARKER
from meta_agent.sandbox.policy import check_flag, decide

LAUNCHER_SOURCE = Path(__file__).with_name("launcher.py")
SANDBOX_UID = 65534  # "nobody": the container user, and the local runner's fallback uid
HEAD_BYTES = 16 * 1024
TAIL_BYTES = 48 * 1024
DEADLINE_GRACE_S = 5.0  # the in-sandbox launcher's own deadline is this much after the runner's


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass
class StagedRun:
    """A run's private host directory: ``sandbox/`` (script, params, launcher; read-only to
    the script) and the per-run results directory (the only writable place)."""

    run_id: str
    run_dir: Path
    sandbox_dir: Path
    work_results: Path  # what the sandbox writes: <run_dir>/results
    results_dir: Path  # where the results end up (the caller's fresh directory)
    data_files: dict[str, Path] = field(default_factory=dict)  # basename -> host path
    script_sha256: str = ""
    started_at: str = ""  # UTC ISO timestamp

    def base_details(self) -> dict[str, Any]:
        return {"script_sha256": self.script_sha256, "started_at": self.started_at}

    def finish(self) -> None:
        """Hand the results to the caller (owner back to the caller, moved into
        ``results_dir``; symlinks stay symlinks and are never followed) and remove the staging."""
        take_back(self.work_results)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        if self.work_results.exists():
            for entry in sorted(self.work_results.iterdir()):
                shutil.move(str(entry), str(self.results_dir / entry.name))
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the staging directory (script, params, launcher, the emptied work dir)."""
        shutil.rmtree(self.run_dir, ignore_errors=True)


def governed_run(runner: Any, script: str | Path, *, provenance: str, allow_weak_isolation: bool, guard: bool,
                 run_id: str | None, execute: Callable[[], RunResult]) -> RunResult:
    """The one place every runner's ``run`` goes through: the run policy decides (``policy.decide``
    on the provenance and this runner) before anything is staged or started; a refusal is a
    ``refused`` result with the sentence, otherwise ``execute()`` runs the script. The decision
    and the guard switch are recorded in ``details["policy"]`` and ``details["guard"]``."""
    decision = decide(provenance, runner.name, allow_weak_isolation)
    check_flag(guard, "guard")
    record = {**decision.as_dict(), "allow_weak_isolation": allow_weak_isolation, "guard": guard}
    if not decision.allowed:
        source = _script_source(script)  # a missing file is still an input error, not a refusal
        return RunResult(status="refused", exit_code=None, duration_s=0.0, peak_memory_mb=None, stdout="",
                         stderr="", runner=runner.name, results_dir="", message=decision.reason,
                         isolation=runner.isolation, run_id=run_id or new_run_id(),
                         details={"script_sha256": hashlib.sha256(source.encode()).hexdigest(),
                                  "started_at": datetime.now(UTC).isoformat(), "policy": record,
                                  "guard": guard, "describe": runner.describe()})
    result = execute()
    result.details["policy"] = record
    result.details["guard"] = guard
    return result


def launcher_argv(python: str, sandbox_dir: str, limits: RunLimits, guard: bool) -> list[str]:
    """How every runner starts the in-sandbox launcher: ``_launcher.py SCRIPT DEADLINE [--guard]``."""
    argv = [python, f"{sandbox_dir}/_launcher.py", f"{sandbox_dir}/script.py", f"{limits.timeout_s + DEADLINE_GRACE_S:g}"]
    return [*argv, GUARD_FLAG] if guard else argv


def _script_source(script: str | Path) -> str:
    """``script`` is a path (a Path, or a one-line str ending in .py) or the source itself."""
    as_path = isinstance(script, Path) or ("\n" not in script and script.strip().endswith(".py"))
    if as_path:
        path = Path(script)
        if not path.is_file():
            raise InputError(f"Script file {path} does not exist: pass an existing .py file or the source text.")
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"Script file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    if not script.strip():
        raise InputError("The script is empty: pass a .py file or Python source text.")
    return script


def stage(script: str | Path, params: Mapping[str, Any], *, results_dir: Path | None,
          data_files: tuple[Path, ...] | list[Path], sandbox_uid: int | None,
          run_id: str | None = None, staging_dir: str | None = None) -> StagedRun:
    """Write the script, its params and the launcher into a fresh private directory (under
    ``staging_dir``, see ``staging_root``)."""
    source = _script_source(script)
    if not isinstance(params, Mapping):
        raise InputError(f"params must be a JSON object (a mapping), got {type(params).__name__}.")
    try:
        params_text = json.dumps(dict(params), allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InputError(f"params cannot be written as JSON: {exc}.") from exc
    data: dict[str, Path] = {}
    for f in data_files:
        p = Path(f).resolve()
        if not p.exists():
            raise InputError(f"Data file {f} does not exist: data_files must name existing files or directories.")
        if p.name in data:
            raise InputError(f"Two data files share the name {p.name!r}: the sandbox mounts them by basename.")
        data[p.name] = p
    run_id = run_id or new_run_id()
    run_dir = Path(tempfile.mkdtemp(prefix=f"meta-agent-run-{run_id}-", dir=staging_root(staging_dir)))
    os.chmod(run_dir, 0o711)  # noqa: S103 — traversable by the sandbox uid, not listable
    sandbox_dir = run_dir / "sandbox"
    sandbox_dir.mkdir()
    os.chmod(sandbox_dir, 0o755)  # noqa: S103 — read-only to the sandbox uid
    for name, text in (("script.py", source), ("params.json", params_text),
                       ("_launcher.py", LAUNCHER_SOURCE.read_text(encoding="utf-8"))):
        target = sandbox_dir / name
        target.write_text(text, encoding="utf-8")
        os.chmod(target, 0o644)
    results = Path(results_dir).resolve() if results_dir is not None else default_results_dir(run_id)
    if results_dir is not None:
        if results.exists() and (not results.is_dir() or any(results.iterdir())):
            shutil.rmtree(run_dir, ignore_errors=True)
            raise InputError(f"Results directory {results} is not empty: every run needs a fresh one "
                             "(results are never shared between runs).")
    results.mkdir(parents=True, exist_ok=True)
    work = run_dir / "results"
    work.mkdir()
    give_to_sandbox(work, sandbox_uid)
    return StagedRun(run_id=run_id, run_dir=run_dir, sandbox_dir=sandbox_dir, work_results=work,
                     results_dir=results, data_files=data,
                     script_sha256=hashlib.sha256(source.encode()).hexdigest(),
                     started_at=datetime.now(UTC).isoformat())


def default_results_dir(run_id: str) -> Path:
    """``<META_AGENT_ARTIFACTS>/sandbox/<run_id>``: a fresh directory per run."""
    return artifacts_dir() / "sandbox" / run_id


def _json_default(v: Any) -> Any:
    if isinstance(v, Path):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    raise TypeError(f"value {v!r} of type {type(v).__name__} is not JSON serializable")


def staging_root(staging_dir: str | None = None) -> str | None:
    """Where runs are staged: ``staging_dir`` (the sandbox resource's), else
    ``META_AGENT_SANDBOX_TMP`` (the command line's), else the system temp dir. When the
    caller itself runs in a container and talks to the host's engine (a DockerRunLauncher run
    container with the engine socket), this must be a directory mounted at the same path on
    the host and in the caller's container, because bind-mount sources are host paths."""
    root = staging_dir or os.environ.get("META_AGENT_SANDBOX_TMP")
    if root:
        Path(root).mkdir(parents=True, exist_ok=True)
    return root or None


def give_to_sandbox(path: Path, uid: int | None) -> None:
    """Make the work directory writable by the sandbox user and nobody else: chown to the
    sandbox uid when we are root, otherwise the sandbox runs as the caller (mode 0700). A root
    without CAP_CHOWN (inside a container) falls back to mode 0777 on this private directory."""
    if uid is not None and is_root() and uid != os.getuid():
        try:
            os.chown(path, uid, uid)
        except PermissionError:
            os.chmod(path, 0o777)  # noqa: S103 — inside the 0711 run dir with an unguessable name
            return
    os.chmod(path, 0o700)


def sandbox_uid_for_container() -> int:
    """The uid scripts run as in a container: ``nobody`` when we are root (rootful engine),
    else the caller's own uid (so the results directory needs no world-writable bits)."""
    return SANDBOX_UID if is_root() else os.getuid()


def take_back(path: Path) -> None:
    """Give the results back to the caller after the run (files were written by the sandbox uid)."""
    if not is_root() or not path.exists():
        return
    uid, gid = os.getuid(), os.getgid()
    for root, dirs, files in os.walk(path, followlinks=False):
        for name in [*dirs, *files]:
            try:
                os.lchown(os.path.join(root, name), uid, gid)
            except OSError:
                pass
    os.lchown(path, uid, gid)


class OutputCollector:
    """Splits byte chunks into lines, hands each line to ``on_output`` as it arrives, and
    keeps a bounded head and tail per stream (so a script printing gigabytes costs nothing)."""

    def __init__(self, on_output: OutputCallback | None):
        self.on_output = on_output
        self._lock = threading.Lock()
        self._partial = {"stdout": b"", "stderr": b""}
        self._head = {"stdout": bytearray(), "stderr": bytearray()}
        self._tail: dict[str, deque[bytes]] = {"stdout": deque(), "stderr": deque()}
        self._tail_size = {"stdout": 0, "stderr": 0}
        self.bytes = {"stdout": 0, "stderr": 0}
        self.lines = {"stdout": 0, "stderr": 0}
        self.dropped = {"stdout": 0, "stderr": 0}
        self.launcher_report: dict[str, Any] | None = None
        self.report_at: float | None = None  # perf_counter() when the launcher reported
        self.callback_errors = 0

    def feed(self, stream: str, chunk: bytes) -> None:
        if not chunk:
            return
        with self._lock:
            data = self._partial[stream] + chunk
            *complete, rest = data.split(b"\n")
            while len(rest) > MAX_LINE_CHARS:  # a line with no end: deliver it in pieces
                complete.append(rest[:MAX_LINE_CHARS])
                rest = rest[MAX_LINE_CHARS:]
            self._partial[stream] = rest
            for raw in complete:
                self._line(stream, raw)

    def close(self) -> None:
        with self._lock:
            for stream, rest in self._partial.items():
                if rest:
                    self._line(stream, rest)
                self._partial[stream] = b""

    def _line(self, stream: str, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace")
        if stream == "stderr" and MARKER in text:
            before, _, report = text.partition(MARKER)
            try:
                self.launcher_report = json.loads(report)
                self.report_at = time.perf_counter()
            except ValueError:
                pass
            if not before:
                return
            text, raw = before, before.encode()
        if len(text) > MAX_LINE_CHARS:
            for i in range(0, len(text), MAX_LINE_CHARS):
                self._store(stream, text[i:i + MAX_LINE_CHARS])
        else:
            self._store(stream, text)

    def _store(self, stream: str, text: str) -> None:
        data = text.encode() + b"\n"
        self.bytes[stream] += len(data)
        self.lines[stream] += 1
        head = self._head[stream]
        if len(head) < HEAD_BYTES:
            head += data
        else:
            tail = self._tail[stream]
            tail.append(data)
            self._tail_size[stream] += len(data)
            while self._tail_size[stream] > TAIL_BYTES and len(tail) > 1:
                self._tail_size[stream] -= len(tail.popleft())
                self.dropped[stream] += 1
        if self.on_output is not None:
            try:
                self.on_output(stream, text)
            except Exception:  # noqa: BLE001 — a broken log sink must not break the run
                self.callback_errors += 1

    def text(self, stream: str) -> str:
        with self._lock:
            head = bytes(self._head[stream]).decode("utf-8", errors="replace")
            tail = b"".join(self._tail[stream]).decode("utf-8", errors="replace")
            gap = self.dropped[stream]
        if gap:
            head += f"... [{gap} lines not kept; the full output went to the log as it arrived] ...\n"
        return head + tail

    def peak_memory_mb(self) -> float | None:
        rep = self.launcher_report or {}
        kb = rep.get("maxrss_kb")
        return round(kb / 1024, 1) if isinstance(kb, (int, float)) else None


def last_error_line(stderr: str) -> str:
    for line in reversed(stderr.strip().splitlines()):
        line = line.strip()
        if line and not line.startswith("^") and not line.startswith("File ") and line != "Traceback (most recent call last):":
            return line[:300]
    return ""


def hit_process_limit(stderr: str) -> bool:
    s = stderr.lower()
    return ("resource temporarily unavailable" in s or "blockingioerror" in s
            or "can't start new thread" in s or "cannot allocate memory" in s and "fork" in s)


def classify(*, exit_code: int | None, timed_out: bool, oom_killed: bool, memory_error: bool,
             stderr: str, limits: RunLimits, duration_s: float, where: str,
             cpu_limit_hit: bool = False, output_limit_hit: bool = False) -> tuple[RunStatus, str]:
    """The run's status and the one sentence a person reads."""
    if timed_out:
        return "timeout", (f"The script was stopped after the {limits.timeout_s:g} s wall-clock limit "
                           f"and {where} was removed.")
    if cpu_limit_hit:
        return "timeout", (f"The script used its CPU-time budget ({limits.timeout_s:g} s) and was "
                           f"killed with SIGXCPU in {where}.")
    if oom_killed:
        return "out_of_memory", (f"The script was killed for using more than its {limits.memory_mb} MB "
                                 f"memory limit (exit code {exit_code}, OOM-killed) in {where}.")
    if memory_error and exit_code != 0:
        return "out_of_memory", (f"The script ran out of memory: an allocation beyond its {limits.memory_mb} MB "
                                 f"limit failed (MemoryError, exit code {exit_code}) in {where}.")
    if output_limit_hit:
        return "failed", (f"The script wrote more than its {limits.output_mb} MB output budget and was "
                          f"stopped in {where}.")
    if exit_code == 0:
        return "succeeded", f"The script finished in {duration_s:.2f} s (exit code 0) in {where}."
    reason = last_error_line(stderr)
    if hit_process_limit(stderr):
        return "failed", (f"The script failed with exit code {exit_code} after {duration_s:.2f} s: it hit the "
                          f"limit of {limits.pids} processes/threads ({reason or 'fork refused'}).")
    if exit_code is not None and exit_code >= 128:
        try:
            signame = signal.Signals(exit_code - 128).name
        except ValueError:
            signame = f"signal {exit_code - 128}"
        return "failed", (f"The script was killed by {signame} (exit code {exit_code}) after "
                          f"{duration_s:.2f} s in {where}.")
    return "failed", (f"The script failed with exit code {exit_code} after {duration_s:.2f} s"
                      + (f": {reason}" if reason else "."))


def dir_size_bytes(path: Path, stop_after: int | None = None) -> int:
    total = 0
    stack = [str(path)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
                    if stop_after is not None and total > stop_after:
                        return total
        except OSError:
            continue
    return total


def sandbox_env(extra: Mapping[str, str] | None, *, params: str, results: str, data: str,
                tmp: str) -> dict[str, str]:
    """The whole environment of the script: nothing is inherited from the caller."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": tmp,
        "TMPDIR": tmp,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{tmp}/matplotlib",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_MAX_THREADS": "1",
        "POLARS_MAX_THREADS": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "META_AGENT_PARAMS": params,
        "META_AGENT_RESULTS_DIR": results,
        "META_AGENT_DATA_DIR": data,
        "META_AGENT_SANDBOX": "1",
    }
    for k, v in (extra or {}).items():
        if not isinstance(k, str) or not k or "=" in k or "\0" in k or not isinstance(v, str) or "\0" in v:
            raise InputError(f"env entry {k!r} is not a valid variable: names and values must be plain strings.")
        env[k] = v
    return env
