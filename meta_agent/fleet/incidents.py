"""Incidents the simulator can inject, so later features have something true to find."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from meta_agent.errors import InputError

KINDS = ("outage", "latency_regression", "cost_spike", "new_error_type")


@dataclass(frozen=True)
class Incident:
    """``kind`` hits ``agent_id`` on ``day``.

    - outage: most executions fail with 503s between ``start_hour`` and ``start_hour+hours``;
    - latency_regression: from ``day`` on, latency ×3 (and a new prompt version, its cause);
    - cost_spike: on ``day`` only, prompts ×8 longer (a runaway retrieval), cost follows;
    - new_error_type: from ``day`` on, 20 % fail with an error never seen before.
    """

    kind: str
    agent_id: str
    day: date
    start_hour: int = 9
    hours: int = 4

    def describe(self) -> str:
        what = {
            "outage": f"outage {self.start_hour:02d}:00-{self.start_hour + self.hours:02d}:00 UTC",
            "latency_regression": "latency ×3 from this day on (prompt v4)",
            "cost_spike": "prompt tokens ×8 for the day",
            "new_error_type": "SchemaValidationError in 20 % of runs from this day on",
        }[self.kind]
        return f"{self.kind} at {self.agent_id} on {self.day.isoformat()}: {what}"

    def active(self, d: date) -> bool:
        if self.kind in ("latency_regression", "new_error_type"):
            return d >= self.day
        return d == self.day


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
