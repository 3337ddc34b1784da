"""Incidents the simulator can inject, so later features have something true to find.

Every kind is a clear instance of one root-cause category (``CATEGORY``), visible in the data
alone — a prompt version, a tool version, a retrieval's document count, a provider's 503s:

| kind | category | what the data shows |
|---|---|---|
| latency_regression | prompt | a new prompt version (v4) from ``day`` on, latency ×3 |
| prompt_regression | prompt | a new prompt version; OutputParserExceptions naming a missing field, latency ×1.3 |
| new_error_type | tool | a tool's version jumps to 2.0.0; 20 % of runs fail in that tool (SchemaValidationError) |
| tool_failure | tool | a tool's version bump; a share of that tool's calls fail with an error never seen before |
| cost_spike | context | a runaway retrieval for the day: documents ×8, prompt tokens ×8; the largest prompts overflow the model's window |
| context_overflow | context | prompts grow (long history, bigger retrievals) until some exceed the model's window |
| empty_retrieval | context | retrieval returns 0 documents and the grounded answer fails |
| outage | external | one agent's calls fail with 503s for a few hours |
| provider_outage | external | one model fails with 503s for every agent that calls it, for a few hours |
| rate_limit_storm | external | 429s for every agent sharing one model, for a few hours |

Hourly kinds (``HOURLY_KINDS``) run from ``start_hour`` for ``hours`` on ``day``; the others
start at ``from_hour`` on ``day`` and last ``days`` days (``None``: from then on; the demo's
cost spike: the one day).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from meta_agent.errors import InputError

KINDS = ("outage", "latency_regression", "cost_spike", "new_error_type")  # the demo's (and the CLI's)
LABELLED_KINDS = ("prompt_regression", "tool_failure", "context_overflow", "empty_retrieval",
                  "provider_outage", "rate_limit_storm")
ALL_KINDS = KINDS + LABELLED_KINDS
CATEGORIES = ("prompt", "tool", "context", "external")
CATEGORY = {
    "latency_regression": "prompt", "prompt_regression": "prompt",
    "new_error_type": "tool", "tool_failure": "tool",
    "cost_spike": "context", "context_overflow": "context", "empty_retrieval": "context",
    "outage": "external", "provider_outage": "external", "rate_limit_storm": "external",
}
HOURLY_KINDS = ("outage", "provider_outage", "rate_limit_storm")
FLEET_WIDE_KINDS = ("provider_outage", "rate_limit_storm")  # every agent that calls ``model``
ANY_AGENT = "*"


@dataclass(frozen=True)
class Incident:
    """``kind`` hits ``agent_id`` (or, fleet-wide kinds, every agent calling ``model``) on ``day``.

    - outage: most executions fail with 503s between ``start_hour`` and ``start_hour+hours``;
    - latency_regression: from ``day`` on, latency ×3 (and a new prompt version, its cause);
    - cost_spike: on ``day`` only, a runaway retrieval: documents and prompt tokens ×8 (median),
      cost follows, and prompts past the model's context window fail;
    - new_error_type: from ``day`` on, ``tool`` (default: the agent's first) is at version
      2.0.0 and 20 % of runs fail in it with an error never seen before;
    - the labelled kinds: see the module's table; ``version`` is the new prompt or tool
      version, ``rate`` the share of affected executions that fail (each kind has a default).
    """

    kind: str
    agent_id: str
    day: date
    start_hour: int = 9  # hourly kinds
    hours: int = 4  # hourly kinds
    from_hour: int = 0  # the other kinds: the hour of ``day`` the change lands
    days: int | None = None  # the other kinds: how long it lasts (None: from then on)
    tool: str | None = None  # new_error_type, tool_failure
    model: str | None = None  # provider_outage, rate_limit_storm (and ``agent_id`` "*")
    version: str | None = None  # prompt_regression: the prompt version; tool kinds: the tool version
    rate: float | None = None  # share of affected executions that fail
    detail: str | None = None  # the field / argument an error names (prompt_regression, tool_failure)
    variant: int | None = None  # tool_failure: which of its error templates (default: from the description)
    incident_id: str | None = None

    @property
    def category(self) -> str:
        return CATEGORY[self.kind]

    @property
    def start(self) -> datetime:
        hour = self.start_hour if self.kind in HOURLY_KINDS else self.from_hour
        return datetime(self.day.year, self.day.month, self.day.day, hour, tzinfo=UTC)

    @property
    def end(self) -> datetime | None:
        """When it stops (exclusive); None: it never does, within the simulation."""
        if self.kind in HOURLY_KINDS:
            return self.start + timedelta(hours=self.hours)
        if self.kind == "cost_spike" and self.days is None:
            return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC) + timedelta(days=1)
        return None if self.days is None else self.start + timedelta(days=self.days)

    def describe(self) -> str:
        where = self.model if self.kind in FLEET_WIDE_KINDS else self.agent_id
        if self.kind in HOURLY_KINDS:
            s, e = self.start, self.end
            span = f"{s:%H}:00-{e:%H}:00 UTC" if e.date() == s.date() else f"{s:%H}:00 for {self.hours} h"
        else:
            span = "from this day on" if self.end is None else f"for {self.days or 1} day(s)"
        what = {
            "outage": f"outage {span}",
            "latency_regression": "latency ×3 from this day on (prompt v4)",
            "cost_spike": "prompt tokens ×8 for the day (a runaway retrieval; documents ×8)",
            "new_error_type": f"SchemaValidationError in 20 % of runs from this day on "
                              f"({self.tool or 'its first tool'} 2.0.0)",
            "prompt_regression": f"prompt {self.version or 'v4'} breaks the output format {span}",
            "tool_failure": f"{self.tool} {self.version or '2.0.0'} fails with a new error {span}",
            "context_overflow": f"prompts grow past the model's context window {span}",
            "empty_retrieval": f"retrieval returns 0 documents and answers fail {span}",
            "provider_outage": f"503s on {self.model} for every agent calling it {span}",
            "rate_limit_storm": f"429s on {self.model} across the agents sharing it {span}",
        }[self.kind]
        return f"{self.kind} at {where} on {self.day.isoformat()}: {what}"

    def applies_to(self, agent_id: str, models: tuple[str, ...]) -> bool:
        if self.kind in FLEET_WIDE_KINDS:
            return self.model in models and self.agent_id in (ANY_AGENT, agent_id)
        return self.agent_id == agent_id

    def active(self, d: date) -> bool:
        """Whether any part of ``d`` (a UTC day) falls inside the incident."""
        lo = datetime(d.year, d.month, d.day, tzinfo=UTC)
        end = self.end
        return self.start < lo + timedelta(days=1) and (end is None or end > lo)

    def span(self, d: date) -> tuple[float, float]:
        """``[lo, hi)`` seconds after ``d``'s midnight that the incident covers (may be empty)."""
        midnight = datetime(d.year, d.month, d.day, tzinfo=UTC)
        lo = max(0.0, (self.start - midnight).total_seconds())
        end = self.end
        hi = 86400.0 if end is None else min(86400.0, (end - midnight).total_seconds())
        return lo, max(lo, hi)


_SPEC = re.compile(r"^(?P<kind>[a-z_]+):(?P<agent>[^:]+):(?P<day>[^:]+)$")


def parse_incident(spec: str, *, end: date, days: int, agent_ids: list[str]) -> Incident:
    """``KIND:AGENT:DAY`` where DAY is an ISO date or ``-N`` (N days before the last day)."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise InputError(f"--incident '{spec}': expected KIND:AGENT:DAY, e.g. outage:support-triage:-2.")
    kind, agent, day_s = m["kind"], m["agent"], m["day"]
    if kind not in KINDS:
        raise InputError(f"--incident '{spec}': unknown kind '{kind}'; use one of {', '.join(KINDS)}.")
    if agent not in agent_ids:
        raise InputError(f"--incident '{spec}': no agent '{agent}' in this fleet; agents are {', '.join(agent_ids)}.")
    try:
        day = end + timedelta(days=int(day_s)) if day_s.lstrip("-").isdigit() else date.fromisoformat(day_s)
    except ValueError:
        raise InputError(f"--incident '{spec}': day '{day_s}' is neither YYYY-MM-DD nor -N.") from None
    first = end - timedelta(days=days - 1)
    if not first <= day <= end:
        raise InputError(f"--incident '{spec}': {day} is outside the simulated days {first}..{end}.")
    return Incident(kind, agent, day)


# The demo's story: (kind, agent index, day offset from the last simulated day).
DEMO_STORY = (
    ("new_error_type", 0, -3),
    ("cost_spike", 1, 0),
    ("outage", 2, -2),
    ("latency_regression", 3, -5),
)


def default_incidents(agent_ids: list[str], end: date, days: int) -> list[Incident]:
    """Four incidents on four agents in the window's last week (fewer agents: they share)."""
    return [
        Incident(kind, agent_ids[idx % len(agent_ids)], end + timedelta(days=offset))
        for kind, idx, offset in DEMO_STORY
        if agent_ids and days > -offset
    ]
