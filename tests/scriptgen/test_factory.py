"""The factory end to end without Dagster, on SQLite and PostgreSQL: plan -> script -> run,
reuse from the library, idempotent per-request rewrites, and what happens on failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from meta_agent.scriptgen import factory
from meta_agent.scriptgen import repository as repo
from meta_agent.scriptgen.examples import REPEATED_SHAPES
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_scripts import script_generations, script_plans, script_runs, scripts


def submit(engine, text, **kw):
    with engine.begin() as conn:
        return repo.submit_request(conn, text, source="test", **kw)["request_id"]


def count(engine, table, rid=None):
    stmt = sa.select(sa.func.count()).select_from(table)
    if rid is not None:
        stmt = stmt.where(table.c.request_id == rid)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar()


@pytest.mark.slow
def test_same_shape_reuses_the_library_script_with_new_parameters(factory_env, local_runner):
    engine = engine_for(factory_env)
    pairs = REPEATED_SHAPES[:3]
    for first, second in pairs:
        a = factory.process(engine, submit(engine, first), runner=local_runner)
        b = factory.process(engine, submit(engine, second), runner=local_runner)
        assert a["status"] == b["status"] == "succeeded", (a.get("run"), b.get("run"))
        assert not a["generation"]["reused"] and b["generation"]["reused"]
        assert b["generation"]["script_id"] == a["generation"]["script_id"]
        assert b["generation"]["reused_from"] == a["request_id"]
        assert "reused script" in b["generation"]["message"]
        # the same script, other parameters, other figures
        assert a["run"]["result"]["parameters"] != b["run"]["result"]["parameters"]
    with engine.connect() as conn:
        stats = repo.reuse_stats(conn)
        lib = repo.library(conn)
    assert stats == {"generations": 6, "reused": 3, "generated": 3, "reuse_rate": 0.5, "library_scripts": 3}
    assert [e["reuses"] for e in lib] == [1, 1, 1] and [e["successes"] for e in lib] == [2, 2, 2]


@pytest.mark.slow
def test_rerunning_a_request_rewrites_its_rows_and_never_reuses_its_own_script(factory_env, local_runner):
    engine = engine_for(factory_env)
    rid = submit(engine, "DSCR below 1.3 as CSV")
    first = factory.process(engine, rid, runner=local_runner)
    again = factory.process(engine, rid, runner=local_runner)
    assert first["status"] == again["status"] == "succeeded"
    assert again["generation"]["reused"] is False and again["generation"]["script_id"] == first["generation"]["script_id"]
    for table in (script_plans, script_generations, script_runs):
        assert count(engine, table, rid) == 1
    assert count(engine, scripts) == 1
    with engine.connect() as conn:
        assert repo.get_request(conn, rid)["status"] == "succeeded"
        assert repo.library(conn)[0]["successes"] == 2
    run = again["run"]
    assert Path(run["results_dir"]).is_dir() and run["result"]["key_figures"]["dscr"]["count"] >= 1


def test_a_refused_request_is_stored_with_its_reason_and_goes_no_further(factory_env):
    engine = engine_for(factory_env)
    rid = submit(engine, "Email the DSCR table to the board")
    out = factory.process(engine, rid)
    assert out["status"] == "refused"
    with engine.connect() as conn:
        req = repo.get_request(conn, rid)
        plan = repo.read_plan(conn, rid)
    assert req["status"] == "refused" and "outside the sandbox" in req["message"]
    assert plan["status"] == "refused" and plan["requirements"] is None and plan["refusal"]["reason"]
    with pytest.raises(factory.NotPlanned, match="was not planned"):
        factory.generate_script(engine, rid)


class HostileWriter:
    """Stands in for the model: writes a script that shells out."""

    def write(self, req):
        return ('import os\nfrom pathlib import Path\nRESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])\n'
                'os.system("id")\n(RESULTS_DIR / "result.json").write_text("{}")\n')


def test_an_invalid_script_is_recorded_and_never_run(factory_env, local_runner):
    engine = engine_for(factory_env)
    rid = submit(engine, "DSCR for all properties")
    factory.plan_request(engine, rid)
    gen = factory.generate_script(engine, rid, author="llm", writer=HostileWriter())
    assert not gen.valid and "import-not-allowed" in gen.report.rules and gen.author == "llm"
    with engine.connect() as conn:
        assert repo.get_request(conn, rid)["status"] == "invalid"
        assert repo.read_generation(conn, rid)["valid"] is False
    with pytest.raises(factory.NotValid):
        factory.run_script(engine, rid, local_runner)
    assert count(engine, script_runs) == 0


@pytest.mark.slow
def test_a_failing_run_says_why_and_does_not_enter_the_library(factory_env, local_runner):
    engine = engine_for(factory_env)
    rid = submit(engine, "DSCR for P-099")  # no such property: the tool says so
    out = factory.process(engine, rid, runner=local_runner)
    assert out["status"] == "failed"
    assert "P-099" in out["run"]["message"] and out["run"]["result"]["status"] == "failed"
    with engine.connect() as conn:
        assert repo.library(conn) == [] and repo.get_request(conn, rid)["status"] == "failed"


@pytest.mark.slow
def test_no_matching_property_is_an_empty_answer_not_an_error(factory_env, local_runner):
    engine = engine_for(factory_env)
    out = factory.process(engine, submit(engine, "List the hotels in Houston"), runner=local_runner)
    assert out["status"] == "succeeded"
    assert out["run"]["result"]["status"] == "no_data" and "Houston" in out["run"]["message"]


@pytest.mark.slow
def test_grouping_by_a_dimension_the_rows_do_not_carry_yet(factory_env, local_runner):
    """group_by names any dimension of the entities (state is not one of the joined columns)."""
    engine = engine_for(factory_env)
    out = factory.process(engine, submit(engine, "Total NOI by state"), runner=local_runner)
    assert out["status"] == "succeeded", out["run"]["message"]
    summary = out["run"]["result"]["summary"]
    assert summary and all(len(row["state"]) == 2 for row in summary)
    assert sum(row["property_id_count"] for row in summary) == 25


def test_submit_rejects_bad_input_and_keeps_the_table_intact(factory_env):
    from meta_agent.errors import InputError

    engine = engine_for(factory_env)
    with pytest.raises(InputError, match="--format 'docx'"):
        submit(engine, "DSCR", output_format="docx")
    with pytest.raises(InputError, match="empty"):
        submit(engine, "  ")
    with pytest.raises(InputError, match="source"), engine.begin() as conn:
        repo.submit_request(conn, "DSCR", source="carrier-pigeon")
    with engine.connect() as conn:
        assert repo.list_requests(conn) == []
