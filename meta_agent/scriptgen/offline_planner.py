"""The offline planner: a request in plain English -> ``PlanOutcome``, deterministically.

The vocabulary and parameter extraction in ``extract.py`` plus the tool registry's search for
refusals. It refuses rather than guess: requests with side effects, requests for things no
tool does, figures it cannot find, and conditions it cannot attach to a figure come back as a
``PlanRefusal`` with the closest tools. What the entities are, their ids and the dimensions
to filter by come from the ``Vocabulary`` it is given (``OfflinePlanner(vocabulary)``).

A scenario the request assumes becomes the plan's ``drivers`` (and a ``scenario:`` line in its
assumptions); an aggregation word ("average occupancy of retail properties") its
``parameters.aggregate``; and every clause it could not place is named in ``unhandled`` (and
in the assumptions), with a lower confidence — the plan still runs, and says what it ignored.
"""

from __future__ import annotations

import re
import time

from pydantic import ValidationError

from meta_agent.domain import Vocabulary
from meta_agent.portfolio.drivers import DRIVERS
from meta_agent.scriptgen import vocabulary as V
from meta_agent.scriptgen.derive import derive, group_covers
from meta_agent.scriptgen.extract import Extraction, extract, patterns
from meta_agent.scriptgen.planning import check_request_text, closest_tools, vocabulary_or_default
from meta_agent.scriptgen.requirements import (
    PlanOutcome,
    PlanParameters,
    PlanRefusal,
    Ranking,
    ScriptRequirements,
    Threshold,
    driver_hint,
)


class OfflinePlanner:
    """Keyword and pattern planner over a domain's vocabulary; deterministic.

    ``vocabulary`` defaults to the data the tool library reads (``tooling.vocabulary()``)."""

    name = "offline"

    def __init__(self, vocabulary: Vocabulary | None = None):
        self.vocabulary = vocabulary_or_default(vocabulary)
        patterns(self.vocabulary)  # compiled once, here rather than on the first request

    def plan(self, request: str, output_format: str | None = None) -> PlanOutcome:
        t0 = time.perf_counter()
        text = check_request_text(request)
        outcome = self._plan(text, output_format)
        outcome.duration_ms = (time.perf_counter() - t0) * 1000
        return outcome

    def _refuse(self, text: str, reason: str, hint: str = "") -> PlanOutcome:
        return PlanOutcome(refusal=PlanRefusal(request=text, reason=reason, hint=hint,
                                               closest_tools=closest_tools(text), planner=self.name))

    def _plan(self, text: str, output_format: str | None) -> PlanOutcome:
        vocab = self.vocabulary
        ex = extract(text, vocab)
        # the scenario's words are not requests to act: "if values drop 15 %" deletes nothing
        checked = _blank(text, ex.driver_spans())
        for rx, what in V.SIDE_EFFECTS.items():
            m = re.search(rx, checked, re.I)
            if m:
                return self._refuse(text, f"it asks to {what} ('{m.group(0).strip()}'); scripts only read the "
                                    "data and write result files.")
        for rx, what in V.UNSUPPORTED.items():
            m = re.search(rx, checked, re.I)
            if m:
                return self._refuse(text, f"it needs {what} ('{m.group(0).strip()}'), which no registered tool "
                                    "provides.")
        if ex.driver_problems:
            return self._refuse(text, f"the scenario: {ex.driver_problems[0]}.", hint=driver_hint(sentence=True))
        metrics = [m.value for m in ex.metrics]
        if not metrics and not self._is_listing(text, ex):
            return self._refuse(
                text, f"it names no figure the tool library computes and is not a {vocab.entity} listing.",
                hint="Name a figure — DSCR, cap rate, NOI, IRR, NPV, ROI, LTV, debt yield, operating expense "
                     f"ratio, break-even occupancy, occupancy, cash flow — or ask to list {vocab.entities}.")
        if ex.threshold_problems:
            return self._refuse(text, ex.threshold_problems[0] + ".",
                                hint="Put the figure next to the condition, e.g. 'DSCR below 1.25'.")
        if "npv" in metrics and ex.discount_rate is None:
            return self._refuse(text, "an NPV needs a discount rate and the request gives none.",
                                hint="Add one, e.g. 'at an 8% discount rate'.")
        if ex.ranking and ex.ranking[0] is None:
            return self._refuse(text, "it asks for a ranking but not by which figure.",
                                hint=f"Say e.g. 'top 5 {vocab.entities} by NOI'.")
        bad = [i for i in ex.entity_ids if not vocab.ids.matches(i)]
        if bad:
            return self._refuse(text, f"{', '.join(bad)} is not a {vocab.entity} id (they run {vocab.ids.span()}).")
        return self._build(text, ex, metrics, output_format)

    def _is_listing(self, text: str, ex: Extraction) -> bool:
        """'List the office properties in Houston': a listing verb, a scope (the entities, a
        filter or ids), and no word asking for a figure we did not recognize ('show the
        frobnication index')."""
        return bool(V.LIST_INTENT.search(text)) and not V.FIGURE_WORDS.search(text) and bool(
            patterns(self.vocabulary).entity_words.search(text) or ex.filters or ex.entity_ids)

    def _build(self, text: str, ex: Extraction, metrics: list[str], output_format: str | None) -> PlanOutcome:
        assumptions: list[str] = []
        formats = list(ex.formats)
        if output_format:
            formats = [output_format]
        elif not formats:
            if ex.wants_report:
                formats = ["pdf"]
                assumptions.append("'report' with no format named: a PDF report")
            else:
                formats = ["csv"]
                assumptions.append("no output format named: CSV")
        if ex.year is None and any(s == "financials" for m in metrics for s in V.METRICS[m].sources):
            assumptions.append("no year named: the latest year in the portfolio")
        if "irr" in metrics or "npv" in metrics:
            assumptions.append("IRR/NPV use each property's equity cash flows over its whole hold period "
                               "(acquisition to the valuation date, with sale proceeds at the end)")
        if "roi" in metrics:
            assumptions.append("ROI = (current value + cash flow received since acquisition - purchase price) "
                               "/ purchase price" + (", annualized over the years held" if ex.annualized else ""))
        ranking = None
        if ex.ranking:
            metric, order, top_n = ex.ranking
            if metric not in metrics:
                metrics.append(metric)
            ranking = Ranking(metric=metric, order=order, top_n=top_n)
        # "average cap rate by property type": the group summary has the mean per group already
        aggregate = None if group_covers(metrics, ex.aggregate, ex.group_by) else ex.aggregate
        confidence = max(0.5, 1.0 - 0.1 * len(assumptions)) - 0.2 * len(ex.unhandled)
        assumptions += [f"scenario: {DRIVERS[name].describe(value)}" for name, value in ex.drivers.items()]
        assumptions += [f"not handled: '{clause}' (the plan ignores it)" for clause in ex.unhandled]
        try:
            params = PlanParameters(
                entity_ids=ex.entity_ids or None,
                filters=ex.filters,
                year=ex.year,
                thresholds=[Threshold(metric=m, op=op, value=v) for m, op, v, _ in ex.thresholds],
                ranking=ranking,
                group_by=ex.group_by,
                discount_rate=ex.discount_rate,
                annualized=ex.annualized and "roi" in metrics,
                aggregate=aggregate,
                output_formats=formats,
            )
            req = ScriptRequirements(request=text, goal="", metrics=metrics, parameters=params,
                                     assumptions=assumptions, drivers=ex.drivers, unhandled=ex.unhandled,
                                     planner=self.name, confidence=max(0.2, round(confidence, 2)))
        except ValidationError as exc:
            first = exc.errors()[0]
            return self._refuse(text, f"the extracted plan is inconsistent ({first['msg']}).")
        return PlanOutcome(requirements=derive(req))


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with ``spans`` replaced by spaces (positions kept)."""
    for s, e in spans:
        text = text[:s] + " " * (e - s) + text[e:]
    return text
