"""The simulated fleet's prompt texts, and registering them so that every prompt version the
fleet's executions carry links to a text (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.fleet import CATALOG, FleetSpec, default_incidents, fleet, simulate
from meta_agent.fleet.prompts import (
    STRICT_OUTPUT_LINE,
    observed_versions,
    prompt_texts,
    seed_registry,
)
from meta_agent.improvement import prompts as registry
from meta_agent.improvement.model import DEFAULT_PROMPT
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_improvement import prompt_label_events, prompt_labels, prompt_versions

END = date(2026, 11, 29)
VERSIONS = ["v1", "v2", "v3", "v4", "v5", "v6"]


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (prompt_versions, prompt_labels, prompt_label_events))


@pytest.mark.parametrize("agent", [p.agent_id for p in CATALOG] + ["support-triage-2", "pricing-bot"])
def test_every_version_is_a_valid_template_with_an_output_format(agent):
    texts = prompt_texts(agent, VERSIONS)
    assert texts == prompt_texts(agent, VERSIONS)  # deterministic
    assert len(set(texts.values())) == len(VERSIONS)  # each version differs from the others
    for version, text in texts.items():
        variables = registry.parse_variables(text)
        assert "company" in variables and "today" in variables
        filled = text.format(**{v: f"<{v}>" for v in variables})
        assert "## Output format" in filled and '{"' in filled  # the JSON example survives formatting
        assert (STRICT_OUTPUT_LINE in text) == (version in ("v1", "v2", "v3")), version
    assert "## Tools" not in texts["v1"] and "## Tools" in texts["v2"]
    assert "step by step" in texts["v4"] and "step by step" not in texts["v3"]


def test_the_incident_version_drops_only_the_strict_output_line_and_adds_reasoning():
    texts = prompt_texts("support-triage", ["v3", "v4"])
    diff = registry.diff_texts(texts["v3"], texts["v4"], "system@v3", "system@v4")
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-" and not line.startswith("@@")]
    assert changed == ["+- Think step by step and write out your reasoning in full before you give the answer.",
                       f"-{STRICT_OUTPUT_LINE}"]
    # the schema name and fields are those the fleet's parse failures name
    assert "(SupportTriageAnswer)" in texts["v4"] and '- "summary":' in texts["v4"]
    assert "(SupportTriageAnswer)" in prompt_texts("support-triage-2", ["v1"])["v1"]


def test_a_version_the_registry_cannot_number_is_refused():
    with pytest.raises(InputError, match="'v4-hotfix' of support-triage.*v1, v2"):
        prompt_texts("support-triage", ["v3", "v4-hotfix"])


def _fleet_in(url: str) -> str:
    """A small simulated fleet with the demo's incidents; the agent whose latency regression
    (prompt v4) lasts to the end."""
    ids = [p.agent_id for p in fleet(4)]
    incidents = default_incidents(ids, END, 10)
    spec = FleetSpec(agents=4, days=10, per_day=20, seed=3, end=END, incidents=incidents)
    ingest_items(((r["execution_id"], r) for r in simulate(spec)), url=url, source="test", origin="fleet")
    return next(i.agent_id for i in incidents if i.kind == "latency_regression")


def test_seeding_links_every_observed_version_to_a_text_and_is_idempotent(engine, migrated_url):
    slow = _fleet_in(migrated_url)
    with engine.connect() as conn:
        seen, latest = observed_versions(conn)
    assert set(seen) == {p.agent_id for p in fleet(4)}
    assert all(vs[0] == "v2" and vs == sorted(vs) for vs in seen.values())  # each starts on v2
    assert any(vs == ["v2", "v3"] and latest[a] == "v3" for a, vs in seen.items())  # the background switch
    assert seen[slow][-1] == "v4" and latest[slow] == "v4"  # the latency regression lasts to the end
    with engine.begin() as conn:
        result = seed_registry(conn, seen, production=latest)
    assert result[slow]["created"] == ["v1", "v2", "v3", "v4"] and result[slow]["moved"]  # v1, v3: never ran here
    after_first = counts(engine)
    with engine.connect() as conn:
        for agent, versions in seen.items():
            usage = registry.version_usage(conn, agent)
            assert set(usage) == set(versions)
            for version in usage:  # the execution link: (agent, prompt_version) → the text
                name = registry.prompt_for_version(conn, agent, version)
                assert name == DEFAULT_PROMPT
                assert registry.get_version(conn, agent, name, version).text == \
                    prompt_texts(agent, [version])[version]
            assert registry.resolve(conn, agent, DEFAULT_PROMPT).version == latest[agent]
        v4 = registry.get_version(conn, slow, DEFAULT_PROMPT, "v4")
        assert (v4.parent_version, v4.source, v4.author) == ("v3", "import", "fleet-simulator")
        history = registry.label_history(conn, slow, DEFAULT_PROMPT)
        assert [(h["to_version"], h["actor"]) for h in history] == [("v4", "fleet-simulator")]
    with engine.begin() as conn:
        again = seed_registry(conn, seen, production=latest)
    assert all(r["created"] == [] and not r["moved"] for r in again.values())
    assert counts(engine) == after_first


def test_seeding_moves_production_when_the_fleet_moved(engine):
    with engine.begin() as conn:
        seed_registry(conn, {"email-drafter": ["v2", "v3"]}, production={"email-drafter": "v3"})
        moved = seed_registry(conn, {"email-drafter": ["v2", "v3", "v5"]}, production={"email-drafter": "v5"})
        assert moved["email-drafter"] == {"created": ["v4", "v5"], "production": "v5", "moved": True}
        assert [v.version for v in registry.versions(conn, "email-drafter", DEFAULT_PROMPT)] == \
            ["v1", "v2", "v3", "v4", "v5"]
        assert registry.rollback_label(conn, "email-drafter", DEFAULT_PROMPT, actor="ana",
                                       reason="v5 breaks the format").to_version == "v3"


def test_seeding_refuses_what_it_cannot_register_and_writes_nothing(engine):
    with pytest.raises(InputError, match="'beta' of email-drafter"), engine.begin() as conn:
        seed_registry(conn, {"email-drafter": ["v2", "beta"]}, production={})
    assert counts(engine) == (0, 0, 0)
    with engine.begin() as conn:  # someone registered the fleet's v2 text by hand, as v1
        registry.create_version(conn, "email-drafter", DEFAULT_PROMPT, prompt_texts("email-drafter", ["v2"])["v2"],
                                author="ana")
    before = counts(engine)
    with pytest.raises(InputError, match="numbers this text v1, not the fleet's v2"), engine.begin() as conn:
        seed_registry(conn, {"email-drafter": ["v2", "v3"]}, production={"email-drafter": "v3"})
    assert counts(engine) == before
