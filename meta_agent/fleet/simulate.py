"""Synthetic executions for a fleet of agents, in the execution-log record schema.

Numbers follow what production fleets look like: lognormal latencies per agent and model,
lognormal token counts priced with litellm's bundled price map, a diurnal and weekly
traffic shape, realistic error types and messages, human interventions, prompt versions.
Same seed and same end date, same records (execution ids included).
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from meta_agent.fleet.incidents import FLEET_WIDE_KINDS, KINDS, Incident
from meta_agent.fleet.profiles import MODEL_LATENCY, AgentProfile, fleet
from meta_agent.llm.pricing import price_map, token_prices

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
# the labelled incidents' own errors (see incidents.py): never among the ordinary ones
STORM_ERROR = ("429 Too Many Requests: {model} is rate-limited for this organization (requests per minute); "
               "the provider is shedding load across customers. Please retry after {n}s.")
TOOL_ERRORS = (
    ("SchemaValidationError", "tool '{tool}' returned field '{field}' as str; expected number "
     "(response schema changed in {tool} {version})"),
    ("ToolInputError", "tool '{tool}' rejected argument '{field}': unexpected keyword argument "
     "(signature changed in {tool} {version})"),
    ("ToolExecutionError", "tool '{tool}' raised KeyError: '{field}' while reading the upstream response "
     "({tool} {version})"),
)
DEFAULT_WINDOW = 128_000
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


@functools.cache
def context_window(model: str) -> int:
    """The model's input window in tokens (litellm's price map; 128k when it does not say)."""
    entry = price_map().get(model) or price_map().get(model.split("/", 1)[-1]) or {}
    return int(entry.get("max_input_tokens") or DEFAULT_WINDOW)


@functools.cache
def _tool_versions(tools: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for t in tools:
        h = zlib.crc32(t.encode())
        out[t] = f"1.{h % 7}.{(h >> 8) % 10}"
    return out


def tool_versions(tools: tuple[str, ...]) -> dict[str, str]:
    """Each tool's usual version, stable (from its name): what ``tool_call`` actions record."""
    return dict(_tool_versions(tuple(tools)))


def simulate(spec: FleetSpec, *, labels: dict | None = None) -> Iterator[dict]:
    """Yield one record per execution (with its actions), day by day, agent by agent.

    ``labels``, when given, is filled with ``{execution_id: Incident}`` for every failed
    execution an incident caused (ordinary background failures are not in it).
    """
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
            active = [i for i in spec.incidents if i.applies_to(profile.agent_id, profile.models) and i.active(day)]
            version = "v3" if day >= switch[profile.agent_id] else "v2"
            yield from _agent_day(rng, profile, day, spec.per_day, active, version, labels)


def estimate_count(spec: FleetSpec) -> int:
    return int(sum(p.volume for p in fleet(spec.agents)) * spec.per_day * spec.days * (5 + 2 * 0.55) / 7)


def _agent_day(rng: np.random.Generator, p: AgentProfile, day: date, per_day: int,
               incidents: list[Incident], version: str, labels: dict | None = None) -> Iterator[dict]:
    weekday_factor = 0.55 if day.weekday() >= 5 else 1.0
    n = int(rng.poisson(per_day * p.volume * weekday_factor))
    if n == 0:
        return
    kinds = {i.kind: i for i in incidents if i.kind in KINDS}  # the demo's kinds: one of each
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    hours = rng.choice(24, size=n, p=HOURLY)
    start_s = np.sort(hours * 3600 + rng.uniform(0, 3600, size=n))
    model_idx = rng.choice(len(p.models), size=n, p=np.array(p.model_weights) / sum(p.model_weights))

    def within(inc: Incident) -> np.ndarray:
        lo, hi = inc.span(day)
        m = (start_s >= lo) & (start_s < hi)
        if inc.kind in FLEET_WIDE_KINDS:
            m &= model_idx == p.models.index(inc.model)
        return m

    lat_factor = np.array([MODEL_LATENCY.get(m, 1.0) for m in p.models])[model_idx]
    if "latency_regression" in kinds:
        lat_factor = np.where(within(kinds["latency_regression"]), lat_factor * 3.0, lat_factor)
    latency = np.exp(rng.normal(math.log(p.latency_ms), p.latency_sigma, size=n)) * lat_factor

    tok_in = np.maximum(1, np.exp(rng.normal(math.log(p.tokens_in), 0.55, size=n))).astype(np.int64)
    tok_out = np.maximum(1, np.exp(rng.normal(math.log(p.tokens_out), 0.5, size=n))).astype(np.int64)

    u = rng.uniform(size=n)
    status = np.full(n, "success", dtype=object)
    status[u < p.failure_rate + p.timeout_rate + 0.003] = "cancelled"
    status[u < p.failure_rate + p.timeout_rate] = "timeout"
    status[u < p.failure_rate] = "failure"
    err_choice = rng.choice(len(ERRORS), size=n, p=[e[2] for e in ERRORS])
    special = np.full(n, "", dtype=object)  # an incident's failure overrides ordinary errors
    cause = np.full(n, None, dtype=object)  # the incident that made the execution fail
    if "outage" in kinds:
        inc = kinds["outage"]
        hit = within(inc) & (rng.uniform(size=n) < 0.9)
        status[hit], special[hit], cause[hit] = "failure", "outage", inc
        latency[hit] = rng.uniform(150, 600, size=int(hit.sum()))
    if "new_error_type" in kinds:
        inc = kinds["new_error_type"]
        hit = within(inc) & (status == "success") & (rng.uniform(size=n) < 0.20)
        status[hit], special[hit], cause[hit] = "failure", "new", inc
    latency[status == "timeout"] = TIMEOUT_MS + rng.exponential(400, size=int((status == "timeout").sum()))

    failed = status == "failure"
    human = rng.uniform(size=n) < np.where(failed, p.human_rate * 3, p.human_rate)
    versions = np.full(n, version, dtype=object)
    if "latency_regression" in kinds:
        versions[within(kinds["latency_regression"])] = "v4"
    variant_draw = rng.uniform(size=n)
    ids = rng.bytes(16 * n)
    tenants = rng.integers(0, len(TENANTS), size=n)
    channels = rng.integers(0, len(CHANNELS), size=n)
    n_llm = 1 + rng.poisson(0.6, size=n)
    n_tool = rng.poisson(1.3, size=n)
    retrieval = rng.uniform(size=n) < 0.45
    cols = rng.integers(20, 900, size=n)
    # draws added after the ones above, so days without incidents keep their records
    docs = rng.integers(3, 11, size=n)  # documents a retrieval returns
    window = np.array([context_window(m) for m in p.models])[model_idx]
    base_versions = tool_versions(p.tools)
    tool_vers = np.full(n, None, dtype=object)  # a bumped {tool: version} under a tool incident
    fail_tool = np.full(n, None, dtype=object)  # the tool a tool incident's failure happens in
    ok_or_failed = (status == "success") | (status == "failure")

    def fail(hit: np.ndarray, kind: str, inc: Incident) -> None:
        status[hit], special[hit], cause[hit] = "failure", kind, inc

    for inc in incidents:
        m = within(inc)
        free = cause == None  # noqa: E711 — elementwise
        if inc.kind == "cost_spike":  # every request retrieves, ×8 documents (median), prompt follows
            f = 8.0 * np.exp(rng.normal(0.0, 0.9, size=n))
            retrieval[m] = True
            docs = np.where(m, np.round(docs * f), docs).astype(np.int64)
            tok_in = np.where(m, np.maximum(1, tok_in * f), tok_in).astype(np.int64)
            fail(m & free & ok_or_failed & (tok_in > window), "overflow", inc)
        elif inc.kind == "context_overflow":  # history and retrievals grow until some prompts overflow
            grow = max(2.0, 0.4 * context_window(p.models[0]) / p.tokens_in)
            f = grow * np.exp(rng.normal(0.0, 0.8, size=n))
            docs = np.where(m & retrieval, docs * 3, docs)
            tok_in = np.where(m, np.maximum(1, tok_in * f), tok_in).astype(np.int64)
            fail(m & free & ok_or_failed & (tok_in > window), "overflow", inc)
        elif inc.kind == "empty_retrieval":
            empty = m & retrieval & (rng.uniform(size=n) < 0.7)
            docs = np.where(empty, 0, docs)
            fail(empty & free & (status == "success") & (rng.uniform(size=n) < (inc.rate or 0.75)), "empty", inc)
        elif inc.kind == "prompt_regression":
            versions[m] = inc.version or "v4"
            latency = np.where(m & (status != "timeout"), latency * 1.3, latency)
            fail(m & free & (status == "success") & (rng.uniform(size=n) < (inc.rate or 0.25)), "parse", inc)
        elif inc.kind in ("tool_failure", "new_error_type"):
            tool = inc.tool or p.tools[0]
            tool_vers[m] = {**base_versions, tool: inc.version or "2.0.0"}
            if inc.kind == "tool_failure":
                hit = m & free & (status == "success") & (rng.uniform(size=n) < (inc.rate or 0.3))
                fail(hit, "tool", inc)
            fail_tool[cause == inc] = tool
        elif inc.kind in ("provider_outage", "rate_limit_storm"):
            rate = inc.rate or (0.9 if inc.kind == "provider_outage" else 0.5)
            hit = m & free & (rng.uniform(size=n) < rate)
            fail(hit, "outage" if inc.kind == "provider_outage" else "storm", inc)
            latency[hit] = rng.uniform(150, 900, size=int(hit.sum()))
    n_tool = np.where(fail_tool != None, np.maximum(n_tool, 1), n_tool)  # noqa: E711

    for i in range(n):
        model = p.models[model_idx[i]]
        started = midnight + timedelta(seconds=float(start_s[i]))
        lat = float(latency[i])
        st = status[i]
        err_type = err_msg = None
        fail_kind = fail_name = None
        tool = fail_tool[i] or p.tools[int(cols[i]) % len(p.tools)]
        if st == "failure":
            inc = cause[i]
            if inc is not None and special[i] not in ("outage", "new"):
                err_type, err_msg, fail_kind = _incident_error(special[i], inc, p, model, tool, int(tok_in[i]),
                                                               int(cols[i]))
                fail_name = tool if fail_kind == "tool_call" else None
            else:
                if special[i] == "outage":
                    err_type, tmpl, fail_kind = OUTAGE_ERROR[0], OUTAGE_ERROR[1], "llm_inference"
                elif special[i] == "new":
                    err_type, tmpl, fail_kind, fail_name = NEW_ERROR[0], NEW_ERROR[1], "tool_call", tool
                else:
                    err_type, tmpl, _, fail_kind = ERRORS[err_choice[i]]
                err_msg = tmpl.format(model=model, tool=tool, col=int(cols[i]), char=int(cols[i]) * 7,
                                      tokens=128000 + int(cols[i]) * 11)
            if labels is not None and inc is not None:
                labels[ids[16 * i: 16 * i + 16].hex()] = inc
        elif st == "timeout":
            err_type, err_msg = "TimeoutError", f"execution exceeded the {TIMEOUT_MS / 1000:.0f}s deadline"
        elif st == "cancelled":
            err_type, err_msg = "CancelledError", "cancelled by the caller"
        yield _record(
            execution_id=ids[16 * i: 16 * i + 16].hex(),
            profile=p, model=model, started=started, latency_ms=lat, status=st,
            tokens_in=int(tok_in[i]), tokens_out=int(tok_out[i]), error_type=err_type,
            error_message=err_msg, fail_kind=fail_kind, fail_name=fail_name, human=bool(human[i]),
            version=versions[i],
            variant="treatment" if p.agent_id == "support-triage" and variant_draw[i] < 0.5 else "control",
            n_llm=int(n_llm[i]), n_tool=int(n_tool[i]), retrieval=bool(retrieval[i]), tool=tool,
            metadata={"tenant": TENANTS[tenants[i]], "channel": CHANNELS[channels[i]]},
            tool_versions=tool_vers[i] or base_versions, documents=int(docs[i]),
        )


def _incident_error(kind: str, inc: Incident, p: AgentProfile, model: str, tool: str, tokens: int,
                    col: int) -> tuple[str, str, str]:
    """(error type, message, failing action type) of a failure a labelled incident caused."""
    if kind == "overflow":
        w, p_out = context_window(model), int(p.tokens_out) * 4
        if model.startswith("claude"):
            msg = f"prompt is too long: {tokens} tokens > {w} maximum"
        elif model.startswith("gemini"):
            msg = f"The input token count ({tokens}) exceeds the maximum number of tokens allowed ({w})."
        else:  # OpenAI's wording when the prompt plus the completion budget overflow
            msg = (f"This model's maximum context length is {w} tokens. However, you requested "
                   f"{tokens + p_out} tokens ({tokens} in the messages, {p_out} in the completion). "
                   f"Please reduce the length of the messages or completion.")
        return "ContextWindowExceededError", msg, "llm_inference"
    if kind == "empty":
        return "GroundingError", (f"answer failed the grounding check: no supporting passages (vector_search "
                                  f"returned 0 documents from index '{p.agent_id}-kb')"), "llm_inference"
    if kind == "parse":
        schema = "".join(w.title() for w in p.agent_id.split("-") if not w.isdigit()) + "Answer"
        field_ = inc.detail or "summary"
        return "OutputParserException", (f"Failed to parse {schema} from completion: 1 validation error for "
                                         f"{schema}: field '{field_}' required (got prose, not JSON)"), "llm_inference"
    if kind == "tool":
        pick = inc.variant if inc.variant is not None else zlib.crc32(inc.describe().encode())
        etype, tmpl = TOOL_ERRORS[pick % len(TOOL_ERRORS)]
        return etype, tmpl.format(tool=tool, field=inc.detail or "id", version=inc.version or "2.0.0"), "tool_call"
    if kind == "storm":
        return "RateLimitError", STORM_ERROR.format(model=model, n=col % 50 + 10), "llm_inference"
    raise ValueError(f"no error for incident failure kind {kind!r}")


def _record(*, execution_id: str, profile: AgentProfile, model: str, started: datetime, latency_ms: float,
            status: str, tokens_in: int, tokens_out: int, error_type: str | None, error_message: str | None,
            fail_kind: str | None, human: bool, version: str, variant: str, n_llm: int, n_tool: int,
            retrieval: bool, tool: str, metadata: dict, tool_versions: dict[str, str], documents: int,
            fail_name: str | None = None) -> dict:
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
    fail_at = _fail_index(plan, fail_kind, fail_name)
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
        elif atype == "tool_call":
            a["metadata"] = {"tool_version": tool_versions.get(name, "1.0.0")}
        elif atype == "retrieval":
            a["metadata"] = {"documents": documents}
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


def _fail_index(plan: list[tuple[str, str]], fail_kind: str | None, fail_name: str | None = None) -> int | None:
    if fail_kind is None:
        return None
    if fail_name is not None:  # an incident's tool: its first call fails
        named = [i for i, (t, n) in enumerate(plan) if t == fail_kind and n == fail_name]
        if named:
            return named[0]
    idx = [i for i, (t, _) in enumerate(plan) if t == fail_kind]
    return idx[-1] if idx else len(plan) - 1
