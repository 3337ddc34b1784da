"""The run policy and the guard switch, through real runners: the container on the engine,
``local:bwrap`` and ``local:rlimits`` (``LocalRunner(use_bwrap=False)``).

Each provenance × each runner is actually invoked: everything runs under the container and
bubblewrap; under rlimits a template script runs, llm and user scripts are refused before
anything starts (no staging, no process, no results directory) with the sentence naming
stronger isolation, and run with the override — recorded in ``details["policy"]``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from meta_agent.errors import InputError
from meta_agent.sandbox import RunLimits
from meta_agent.sandbox.common import LAUNCHER_SOURCE
from meta_agent.sandbox.launcher import GUARD_FLAG, GUARD_MODULE
from meta_agent.sandbox.policy import STRONGER_ISOLATION
from meta_agent.sandbox.records import keep_run, recent_runs


def kinds(*names: str) -> list:
    """Runner kinds as pytest params (as in test_sandbox_containment.py); the container one is marked."""
    return [pytest.param(n, marks=pytest.mark.container) if n == "container" else n for n in names]


ALL = kinds("container", "bwrap", "rlimits")
PROVENANCES = ("template", "llm", "user")
LIMITS = RunLimits(timeout_s=60)

# A script that proves it ran: it writes a marker file and result.json.
SCRIPT = textwrap.dedent("""\
    import json, os
    out = os.environ["META_AGENT_RESULTS_DIR"]
    open(os.path.join(out, "ran.txt"), "w").write("ran")
    json.dump({"status": "succeeded"}, open(os.path.join(out, "result.json"), "w"))
""")


def policy_of(res) -> dict:
    return res.details["policy"]


@pytest.mark.parametrize("runner", ALL, indirect=True)
@pytest.mark.parametrize("provenance", PROVENANCES)
def test_each_provenance_under_each_runner(runner, provenance, tmp_path):
    """Outcome: allowed everywhere except llm/user under rlimits; the decision is in details."""
    res = runner.run(SCRIPT, {}, LIMITS, results_dir=tmp_path / "r", provenance=provenance)
    refused = runner.name == "local:rlimits" and provenance != "template"
    pol = policy_of(res)
    assert pol["provenance"] == provenance and pol["runner"] == runner.name
    assert pol["allowed"] is (not refused) and pol["override_used"] is False
    assert pol["allow_weak_isolation"] is False and res.details["guard"] is False
    if refused:
        assert res.status == "refused" and res.exit_code is None and res.ok is False
        assert STRONGER_ISOLATION in res.message and res.message == pol["reason"]
        assert res.results_dir == "" and not (tmp_path / "r").exists(), "nothing may be staged or started"
        assert res.stdout == res.stderr == "" and res.outputs == []
        assert res.details["script_sha256"] and res.run_id
    else:
        assert res.status == "succeeded", (res.message, res.stderr[-1000:])
        assert (tmp_path / "r" / "ran.txt").read_text() == "ran"


@pytest.mark.parametrize("runner", ALL, indirect=True)
@pytest.mark.parametrize("provenance", PROVENANCES)
def test_each_provenance_under_each_runner_with_the_override(runner, provenance, tmp_path):
    """Outcome: everything runs; the override counts as used only for llm/user under rlimits."""
    res = runner.run(SCRIPT, {}, LIMITS, results_dir=tmp_path / "r", provenance=provenance,
                     allow_weak_isolation=True)
    assert res.status == "succeeded", (res.message, res.stderr[-1000:])
    pol = policy_of(res)
    assert pol["allowed"] is True and pol["allow_weak_isolation"] is True
    assert pol["override_used"] is (runner.name == "local:rlimits" and provenance != "template")
    assert (tmp_path / "r" / "ran.txt").read_text() == "ran"


def test_the_default_provenance_is_the_most_cautious(rlimits_runner, tmp_path):
    """Outcome: a caller that names no provenance is treated as ``user``: refused under rlimits."""
    res = rlimits_runner.run(SCRIPT, {}, LIMITS, results_dir=tmp_path / "r")
    assert res.status == "refused" and policy_of(res)["provenance"] == "user"


@pytest.mark.parametrize("runner", ALL, indirect=True)
def test_an_unknown_provenance_is_an_input_error_before_anything_runs(runner, tmp_path):
    with pytest.raises(InputError, match=r"provenance 'robot' is not one of template, llm, user"):
        runner.run(SCRIPT, {}, LIMITS, results_dir=tmp_path / "r", provenance="robot")
    with pytest.raises(InputError, match="allow_weak_isolation must be true or false"):
        runner.run(SCRIPT, {}, LIMITS, results_dir=tmp_path / "r2", provenance="llm", allow_weak_isolation="yes")
    with pytest.raises(InputError, match="guard must be true or false"):
        runner.run(SCRIPT, {}, LIMITS, results_dir=tmp_path / "r3", provenance="template", guard=1)
    assert not (tmp_path / "r").exists() and not (tmp_path / "r2").exists() and not (tmp_path / "r3").exists()


def test_a_refused_run_is_recorded_by_keep_run(rlimits_runner, tmp_path, migrated_url, monkeypatch):
    """Outcome: ``sandbox run --record``'s keep_run records a refusal (no files moved, none kept),
    with the decision in details — on SQLite and PostgreSQL."""
    monkeypatch.setenv("META_AGENT_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)  # an empty results_dir must never mean "the current directory"
    (tmp_path / "bystander.txt").write_text("stays")
    res = rlimits_runner.run(SCRIPT, {}, LIMITS, provenance="llm")
    row = keep_run(migrated_url, res)
    assert row["status"] == "refused" and row["artifacts"] == [] and (tmp_path / "bystander.txt").exists()
    stored = recent_runs(migrated_url, 5)[0]
    assert stored["status"] == "refused" and stored["message"] == res.message
    assert stored["details"]["policy"] == {**policy_of(res)} and stored["details"]["guard"] is False
    assert stored["details"]["policy"]["allowed"] is False and stored["details"]["policy"]["provenance"] == "llm"


# --------------------------------------------------------------------------- the guard switch
def _launch(tmp_path: Path, *extra: str, isolated: bool = False, env_dir: Path | None = None):
    """Run the launcher exactly as runners do (copied next to the script), outside any sandbox."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir(exist_ok=True)
    shutil.copy(LAUNCHER_SOURCE, sandbox / "_launcher.py")
    (sandbox / "script.py").write_text("import sys\nprint('script body ran')\nsys.exit(3)\n")
    flags = ["-E", "-s", "-S"] if isolated else []  # -S: no site-packages, so meta_agent cannot be imported
    return subprocess.run([sys.executable, *flags, str(sandbox / "_launcher.py"), str(sandbox / "script.py"), "30",
                           *extra], capture_output=True, text=True, timeout=60, cwd=env_dir or tmp_path)


def _report(stderr: str) -> dict:
    line = next(x for x in stderr.splitlines() if x.startswith("@@meta-agent-launcher@@ "))
    return json.loads(line.split(" ", 1)[1])


def test_the_launcher_runs_the_guard_module_named_by_guard_module(tmp_path):
    """Outcome: with --guard the child calls GUARD_MODULE.run_path(script) — here a stand-in
    module on the launcher's own path (stdlib only, -E -s -S) — and its SystemExit is the exit code."""
    pkg = tmp_path / "sandbox"
    pkg.mkdir()
    *parents, leaf = GUARD_MODULE.split(".")
    d = pkg
    for part in parents:
        d = d / part
        d.mkdir()
        (d / "__init__.py").write_text("")
    (d / f"{leaf}.py").write_text(textwrap.dedent("""\
        import sys
        def run_path(path):
            print("stand-in guard ran " + path.rsplit("/", 1)[-1])
            sys.exit(7)
    """))
    res = _launch(tmp_path, GUARD_FLAG, isolated=True)
    assert "stand-in guard ran script.py" in res.stdout and "script body ran" not in res.stdout
    assert res.returncode == 7 and _report(res.stderr) | {"exit_code": 7, "guard": True} == _report(res.stderr)
    plain = _launch(tmp_path, isolated=True)  # without the flag: runpy, the stand-in is never imported
    assert "script body ran" in plain.stdout and plain.returncode == 3 and _report(plain.stderr)["guard"] is False


def test_the_launcher_never_falls_back_to_an_unguarded_run(tmp_path):
    """Outcome: when the guard cannot be imported the child says so and exits 1; the script does not run."""
    res = _launch(tmp_path, GUARD_FLAG, isolated=True)
    assert res.returncode == 1 and "script body ran" not in res.stdout
    assert f"the runtime guard {GUARD_MODULE} cannot be loaded" in res.stderr
    assert "the script is not run without it" in res.stderr and _report(res.stderr)["guard"] is True


# Plain data and a pure builtin only: valid under the guard whatever its tool API offers.
GUARDED_SCRIPT = "total = sum([1, 2, 3])\nif total != 6:\n    raise ValueError('bad sum')\n"


@pytest.mark.parametrize("runner", ALL, indirect=True)
def test_guard_true_runs_the_script_through_the_real_guard(runner, tmp_path):
    """Outcome: every runner passes --guard to the launcher; the script runs under
    meta_agent.tools.guard (RestrictedPython) and the run says guard: true. A script the guard
    refuses (an import outside the tool API) fails instead of running unguarded."""
    guard_py = Path(__file__).resolve().parents[2] / "meta_agent" / "tools" / "guard.py"
    assert guard_py.is_file(), "meta_agent/tools/guard.py (the runtime guard) is missing"
    res = runner.run(GUARDED_SCRIPT, {}, LIMITS, results_dir=tmp_path / "r", provenance="template", guard=True)
    assert res.details["guard"] is True and policy_of(res)["guard"] is True
    assert res.details["launcher"].get("guard") is True
    assert res.status == "succeeded", (res.message, res.stderr[-2000:])
    bad = runner.run("import os\nos.system('id')\n", {}, LIMITS, results_dir=tmp_path / "b", provenance="template",
                     guard=True)
    assert bad.status == "failed" and bad.details["launcher"].get("guard") is True, bad.message
    plain = runner.run("import os\nprint(os.getpid() > 0)\n", {}, LIMITS, results_dir=tmp_path / "p",
                       provenance="template")
    assert plain.status == "succeeded" and plain.details["launcher"].get("guard") is False


@pytest.mark.container
def test_the_container_command_carries_the_guard_flag(container_runner, tmp_path):
    from meta_agent.sandbox.common import stage

    staged = stage("print(1)\n", {}, results_dir=tmp_path / "r", data_files=(), sandbox_uid=os.getuid())
    try:
        on = container_runner.create_kwargs(staged, LIMITS, {}, os.getuid(), guard=True)["command"]
        off = container_runner.create_kwargs(staged, LIMITS, {}, os.getuid())["command"]
    finally:
        staged.cleanup()
    assert on[-1] == GUARD_FLAG and on[:-1] == off and GUARD_FLAG not in off
