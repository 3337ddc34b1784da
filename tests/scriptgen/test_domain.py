"""The plan contract is generic; the domain's words come from the Vocabulary the planner is given.

The portfolio's vocabulary (properties P-007, by property type and city) is one of them; a made-up
one (stores S-07 by region) plans just as well, and none of the portfolio's words leak into it.
"""

from __future__ import annotations

import pytest

from meta_agent import portfolio
from meta_agent.domain import Dimension, EntityIds, Vocabulary, phrasings
from meta_agent.scriptgen import tooling
from meta_agent.scriptgen.generator import render
from meta_agent.scriptgen.llm_planner import LLMPlanner, reply_model, system_prompt
from meta_agent.scriptgen.offline_planner import OfflinePlanner
from meta_agent.scriptgen.planner import get_planner
from meta_agent.scriptgen.requirements import PARAMS_VERSION, PlanParameters
from meta_agent.scriptgen.validator import validate_script

STORES = Vocabulary(
    entity="store",
    entities="stores",
    ids=EntityIds("S", 2),
    dimensions=(
        Dimension("region", "region", ("North", "South", "East", "West"), group_words=r"regions?"),
        Dimension("format", "store format", ("supermarket", "convenience"),
                  phrasings({"supermarket": [r"supermarkets?", r"grocer(?:y|ies)"]}), r"formats?"),
    ),
    entity_words=r"\b(?:stores?|shops?|outlets?)\b",
    description="A chain of stores with their leases and yearly financials.",
)


def planned(text: str, vocabulary: Vocabulary = STORES):
    outcome = OfflinePlanner(vocabulary).plan(text)
    assert outcome.ok, outcome.refusal.message()
    return outcome.requirements


def test_the_plan_contract_names_no_domain():
    fields = set(PlanParameters.model_fields)
    assert {"entity_ids", "filters", "group_by"} <= fields
    assert not {f for f in fields if "propert" in f or "cit" in f}


def test_a_made_up_domain_gets_its_ids_filters_and_grouping():
    p = planned("DSCR for S-3 and S-05 in the North region, grocery stores only").parameters
    assert p.entity_ids == ["S-03", "S-05"]
    assert p.filters == {"region": ["North"], "format": ["supermarket"]}
    assert planned("NOI by region").parameters.group_by == "region"
    assert planned("DSCR for stores 4 and 6").parameters.entity_ids == ["S-04", "S-06"]
    assert planned("List the stores in the West").parameters.filters == {"region": ["West"]}


def test_out_of_range_ids_are_refused_in_the_domains_words():
    r = OfflinePlanner(STORES).plan("DSCR for S-123").refusal
    assert r.reason == "S-123 is not a store id (they run S-01 to S-99)."
    assert "list stores" in OfflinePlanner(STORES).plan("Rank the stores").refusal.hint


def test_the_portfolios_words_do_not_leak_into_another_domain():
    p = planned("cap rates of warehouses for property 9 in Houston, by city").parameters
    assert (p.entity_ids, p.filters, p.group_by) == (None, {}, None)
    assert not OfflinePlanner(STORES).plan("List the properties in Houston").ok  # no store scope named


def test_a_planner_given_a_vocabulary_never_asks_for_the_default(monkeypatch):
    def boom():
        raise AssertionError("the default vocabulary was read")

    monkeypatch.setattr(tooling, "vocabulary", boom)
    assert get_planner("offline", STORES).plan("DSCR in the South").requirements.parameters.filters == \
        {"region": ["South"]}
    assert LLMPlanner(gateway=object(), vocabulary=STORES).fallback.vocabulary is STORES


def test_the_default_is_the_portfolios_and_its_scripts_validate():
    req = planned("cap rates of warehouses and apartments in Houston, Excel", portfolio.seed_vocabulary())
    assert req.parameters.filters == {"property_type": ["multifamily", "industrial"], "city": ["Houston"]}
    assert OfflinePlanner().vocabulary.entity == "property"
    source = render(req)
    assert 'params.get("entity_ids")' in source and 'filters.get("city")' in source
    assert validate_script(source).valid


def test_scripts_for_the_old_params_shape_are_never_reused():
    """The params file changed shape (entity_ids, filters): the version is part of every shape."""
    assert planned("DSCR in the North").shape()["params"] == PARAMS_VERSION == 2


def test_the_vocabulary_says_what_does_not_fit():
    assert STORES.problems(["S-07"], {"region": ["north"]}, "region") == []  # values match case-insensitively
    problems = STORES.problems(["S-7", "P-007"], {"town": ["X"], "region": ["Atlantis"]}, "format2")
    assert problems == [
        "parameters.entity_ids: store ids look like S-07 (S-01 to S-99); got ['S-7', 'P-007']",
        "parameters.filters: 'town' is not a dimension to filter by (one of: region, format)",
        "parameters.filters.region: ['Atlantis'] are not known region values (known: North, South, East, West)",
        "parameters.group_by: 'format2' is not a dimension to group by (one of: region, format)",
    ]


def test_the_llm_prompt_and_reply_schema_come_from_the_vocabulary():
    domain = system_prompt(STORES).split("A script may only call the tools below")[0]  # the tools are the tools
    assert "A chain of stores" in domain and "S-07 (S-01 to S-99)" in domain
    assert "- region (region; filter and group by it): North, South, East, West" in domain
    assert "Houston" not in domain and "P-0" not in domain and "propert" not in domain
    assert "Houston" in system_prompt(portfolio.seed_vocabulary())
    model = reply_model(STORES)
    ok = {"can_plan": True, "goal": "g", "metrics": ["dscr"], "parameters": {"filters": {"region": ["East"]}}}
    assert model.model_validate(ok).parameters.filters == {"region": ["East"]}
    with pytest.raises(ValueError, match="'city' is not a dimension to filter by"):
        model.model_validate({**ok, "parameters": {"filters": {"city": ["Houston"]}}})


def test_the_portfolio_vocabulary_is_read_from_its_database(data_url, tmp_path):
    v = portfolio.vocabulary(data_url)
    assert v.ids.pattern == r"P-\d{3}" and v.notes == ("This database holds 25 properties (P-001 to P-025).",)
    assert set(v.dimension("city").values) == set(portfolio.seed_vocabulary().dimension("city").values)
    assert v.dimension("property_type").values[:2] == ("multifamily", "office")
    assert portfolio.vocabulary(f"sqlite:///{tmp_path / 'missing.db'}") == portfolio.seed_vocabulary()
