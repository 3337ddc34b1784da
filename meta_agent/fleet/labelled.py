"""A labelled fleet: synthetic executions with ground truth, to measure clustering and root-cause
analysis against.

``labelled_fleet(seed)`` simulates ``days`` days of ``agents`` agents with background noise all
through (the ordinary error mix, timeouts, the v2→v3 prompt switch) and ``incidents_per_category``
incidents of each root-cause category (prompt, tool, context, external), placed by the seed:

- prompt: ``prompt_regression`` — a new prompt version breaks the output format for one agent
  for 2-4 days (then rolled back);
- tool: ``tool_failure`` — a tool's version bump makes a share of its calls fail with an error
  never seen before, for 2-4 days (then fixed);
- context: ``context_overflow`` (prompts grow past the model's window, 2-3 days; on agents whose
  prompts are large for their window) and ``empty_retrieval`` (retrieval returns 0 documents and
  grounded answers fail, 1-2 days), alternately;
- external: ``provider_outage`` (one model answers 503 for every agent calling it, 2-4 hours) and
  ``rate_limit_storm`` (429s across the agents sharing one model, 2-4 hours), alternately; each
  on a model at least two agents call, different models where the fleet has enough.

No two incidents touch the same agent on the same day (so each failure has one cause), the
first three days are clean (a baseline), and the same agent does get incidents on different
days. ``execution_labels`` maps every failed execution an incident caused to its
``incident_id``; background failures are not in it (``label()`` calls them ``"background"``).
Same seed, same fleet (records, incidents and labels).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np

from meta_agent.fleet.incidents import ANY_AGENT, CATEGORIES, CATEGORY, HOURLY_KINDS, Incident
from meta_agent.fleet.profiles import AgentProfile, fleet
from meta_agent.fleet.simulate import FleetSpec, context_window, simulate, tool_versions

BACKGROUND = "background"
LABELLED_END = date(2026, 11, 21)  # fixed, so a seed means the same fleet on every day it is built
CLEAN_DAYS = 3
KINDS_BY_CATEGORY = {
    "prompt": ("prompt_regression",),
    "tool": ("tool_failure",),
    "context": ("context_overflow", "empty_retrieval"),
    "external": ("provider_outage", "rate_limit_storm"),
}
_FIELDS = ("summary", "confidence", "citations", "next_action", "line_items", "risk_flags", "total_amount",
           "due_date", "counterparty", "category")


@dataclass(frozen=True)
class LabelledIncident:
    incident_id: str
    kind: str
    category: str  # prompt | tool | context | external
    agents: tuple[str, ...]  # every agent it touches
    models: tuple[str, ...]  # the models involved (fleet-wide kinds: the one that failed)
    start: datetime
    end: datetime | None  # exclusive; None: from then on
    description: str
    incident: Incident = field(repr=False, compare=False)  # what the simulator was given


@dataclass
class LabelledFleet:
    records: list[dict]
    incidents: list[LabelledIncident]
    execution_labels: dict[str, str]  # execution_id -> incident_id, for the failures incidents caused
    start: date
    end: date
    seed: int

    def label(self, execution_id: str) -> str:
        """The incident behind a failure, or ``"background"``."""
        return self.execution_labels.get(execution_id, BACKGROUND)

    def by_id(self) -> dict[str, LabelledIncident]:
        return {i.incident_id: i for i in self.incidents}

    def failures_per_incident(self) -> dict[str, int]:
        return dict(Counter(self.execution_labels.values()))


def labelled_fleet(seed: int, *, days: int = 21, agents: int = 8, per_day: int = 300,
                   incidents_per_category: int = 3, end: date = LABELLED_END) -> LabelledFleet:
    """``days`` days of ``agents`` agents with ``incidents_per_category`` incidents per category."""
    if days < CLEAN_DAYS + 2:
        raise ValueError(f"a labelled fleet needs at least {CLEAN_DAYS + 2} days, got {days}")
    profiles = fleet(agents)
    start = end - timedelta(days=days - 1)
    plan = plan_incidents(seed, profiles, start, days, incidents_per_category)
    labels: dict[str, Incident] = {}
    records = list(simulate(FleetSpec(agents=agents, days=days, per_day=per_day, seed=seed, end=end,
                                      incidents=[inc for inc, _ in plan]), labels=labels))
    incidents = []
    for inc, touched in plan:
        models = (inc.model,) if inc.model else tuple(dict.fromkeys(
            m for p in profiles if p.agent_id in touched for m in p.models))
        incidents.append(LabelledIncident(inc.incident_id, inc.kind, CATEGORY[inc.kind], touched, models,
                                          inc.start, inc.end, inc.describe(), inc))
    execution_labels = {eid: inc.incident_id for eid, inc in labels.items()}
    return LabelledFleet(records, incidents, execution_labels, start, end, seed)


def plan_incidents(seed: int, profiles: list[AgentProfile], start: date, days: int,
                   per_category: int) -> list[tuple[Incident, tuple[str, ...]]]:
    """The incidents (and the agents each touches), placed so no agent has two on one day."""
    rng = np.random.default_rng([seed, 0x1ABE1])
    busy: set[tuple[str, int]] = set()  # (agent, day index)
    used_models: Counter = Counter()
    used_agents: dict[str, set[str]] = {}  # kind -> agents it already hit: the next one goes elsewhere
    prompt_versions: Counter = Counter()
    out: list[tuple[Incident, tuple[str, ...]]] = []
    users: dict[str, list[str]] = {}
    for p in profiles:
        for m in p.models:
            users.setdefault(m, []).append(p.agent_id)
    shared = sorted(m for m, a in users.items() if len(a) >= 2) or sorted(users)
    big_prompts = [p for p in profiles if context_window(p.models[0]) / p.tokens_in <= 40] or profiles
    # interleave the categories so their incidents spread over the window
    order = [(cat, k) for k in range(per_category) for cat in CATEGORIES]
    for n, (cat, k) in enumerate(order):
        kinds = KINDS_BY_CATEGORY[cat]
        kind = kinds[k % len(kinds)]
        for _attempt in range(200):
            inc, touched, span = _draw(rng, kind, profiles, big_prompts, users, shared, used_models,
                                       used_agents.setdefault(kind, set()), start, days)
            cells = {(a, d) for a in touched for d in span}
            if not cells & busy:
                break
        else:  # a crowded fleet: give up on this one rather than overlap
            continue
        busy |= cells
        used_agents[kind].add(inc.agent_id)
        if inc.model:
            used_models[inc.model] += 1
        iid = f"inc-{n + 1:02d}-{kind}"
        if kind == "prompt_regression":
            prompt_versions[inc.agent_id] += 1
            inc = replace(inc, version=f"v{3 + prompt_versions[inc.agent_id]}")
        out.append((replace(inc, incident_id=iid), touched))
    return out


def _draw(rng: np.random.Generator, kind: str, profiles: list[AgentProfile], big_prompts: list[AgentProfile],
          users: dict[str, list[str]], shared: list[str], used_models: Counter, avoid: set[str], start: date,
          days: int) -> tuple[Incident, tuple[str, ...], range]:
    # a multi-day incident starts a full day before the window ends, so it is seen for a while
    d0 = int(rng.integers(CLEAN_DAYS, days if kind in HOURLY_KINDS else days - 1))
    day = start + timedelta(days=d0)
    detail = str(rng.choice(_FIELDS))
    if kind in HOURLY_KINDS:
        fewest = min(used_models[m] for m in shared)
        model = str(rng.choice([m for m in shared if used_models[m] == fewest]))
        inc = Incident(kind, ANY_AGENT, day, start_hour=int(rng.integers(8, 16)), hours=int(rng.integers(2, 5)),
                       model=model)
        return inc, tuple(users[model]), range(d0, d0 + 1)
    pool = big_prompts if kind == "context_overflow" else profiles
    # same kind, another agent (and for overflows another provider: their errors read alike)
    family = {_family(p.models[0]) for p in pool if p.agent_id in avoid}
    pool = ([p for p in pool if p.agent_id not in avoid and _family(p.models[0]) not in family]
            or [p for p in pool if p.agent_id not in avoid] or pool)
    p = pool[int(rng.integers(0, len(pool)))]
    length = {"prompt_regression": (2, 5), "tool_failure": (2, 5), "context_overflow": (2, 4),
              "empty_retrieval": (1, 3)}[kind]
    n_days = min(int(rng.integers(*length)), days - d0)
    hour = int(rng.integers(6, 15))
    tool = version = None
    if kind == "tool_failure":
        tool = str(rng.choice(p.tools))
        major = int(tool_versions(p.tools)[tool].split(".")[0])
        version = f"{major + 1}.0.0"
    inc = Incident(kind, p.agent_id, day, from_hour=hour, days=n_days, tool=tool, version=version, detail=detail,
                   variant=len(avoid))  # the next tool failure fails another way
    # the day after it ends is kept free too when it ends mid-day
    return inc, (p.agent_id,), range(d0, min(days, d0 + n_days + 1))



def _family(model: str) -> str:
    return "claude" if model.startswith("claude") else "gemini" if "gemini" in model else "openai"
