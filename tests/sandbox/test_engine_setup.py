"""The setup scripts as CI calls them: `X=$(script)` must return once the service answers.

A background server that inherits the command substitution's stdout keeps the caller waiting
for EOF forever — that hung CI for its whole 5400 s once. These tests start a second, private
Podman API service (its own socket directory) and PostgreSQL the way `.ci/run` does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_substituted(script: str, tmp_path: Path, env: dict | None = None, timeout: float = 90):
    """``bash -c 'x=$(script); echo "$x"'`` with output in files: a pipe held by a leaked
    background process would make ``subprocess.run`` itself wait past its timeout."""
    out, err = tmp_path / f"{Path(script).stem}.out", tmp_path / f"{Path(script).stem}.err"
    with out.open("w") as o, err.open("w") as e:
        code = subprocess.run(["bash", "-c", f'x=$({script}) && echo "$x"'], cwd=ROOT, env=env,
                              stdout=o, stderr=e, timeout=timeout).returncode
    return code, out.read_text(), err.read_text()


@pytest.fixture
def needs(unavailable):
    def check(tool: str) -> None:
        if shutil.which(tool) is None:
            unavailable(tool, f"{tool} is not installed")
    return check


@pytest.mark.container
def test_container_engine_script_returns_under_command_substitution(tmp_path: Path, needs) -> None:
    needs("podman")
    sock_dir = tmp_path / "engine"
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    env["META_AGENT_ENGINE_DIR"] = str(sock_dir)
    try:
        code, out, err = _run_substituted("scripts/container-engine.sh", tmp_path, env)
        assert code == 0, err
        assert out.strip() == f"unix://{sock_dir}/podman.sock"
        assert "starting podman system service" in err  # a new service, not a reused one
    finally:
        out = subprocess.run(["pgrep", "-f", f"podman system service --time=0 unix://{sock_dir}/"],
                             capture_output=True, text=True)
        for pid in out.stdout.split():
            os.kill(int(pid), signal.SIGTERM)


@pytest.mark.postgres
def test_pg_setup_script_returns_under_command_substitution(tmp_path: Path, needs) -> None:
    needs("pg_lsclusters")
    code, out, err = _run_substituted("scripts/pg-test-setup.sh", tmp_path, timeout=120)
    assert code == 0, err
    assert out.strip().startswith("postgresql")
