"""Resource exhaustion that only the sandbox can stop: each script here is statically VALID
(the validator cannot know a size that comes from the parameters or a loop that never ends)
and runs under the guard, so only the sandbox's limits end it — memory, wall clock, and
Python's own recursion limit (which the script language cannot raise: no sys)."""

from __future__ import annotations

import pytest

from meta_agent.sandbox import RunLimits
from meta_agent.scriptgen.validator import validate_script

LIMITS = RunLimits(memory_mb=128, timeout_s=5)

MEMORY_BOMB = '''"""Allocate a list whose size comes from the parameters."""

from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "allocate")
    n = params.get("n", 10)
    zeros = [0] * n
    log("%d zeros", len(zeros))
    return [], None


run_script(run, steps=1)
'''

GROWING_LOOP = '''"""An endless loop that keeps allocating a little."""

from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "loop")
    rows = []
    while True:
        rows.append({"n": len(rows)})
        if len(rows) > 1000:
            rows = rows[:1]
    return rows, None


run_script(run, steps=1)
'''

DEEP_RECURSION = '''"""Recursion without a base case the parameters reach."""

from meta_agent.tools import run_script, step


def depth(n):
    return depth(n + 1) + 1


def run(params, result):
    step(1, "recurse")
    return [{"depth": depth(0)}], None


run_script(run, steps=1)
'''


@pytest.mark.parametrize("source", [MEMORY_BOMB, GROWING_LOOP, DEEP_RECURSION], ids=["memory", "loop", "recursion"])
def test_these_scripts_are_statically_valid(source):
    report = validate_script(source)
    assert report.valid, report.render()


def run(runner, source, tmp_path, params):
    script = tmp_path / "script.py"
    script.write_text(source, encoding="utf-8")
    return runner.run(script, params, LIMITS, results_dir=tmp_path / "results", provenance="llm",
                      allow_weak_isolation=True, guard=True)


def test_a_memory_bomb_sized_by_the_parameters_is_stopped_by_the_memory_limit(local_runner, tmp_path):
    """run_script lets MemoryError through, so the launcher flags it and the run is out_of_memory."""
    res = run(local_runner, MEMORY_BOMB, tmp_path, {"n": 2_000_000_000})
    assert res.peak_memory_mb is None or res.peak_memory_mb < LIMITS.memory_mb + 64
    assert res.status == "out_of_memory", (res.status, res.message, res.stderr[-1500:])
    assert "MemoryError" in res.stderr


def test_an_endless_loop_is_stopped_by_the_timeout(local_runner, tmp_path):
    res = run(local_runner, GROWING_LOOP, tmp_path, {})
    assert res.status == "timeout", (res.status, res.message, res.stderr[-1500:])
    assert res.duration_s < LIMITS.timeout_s + 10


def test_deep_recursion_fails_with_recursion_error(local_runner, tmp_path):
    res = run(local_runner, DEEP_RECURSION, tmp_path, {})
    assert res.status == "failed", (res.status, res.message, res.stderr[-1500:])
    assert res.result_json is not None and res.result_json["status"] == "failed"
    assert res.result_json["error"].startswith("RecursionError")


def test_the_same_memory_script_succeeds_with_a_small_size(local_runner, tmp_path):
    res = run(local_runner, MEMORY_BOMB, tmp_path, {"n": 1000})
    assert res.status == "succeeded", (res.status, res.message, res.stderr[-1500:])
    assert res.result_json["status"] == "succeeded"
