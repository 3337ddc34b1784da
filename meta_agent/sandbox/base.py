"""The script-runner contract (docs/architecture.md): ``run(script, params, limits) -> RunResult``.

Runners: the container runner (Docker API; Docker Engine or Podman) is the security
boundary; the local runner (subprocess + rlimits, bwrap when installed) is the fallback,
and says so in every result. ``get_runner`` picks the best one the machine offers.

What a script sees inside the sandbox (the same in every runner that can remap paths —
the container and the local runner with bwrap; the plain-rlimits local runner gives host
paths through the same environment variables, so scripts must use the variables):

| variable                 | value in the sandbox       | what                                     |
|--------------------------|----------------------------|------------------------------------------|
| ``META_AGENT_PARAMS``    | ``/sandbox/params.json``   | the parameters, read-only                |
| ``META_AGENT_RESULTS_DIR`` | ``/results`` (also the cwd) | the only writable place; per run, fresh |
| ``META_AGENT_DATA_DIR``  | ``/data``                  | ``data_files`` by basename, read-only     |
| ``HOME``/``TMPDIR``      | ``/tmp``                   | small private scratch space               |

The script ends by writing ``result.json`` in the results directory (docs/architecture.md; the
script's side is ``meta_agent/tools/runtime.py``'s ``run_script``); the runner parses it into
``RunResult.result_json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from meta_agent.errors import InputError

# "refused": the run policy (policy.py) did not let this provenance run under this runner;
# nothing was started.
RunStatus = Literal["succeeded", "failed", "timeout", "out_of_memory", "error", "refused"]
Isolation = Literal["container", "local"]

# Called with ("stdout"|"stderr", line) for each line as it arrives (no trailing newline;
# lines longer than ``MAX_LINE_CHARS`` arrive in pieces).
OutputCallback = Callable[[str, str], None]

SANDBOX_DIR = "/sandbox"
SANDBOX_SCRIPT = "/sandbox/script.py"
SANDBOX_PARAMS = "/sandbox/params.json"
SANDBOX_RESULTS = "/results"
SANDBOX_DATA = "/data"
RESULT_JSON = "result.json"
MAX_LINE_CHARS = 8192


@dataclass(frozen=True)
class RunLimits:
    memory_mb: int = 512
    timeout_s: float = 300.0
    pids: int = 128  # processes + threads the script may have at once
    cpus: float = 1.0
    network: bool = False  # never true for generated scripts
    nofile: int = 1024  # open files
    output_mb: int = 256  # the largest file the script may write, and the results dir budget

    def __post_init__(self) -> None:
        for name in ("memory_mb", "pids", "nofile", "output_mb"):
            if int(getattr(self, name)) <= 0:
                raise InputError(f"limits.{name} must be a positive integer, got {getattr(self, name)!r}.")
        if self.memory_mb < 32:
            raise InputError(f"limits.memory_mb must be at least 32 (a Python interpreter needs it), got {self.memory_mb}.")
        if not self.timeout_s or self.timeout_s <= 0:
            raise InputError(f"limits.timeout_s must be a positive number of seconds, got {self.timeout_s!r}.")
        if self.cpus <= 0:
            raise InputError(f"limits.cpus must be positive, got {self.cpus!r}.")


@dataclass(frozen=True)
class OutputFile:
    path: str  # relative to the results directory
    size_bytes: int
    format: str  # csv | xlsx | pdf | json | png | txt | other


@dataclass
class RunResult:
    status: RunStatus
    exit_code: int | None
    duration_s: float
    peak_memory_mb: float | None
    stdout: str
    stderr: str
    outputs: list[OutputFile] = field(default_factory=list)
    runner: str = ""  # e.g. "container:podman 4.3.1", "local:bwrap", "local:rlimits"
    results_dir: str = ""
    message: str = ""  # one human sentence: what happened and, on failure, why
    result_json: dict[str, Any] | None = None  # the script's parsed result.json
    isolation: str = ""  # "container" | "local" — local is the weaker kind
    run_id: str = ""  # also the container name suffix / label
    stdout_bytes: int = 0  # everything the script printed (stdout/stderr keep head + tail)
    stderr_bytes: int = 0
    details: dict[str, Any] = field(default_factory=dict)  # container id, image, limits...

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ScriptRunner(Protocol):
    """Runs one script in isolation. ``data_files`` are mounted read-only under
    ``META_AGENT_DATA_DIR`` by basename; ``env`` adds non-secret variables (e.g. a data URL
    pointing into ``/data``). ``results_dir`` must be absent or empty: it is never shared.

    ``provenance`` (``template`` | ``llm`` | ``user``; default the most cautious) is who wrote
    the script: the run policy (``policy.decide``) refuses ``llm`` and ``user`` scripts under
    ``local:rlimits`` (status ``refused``, nothing started) unless ``allow_weak_isolation``.
    ``guard`` runs the script through the runtime guard (``meta_agent.tools.guard.run_path``)
    instead of ``runpy``. The decision is in ``details["policy"]``, the switch in ``details["guard"]``."""

    name: str
    isolation: Isolation

    def run(
        self,
        script: str | Path,
        params: Mapping[str, Any],
        limits: RunLimits | None = None,  # None: RunLimits() defaults
        *,
        results_dir: Path | None = None,
        data_files: tuple[Path, ...] = (),
        on_output: OutputCallback | None = None,
        env: Mapping[str, str] | None = None,
        run_id: str | None = None,
        provenance: str = "user",
        allow_weak_isolation: bool = False,
        guard: bool = False,
    ) -> RunResult: ...

    def describe(self) -> str:
        """One line for people: what this runner is and how strong its isolation is."""
        ...
