"""The offline planner: many phrasings of the same thing, and refusals that say why."""

from __future__ import annotations

import pytest

from meta_agent.errors import InputError
from meta_agent.scriptgen.examples import REFUSED
from meta_agent.scriptgen.planner import OfflinePlanner, get_planner


def plan(text, fmt=None):
    outcome = OfflinePlanner().plan(text, fmt)
    assert outcome.ok, outcome.refusal.message()
    return outcome.requirements


@pytest.mark.parametrize("text", [
    "DSCR for all properties", "debt service coverage for the portfolio", "Debt-Service Coverage Ratios please",
    "compute the coverage ratio of every asset", "show me each property's DSCR",
])
def test_dscr_phrasings(text):
    assert plan(text).metrics == ["dscr"]


@pytest.mark.parametrize(("text", "op", "value"), [
    ("DSCR below 1.25", "<", 1.25), ("DSCR under 1.2x", "<", 1.2), ("DSCR less than 1.3", "<", 1.3),
    ("DSCR of at least 1.5", ">=", 1.5), ("DSCR < 1.1", "<", 1.1), ("DSCR >= 2", ">=", 2.0),
    ("properties that breach a 1.25x DSCR covenant", "<", 1.25), ("DSCR at most 125%", "<=", 1.25),
    ("cap rate above 6%", ">", 0.06), ("cap rate over 6.5 percent", ">", 0.065), ("cap rate > 7", ">", 0.07),
    ("LTV above 65%", ">", 0.65), ("occupancy under 90%", "<", 0.9), ("NOI over $2 million", ">", 2e6),
    ("NOI above 500k", ">", 5e5), ("debt yield below 800 bps", "<", 0.08),
])
def test_threshold_phrasings(text, op, value):
    (t,) = plan(text).parameters.thresholds
    assert (t.op, t.value) == (op, pytest.approx(value))


def test_between_makes_two_conditions_on_the_same_figure():
    ts = plan("properties with DSCR between 1.0 and 1.25").parameters.thresholds
    assert [(t.metric, t.op, t.value) for t in ts] == [("dscr", ">=", 1.0), ("dscr", "<=", 1.25)]


def test_each_condition_goes_to_the_figure_it_follows():
    ts = plan("cap rate above 6% and DSCR under 1.3").parameters.thresholds
    assert [(t.metric, t.op, t.value) for t in ts] == [("cap_rate", ">", 0.06), ("dscr", "<", 1.3)]


@pytest.mark.parametrize(("text", "fmt"), [
    ("DSCR as Excel", ["xlsx"]), ("DSCR to an xlsx", ["xlsx"]), ("DSCR in a spreadsheet", ["xlsx"]),
    ("DSCR as CSV", ["csv"]), ("DSCR, comma-separated", ["csv"]), ("DSCR PDF", ["pdf"]), ("DSCR report", ["pdf"]),
    ("DSCR as json", ["json"]), ("DSCR as csv and excel", ["xlsx", "csv"]), ("DSCR", ["csv"]),
])
def test_output_formats(text, fmt):
    assert plan(text).parameters.output_formats == fmt


def test_an_explicit_format_wins_over_the_text():
    assert plan("DSCR as Excel", "pdf").parameters.output_formats == ["pdf"]


@pytest.mark.parametrize(("text", "ids"), [
    ("DSCR for P-007", ["P-007"]), ("DSCR for p7", ["P-007"]), ("DSCR for P-003 and P-012", ["P-003", "P-012"]),
    ("DSCR for P-003 to P-005", ["P-003", "P-004", "P-005"]), ("DSCR for property 9", ["P-009"]),
    ("DSCR for properties #2 and #4", ["P-002", "P-004"]),
])
def test_entity_ids(text, ids):
    assert plan(text).parameters.entity_ids == ids


@pytest.mark.parametrize(("text", "rate"), [
    ("NPV at an 8% discount rate", 0.08), ("NPV discounted at 7.5%", 0.075), ("NPV using a discount rate of 9 percent", 0.09),
    ("net present value at 10%", 0.10), ("NPV with a 6% hurdle rate", 0.06),
])
def test_discount_rates(text, rate):
    assert plan(text).parameters.discount_rate == pytest.approx(rate)


def test_grouping_ranking_year_types_cities():
    p = plan("average cap rate by property type in 2021").parameters
    assert (p.group_by, p.year) == ("property_type", 2021)
    assert plan("NOI per city").parameters.group_by == "city"
    r = plan("which property has the lowest DSCR").parameters.ranking
    assert (r.metric, r.order, r.top_n) == ("dscr", "asc", 1)
    r = plan("best 3 properties by LTV").parameters.ranking  # lower LTV is better
    assert (r.metric, r.order, r.top_n) == ("ltv", "asc", 3)
    p = plan("cap rates of warehouses and apartments in Houston and Portland").parameters
    assert p.filters == {"property_type": ["multifamily", "industrial"], "city": ["Houston", "Portland"]}


def test_data_figures_named_as_inputs_are_not_extra_outputs():
    assert plan("DSCR computed from NOI divided by debt service").metrics == ["dscr"]
    assert plan("IRR of the equity cash flows").metrics == ["irr"]
    assert plan("NOI and DSCR for each property").metrics == ["noi", "dscr"]


@pytest.mark.parametrize("text", REFUSED)
def test_refusals_say_why_and_name_the_closest_tools(text):
    outcome = OfflinePlanner().plan(text)
    assert not outcome.ok and outcome.requirements is None
    r = outcome.refusal
    assert r.reason and r.request == text and r.planner == "offline"
    assert "cannot plan this request" in r.message()


def test_refusal_names_closest_tools_when_some_match():
    r = OfflinePlanner().plan("Calculate the frobnication index for P-001").refusal
    assert r.closest_tools and all(t.score > 0 for t in r.closest_tools)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 3000, "DSCR\x00"])
def test_bad_request_text_is_an_input_error(bad):
    with pytest.raises(InputError):
        OfflinePlanner().plan(bad)


def test_the_plan_depends_only_on_its_shape_and_the_script_on_nothing_else():
    from meta_agent.scriptgen.generator import render

    a, b = plan("DSCR below 1.25 for P-001 as Excel"), plan("Which assets have a DSCR under 1.4 in 2022? Excel")
    assert a.fingerprint() == b.fingerprint() and render(a) == render(b)
    c = plan("DSCR below 1.25 as CSV")
    assert c.fingerprint() != a.fingerprint()


def test_get_planner_rejects_unknown_kinds():
    from meta_agent.errors import ConfigError

    assert get_planner("offline").name == "offline"
    with pytest.raises(ConfigError, match="not one of offline, llm"):
        get_planner("magic")
