"""The script-runner contract (DESIGN.md): ``run(script, params, limits) -> RunResult``.

Runners: the container runner (Docker API; Docker Engine or Podman) is the security
boundary; the local runner (subprocess + rlimits, bwrap when installed) is the fallback,
and says so in every result. ``get_runner`` picks the best one the machine offers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

RunStatus = Literal["succeeded", "failed", "timeout", "out_of_memory", "error"]

# Called with ("stdout"|"stderr", line) for each line as it arrives.
OutputCallback = Callable[[str, str], None]


@dataclass(frozen=True)
class RunLimits:
    memory_mb: int = 512
    timeout_s: float = 300.0
    pids: int = 128
    cpus: float = 1.0
    network: bool = False  # never true for generated scripts


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
    runner: str = ""  # e.g. "container:podman 4.3", "local:bwrap", "local:rlimits"
    results_dir: str = ""
    message: str = ""  # one human sentence: what happened and, on failure, why
    result_json: dict[str, Any] | None = None  # the script's parsed result.json

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ScriptRunner(Protocol):
    """Runs one script in isolation. ``data_files`` are mounted read-only for the script."""

    name: str
    isolation: Literal["container", "local"]

    def run(
        self,
        script: str | Path,
        params: dict[str, Any],
        limits: RunLimits = RunLimits(),
        *,
        results_dir: Path | None = None,
        data_files: tuple[Path, ...] = (),
        on_output: OutputCallback | None = None,
    ) -> RunResult: ...
