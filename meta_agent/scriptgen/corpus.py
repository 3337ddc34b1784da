"""Every script the templates can write for the example requests, with their parameters.

The benign half of the validator's corpus (tests/scriptgen/test_language.py and
benchmarks/bench_validator.py): each example request planned offline, then every metric
alone and in pairs under each kind of selection (none, threshold, ranking, group summary)
and each output format. A template's output depends only on the plan's shape, so this is
the set of distinct scripts the templates produce for these plans.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from meta_agent.scriptgen import vocabulary as V
from meta_agent.scriptgen.derive import derive
from meta_agent.scriptgen.examples import REPEATED_SHAPES, TWENTY_REQUESTS
from meta_agent.scriptgen.generator import render
from meta_agent.scriptgen.offline_planner import OfflinePlanner
from meta_agent.scriptgen.requirements import PlanParameters, Ranking, ScriptRequirements, Threshold

FORMATS = ("csv", "xlsx", "pdf", "json")


@dataclass(frozen=True)
class TemplateScript:
    name: str  # what it was made from
    fingerprint: str
    source: str
    params: dict[str, Any]  # the parameters a run of it gets


def _selections(metric: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "all", {}
    yield "threshold", {"thresholds": [Threshold(metric=metric, op=">", value=0.5)]}
    yield "top3", {"ranking": Ranking(metric=metric, order="desc", top_n=3)}
    yield "by-city", {"group_by": "city", "year": 2023}


def requirements() -> Iterator[tuple[str, ScriptRequirements]]:
    """(name, plan) for every example request and every synthetic variation."""
    planner = OfflinePlanner()
    for text in [*TWENTY_REQUESTS, *(t for pair in REPEATED_SHAPES for t in pair)]:
        outcome = planner.plan(text)
        if outcome.ok:
            yield text, outcome.requirements
    metrics = sorted(V.METRICS)
    combos = [(m,) for m in metrics] + list(itertools.combinations(metrics[:6], 2))
    for combo in combos:
        for (selection, extra), fmt in itertools.product(_selections(combo[0]), FORMATS):
            params = PlanParameters(output_formats=[fmt], discount_rate=0.08 if "npv" in combo else None, **extra)
            req = ScriptRequirements(request=f"{', '.join(combo)} {selection} as {fmt}",
                                     goal=f"{', '.join(combo)} for the properties", metrics=list(combo),
                                     parameters=params)
            yield f"{'+'.join(combo)}/{selection}/{fmt}", derive(req)
    for fmt in FORMATS:
        req = ScriptRequirements(request=f"list the properties as {fmt}", goal="list the properties",
                                 parameters=PlanParameters(output_formats=[fmt], filters={"city": ["Houston"]}))
        yield f"listing/{fmt}", derive(req)


def template_scripts() -> list[TemplateScript]:
    """One script per distinct shape (the first plan of each shape names it)."""
    seen: dict[str, TemplateScript] = {}
    for name, req in requirements():
        fingerprint = req.fingerprint()
        if fingerprint not in seen:
            seen[fingerprint] = TemplateScript(name, fingerprint, render(req), req.script_params())
    return list(seen.values())
