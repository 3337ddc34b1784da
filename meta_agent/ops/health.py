"""Agent health from rolling windows of the latest executions, evaluated "as of" a time.

For each agent and an evaluation time T, two windows of executions by ``started_at``:
the short window ``(T-5 min, T]`` (reacts within one sensor tick at volume) and the long
window ``(T-1 h, T]`` (enough executions for quiet agents). Cancelled executions are left
out of rates; ``failure`` and ``timeout`` count as failures.

Each window is compared with the agent's **own baseline**: its most recent
``baseline_max_samples`` executions that started in ``[D-7 d, D-1 h)``, where D is the
start of T's UTC day (the previous week; it never overlaps the long window and is computed
once per agent and day).
Findings (each names its window and figures):

- failure rate ≥ ``degraded_failure_rate`` (10 %) → degraded, ≥ ``critical_failure_rate``
  (50 %) → critical — only when the failure count is also significantly above the
  baseline rate (one-sided binomial test, p < ``significance`` = 10^-4), so a quiet
  agent's two unlucky failures out of five do not page anyone;
- latency: share of successful executions slower than the baseline's p95. Under the
  baseline that share is 5 %; ≥ 25 % (and significant) → degraded; critical when, on top,
  the mean latency is ≥ 5 × the baseline's;
- cost per execution ≥ 3 × the baseline's → degraded (a runaway prompt burns money now,
  not at the end of the day);
- a new error type: ≥ 3 failures in the last hour with an ``error_type`` the baseline never
  saw → degraded;
- no traffic when traffic is expected: zero executions in the last hour although the same
  hour on the previous 7 days averaged λ, with P(0 | λ) = e^-λ < ``no_traffic_p`` → degraded.

The worst finding decides: healthy / degraded / critical; the reason lists every finding.
With no finding, an agent that was degraded or critical stays so until an hour with enough
executions shows every figure under its threshold (no flapping on thin evidence).
``evaluate`` is pure; ``load_inputs`` reads what it needs with a few indexed queries;
``record`` stores the result and the transitions, with optimistic locking.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects import postgresql, sqlite

from meta_agent.store.schema import agents, executions
from meta_agent.store.schema_ops_alerts import agent_health, health_transitions

HEALTHY, DEGRADED, CRITICAL = "healthy", "degraded", "critical"
_RANK = {HEALTHY: 0, DEGRADED: 1, CRITICAL: 2}
FAILED_STATUSES = ("failure", "timeout")
BASELINE_SLOW_SHARE = 0.05  # by definition of the p95


class HealthRules(BaseModel):
    """Thresholds of the health evaluation (config/monitoring.yaml, ``health``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    short_window_seconds: int = Field(300, gt=0)
    long_window_seconds: int = Field(3600, gt=0)
    min_volume_short: int = Field(5, ge=1)
    min_volume_long: int = Field(5, ge=1)
    degraded_failure_rate: float = Field(0.10, gt=0, le=1)
    critical_failure_rate: float = Field(0.50, gt=0, le=1)
    significance: float = Field(1e-4, gt=0, lt=1)
    default_failure_rate: float = Field(0.05, gt=0, lt=1)  # when the agent has no baseline yet
    failure_rate_floor: float = Field(0.01, gt=0, lt=1)  # a spotless baseline is still not 0
    latency_degraded_slow_share: float = Field(0.25, gt=BASELINE_SLOW_SHARE, le=1)
    latency_critical_ratio: float = Field(5.0, gt=1)  # mean latency vs the baseline's, on top of the share
    cost_degraded_ratio: float = Field(3.0, gt=1)
    new_error_min_count: int = Field(3, ge=1)  # failures with an error type the baseline never saw
    no_traffic_p: float = Field(1e-4, gt=0, lt=1)
    baseline_days: int = Field(7, ge=1)
    baseline_max_samples: int = Field(5000, ge=10)
    baseline_min_samples: int = Field(30, ge=1)
    recovery_seconds: int = Field(3600, ge=0)  # healthy this long before health alerts resolve


@dataclass(frozen=True)
class WindowStats:
    """Counts of one agent's executions in one window (cancelled left out of ``n``)."""

    start: datetime
    end: datetime
    executions: int = 0  # every status, cancelled included (is there traffic at all?)
    n: int = 0  # success + failure + timeout
    failures: int = 0
    successes: int = 0
    slow: int = 0  # successes slower than the baseline's p95 (0 when there is no baseline)
    cost_usd: float = 0.0  # over the n executions
    latency_ms_sum: float = 0.0  # over the successes

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.n if self.n else None

    @property
    def slow_share(self) -> float | None:
        return self.slow / self.successes if self.successes else None

    @property
    def cost_per_execution(self) -> float | None:
        return self.cost_usd / self.n if self.n else None

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_ms_sum / self.successes if self.successes else None


@dataclass(frozen=True)
class Baseline:
    samples: int
    failure_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_mean_ms: float | None
    cost_per_execution: float
    start: datetime
    end: datetime
    error_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    severity: str  # degraded | critical
    kind: str  # failure_rate | latency | cost | no_traffic
    window: str  # "5m" | "1h"
    text: str
    value: float | None = None
    threshold: float | None = None
    p_value: float | None = None


@dataclass
class AgentHealth:
    agent_id: str
    as_of: datetime
    status: str
    reason: str
    findings: list[Finding] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"agent_id": self.agent_id, "as_of": self.as_of, "status": self.status,
                "reason": self.reason, "findings": [asdict(f) for f in self.findings],
                "details": self.details}


@dataclass(frozen=True)
class HealthInputs:
    """Everything ``evaluate`` needs for one agent."""

    agent_id: str
    as_of: datetime
    short: WindowStats
    long: WindowStats
    baseline: Baseline | None
    expected_per_hour: float | None  # mean executions in this hour on previous days
    previous: str | None = None  # the stored status before this evaluation (for hysteresis)
    errors: tuple[tuple[str, int], ...] = ()  # error types of the long window's failures, with counts


# ---- the pure part --------------------------------------------------------------------
def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p) (scipy's ``bdtrc``, the ufunc behind ``binom.sf``)."""
    if k <= 0:
        return 1.0
    from scipy.special import bdtrc  # local: ~0.3 s to import; most health ticks see no failures

    return float(bdtrc(k - 1, n, p))


def _label(seconds: int) -> str:
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def _ms(v: float) -> str:
    return f"{v / 1000:.1f} s" if v >= 1000 else f"{v:.0f} ms"


def evaluate(inp: HealthInputs, rules: HealthRules) -> AgentHealth:
    """healthy / degraded / critical for one agent, with the reason (pure).

    Hysteresis: an agent that was degraded or critical stays so until a long window with at
    least ``min_volume_long`` executions shows every figure back under its threshold — a
    quiet night with three executions is no evidence of recovery.
    """
    findings: list[Finding] = []
    b = inp.baseline
    p0 = max(b.failure_rate if b else rules.default_failure_rate, rules.failure_rate_floor)
    windows = ((_label(rules.short_window_seconds), inp.short, rules.min_volume_short),
               (_label(rules.long_window_seconds), inp.long, rules.min_volume_long))
    for label, w, min_volume in windows:
        if w.n >= min_volume and w.failures:
            rate = w.failures / w.n
            level = (CRITICAL if rate >= rules.critical_failure_rate
                     else DEGRADED if rate >= rules.degraded_failure_rate else None)
            if level:
                p = binom_sf(w.failures, w.n, p0)
                if p < rules.significance:
                    base = f"baseline {p0:.1%}" if b else f"no baseline yet, assumed {p0:.0%}"
                    findings.append(Finding(level, "failure_rate", label,
                                            f"{w.failures} of {w.n} executions failed in the last {label} "
                                            f"({rate:.0%}; {base})", rate, p0, p))
        if b and b.latency_p95_ms and w.successes >= min_volume and w.slow:
            share = w.slow / w.successes
            if share >= rules.latency_degraded_slow_share:
                p = binom_sf(w.slow, w.successes, BASELINE_SLOW_SHARE)
                if p < rules.significance:
                    ratio = (w.mean_latency_ms or 0) / b.latency_mean_ms if b.latency_mean_ms else 0.0
                    level = CRITICAL if ratio >= rules.latency_critical_ratio else DEGRADED
                    findings.append(Finding(level, "latency", label,
                                            f"{share:.0%} of successful executions in the last {label} were slower "
                                            f"than its baseline p95 of {_ms(b.latency_p95_ms)} (normally 5%); "
                                            f"mean latency {ratio:.1f}× the baseline's", share, b.latency_p95_ms, p))
        if b and b.cost_per_execution > 0 and w.n >= min_volume:
            ratio = (w.cost_usd / w.n) / b.cost_per_execution
            if ratio >= rules.cost_degraded_ratio:
                findings.append(Finding(DEGRADED, "cost", label,
                                        f"cost per execution ${w.cost_usd / w.n:.4f} in the last {label} is "
                                        f"{ratio:.1f}× its baseline ${b.cost_per_execution:.4f}",
                                        ratio, rules.cost_degraded_ratio))
    lam = inp.expected_per_hour
    long_label = _label(rules.long_window_seconds)
    if b:
        new = [(t, c) for t, c in inp.errors if t not in b.error_types and c >= rules.new_error_min_count]
        if new:
            named = ", ".join(f"{t} ({c}×)" for t, c in sorted(new, key=lambda x: -x[1]))
            findings.append(Finding(DEGRADED, "new_error", long_label,
                                    f"new error type in the last {long_label}: {named} — not seen in the "
                                    f"previous {rules.baseline_days} days", float(sum(c for _, c in new)),
                                    float(rules.new_error_min_count)))
    if lam is not None and inp.long.executions == 0 and math.exp(-lam) < rules.no_traffic_p:
        findings.append(Finding(DEGRADED, "no_traffic", long_label,
                                f"no executions in the last {long_label}; about {lam:.0f} are usual at this hour",
                                0.0, lam, math.exp(-lam)))
    findings = _worst_per_kind(findings)
    details = _details(inp)
    if findings:
        status = max((f.severity for f in findings), key=_RANK.__getitem__)
        reason = "; ".join(f.text for f in sorted(findings, key=lambda f: -_RANK[f.severity]))
        return AgentHealth(inp.agent_id, inp.as_of, status, reason, findings, details)
    w = inp.long
    if inp.previous in (DEGRADED, CRITICAL) and not _clearly_healthy(w, b, rules):
        details["held"] = True
        reason = (f"still {inp.previous}: {w.n} executions in the last {long_label} are not enough evidence "
                  f"of recovery (needs at least {rules.min_volume_long} with every figure under its threshold)")
        return AgentHealth(inp.agent_id, inp.as_of, inp.previous, reason, [], details)
    if w.n:
        reason = f"{w.n} executions in the last {long_label}, {w.failures / w.n:.0%} failed"
    elif lam is None:
        reason = f"no executions in the last {long_label} (no history of this hour to compare with)"
    elif lam < 0.5:
        reason = f"no executions in the last {long_label} (none are usual at this hour)"
    else:
        reason = (f"no executions in the last {long_label} (about {lam:.1f} are usual at this hour; "
                  "an empty hour is not unusual enough to alarm)")
    return AgentHealth(inp.agent_id, inp.as_of, HEALTHY, reason, [], details)


def _clearly_healthy(w: WindowStats, b: Baseline | None, rules: HealthRules) -> bool:
    """Enough executions, and each figure under its degraded threshold (point estimates)."""
    if w.n < rules.min_volume_long or w.failures / w.n >= rules.degraded_failure_rate:
        return False
    if b and b.latency_p95_ms and w.successes and w.slow / w.successes >= rules.latency_degraded_slow_share:
        return False
    return not (b and b.cost_per_execution > 0 and (w.cost_usd / w.n) / b.cost_per_execution >= rules.cost_degraded_ratio)


def _worst_per_kind(findings: list[Finding]) -> list[Finding]:
    """One finding per kind: the most severe, the short window on a tie (it is the fresher)."""
    best: dict[str, Finding] = {}
    for f in findings:
        cur = best.get(f.kind)
        if cur is None or _RANK[f.severity] > _RANK[cur.severity]:
            best[f.kind] = f
    return list(best.values())


def _details(inp: HealthInputs) -> dict:
    def win(w: WindowStats) -> dict:
        return {"start": w.start.isoformat(), "end": w.end.isoformat(), "executions": w.executions,
                "n": w.n, "failures": w.failures, "failure_rate": w.failure_rate,
                "slow_share": w.slow_share, "mean_latency_ms": w.mean_latency_ms,
                "cost_per_execution": w.cost_per_execution}

    b = inp.baseline
    return {
        "short": win(inp.short),
        "long": win(inp.long),
        "baseline": None if b is None else {
            "samples": b.samples, "failure_rate": b.failure_rate, "latency_p50_ms": b.latency_p50_ms,
            "latency_p95_ms": b.latency_p95_ms, "latency_mean_ms": b.latency_mean_ms,
            "cost_per_execution": b.cost_per_execution,
            "start": b.start.isoformat(), "end": b.end.isoformat()},
        "expected_per_hour": inp.expected_per_hour,
        "errors": dict(inp.errors),
    }


def compute_baseline(rows: Sequence[tuple], start: datetime, end: datetime,
                     min_samples: int) -> Baseline | None:
    """A baseline from (status, latency_ms, cost_usd[, error_type]) of non-cancelled executions (pure)."""
    if len(rows) < min_samples:
        return None
    status = np.array([r[0] for r in rows], dtype=object)
    latency = np.array([r[1] for r in rows], dtype=float)
    cost = np.array([r[2] for r in rows], dtype=float)
    ok = status == "success"
    failed = np.isin(status, FAILED_STATUSES)
    p50 = p95 = mean = None
    if ok.sum() >= min_samples:
        p50, p95 = (float(v) for v in np.percentile(latency[ok], [50, 95]))
        mean = float(latency[ok].mean())
    return Baseline(samples=len(rows), failure_rate=float(failed.mean()), latency_p50_ms=p50,
                    latency_p95_ms=p95, latency_mean_ms=mean, cost_per_execution=float(cost.mean()),
                    start=start, end=end,
                    error_types=frozenset(r[3] for r in rows if len(r) > 3 and r[3] is not None))


# ---- reading the inputs ----------------------------------------------------------------
class BaselineCache:
    """Baselines per (database, agent, day) and traffic expectations per (database, 5 min);
    both depend only on data before the window, so caching them changes no result."""

    def __init__(self, max_entries: int = 20_000):
        self.max_entries = max_entries
        self._d: OrderedDict = OrderedDict()

    def get(self, key, compute):
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        value = compute()
        self._d[key] = value
        if len(self._d) > self.max_entries:
            self._d.popitem(last=False)
        return value


def floor_to(t: datetime, seconds: int) -> datetime:
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def active_agents(conn: sa.Connection, as_of: datetime, only: Iterable[str] | None = None) -> dict[str, datetime | None]:
    """Registered agents that existed at ``as_of`` → when they were first seen."""
    q = sa.select(agents.c.agent_id, agents.c.first_seen_at).where(
        sa.or_(agents.c.first_seen_at.is_(None), agents.c.first_seen_at <= as_of))
    if only is not None:
        q = q.where(agents.c.agent_id.in_(list(only)))
    return dict(conn.execute(q.order_by(agents.c.agent_id)).all())


def window_stats(conn: sa.Connection, start: datetime, end: datetime, agent_ids: Sequence[str],
                 slow_over_ms: dict[str, float], errors: dict | None = None) -> dict[str, WindowStats]:
    """Per-agent counts of executions with ``start < started_at <= end``: one grouped scan of
    the range. With ``errors`` (a dict), the same scan fills it with agent → {error type of a
    failed/timed-out execution: count}."""
    e = executions.c
    done = e.status != "cancelled"
    ok = e.status == "success"
    failed = e.status.in_(FAILED_STATUSES)
    one = sa.literal(1)
    if slow_over_ms:
        threshold = sa.case({a: float(v) for a, v in slow_over_ms.items()}, value=e.agent_id, else_=None)
        slow = sa.func.sum(sa.case((sa.and_(ok, e.latency_ms > threshold), one), else_=0))
    else:
        slow = sa.literal(0)
    q = (
        sa.select(
            e.agent_id,
            e.error_type,
            sa.func.count().label("executions"),
            sa.func.sum(sa.case((done, one), else_=0)),
            sa.func.sum(sa.case((failed, one), else_=0)),
            sa.func.sum(sa.case((ok, one), else_=0)),
            slow,
            sa.func.sum(sa.case((done, e.cost_usd), else_=0.0)),
            sa.func.sum(sa.case((ok, e.latency_ms), else_=0.0)),
        )
        .where(e.started_at > start, e.started_at <= end, e.agent_id.in_(list(agent_ids)))
        .group_by(e.agent_id, e.error_type)
    )
    acc: dict[str, list] = {}
    for agent, etype, n_all, n, fails, succ, n_slow, cost, lat in conn.execute(q):
        a = acc.setdefault(agent, [0, 0, 0, 0, 0, 0.0, 0.0])
        for i, v in enumerate((n_all, n, fails, succ, n_slow, cost, lat)):
            a[i] += v or 0
        if errors is not None and etype is not None and fails:
            errors.setdefault(agent, {})[etype] = int(fails)
    out = {a: WindowStats(start, end) for a in agent_ids}
    for agent, (n_all, n, fails, succ, n_slow, cost, lat) in acc.items():
        out[agent] = WindowStats(start, end, int(n_all), int(n), int(fails), int(succ), int(n_slow),
                                 float(cost), float(lat))
    return out


def baseline_for(conn: sa.Connection, agent_id: str, as_of: datetime, rules: HealthRules) -> Baseline | None:
    """The agent's most recent executions in ``[D - baseline_days, D - long window)``, D = as_of's UTC day."""
    day = floor_to(as_of, 86400)
    start, end = day - timedelta(days=rules.baseline_days), day - timedelta(seconds=rules.long_window_seconds)
    e = executions.c
    rows = conn.execute(
        sa.select(e.status, e.latency_ms, e.cost_usd, e.error_type)
        .where(e.agent_id == agent_id, e.started_at >= start, e.started_at < end, e.status != "cancelled")
        .order_by(e.started_at.desc())
        .limit(rules.baseline_max_samples)
    ).all()
    return compute_baseline(rows, start, end, rules.baseline_min_samples)


def expected_per_hour(conn: sa.Connection, as_of: datetime, first_seen: dict[str, datetime | None],
                      rules: HealthRules) -> dict[str, float | None]:
    """Mean executions per agent in the long window's slot on each of the previous days
    (anchored at as_of floored to 5 minutes); days before an agent was first seen are left out."""
    anchor = floor_to(as_of, 300)
    span = timedelta(seconds=rules.long_window_seconds)
    slots = [(anchor - timedelta(days=k) - span, anchor - timedelta(days=k)) for k in range(1, rules.baseline_days + 1)]
    e = executions.c
    out: dict[str, float | None] = {}
    if not first_seen:
        return out
    counts: dict[tuple[str, int], int] = {}
    ids = list(first_seen)
    q = sa.union_all(*(  # one indexed range scan per day (an OR of ranges would scan the table)
        sa.select(e.agent_id, sa.literal(k).label("slot"), sa.func.count().label("n"))
        .where(e.started_at > lo, e.started_at <= hi, e.agent_id.in_(ids))
        .group_by(e.agent_id)
        for k, (lo, hi) in enumerate(slots)))
    for agent, k, c in conn.execute(q):
        counts[(agent, int(k))] = int(c)
    for agent, seen in first_seen.items():
        eligible = [k for k, (lo, _) in enumerate(slots) if seen is None or lo >= seen]
        out[agent] = (sum(counts.get((agent, k), 0) for k in eligible) / len(eligible)) if eligible else None
    return out


def status_before(conn: sa.Connection, as_of: datetime, agent_ids: Sequence[str]) -> dict[str, str]:
    """Each agent's recorded status just before ``as_of`` (its last transition before then),
    so that evaluating a past time uses the status of that time, not today's."""
    t = health_transitions.c
    last = (sa.select(t.agent_id, sa.func.max(t.at).label("at"))
            .where(t.at < as_of, t.agent_id.in_(list(agent_ids))).group_by(t.agent_id).subquery())
    q = sa.select(t.agent_id, t.to_status).join(last, sa.and_(t.agent_id == last.c.agent_id, t.at == last.c.at))
    return dict(conn.execute(q).all())


def load_inputs(conn: sa.Connection, as_of: datetime, rules_for, agent_ids: Sequence[str] | None = None,
                cache: BaselineCache | None = None) -> list[HealthInputs]:
    """Read the windows, baselines and traffic expectations of every active agent as of ``as_of``.

    ``rules_for(agent_id) -> HealthRules``; window lengths and baseline span come from the
    default rules (``rules_for(None)``) so one grouped query serves the fleet.
    """
    cache = cache or BaselineCache()
    default = rules_for(None)
    first_seen = active_agents(conn, as_of, agent_ids)
    ids = list(first_seen)
    if not ids:
        return []
    url = str(conn.engine.url)
    day = floor_to(as_of, 86400)
    baselines = {a: cache.get(("baseline", url, a, day, rules_for(a)),
                              lambda a=a: baseline_for(conn, a, as_of, rules_for(a))) for a in ids}
    slow = {a: b.latency_p95_ms for a, b in baselines.items() if b and b.latency_p95_ms}
    short = window_stats(conn, as_of - timedelta(seconds=default.short_window_seconds), as_of, ids, slow)
    errors: dict[str, dict[str, int]] = {}
    long = window_stats(conn, as_of - timedelta(seconds=default.long_window_seconds), as_of, ids, slow, errors)
    anchor = floor_to(as_of, 300)
    key = ("traffic", url, anchor, tuple(sorted(first_seen.items())), default)
    expected = cache.get(key, lambda: expected_per_hour(conn, as_of, first_seen, default))
    previous = status_before(conn, as_of, ids)
    return [HealthInputs(a, as_of, short[a], long[a], baselines[a], expected.get(a), previous.get(a),
                         tuple(sorted(errors.get(a, {}).items()))) for a in ids]


def assess(conn: sa.Connection, as_of: datetime, rules_for, agent_ids: Sequence[str] | None = None,
           cache: BaselineCache | None = None) -> list[AgentHealth]:
    """Health of every active agent as of ``as_of`` (reads only; nothing is recorded)."""
    return [evaluate(i, rules_for(i.agent_id)) for i in load_inputs(conn, as_of, rules_for, agent_ids, cache)]


# ---- recording --------------------------------------------------------------------------
@dataclass(frozen=True)
class HealthTransition:
    agent_id: str
    at: datetime
    from_status: str | None
    to_status: str
    reason: str


def record(conn: sa.Connection, results: Sequence[AgentHealth], now: datetime | None = None) -> list[HealthTransition]:
    """Store each agent's health and record status changes as transitions.

    Evaluations older than what is stored are ignored (health only moves forward in time);
    every update checks the row's version, so when two evaluators race exactly one of them
    records the transition.
    """
    now = now or datetime.now(UTC)
    if not results:
        return []
    stored = {r.agent_id: r for r in conn.execute(
        sa.select(agent_health).where(agent_health.c.agent_id.in_([h.agent_id for h in results])))}
    transitions: list[HealthTransition] = []
    unchanged: list[dict] = []
    for h in results:
        cur = stored.get(h.agent_id)
        row = {"status": h.status, "reason": h.reason, "evaluated_at": h.as_of, "details": h.details,
               "updated_at": now}
        if cur is not None and cur.status == h.status and cur.evaluated_at < h.as_of:
            unchanged.append({**row, "b_agent": h.agent_id, "b_version": cur.version, "version": cur.version + 1})
            continue
        if cur is None:
            res = conn.execute(_insert_ignore_stmt(conn, {**row, "agent_id": h.agent_id, "since": h.as_of,
                                                          "version": 0}))
            if res.scalar() is not None:  # RETURNING: rowcount is not reliable for ON CONFLICT
                transitions.append(HealthTransition(h.agent_id, h.as_of, None, h.status, h.reason))
            continue
        if cur.evaluated_at >= h.as_of:
            continue
        changed = cur.status != h.status
        res = conn.execute(
            agent_health.update()
            .where(agent_health.c.agent_id == h.agent_id, agent_health.c.version == cur.version)
            .values(**row, since=h.as_of if changed else cur.since, version=cur.version + 1))
        if res.rowcount == 1 and changed:
            transitions.append(HealthTransition(h.agent_id, h.as_of, cur.status, h.status, h.reason))
    if unchanged:  # same status: one executemany (a lost race here records nothing anyway)
        c = agent_health.c
        conn.execute(agent_health.update()
                     .where(c.agent_id == sa.bindparam("b_agent"), c.version == sa.bindparam("b_version"))
                     .values({k: sa.bindparam(k) for k in ("status", "reason", "evaluated_at", "details",
                                                           "updated_at", "version")}), unchanged)
    if transitions:
        conn.execute(health_transitions.insert(), [
            {"agent_id": t.agent_id, "at": t.at, "from_status": t.from_status, "to_status": t.to_status,
             "reason": t.reason, "recorded_at": now,
             "details": next(h.details for h in results if h.agent_id == t.agent_id)}
            for t in transitions])
    return transitions


def _insert_ignore_stmt(conn: sa.Connection, row: dict):
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(agent_health).values(**row).on_conflict_do_nothing().returning(agent_health.c.agent_id)


def current(conn: sa.Connection, agent_id: str | None = None) -> list[dict]:
    """The stored health of every agent (or one), worst first."""
    q = sa.select(agent_health)
    if agent_id:
        q = q.where(agent_health.c.agent_id == agent_id)
    rows = [dict(r._mapping) for r in conn.execute(q)]
    return sorted(rows, key=lambda r: (-_RANK.get(r["status"], 0), r["agent_id"]))


def transitions(conn: sa.Connection, agent_id: str | None = None, since: datetime | None = None,
                limit: int = 100) -> list[dict]:
    t = health_transitions.c
    q = sa.select(t.agent_id, t.at, t.from_status, t.to_status, t.reason).order_by(t.at.desc(), t.transition_id.desc())
    if agent_id:
        q = q.where(t.agent_id == agent_id)
    if since:
        q = q.where(t.at >= since)
    return [dict(r._mapping) for r in conn.execute(q.limit(limit))]


__all__ = [
    "CRITICAL", "DEGRADED", "HEALTHY", "AgentHealth", "Baseline", "BaselineCache", "Finding",
    "HealthInputs", "HealthRules", "HealthTransition", "WindowStats", "assess", "compute_baseline",
    "current", "evaluate", "load_inputs", "record", "transitions", "window_stats",
]
