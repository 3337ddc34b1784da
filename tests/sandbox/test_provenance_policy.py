"""The run policy as a pure function: every provenance × every runner, with and without the
override, and malformed values (meta_agent.sandbox.policy; no runner is started here)."""

from __future__ import annotations

import pytest

from meta_agent.errors import InputError
from meta_agent.sandbox.policy import (
    MATRIX,
    PROVENANCES,
    RUNNER_KINDS,
    STRONGER_ISOLATION,
    Decision,
    Provenance,
    decide,
    matrix_rows,
    parse_provenance,
    provenance_of_author,
    runner_kind,
)

RUNNER_NAMES = {"container": "container:podman 4.3.1", "local:bwrap": "local:bwrap", "local:rlimits": "local:rlimits"}
# (provenance, runner kind) -> allowed without the override
EXPECTED = {
    ("template", "container"): True, ("llm", "container"): True, ("user", "container"): True,
    ("template", "local:bwrap"): True, ("llm", "local:bwrap"): True, ("user", "local:bwrap"): True,
    ("template", "local:rlimits"): True, ("llm", "local:rlimits"): False, ("user", "local:rlimits"): False,
}


def test_the_matrix_covers_three_provenances_by_three_runners():
    assert set(PROVENANCES) == {"template", "llm", "user"} and set(Provenance) == set(PROVENANCES)
    assert RUNNER_KINDS == ("container", "local:bwrap", "local:rlimits")
    assert {(p, k) for k in MATRIX for p in MATRIX[k]} == set(EXPECTED)
    assert all(MATRIX[k][p] is allowed for (p, k), allowed in EXPECTED.items())


@pytest.mark.parametrize("provenance,kind", list(EXPECTED))
def test_decide_without_the_override(provenance, kind):
    d = decide(provenance, RUNNER_NAMES[kind], allow_weak_isolation=False)
    assert isinstance(d, Decision)
    assert d.allowed is EXPECTED[(provenance, kind)]
    assert d.override_used is False
    assert d.provenance == provenance and d.runner == RUNNER_NAMES[kind]
    assert d.reason.endswith(".") and d.reason.count(". ") == 0, "one sentence"
    if d.allowed:
        assert "may run under" in d.reason
    else:
        assert f"{provenance} script" in d.reason and "local:rlimits" in d.reason
        assert STRONGER_ISOLATION in d.reason
        assert "install bubblewrap (apt-get install bubblewrap) or start a container engine " \
               "(scripts/container-engine.sh, or set DOCKER_HOST) — or pass --allow-weak-isolation" in d.reason


@pytest.mark.parametrize("provenance,kind", list(EXPECTED))
def test_decide_with_the_override(provenance, kind):
    d = decide(provenance, RUNNER_NAMES[kind], allow_weak_isolation=True)
    assert d.allowed is True
    # The override counts as used only where it changed the outcome.
    assert d.override_used is (not EXPECTED[(provenance, kind)])
    if d.override_used:
        assert "only because allow-weak-isolation was given" in d.reason


def test_decide_takes_the_enum_and_any_container_engine_label():
    assert decide(Provenance.LLM, "container:docker 27.1").allowed
    assert decide("LLM", "local:rlimits").allowed is False  # case-insensitive provenance
    assert decide(Provenance.USER, "container").allowed


@pytest.mark.parametrize("value", ["robot", "", None, 3, "templates"])
def test_an_unknown_provenance_is_an_input_error_naming_the_field_and_the_values(value):
    with pytest.raises(InputError) as exc:
        decide(value, "local:bwrap")
    assert "provenance" in str(exc.value) and "template, llm, user" in str(exc.value)
    with pytest.raises(InputError, match="provenance"):
        parse_provenance(value)


@pytest.mark.parametrize("value", ["local", "docker", "", None, "local:chroot"])
def test_an_unknown_runner_is_an_input_error(value):
    with pytest.raises(InputError, match=r"runner .* is not one of container\[:ENGINE\], local:bwrap, local:rlimits"):
        decide("template", value)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_override_must_be_a_boolean(value):
    with pytest.raises(InputError, match="allow_weak_isolation must be true or false"):
        decide("llm", "local:rlimits", value)


@pytest.mark.parametrize("author,expected", [("template", "template"), ("llm", "llm"), ("LLM", "llm"),
                                             ("user", "user"), ("someone", "user"), (None, "user"), ("", "user")])
def test_provenance_of_a_stored_script_author(author, expected):
    assert provenance_of_author(author) == expected


def test_runner_kind_and_matrix_rows_for_a_machine():
    assert runner_kind("container:podman 4.3.1") == "container"
    rows = matrix_rows({"container": False, "local:bwrap": True, "local:rlimits": True}, used="local:bwrap")
    assert [r["runner"] for r in rows] == list(RUNNER_KINDS)
    assert [r["used"] for r in rows] == [False, True, False]
    assert [r["available"] for r in rows] == [False, True, True]
    weakest = rows[2]
    assert weakest["template"] == "runs" and weakest["llm"].startswith("refused") and weakest["user"].startswith("refused")
    assert all(rows[i][p] == "runs" for i in (0, 1) for p in PROVENANCES)
    assert "available" not in matrix_rows()[0] and "used" not in matrix_rows()[0]
