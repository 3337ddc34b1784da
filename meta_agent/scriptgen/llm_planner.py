"""The LLM planner and script writer, through the gateway (``meta_agent.llm``).

``LLMPlanner`` asks the model for the *analysis layer* of a plan — goal, metrics, parameters
— as JSON validated by pydantic (``LLMPlanReply``); cross-field rules (a threshold on a
metric that is not asked for, an NPV without a rate) and the domain's (ids, filter dimensions
and values, the grouping: ``Vocabulary.problems``) are part of the validation, so the
gateway's repair loop feeds the exact error back for another try (3 in all). The prompt
describes the domain from the same ``Vocabulary`` the planner is given. The execution layer is
then derived exactly as for the offline planner, so the templates and the validator see the
same kind of plan. The model may also decline (``can_plan: false``) with a reason.

The reply may carry the scenario the request assumes (``drivers``: names and ranges from
``meta_agent.portfolio.drivers.DRIVERS``, described in the prompt; an unknown name or a value
out of range is a validation error naming the allowed drivers, so the repair loop fixes it or
the request is refused with that sentence) and the clauses it could not plan (``unhandled``),
which the plan names, as the offline planner does.

``LLMScriptWriter`` asks the model for a whole script body for a plan; the validator judges
it, and its findings go back to the model for up to 3 tries.

With no model configured (the default), the gateway is offline and ``LLMPlanner`` hands the
request to the ``OfflinePlanner`` — and says so in the plan's ``planner`` field.

Depends on ``offline_planner`` and ``planning``, never on ``planner`` (which selects).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from meta_agent.domain import Vocabulary
from meta_agent.llm import LLMJSONError, LLMOffline, get_gateway
from meta_agent.portfolio.drivers import DRIVERS
from meta_agent.scriptgen import vocabulary as V
from meta_agent.scriptgen.derive import derive, group_covers
from meta_agent.scriptgen.offline_planner import OfflinePlanner
from meta_agent.scriptgen.planning import check_request_text, closest_tools, vocabulary_or_default
from meta_agent.scriptgen.requirements import (
    MetricId,
    PlanOutcome,
    PlanParameters,
    PlanRefusal,
    ScriptRequirements,
    driver_hint,
)
from meta_agent.scriptgen.tooling import registry
from meta_agent.scriptgen.validator import validate_script
from meta_agent.tools import language
from meta_agent.tools.runtime import runtime_api_doc

RETRIES = 3


class LLMPlanReply(BaseModel):
    """What the model returns for a request (``reply_model`` binds it to a domain)."""

    model_config = ConfigDict(extra="forbid")
    vocabulary: ClassVar[Vocabulary | None] = None

    can_plan: bool = Field(description="false when no combination of the tools answers the request")
    refusal_reason: str | None = Field(None, description="why not, when can_plan is false")
    goal: str = Field("", description="one sentence: what the script will produce")
    metrics: list[MetricId] = Field(default_factory=list, description="figures per property, in order")
    parameters: PlanParameters = Field(default_factory=PlanParameters)
    assumptions: list[str] = Field(default_factory=list)
    drivers: dict[str, float] = Field(
        default_factory=dict, description="the scenario the request assumes, driver name -> value (see the "
        "drivers in the instructions); empty for the base case")
    unhandled: list[str] = Field(default_factory=list,
                                 description="the words of each clause of the request this plan does not cover")

    @model_validator(mode="after")
    def _coherent(self) -> LLMPlanReply:
        if not self.can_plan:
            if not self.refusal_reason:
                raise ValueError("refusal_reason is required when can_plan is false")
            return self
        # the same cross-field rules as the plan itself, so the repair loop sees them
        ScriptRequirements(request="-", goal=self.goal or "-", metrics=self.metrics, parameters=self.parameters,
                           drivers=self.drivers)
        p = self.parameters
        problems = self.vocabulary.problems(p.entity_ids, p.filters, p.group_by) if self.vocabulary else []
        if problems:
            raise ValueError("; ".join(problems))
        return self


def reply_model(vocabulary: Vocabulary) -> type[LLMPlanReply]:
    """``LLMPlanReply`` that also checks the parameters against ``vocabulary``."""
    model = create_model("LLMPlanReply", __base__=LLMPlanReply, __doc__=LLMPlanReply.__doc__)
    model.vocabulary = vocabulary
    return model


def system_prompt(vocabulary: Vocabulary) -> str:
    """The planner's instructions: the domain (from ``vocabulary``), the figures, the rules, the tools."""
    metrics = "\n".join(f"- {m.id}: {m.label} — {m.description} (unit {m.unit})" for m in V.METRICS.values())
    drivers = "\n".join(f"- {d.name}: {d.description}; neutral {d.neutral:g}, from {d.low:g} to {d.high:g} "
                        f"(e.g. {d.example})" for d in DRIVERS.values())
    return (
        f"You plan analysis scripts over this data:\n{vocabulary.describe()}\n\n"
        "A script may only call the tools below; it reads the data and writes result files, nothing else.\n\n"
        f"Figures (metrics) a plan can ask for, per {vocabulary.entity}:\n{metrics}\n\n"
        "Rules: percentages are fractions (6% = 0.06); DSCR thresholds are plain numbers (1.25); put every "
        "figure a threshold or ranking uses into metrics; an NPV needs parameters.discount_rate; output_formats "
        "from csv, xlsx, pdf, json (csv when none is named). If the request asks to change data, contact "
        "anyone, run commands, forecast, or needs a figure not listed, set can_plan to false and say why.\n\n"
        "One figure over the selection (\"average occupancy of the retail properties\", \"total NOI\"): "
        "parameters.aggregate, one of mean, sum, median, min, max (with group_by it is also per group).\n\n"
        "A scenario the request assumes (\"assuming a 10% haircut on the exit value\", \"if rates rise 200 bp\") goes "
        "in drivers, name -> value, only drivers that change something; the script stays the same and the data "
        f"it reads is changed. The drivers:\n{drivers}\n\n"
        "Every clause of the request is either planned or listed, in its own words, in unhandled (e.g. \"weighted "
        "by square footage\"); never drop one silently.\n\n"
        f"Tools:\n{registry().render_docs()}"
    )


class LLMPlanner:
    """``vocabulary`` defaults to the data the tool library reads (``tooling.vocabulary()``);
    the offline fallback plans over the same one."""

    name = "llm"

    def __init__(self, gateway=None, fallback: OfflinePlanner | None = None, *, vocabulary: Vocabulary | None = None):
        if gateway is None:
            gateway = get_gateway()
        self.gateway = gateway
        if vocabulary is None and fallback is not None:
            vocabulary = fallback.vocabulary
        self.vocabulary = vocabulary_or_default(vocabulary)
        self.fallback = fallback or OfflinePlanner(self.vocabulary)
        self.reply_model = reply_model(self.vocabulary)

    def plan(self, request: str, output_format: str | None = None) -> PlanOutcome:
        text = check_request_text(request)
        if self.gateway.offline:
            outcome = self.fallback.plan(text, output_format)
            if outcome.requirements is not None:
                outcome.requirements.planner = "offline (no model configured)"
            return outcome
        t0 = time.perf_counter()
        user = f"Request: {text}"
        if output_format:
            user += f"\nThe person asked for the output format: {output_format}."
        messages = [{"role": "system", "content": system_prompt(self.vocabulary)}, {"role": "user", "content": user}]
        try:
            reply: LLMPlanReply = self.gateway.complete_json(messages, self.reply_model, retries=RETRIES,
                                                             purpose="script_planner")
        except LLMJSONError as exc:
            return PlanOutcome(refusal=PlanRefusal(
                request=text, reason=f"the model did not produce a valid plan in {RETRIES} tries ({exc.errors[-1]})",
                closest_tools=closest_tools(text), planner=self.name),
                duration_ms=(time.perf_counter() - t0) * 1000, attempts=RETRIES)
        ms = (time.perf_counter() - t0) * 1000
        if not reply.can_plan:
            return PlanOutcome(refusal=PlanRefusal(request=text, reason=reply.refusal_reason or "declined by the model",
                                                   closest_tools=closest_tools(text), planner=self.name),
                               duration_ms=ms)
        params = reply.parameters
        if output_format:
            params = params.model_copy(update={"output_formats": [output_format]})
        if group_covers(reply.metrics, params.aggregate, params.group_by):  # the group summary has it already
            params = params.model_copy(update={"aggregate": None})
        unhandled = [c.strip() for c in reply.unhandled if c.strip()]
        assumptions = [*reply.assumptions, *(f"scenario: {DRIVERS[name].describe(value)}"
                                             for name, value in reply.drivers.items()
                                             if value != DRIVERS[name].neutral),
                       *(f"not handled: '{clause}' (the plan ignores it)" for clause in unhandled)]
        try:
            req = ScriptRequirements(request=text, goal=reply.goal, metrics=reply.metrics, parameters=params,
                                     assumptions=assumptions, drivers=reply.drivers, unhandled=unhandled,
                                     planner=self.name, confidence=max(0.2, round(0.9 - 0.2 * len(unhandled), 2)))
        except ValidationError as exc:  # the reply model checks the same rules; kept as a refusal, never a crash
            return PlanOutcome(refusal=PlanRefusal(
                request=text, reason=f"the model's plan is inconsistent ({exc.errors()[0]['msg']})",
                hint=driver_hint(sentence=True), closest_tools=closest_tools(text), planner=self.name), duration_ms=ms)
        return PlanOutcome(requirements=derive(req), duration_ms=ms)


_CODE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)


def extract_code(text: str) -> str:
    m = _CODE.search(text)
    return (m.group(1) if m else text).strip() + "\n"


class LLMScriptWriter:
    """The model writes the script body; the validator's findings go back for up to 3 tries."""

    def __init__(self, gateway=None):
        if gateway is None:
            gateway = get_gateway()
        self.gateway = gateway
        self.attempts = 0
        self.last_report = None

    def write(self, req: ScriptRequirements) -> str:
        if self.gateway.offline:
            raise LLMOffline("no model is configured to write scripts; use the templates (author='template').")
        system = (
            "You write one script in meta-agent's script language, a small subset of Python. Anything not "
            "listed below is rejected, so follow it exactly:\n" + (language.__doc__ or "") +
            "\nThe runtime API (meta_agent.tools):\n" + runtime_api_doc() +
            "\nReply with the script in one ```python fenced block and nothing else.\n\nTools:\n"
            + registry().render_docs(req.tools)
        )
        plan = json.dumps({k: v for k, v in req.model_dump(mode="json").items() if k != "request"}, indent=1)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                          {"role": "user", "content": f"Plan:\n{plan}"}]
        source = ""
        for attempt in range(1, RETRIES + 1):
            self.attempts = attempt
            reply = self.gateway.complete(messages, purpose="script_writer", attempt=attempt)
            source = extract_code(reply.text)
            report = validate_script(source)
            self.last_report = report
            if report.valid:
                return source
            problems = "\n".join(f.render("script.py") for f in report.errors[:20])
            messages += [{"role": "assistant", "content": reply.text},
                         {"role": "user", "content": f"The validator rejected the script:\n{problems}\n"
                                                     "Reply with the corrected script only."}]
        return source
