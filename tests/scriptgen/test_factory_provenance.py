"""The script factory's run policy, on SQLite and PostgreSQL: ``run_script`` passes the stored
script's provenance (author ``template`` -> template, ``llm`` -> llm, else user) and
``guard=True``; under local:rlimits an llm-written script is refused — the request shows
``refused`` with the sentence, the decision is stored with the run, nothing is lost — and
runs with allow_weak_isolation (the sandbox resource's, or the request's own from
``meta-agent request --allow-weak-isolation``). The ``script_run`` asset materializes a
refusal as ``outcome=refused``, not a failed step."""

from __future__ import annotations

import dagster as dg
import pytest

from meta_agent.errors import InputError
from meta_agent.sandbox.local import LocalRunner
from meta_agent.sandbox.policy import STRONGER_ISOLATION
from meta_agent.scriptgen import factory
from meta_agent.scriptgen import repository as repo
from meta_agent.scriptgen.generator import render
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_scripts import scripts
from meta_agent_defs.partitions import script_request_partitions
from meta_agent_defs.resources import RunnerKind, SandboxResource
from meta_agent_defs.script_factory.assets import script_run


class TemplateAsModel:
    """Stands in for the model: writes the (valid) template script, so it is stored as ``llm``."""

    def write(self, req):
        return render(req)


@pytest.fixture(scope="module")
def rlimits():
    return LocalRunner(use_bwrap=False)


def generated(engine, text="DSCR for all properties", *, author="template", source="test", metadata=None):
    with engine.begin() as conn:
        rid = repo.submit_request(conn, text, source=source, metadata=metadata)["request_id"]
    factory.plan_request(engine, rid)
    gen = factory.generate_script(engine, rid, author=author, writer=TemplateAsModel() if author == "llm" else None)
    assert gen.valid and gen.author == author, gen.report.summary()
    return rid


def stored(engine, rid):
    with engine.connect() as conn:
        return repo.get_request(conn, rid), repo.read_run(conn, rid), factory.describe_request(conn, rid)


def test_an_llm_script_under_rlimits_is_refused_and_recorded(factory_env, rlimits):
    engine = engine_for(factory_env)
    rid = generated(engine, author="llm")
    run = factory.run_script(engine, rid, rlimits)
    assert run.status == "refused" and run.refused and not run.ok
    assert run.provenance == "llm" and run.guard is True and STRONGER_ISOLATION in run.message
    assert run.policy["allowed"] is False and run.policy["override_used"] is False and run.policy["guard"] is True
    req, row, described = stored(engine, rid)
    assert req["status"] == "refused" and req["message"] == run.message
    assert row["status"] == "refused" and row["runner"] == "local:rlimits" and row["exit_code"] is None
    assert row["policy"] == run.policy and row["result"] is None and row["outputs"] == []
    assert described["status"] == "refused" and described["run"]["policy"]["provenance"] == "llm"
    assert described["script"]["author"] == "llm"  # nothing is lost: the script stays stored
    with engine.connect() as conn:
        assert repo.library(conn) == []  # a refused script never enters the library


def test_the_refused_request_runs_with_the_override_and_says_so(factory_env, rlimits):
    engine = engine_for(factory_env)
    rid = generated(engine, author="llm")
    assert factory.run_script(engine, rid, rlimits).refused
    run = factory.run_script(engine, rid, rlimits, allow_weak_isolation=True)
    assert run.status == "succeeded", (run.message, run.stderr_tail[-2000:])
    assert run.policy["override_used"] is True and run.policy["allow_weak_isolation"] is True
    req, row, _ = stored(engine, rid)
    assert req["status"] == "succeeded" and row["policy"]["override_used"] is True
    assert row["result"]["status"] == "succeeded" and repo.POLICY_KEY not in row["result"]


def test_a_template_script_runs_under_rlimits_through_the_guard(factory_env, rlimits):
    engine = engine_for(factory_env)
    rid = generated(engine, "NOI for all properties as CSV")
    run = factory.run_script(engine, rid, rlimits)
    assert run.status == "succeeded", (run.message, run.stderr_tail[-2000:])
    assert run.provenance == "template" and run.guard is True
    assert run.policy == {**run.policy, "allowed": True, "override_used": False, "runner": "local:rlimits"}
    _, row, _ = stored(engine, rid)
    assert row["policy"] == run.policy


def test_an_llm_script_under_bwrap_runs_without_the_override(factory_env, bwrap_runner_for_factory):
    engine = engine_for(factory_env)
    rid = generated(engine, author="llm")
    run = factory.run_script(engine, rid, bwrap_runner_for_factory)
    assert run.status == "succeeded", (run.message, run.stderr_tail[-2000:])
    assert run.policy["allowed"] and not run.policy["override_used"] and run.policy["runner"] == "local:bwrap"


@pytest.fixture
def bwrap_runner_for_factory(unavailable):
    from meta_agent.errors import ConfigError

    try:
        return LocalRunner(use_bwrap=True)
    except ConfigError as exc:
        unavailable("bubblewrap", f"bubblewrap cannot run here: {exc}")


def test_an_unknown_author_is_treated_as_a_user_script(factory_env, rlimits):
    engine = engine_for(factory_env)
    rid = generated(engine)
    with engine.begin() as conn:
        gen = repo.read_generation(conn, rid)
        conn.execute(scripts.update().where(scripts.c.script_id == gen["script_id"]).values(author="upload"))
    run = factory.run_script(engine, rid, rlimits)
    assert run.refused and run.provenance == "user" and run.message.startswith("A user script")


def test_the_requests_own_override_counts_only_from_the_command_line(factory_env, rlimits):
    engine = engine_for(factory_env)
    from_cli = generated(engine, author="llm", source="cli", metadata={"allow_weak_isolation": True})
    run = factory.run_script(engine, from_cli, rlimits)
    assert run.status == "succeeded" and run.policy["override_used"] is True, run.message
    dropped = generated(engine, "NPV for all properties at 8%", author="llm", source="drop_folder",
                        metadata={"allow_weak_isolation": True})
    assert factory.run_script(engine, dropped, rlimits).refused  # a dropped file cannot allow itself


def test_malformed_override_values_are_input_errors(factory_env, rlimits):
    engine = engine_for(factory_env)
    rid = generated(engine, author="llm")
    with pytest.raises(InputError, match="allow_weak_isolation must be true or false"):
        factory.run_script(engine, rid, rlimits, allow_weak_isolation="yes")
    with pytest.raises(InputError, match=r"META_AGENT_ALLOW_WEAK_ISOLATION.*'maybe' is not true or false"):
        SandboxResource(allow_weak_isolation="maybe").weak_isolation_allowed()
    assert SandboxResource().weak_isolation_allowed() is False
    assert SandboxResource(allow_weak_isolation="TRUE").weak_isolation_allowed() is True


def test_the_sandbox_resource_reads_the_override_from_its_env_var(monkeypatch):
    monkeypatch.setenv("META_AGENT_ALLOW_WEAK_ISOLATION", "true")

    @dg.asset
    def probe(sandbox: SandboxResource) -> bool:
        return sandbox.weak_isolation_allowed()

    res = dg.materialize([probe], resources={
        "sandbox": SandboxResource(allow_weak_isolation=dg.EnvVar("META_AGENT_ALLOW_WEAK_ISOLATION"))})
    assert res.output_for_node("probe") is True


# ------------------------------------------------------------------------------ Dagster
@pytest.fixture
def no_bwrap(tmp_path, monkeypatch):
    """No bubblewrap on PATH: the sandbox resource's local runner is local:rlimits."""
    empty = tmp_path / "no-bwrap"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def materialize_run(rid, resources):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(script_request_partitions.name, [rid])
    return dg.materialize([script_run], partition_key=rid, resources=resources, instance=instance,
                          raise_on_error=False)


def run_metadata(result):
    (ev,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in ev.materialization.metadata.items()}


@pytest.mark.parametrize("allow", ["false", "true"])
def test_script_run_asset_shows_the_decision(factory_env, tmp_path, make_resources, no_bwrap, allow):
    engine = engine_for(factory_env)
    rid = generated(engine, author="llm")
    resources = make_resources(factory_env, tmp_path,
                               sandbox=SandboxResource(runner=RunnerKind.LOCAL, allow_weak_isolation=allow))
    result = materialize_run(rid, resources)
    assert result.success, "a refusal is an outcome, not a failed step"
    md = run_metadata(result)
    assert md["provenance"] == "llm" and md["runner"] == "local:rlimits" and md["guard"] is True
    if allow == "false":
        assert md["outcome"] == "refused" and md["status"] == "refused" and md["allowed"] is False
        assert STRONGER_ISOLATION in md["message"] and md["policy"] == md["message"]
    else:
        assert md["outcome"] == "ran" and md["status"] == "succeeded" and md["override_used"] is True
    req, _, _ = stored(engine, rid)
    assert req["status"] == ("refused" if allow == "false" else "succeeded")


def test_request_cli_records_allow_weak_isolation_on_the_request(factory_env, capsys):
    import json

    from meta_agent.cli import main

    assert main(["request", "DSCR for all properties", "--allow-weak-isolation", "--planner", "offline", "--json"]) == 0
    rid = json.loads(capsys.readouterr().out)["request_id"]
    assert main(["request", "NOI for all properties", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)["request_id"]
    with engine_for(factory_env).connect() as conn:
        req, other = repo.get_request(conn, rid), repo.get_request(conn, plain)
    assert req["source"] == "cli" and req["metadata"] == {"planner": "offline", "allow_weak_isolation": True}
    assert factory.request_allows_weak_isolation(req) and not factory.request_allows_weak_isolation(other)
