"""The executive narrative of an evaluation report: a model writes it from the report's facts,
and every number in its reply is checked against those facts.

``write_narrative(report, gateway)``:

- offline (``LLMOffline``) or a failed call → the rule-based summary, source ``rules``;
- otherwise the model gets the facts (``report.facts()``: every number the report shows,
  formatted as it shows it) and is asked for 3–5 sentences using only them. Each number in
  the reply — with its unit: ``%``, ``pp``, ``ms``/``s``/``min``/``h``, ``$``, ``×``, ``/100``,
  plain — must match a fact's number of the same kind up to the precision the reply shows
  (``84 %`` for ``83.9 %``; ``2,100 ms`` for ``2.1 s``), and each ``YYYY-MM-DD`` date must be a
  fact's date. An invented number → one repair round listing the bad numbers; still
  invented → rejected, the rule-based summary with source
  ``rules (model reply rejected: invented 37 %)``. Accepted: source ``llm:<model>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meta_agent.llm.gateway import LLMError, LLMGateway, LLMOffline

PURPOSE = "evaluation_report"
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# a number not inside a name (v4, gpt-4o, claude-sonnet-4-5, p95, search_kb 2.0.0 stays a version)
_NUMBER = re.compile(
    r"(?<![\w.])(?<!\w-)(?P<usd>\$)?(?P<sign>[+\-−])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<unit>\s?(?:%|pp\b|percentage points?\b|points?\b|ms\b|s\b|sec\b|seconds?\b|min\b|minutes?\b|h\b|hours?\b|×|x\b|/100\b))?"
    r"(?![\w.]*\d)(?!\.\d)(?![\w-])")
_TO_MS = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "second": 1000.0, "seconds": 1000.0, "min": 60_000.0,
          "minute": 60_000.0, "minutes": 60_000.0, "h": 3_600_000.0, "hour": 3_600_000.0, "hours": 3_600_000.0}

SYSTEM = ("You write the executive summary of an AI agent's evaluation report for a manager. Use ONLY the facts "
          "given: every number you write must be one of the facts' numbers, written as in the facts (rounding is "
          "fine), with its unit; dates as YYYY-MM-DD. Do not compute new numbers (no sums, differences or "
          "averages of your own). 3 to 5 plain sentences, no lists, no headings: the overall score and risk, what "
          "changed and since when, why it matters, and the first action.")


@dataclass(frozen=True)
class Narrative:
    text: str
    source: str  # rules | llm:<model> | rules (model reply rejected: invented …) | rules (model unavailable: …)


@dataclass(frozen=True)
class Quantity:
    kind: str  # pct | pp | ms | usd | x | score | plain
    value: float  # absolute value, in the kind's base unit (ms for durations)
    tolerance: float  # half a unit of the last digit shown, in the base unit
    text: str


def quantities(text: str) -> list[Quantity]:
    """The numbers of ``text`` with their kind and shown precision (dates and names skipped)."""
    out = []
    for m in _NUMBER.finditer(_DATE.sub(" ", text)):
        num = m["num"].replace(",", "")
        decimals = len(num.split(".")[1]) if "." in num else 0
        value, tol = abs(float(num)), 0.5 * 10 ** -decimals
        unit = (m["unit"] or "").strip().lower()
        if m["usd"]:
            kind = "usd"
        elif unit == "%":
            kind = "pct"
        elif unit == "pp" or unit.endswith(("point", "points")):
            kind = "pp"
        elif unit in _TO_MS:
            kind, value, tol = "ms", value * _TO_MS[unit], tol * _TO_MS[unit]
        elif unit in ("×", "x"):
            kind = "x"
        elif unit == "/100":
            kind = "score"
        else:
            kind = "plain"
        out.append(Quantity(kind, value, tol, m.group(0).strip()))
    return out


def _compatible(a: str, b: str) -> bool:
    """A reply's number of kind ``a`` may quote a fact of kind ``b``."""
    if a == b:
        return True
    return {a, b} <= {"score", "plain"} or {a, b} <= {"pct", "pp"}


def invented(reply: str, facts: dict[str, str]) -> list[str]:
    """The numbers and dates of ``reply`` that no fact supports (as written in the reply)."""
    known = [q for v in facts.values() for q in quantities(v)]
    dates = {d for v in facts.values() for d in _DATE.findall(v)}
    bad = [d for d in _DATE.findall(reply) if d not in dates]
    for q in quantities(reply):
        if not any(_compatible(q.kind, k.kind) and abs(q.value - k.value) <= q.tolerance + 1e-9 for k in known):
            bad.append(q.text)
    return list(dict.fromkeys(bad))


def _facts_block(facts: dict[str, str]) -> str:
    return "\n".join(f"- {k}: {v}" for k, v in facts.items())


def write_narrative(report, gateway: LLMGateway, *, max_chars: int = 1500) -> Narrative:
    """The narrative of ``report`` (an ``EvaluationReport``): the model's, checked, or the rules'."""
    facts = report.facts()
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Facts of the report:\n{_facts_block(facts)}\n\n"
                                            f"Write the executive summary for {report.agent_id}."}]
    try:
        done = gateway.complete(messages, purpose=PURPOSE)
        text = done.text.strip()[:max_chars]
        bad = invented(text, facts)
        if bad:
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": "These numbers or dates are not in the facts: "
                                                     f"{', '.join(bad)}. Rewrite the summary using only the facts' "
                                                     "numbers and dates, as written there."}]
            done = gateway.complete(messages, purpose=PURPOSE, group_id=done.group_id)
            text = done.text.strip()[:max_chars]
            bad = invented(text, facts)
    except LLMOffline:
        return Narrative(report.summary, "rules")
    except LLMError as exc:
        return Narrative(report.summary, f"rules (model unavailable: {type(exc).__name__})")
    if bad:
        return Narrative(report.summary, f"rules (model reply rejected: invented {', '.join(bad[:3])})")
    if not text:
        return Narrative(report.summary, "rules (model reply rejected: empty)")
    return Narrative(text, f"llm:{done.model or done.deployment}")
