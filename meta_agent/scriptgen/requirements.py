"""What a request asks for: ``ScriptRequirements`` (the plan) or a ``PlanRefusal``.

A plan has two layers:

- the **analysis** a person asked for — metrics, filters, threshold, grouping, ranking, an
  aggregate over the selection, output formats — in ``ScriptRequirements.metrics`` and
  ``.parameters``; both planners (offline and LLM) produce this layer, and pydantic validates it;
- the **execution** derived from it deterministically (``derive``): tools, inputs, outputs,
  ordered steps and the template. Deriving (rather than trusting a model to list tools) keeps
  every plan executable and every script checkable.

Parameter *values* (entity ids, filters, year, threshold value, rates...) are read by the
script from its params file; the *shape* (which steps, which tools) is fixed in the script. That
is what lets the script library reuse a script for a new request of the same shape.

The parameters are the domain's in generic form: ``entity_ids`` and ``filters`` —
``{dimension: [values]}`` — name the dimensions of the domain's ``Vocabulary``
(``meta_agent.domain``; the portfolio's are ``property_type`` and ``city``), never the data
tools' own argument names, which the templates map them to.

Two fields of the plan are about the request rather than the script, and stay out of the shape
and the params file: ``drivers`` — the scenario a request assumes ("assuming a 10 % haircut on
the exit value": ``{"exit_value_multiplier": 0.9}``, names and ranges from
``meta_agent.portfolio.drivers.DRIVERS``; the factory applies them to the data the script
reads, so the script is the same) — and ``unhandled``, the clauses of the request no part of
the plan covers, named so that nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from meta_agent.portfolio.drivers import DRIVERS, check

MetricId = Literal["dscr", "cap_rate", "noi", "irr", "npv", "roi", "ltv", "debt_yield",
                   "operating_expense_ratio", "break_even_occupancy", "occupancy", "debt_service",
                   "cash_flow"]
OutputFormat = Literal["csv", "xlsx", "pdf", "json"]
Comparison = Literal["<", "<=", ">", ">="]
# "aggregate" summarizes by a group (aggregate_metrics); "reduce" is one figure over the whole
# selection (parameters.aggregate: the mean, sum, median, min or max of each metric).
StepKind = Literal["fetch", "join", "compute", "filter", "rank", "aggregate", "reduce", "export", "summarize"]
AggregateOp = Literal["mean", "sum", "median", "min", "max"]
TemplateName = Literal["database", "calculation", "analysis", "report"]


class Metric(BaseModel):
    """A figure the portfolio can give per property (see ``vocabulary.METRICS``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    unit: Literal["x", "%", "$", "ratio"]
    tool: str | None  # the calculation tool, None when the figure is stored data
    sources: tuple[str, ...]  # portfolio tables it needs
    description: str
    higher_is_better: bool = True


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: MetricId
    op: Comparison
    value: float = Field(description="in the metric's own unit: a fraction for % metrics (0.06 = 6 %)")


class Ranking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: MetricId
    order: Literal["desc", "asc"] = "desc"
    top_n: int | None = Field(default=None, ge=1, le=1000)


# Bumped when the params file a script reads changes shape: part of every plan's shape (and so
# of its fingerprint), so the library never hands a script written for the old shape new params.
PARAMS_VERSION = 2


class PlanParameters(BaseModel):
    """The values a script reads from its params file (all optional: None / empty = no filter).

    Checked here for form only; whether ids, dimensions and values exist in the domain is the
    ``Vocabulary``'s call (``Vocabulary.problems``), made by the planners."""

    model_config = ConfigDict(extra="forbid")

    entity_ids: list[str] | None = Field(default=None, description="the ids of the entities asked for; None = all")
    filters: dict[str, list[str]] = Field(default_factory=dict,
                                          description="dimension -> accepted values (any of them); all must hold")
    year: int | None = Field(default=None, ge=1990, le=2100, description="financial year; None = latest")
    thresholds: list[Threshold] = Field(default_factory=list, description="all must hold (AND)")
    ranking: Ranking | None = None
    group_by: str | None = Field(default=None, min_length=1, description="a dimension to summarize by")
    discount_rate: float | None = Field(default=None, gt=-1, lt=1, description="per year, as a fraction")
    annualized: bool = False
    aggregate: AggregateOp | None = Field(
        default=None, description="one figure over the selected entities (after filters, thresholds and ranking), "
        "for each metric: mean, sum, median, min or max; with group_by also per group; None = per entity only")
    output_formats: list[OutputFormat] = Field(default_factory=lambda: ["csv"], min_length=1)

    @field_validator("entity_ids")
    @classmethod
    def _ids(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if any(not x.strip() for x in v):
            raise ValueError("entity ids must not be empty strings")
        return sorted(set(v)) or None

    @field_validator("filters")
    @classmethod
    def _filters(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        """Empty value lists dropped (they filter nothing), duplicates removed, order kept."""
        if any(not k.strip() for k in v):
            raise ValueError("filter dimensions must not be empty strings")
        return {k: list(dict.fromkeys(vals)) for k, vals in v.items() if vals}

    @field_validator("output_formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        return sorted(set(v), key=["xlsx", "csv", "pdf", "json"].index)


class InputSpec(BaseModel):
    source: str  # "portfolio.financials"
    columns: list[str]
    filters: list[str] = Field(default_factory=list)  # parameter names that filter it


class OutputSpec(BaseModel):
    path: str  # relative to the results directory
    format: str
    description: str


class PlanStep(BaseModel):
    """One step of the script: a tool call (or pure-Python glue) with its inputs named."""

    model_config = ConfigDict(extra="forbid")

    n: int
    kind: StepKind
    tool: str | None
    description: str
    args: dict[str, str] = Field(default_factory=dict)  # tool argument -> where it comes from
    output: str | None = None


class ScriptRequirements(BaseModel):
    """The plan for one request (validated; ``derive`` fills the execution layer)."""

    model_config = ConfigDict(extra="forbid")

    request: str
    goal: str
    metrics: list[MetricId] = Field(default_factory=list, description="figures per property, in order")
    parameters: PlanParameters = Field(default_factory=PlanParameters)
    assumptions: list[str] = Field(default_factory=list)
    drivers: dict[str, float] = Field(
        default_factory=dict, description="the scenario the request assumes: driver name -> value (names and ranges "
        "from meta_agent.portfolio.drivers.DRIVERS; neutral values left out); not part of the shape or the params")
    unhandled: list[str] = Field(default_factory=list,
                                 description="clauses of the request no part of the plan covers (the run ignores them)")
    planner: str = "offline"
    confidence: float = Field(default=1.0, ge=0, le=1)
    # derived (see ``derive``)
    template: TemplateName = "database"
    tools: list[str] = Field(default_factory=list)
    inputs: list[InputSpec] = Field(default_factory=list)
    outputs: list[OutputSpec] = Field(default_factory=list)
    steps: list[PlanStep] = Field(default_factory=list)

    @field_validator("drivers")
    @classmethod
    def _drivers(cls, v: dict[str, float]) -> dict[str, float]:
        """Known drivers within their ranges (``drivers.check``); neutral ones dropped; in ``DRIVERS`` order."""
        try:
            check(v)
        except ValueError as exc:
            raise ValueError(f"{exc}. Fix: {driver_hint()}") from None
        return {name: float(v[name]) for name in DRIVERS if name in v and float(v[name]) != DRIVERS[name].neutral}

    @model_validator(mode="after")
    def _consistent(self) -> ScriptRequirements:
        p = self.parameters
        for t in p.thresholds:
            if t.metric not in self.metrics:
                raise ValueError(f"parameters.thresholds has '{t.metric}', which is not in metrics {self.metrics}")
        if p.ranking and p.ranking.metric not in self.metrics:
            raise ValueError(f"parameters.ranking is on '{p.ranking.metric}', which is not in metrics {self.metrics}")
        if "npv" in self.metrics and p.discount_rate is None:
            raise ValueError("metric 'npv' needs parameters.discount_rate (e.g. 0.08 for 8 %)")
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError(f"metrics has duplicates: {self.metrics}")
        if p.aggregate and not self.metrics:
            raise ValueError(f"parameters.aggregate ('{p.aggregate}') needs a figure in metrics to aggregate")
        return self

    # -- the parts the script library uses
    def shape(self) -> dict[str, Any]:
        """The request's structure with parameter values abstracted away."""
        p = self.parameters
        return {
            "template": self.template,
            "metrics": list(self.metrics),
            "tools": list(self.tools),
            "steps": [(s.kind, s.tool, sorted(s.args)) for s in self.steps],
            "thresholds": bool(p.thresholds),
            "ranking": p.ranking.metric if p.ranking else None,
            "group_by": p.group_by is not None,
            "formats": list(p.output_formats),
            "params": PARAMS_VERSION,
            # only when set, so plans without one keep the fingerprints the library knows them by
            **({"aggregate": p.aggregate} if p.aggregate else {}),
        }

    def fingerprint(self) -> str:
        blob = json.dumps(self.shape(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def script_params(self) -> dict[str, Any]:
        """What the script reads from its params file (never the drivers: the data is changed instead)."""
        return self.parameters.model_dump(mode="json")

    def scenario_lines(self) -> list[str]:
        """The drivers in words: ``exit value × 0.9 (-10 %)``, one per driver (empty: the base case)."""
        return [DRIVERS[name].describe(value) for name, value in self.drivers.items()]

    def summary_lines(self) -> list[str]:
        """What the plan does beyond its goal, one line each: the scenario, the aggregate and the
        clauses it does not handle (for the CLI and the plan's markdown)."""
        lines = [f"scenario: {line}" for line in self.scenario_lines()]
        p = self.parameters
        if p.aggregate:
            lines.append(f"aggregate: the {p.aggregate} of {', '.join(self.metrics)} over the selection"
                         + (f", also per {p.group_by.replace('_', ' ')}" if p.group_by else ""))
        lines += [f"not handled: '{clause}'" for clause in self.unhandled]
        return lines

    def to_markdown(self) -> str:
        p = self.parameters
        lines = [f"**Goal:** {self.goal}", "", f"**Planner:** {self.planner} · **template:** {self.template}"
                 f" · **confidence:** {self.confidence:.2f}", ""]
        if self.unhandled:
            lines += ["**Not handled** (the plan ignores these parts of the request)", ""]
            lines += [f"- not handled: '{clause}'" for clause in self.unhandled] + [""]
        if self.drivers:
            lines += ["**Scenario** (applied to the data the script reads; the script is the same)", ""]
            lines += [f"- {line} (`{name}` = {value:g})" for line, (name, value)
                      in zip(self.scenario_lines(), self.drivers.items(), strict=True)] + [""]
        lines += ["**Steps**", ""]
        for s in self.steps:
            tool = f"`{s.tool}`" if s.tool else "_python_"
            args = ", ".join(f"{k} ← {v}" for k, v in s.args.items())
            lines.append(f"{s.n}. {s.description} — {tool}" + (f" ({args})" if args else ""))
        lines += ["", "**Parameters**", ""]
        for k, v in p.model_dump(mode="json", exclude_defaults=False).items():
            if v not in (None, False, [], {}):
                lines.append(f"- `{k}`: {json.dumps(v)}")
        lines += ["", "**Outputs**", ""] + [f"- `{o.path}` ({o.format}) — {o.description}" for o in self.outputs]
        if self.assumptions:
            lines += ["", "**Assumptions**", ""] + [f"- {a}" for a in self.assumptions]
        return "\n".join(lines)


def driver_hint(sentence: bool = False) -> str:
    """How to set drivers, for error messages: each name with its range and an example
    (``sentence``: capitalized, with a full stop)."""
    hint = "set only these drivers, each within its range — " + "; ".join(
        f"{d.name} {d.low:g} to {d.high:g} (neutral {d.neutral:g}; e.g. {d.example})" for d in DRIVERS.values())
    return hint[0].upper() + hint[1:] + "." if sentence else hint


class ToolSuggestion(BaseModel):
    name: str
    score: float
    description: str


class PlanRefusal(BaseModel):
    """The planner could not plan the request; it says why and what is closest."""

    request: str
    reason: str
    closest_tools: list[ToolSuggestion] = Field(default_factory=list)
    hint: str = ""
    planner: str = "offline"

    def message(self) -> str:
        tools = ", ".join(t.name for t in self.closest_tools) or "none"
        return f"cannot plan this request: {self.reason}" + (f" {self.hint}" if self.hint else "") + \
            f" (closest tools: {tools})"


class PlanOutcome(BaseModel):
    requirements: ScriptRequirements | None = None
    refusal: PlanRefusal | None = None
    duration_ms: float = 0.0
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.requirements is not None
