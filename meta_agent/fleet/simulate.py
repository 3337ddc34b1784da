"""Synthetic executions for a fleet of agents, in the execution-log record schema.

Numbers follow what production fleets look like: lognormal latencies per agent and model,
lognormal token counts priced with litellm's bundled price map, a diurnal and weekly
traffic shape, realistic error types and messages, human interventions, prompt versions.
Same seed and same end date, same records (execution ids included).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from meta_agent.fleet.incidents import Incident
from meta_agent.fleet.profiles import MODEL_LATENCY, AgentProfile, fleet
from meta_agent.llm.pricing import token_prices

TIMEOUT_MS = 60_000.0

# (error_type, message template, share of ordinary failures, which action fails)
ERRORS: tuple[tuple[str, str, float, str], ...] = (
    ("RateLimitError", "429 Too Many Requests: rate limit reached for {model} on tokens per min (TPM): "
     "limit 200000, used 198412, requested 4218. Please retry after 1.2s.", 0.32, "llm_inference"),
    ("ToolExecutionError", "tool '{tool}' failed: upstream returned 502 Bad Gateway after 3 retries",
     0.28, "tool_call"),
    ("OutputParserException", "Could not parse LLM output: Expecting ',' delimiter: line 1 column {col} "
     "(char {char})", 0.22, "llm_inference"),
    ("ContextWindowExceededError", "This model's maximum context length is 128000 tokens. However, your "
     "messages resulted in {tokens} tokens. Please reduce the length of the messages.", 0.10, "llm_inference"),
    ("APIConnectionError", "Connection error: [Errno 104] Connection reset by peer while calling {model}",
     0.08, "llm_inference"),
)
OUTAGE_ERROR = ("ServiceUnavailableError", "503 Service Unavailable: the {model} endpoint is overloaded "
                "or down (upstream connect error or disconnect/reset before headers)")
NEW_ERROR = ("SchemaValidationError", "tool '{tool}' returned field 'noi' as str; expected number "
             "(response schema v2 changed upstream)")
TENANTS = ("acme-re", "northwind", "globex", "initech", "umbrella-holdings")
CHANNELS = ("api", "slack", "email", "web")

# Traffic by UTC hour: quiet nights, a working-day hump.
HOURLY = np.array([0.4, 0.3, 0.25, 0.25, 0.3, 0.5, 0.8, 1.2, 1.7, 2.0, 2.1, 2.1,
                   1.9, 2.0, 2.1, 2.0, 1.8, 1.5, 1.2, 1.0, 0.9, 0.8, 0.6, 0.5])
HOURLY = HOURLY / HOURLY.sum()


@dataclass
class FleetSpec:
    agents: int = 8
    days: int = 30
    per_day: int = 300
    seed: int = 7
    end: date = field(default_factory=lambda: datetime.now(UTC).date() - timedelta(days=1))
    incidents: list[Incident] = field(default_factory=list)

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)


def simulate(spec: FleetSpec) -> Iterator[dict]:
    """Yield one record per execution (with its actions), day by day, agent by agent."""
    profiles = fleet(spec.agents)
    root = np.random.SeedSequence(spec.seed)
    agent_seeds = root.spawn(len(profiles))
    # each agent moved from prompt v2 to v3 on a day of its own, fixed by the seed
    switch = {
        p.agent_id: spec.start + timedelta(days=int(np.random.default_rng(s).integers(0, spec.days)))
        for p, s in zip(profiles, root.spawn(len(profiles)), strict=True)
    }
    for d_idx in range(spec.days):
        day = spec.start + timedelta(days=d_idx)
        for profile, aseed in zip(profiles, agent_seeds, strict=True):
            # one generator per (agent, day): changing --days or adding agents leaves the rest alone
            rng = np.random.default_rng([aseed.entropy, *aseed.spawn_key, day.toordinal()])
            active = [i for i in spec.incidents if i.agent_id == profile.agent_id and i.active(day)]
            version = "v3" if day >= switch[profile.agent_id] else "v2"
            yield from _agent_day(rng, profile, day, spec.per_day, active, version)


def estimate_count(spec: FleetSpec) -> int:
    return int(sum(p.volume for p in fleet(spec.agents)) * spec.per_day * spec.days * (5 + 2 * 0.55) / 7)


def _agent_day(rng: np.random.Generator, p: AgentProfile, day: date, per_day: int,
               incidents: list[Incident], version: str) -> Iterator[dict]:
    weekday_factor = 0.55 if day.weekday() >= 5 else 1.0
    n = int(rng.poisson(per_day * p.volume * weekday_factor))
    if n == 0:
        return
    kinds = {i.kind: i for i in incidents}
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    hours = rng.choice(24, size=n, p=HOURLY)
    start_s = np.sort(hours * 3600 + rng.uniform(0, 3600, size=n))
    model_idx = rng.choice(len(p.models), size=n, p=np.array(p.model_weights) / sum(p.model_weights))

    lat_factor = np.array([MODEL_LATENCY.get(m, 1.0) for m in p.models])[model_idx]
    if "latency_regression" in kinds:
        lat_factor = lat_factor * 3.0
    latency = np.exp(rng.normal(math.log(p.latency_ms), p.latency_sigma, size=n)) * lat_factor

    tok_in = np.exp(rng.normal(math.log(p.tokens_in), 0.55, size=n))
    if "cost_spike" in kinds:
        tok_in = tok_in * 8.0
    tok_in = np.maximum(1, tok_in).astype(np.int64)
    tok_out = np.maximum(1, np.exp(rng.normal(math.log(p.tokens_out), 0.5, size=n))).astype(np.int64)

    u = rng.uniform(size=n)
    status = np.full(n, "success", dtype=object)
    status[u < p.failure_rate + p.timeout_rate + 0.003] = "cancelled"
    status[u < p.failure_rate + p.timeout_rate] = "timeout"
    status[u < p.failure_rate] = "failure"
    err_choice = rng.choice(len(ERRORS), size=n, p=[e[2] for e in ERRORS])
    special = np.full(n, "", dtype=object)  # "outage" / "new" overrides ordinary errors
    if "outage" in kinds:
        inc = kinds["outage"]
        in_window = (start_s >= inc.start_hour * 3600) & (start_s < (inc.start_hour + inc.hours) * 3600)
        hit = in_window & (rng.uniform(size=n) < 0.9)
        status[hit], special[hit] = "failure", "outage"
        latency[hit] = rng.uniform(150, 600, size=int(hit.sum()))
    if "new_error_type" in kinds:
        hit = (status == "success") & (rng.uniform(size=n) < 0.20)
        status[hit], special[hit] = "failure", "new"
    latency[status == "timeout"] = TIMEOUT_MS + rng.exponential(400, size=int((status == "timeout").sum()))

    failed = status == "failure"
    human = rng.uniform(size=n) < np.where(failed, p.human_rate * 3, p.human_rate)
    if "latency_regression" in kinds:
        version = "v4"
    variant_draw = rng.uniform(size=n)
    ids = rng.bytes(16 * n)
    tenants = rng.integers(0, len(TENANTS), size=n)
    channels = rng.integers(0, len(CHANNELS), size=n)
    n_llm = 1 + rng.poisson(0.6, size=n)
    n_tool = rng.poisson(1.3, size=n)
    retrieval = rng.uniform(size=n) < 0.45
    cols = rng.integers(20, 900, size=n)

    for i in range(n):
        model = p.models[model_idx[i]]
        started = midnight + timedelta(seconds=float(start_s[i]))
        lat = float(latency[i])
        st = status[i]
        err_type = err_msg = None
        fail_kind = None
        tool = p.tools[int(cols[i]) % len(p.tools)]
        if st == "failure":
            if special[i] == "outage":
                err_type, tmpl, fail_kind = OUTAGE_ERROR[0], OUTAGE_ERROR[1], "llm_inference"
            elif special[i] == "new":
                err_type, tmpl, fail_kind = NEW_ERROR[0], NEW_ERROR[1], "tool_call"
            else:
                err_type, tmpl, _, fail_kind = ERRORS[err_choice[i]]
            err_msg = tmpl.format(model=model, tool=tool, col=int(cols[i]), char=int(cols[i]) * 7,
                                  tokens=128000 + int(cols[i]) * 11)
        elif st == "timeout":
            err_type, err_msg = "TimeoutError", f"execution exceeded the {TIMEOUT_MS / 1000:.0f}s deadline"
        elif st == "cancelled":
            err_type, err_msg = "CancelledError", "cancelled by the caller"
        yield _record(
            execution_id=ids[16 * i: 16 * i + 16].hex(),
            profile=p, model=model, started=started, latency_ms=lat, status=st,
            tokens_in=int(tok_in[i]), tokens_out=int(tok_out[i]), error_type=err_type,
            error_message=err_msg, fail_kind=fail_kind, human=bool(human[i]), version=version,
            variant="treatment" if p.agent_id == "support-triage" and variant_draw[i] < 0.5 else "control",
            n_llm=int(n_llm[i]), n_tool=int(n_tool[i]), retrieval=bool(retrieval[i]), tool=tool,
            metadata={"tenant": TENANTS[tenants[i]], "channel": CHANNELS[channels[i]]},
        )


def _record(*, execution_id: str, profile: AgentProfile, model: str, started: datetime, latency_ms: float,
            status: str, tokens_in: int, tokens_out: int, error_type: str | None, error_message: str | None,
            fail_kind: str | None, human: bool, version: str, variant: str, n_llm: int, n_tool: int,
            retrieval: bool, tool: str, metadata: dict) -> dict:
    prices = token_prices(model) or (0.0, 0.0)
    # actions: retrieval, then alternating LLM calls and tool calls, then a human if one stepped in
    plan: list[tuple[str, str]] = []
    if retrieval:
        plan.append(("retrieval", "vector_search"))
    for k in range(max(n_llm, 1)):
        plan.append(("llm_inference", model))
        if k < n_tool:
            plan.append(("tool_call", profile.tools[k % len(profile.tools)] if k else tool))
    if human:
        plan.append(("human_intervention", "reviewer approved the draft"))
    weights = [3.0 if t == "llm_inference" else 1.0 for t, _ in plan]
    total_w = sum(weights)
    llm_count = sum(1 for t, _ in plan if t == "llm_inference")
    actions = []
    t = started
    spent_in = spent_out = 0
    cost = 0.0
    llm_seen = 0
    fail_at = _fail_index(plan, fail_kind)
    for seq, ((atype, name), w) in enumerate(zip(plan, weights, strict=True)):
        a_lat = latency_ms * w / total_w
        a = {"seq": seq, "action_type": atype, "name": name, "started_at": t.isoformat(),
             "latency_ms": round(a_lat, 3), "status": "success"}
        if atype == "llm_inference":
            llm_seen += 1
            a_in = tokens_in // llm_count + (tokens_in % llm_count if llm_seen == 1 else 0)
            a_out = tokens_out // llm_count + (tokens_out % llm_count if llm_seen == 1 else 0)
            a_cost = a_in * prices[0] + a_out * prices[1]
            a.update(model=model, tokens_in=a_in, tokens_out=a_out, cost_usd=a_cost)
            spent_in, spent_out, cost = spent_in + a_in, spent_out + a_out, cost + a_cost
        if seq == fail_at:
            a.update(status="failure", error_type=error_type, error_message=error_message)
        actions.append(a)
        t += timedelta(milliseconds=a_lat)
        if seq == fail_at:
            break  # a failed step ends the execution
    if status == "timeout":
        actions[-1]["status"] = "timeout"
    if human and actions[-1]["action_type"] != "human_intervention":  # cut short by the failure
        actions.append({"seq": len(actions), "action_type": "human_intervention",
                        "name": "reviewer took over after the failure", "started_at": t.isoformat(),
                        "latency_ms": 0.0, "status": "success"})
    return {
        "execution_id": execution_id,
        "agent_id": profile.agent_id,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(milliseconds=latency_ms)).isoformat(),
        "status": status,
        "latency_ms": round(latency_ms, 3),
        "model": model,
        "prompt_version": version,
        "variant": variant,
        "tokens_in": spent_in,
        "tokens_out": spent_out,
        "cost_usd": cost,
        "error_type": error_type,
        "error_message": error_message,
        "human_intervention": human,
        "metadata": metadata,
        "actions": actions,
    }


def _fail_index(plan: list[tuple[str, str]], fail_kind: str | None) -> int | None:
    if fail_kind is None:
        return None
    idx = [i for i, (t, _) in enumerate(plan) if t == fail_kind]
    return idx[-1] if idx else len(plan) - 1
