"""One day (or one week) of evaluation, end to end: what each Dagster asset and CLI command
calls. Each function reads, calls the capability's one piece of logic, writes, and returns
what happened — so the asset bodies stay a few lines and the CLI gives the same answers.

- ``score_day``: the judge (when a model is configured) and the day's score summary;
- ``embed_day``: the day's failures embedded, the HNSW index brought up to date;
- ``cluster_day``: the clusters of the ``WINDOW_DAYS`` window ending on the day;
- ``findings_day``: root causes over the window against the ``BASELINE_DAYS`` before it;
- ``report_period`` / ``report_week``: evaluation reports, stored versioned, rendered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.evaluation import (
    charts,
    clusters,
    data,
    embeddings,
    judge,
    narrative,
    render,
    report,
    reports_repo,
    rootcause,
    scores,
    similarity,
)
from meta_agent.evaluation import repository as repo
from meta_agent.llm.gateway import LLMGateway
from meta_agent.ops import alerts, sla
from meta_agent.ops.frames import days_in
from meta_agent.ops.verdicts import Verdict
from meta_agent.store.engine import engine_for
from meta_agent.store.schema import executions
from meta_agent.store.schema_evaluation import evaluation_reports, failure_embeddings

WINDOW_DAYS = rootcause.WINDOW_DAYS  # clusters and findings look back this many days, the day included
BASELINE_DAYS = rootcause.BASELINE_DAYS  # findings compare the window with the days before it
EXPLAINED_CONFIDENCE = 0.5
ALERT_CLUSTER_AGENTS = 2  # a new cluster across at least this many agents raises an alert
INDEX_DIR = ("evaluation", "failure_index")
RUBRIC_FILE = "judge_rubric.yaml"
SLA_FILE = sla.SLA_FILE
ALERT_SOURCE = "evaluation"

days_between = days_in


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return data.period_bounds(first, last)


# ------------------------------------------------------------------------------ scores

load_rubric = judge.load_rubric


@dataclass
class ScoreDay:
    day: date
    summary: Any  # scores.ScoreSummary
    judge: Any  # judge.JudgeResult

    def scalars(self) -> dict:
        s = self.summary
        return {"executions": s.executions, "scored_executions": s.scored_executions,
                "unscored_executions": s.executions - s.scored_executions,
                "scores": s.scores, "judge": self.judge.describe()}

    def rows(self) -> list[dict]:
        return self.summary.as_rows()


def score_day(url: str, day: date, gateway: LLMGateway, rubric) -> ScoreDay:
    verdicts = judge.judge_sample(url, day, gateway, rubric=rubric)
    return ScoreDay(day, scores.daily_summary(url, day), verdicts)


# ------------------------------------------------------------------------------ embeddings


@dataclass
class EmbedDay:
    day: date
    result: Any  # embeddings.EmbedResult
    index_size: int
    index_added: int
    by_agent: list[dict]

    def scalars(self) -> dict:
        r = self.result
        return {"failures": r.failures, "embedded_now": r.embedded, "reembedded": r.reembedded,
                "already_embedded": r.up_to_date, "distinct_signatures": r.signatures,
                "embedding_model": r.embedding_model, "dim": r.dim or 0,
                "index_size": self.index_size, "index_added": self.index_added}

    def rows(self) -> list[dict]:
        return self.by_agent


def embed_day(url: str, day: date, gateway: LLMGateway, index_dir: Path) -> EmbedDay:
    start, end = _bounds(day, day)
    result = embeddings.embed_failures(url, start, end, gateway)
    added = similarity.sync(url, index_dir)
    size = len(similarity.FailureIndex.load(index_dir)) if similarity.FailureIndex.version(index_dir) else 0
    return EmbedDay(day, result, size, added, _embedded_by_agent(url, start, end))


def _embedded_by_agent(url: str, start: datetime, end: datetime) -> list[dict]:
    fe = failure_embeddings.c
    q = sa.select(fe.agent_id, fe.signature).where(fe.started_at >= start, fe.started_at < end)
    by_agent: dict[str, Counter] = {}
    with engine_for(url).connect() as conn:
        for agent, sig in conn.execute(q):
            by_agent.setdefault(agent, Counter())[sig] += 1
    return [{"agent": a, "failures": sum(c.values()), "signatures": len(c), "top_signature": c.most_common(1)[0][0]}
            for a, c in sorted(by_agent.items())]


def embedded_verdict(url: str, day_key: str) -> Verdict:
    day = date.fromisoformat(day_key)
    start, end = _bounds(day, day)
    ex, fe = executions.c, failure_embeddings.c
    missing = (sa.select(ex.agent_id, sa.func.count()).select_from(
        executions.outerjoin(failure_embeddings, fe.execution_id == ex.execution_id))
        .where(ex.started_at >= start, ex.started_at < end, ex.status.in_(data.FAILED_STATUSES),
               fe.execution_id.is_(None)).group_by(ex.agent_id))
    total = sa.select(sa.func.count()).where(ex.started_at >= start, ex.started_at < end,
                                             ex.status.in_(data.FAILED_STATUSES))
    with engine_for(url).connect() as conn:
        rows = conn.execute(missing).all()
        failed = conn.execute(total).scalar() or 0
    n = sum(c for _, c in rows)
    text = (f"all {failed:,} failures of the day have a vector" if not n else
            f"{n:,} of {failed:,} failures have no vector: materialize failure_embeddings for {day_key}")
    return Verdict(n == 0, "error", text, {"failures": failed, "missing": n},
                   [{"agent": a, "what": f"{c} failures", "why": "not embedded"} for a, c in rows])


# ------------------------------------------------------------------------------ clusters


@dataclass
class ClusterDay:
    day: date
    window_start: date
    failures: int
    clusters: list
    alerts_raised: int = 0
    chart: Path | None = None

    def per_day(self) -> tuple[list[int], str]:
        """Failures per day of the window, summed over clusters — for an inline sparkline."""
        days = [d.isoformat() for d in days_in(*_bounds(self.window_start, self.day))]
        counts = [sum(c.daily_counts.get(d, 0) for c in self.clusters) for d in days]
        return counts, f"clustered failures per day, {self.window_start}..{self.day}: " + " → ".join(
            str(n) for n in counts)

    def scalars(self) -> dict:
        trends = Counter(c.trend for c in self.clusters)
        return {"window": f"{self.window_start}..{self.day}", "failures_in_window": self.failures,
                "cluster_count": len(self.clusters), **{f"clusters_{t}": trends.get(t, 0) for t in
                                                   ("new", "growing", "recurring", "resolved")},
                "fleet_wide_clusters": sum(len(c.agents) >= ALERT_CLUSTER_AGENTS for c in self.clusters),
                "alerts_raised": self.alerts_raised}


def cluster_day(url: str, day: date, *, notifier=None, chart_dir: Path | None = None) -> ClusterDay:
    """Cluster the window's failures, rewrite the day's rows, alert on new fleet-wide clusters."""
    first = day - timedelta(days=WINDOW_DAYS - 1)
    start, end = _bounds(first, day)
    frame, vectors = embeddings.load_embeddings(url, start=start, end=end)
    engine = engine_for(url)
    with engine.connect() as conn:
        previous = clusters.previous_from_rows(repo.clusters_of(conn, day - timedelta(days=1)))
    found = clusters.cluster_failures(frame, vectors, window_end=day, window_start=first, previous=previous)
    cluster_rows, member_rows = clusters.to_rows(found, day, window_start=first)
    raised = 0
    with engine.begin() as conn:
        repo.replace_clusters(conn, day, cluster_rows, member_rows)
        specs = [_cluster_alert(c, day) for c in found
                 if c.trend == "new" and len(c.agents) >= ALERT_CLUSTER_AGENTS]
        raised = _raise(conn, specs, notifier)
    out = ClusterDay(day, first, len(frame), found, raised)
    if chart_dir is not None:
        out.chart = _cluster_chart(found, first, day, chart_dir / f"clusters-{day}.png")
    return out


def _cluster_chart(found: list, first: date, day: date, path: Path) -> Path | None:
    days = [d.isoformat() for d in days_in(*_bounds(first, day))]
    top = sorted(found, key=lambda c: -c.size)[:5]
    return charts.cluster_trend_png(days, {c.label: [c.daily_counts.get(d, 0) for d in days] for c in top}, path,
                                    f"failures per day, largest clusters, {first}..{day}")


def _cluster_alert(c, day: date) -> alerts.AlertSpec:
    agents = ", ".join(f"{a} ({n})" for a, n in sorted(c.agents.items(), key=lambda kv: -kv[1]))
    return alerts.AlertSpec(
        agent_id="fleet", alert_type="failure_cluster", severity="warning",
        title=f"new failure cluster across {len(c.agents)} agents: {c.label}"[:512],
        message=f"{c.size} failures since {c.first_seen:%Y-%m-%d %H:%M} UTC at {agents}. "
                f"Samples: {', '.join(c.sample_execution_ids)}. `meta-agent eval clusters --from {day} --to {day}`",
        triggered_at=c.first_seen, source=ALERT_SOURCE, details={"cluster_key": c.key, "day": day.isoformat()})


def _raise(conn: sa.Connection, specs: list[alerts.AlertSpec], notifier) -> int:
    created = 0
    for spec in specs:
        channels = notifier.channels_for(spec.severity) if notifier is not None else ()
        created += alerts.raise_alert(conn, spec, channels, count_repeat=False).created
    return created


# ------------------------------------------------------------------------------ findings


@dataclass
class FindingsDay:
    day: date
    findings: list
    executions: int
    alerts_raised: int = 0

    def scalars(self) -> dict:
        cats = Counter(f.category for f in self.findings)
        return {"finding_count": len(self.findings), **{f"category_{c}": cats.get(c, 0) for c in
                                                    ("prompt", "tool", "context", "external", "unknown")},
                "new": sum(f.recurrence == "new" for f in self.findings),
                "recurring": sum(f.recurrence == "recurring" for f in self.findings),
                "executions_read": self.executions, "alerts_raised": self.alerts_raised}


def findings_day(url: str, day: date, *, notifier=None, gateway: LLMGateway | None = None) -> FindingsDay:
    """Explain the window's patterns against its baseline; rewrite the day's findings. With a
    live ``gateway`` each description may be reworded (the numbers kept; never the evidence)."""
    first = day - timedelta(days=WINDOW_DAYS + BASELINE_DAYS - 1)
    start, end = _bounds(first, day)
    ex = data.load_executions(url, start, end)
    acts = data.load_actions(url, ex["execution_id"].tolist()) if len(ex) else data.load_actions(url, [])
    engine = engine_for(url)
    with engine.connect() as conn:
        stored = repo.clusters_of(conn, day)
        members = repo.members_of(conn, day)
        past = repo.findings_before(conn, day)
    window_clusters = [{**c, "key": c["cluster_key"], "member_ids": members.get(c["cluster_key"], [])} for c in stored]
    found = rootcause.find_root_causes(ex, acts, window_clusters, window_end=day, window_days=WINDOW_DAYS,
                                       baseline_days=BASELINE_DAYS, past_findings=past)
    if gateway is not None and not gateway.offline:
        found = [rootcause.refine_description(f, gateway) for f in found]
    rows = [f.to_row(day) for f in found]
    with engine.begin() as conn:
        repo.replace_findings(conn, day, rows)
        raised = _raise(conn, [_finding_alert(f, day) for f in found if f.category == "external"], notifier)
    return FindingsDay(day, found, len(ex), raised)


def _finding_alert(f, day: date) -> alerts.AlertSpec:
    return alerts.AlertSpec(
        agent_id=f.agent_id or "fleet", alert_type="root_cause", severity="warning",
        title=f"external cause: {f.title}"[:512],
        message=f"{f.description} (confidence {f.confidence:.0%}; first bad execution {f.first_bad_execution_id}). "
                f"`meta-agent eval rootcause --from {day} --to {day}`",
        triggered_at=f.started_at or datetime.combine(day, datetime.min.time(), UTC), source=ALERT_SOURCE,
        details={"finding_id": f.finding_id, "category": f.category, "agents": list(f.agents)})


def explained_verdict(url: str, day_key: str) -> Verdict:
    day = date.fromisoformat(day_key)
    with engine_for(url).connect() as conn:
        found = repo.findings_between(conn, day, day)
    weak = [f for f in found if f["category"] == "unknown" or f["confidence"] < EXPLAINED_CONFIDENCE]
    text = (f"all {len(found)} findings explained" if not weak else
            f"{len(weak)} of {len(found)} findings unexplained (category unknown or confidence < "
            f"{EXPLAINED_CONFIDENCE:.0%}): " + "; ".join(f["title"] for f in weak[:3]))
    return Verdict(not weak, "warn", text, {"findings": len(found), "unexplained": len(weak)},
                   [{"agent": f["agent_id"] or ", ".join(f["agents"]), "what": f["title"],
                     "why": f"{f['category']} at {f['confidence']:.0%}"} for f in weak])


# ------------------------------------------------------------------------------ reports


@dataclass
class StoredReport:
    report: Any  # report.EvaluationReport
    version: int
    html_path: Path
    narrative: Any  # narrative.Narrative

    @property
    def agent_id(self) -> str:
        return self.report.agent_id


@dataclass
class ReportWeek:
    first: date
    last: date
    reports: list[StoredReport] = field(default_factory=list)
    chart: Path | None = None

    @property
    def worst(self) -> StoredReport | None:
        scored = [r for r in self.reports if r.report.overall is not None]
        return min(scored, key=lambda r: r.report.overall) if scored else None

    @property
    def sentence(self) -> str:
        w = self.worst
        return (f"{len(self.reports)} reports for {self.first}..{self.last}"
                + (f"; worst {w.agent_id} at {w.report.overall:.0f}/100 ({w.report.risk_level} risk)" if w else ""))

    def scalars(self) -> dict:
        w = self.worst
        return {"period": f"{self.first}..{self.last}", "agents": len(self.reports),
                "worst_agent": w.agent_id if w else "", "worst_overall": round(w.report.overall, 1) if w else 0.0,
                "high_risk_agents": sum(r.report.risk_level in ("high", "critical") for r in self.reports),
                "regressions": sum(len(r.report.regressions) for r in self.reports)}

    def worst_trend(self) -> tuple[list[float | None], str]:
        """The worst agent's day-by-day series of its largest regression (else its success
        rate), and what it is — for an inline sparkline."""
        w = self.worst
        if w is None:
            return [], "no executions in this week"
        regressions = sorted(w.report.regressions, key=lambda c: c.p_value if c.p_value is not None else 1.0)
        metric = regressions[0].metric if regressions else "success_rate"
        label = render.METRICS.get(metric, (metric,))[0]
        return [d.get(metric) for d in w.report.daily], f"{w.agent_id}: {label} per day, {self.first}..{self.last}"

    def worst_markdown(self) -> str:
        w = self.worst
        return w.report.markdown(narrative=w.narrative.text) if w else "_no executions in this week_"


def report_period(url: str, agent_id: str, first: date, last: date, *, gateway: LLMGateway,
                  sla_file: Path | None, out_dir: Path, run_id: str | None = None,
                  fleet: Any = None) -> StoredReport:
    """Build, narrate, store (a new version) and render one agent's report for ``first..last``
    against the period of the same length before it."""
    if last < first:
        raise InputError(f"the period {first}..{last} ends before it starts; pass --from before --to.")
    span = (last - first).days + 1
    prev_first, prev_last = first - timedelta(days=span), first - timedelta(days=1)
    start, end = _bounds(first, last)
    p_start, p_end = _bounds(prev_first, prev_last)
    engine = engine_for(url)
    with engine.connect() as conn:
        definitions = sla.load_definitions(conn, sla_file)
        findings = repo.findings_between(conn, first, last, agent_id=agent_id)
    if fleet is None:
        fleet = data.load_executions(url, start, end, with_messages=False)
    current = fleet[fleet["agent_id"] == agent_id]
    if current.empty:
        raise InputError(_no_data(url, agent_id, first, last, sorted(set(fleet["agent_id"]))))
    previous = data.load_executions(url, p_start, p_end, agents=[agent_id])
    built = report.build_report(
        agent_id, period=(first, last), current=current, previous=previous,
        actions_current=data.load_actions(url, current["execution_id"].tolist()),
        scores_current=data.load_scores(url, start, end, agents=[agent_id]),
        scores_previous=data.load_scores(url, p_start, p_end, agents=[agent_id]),
        fleet_current=fleet, targets={k: lim.value for k, lim in definitions.limits_for(agent_id).items()},
        findings=findings)
    told = narrative.write_narrative(built, gateway)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"{agent_id}-{first}-{last}.html"
    html_path.write_text(built.html(narrative=told.text), encoding="utf-8")
    version = reports_repo.save_report(url, built, html_path=str(html_path), narrative_source=told.source,
                                       narrative_text=told.text, run_id=run_id)
    return StoredReport(built, version, html_path, told)


def _no_data(url: str, agent_id: str, first: date, last: date, active: list[str]) -> str:
    known = data.known_agents(url)
    if agent_id not in known:
        return (f"no such agent {agent_id!r} in the ops database; agents: {', '.join(known) or 'none yet'}.")
    if active:
        return (f"no executions for agent {agent_id!r} between {first} and {last}; agents with data then: "
                f"{', '.join(active)}.")
    span = data.data_span(url)
    return (f"no executions between {first} and {last} (no data in that period)"
            + (f"; the ops database has days {span[0]} to {span[1]}." if span else "."))


def report_week(url: str, first: date, last: date, *, gateway: LLMGateway, sla_file: Path | None,
                out_dir: Path, run_id: str | None = None) -> ReportWeek:
    """Every agent with executions in ``first..last``: its report, and the week's score chart."""
    start, end = _bounds(first, last)
    fleet = data.load_executions(url, start, end, with_messages=False)
    week = ReportWeek(first, last)
    for agent_id in sorted(set(fleet["agent_id"])):
        week.reports.append(report_period(url, agent_id, first, last, gateway=gateway, sla_file=sla_file,
                                          out_dir=out_dir, run_id=run_id, fleet=fleet))
    week.chart = charts.score_bars_png({r.agent_id: r.report.overall for r in week.reports},
                                       out_dir / "overall-by-agent.png", f"overall score by agent, {first}..{last}")
    return week


def week_period(week_start: date, today: date | None = None) -> tuple[date, date]:
    """An ISO week's days, cut at today for the week in progress (its report is week to date,
    compared with as many days just before it)."""
    today = today or datetime.now(UTC).date()
    return week_start, min(week_start + timedelta(days=6), max(today, week_start))


def report_verdict(url: str, week_start: date) -> Verdict:
    last = week_period(week_start)[1]
    er = evaluation_reports.c
    latest = (sa.select(er.agent_id, sa.func.max(er.version).label("v"))
              .where(er.period_start == week_start, er.period_end == last).group_by(er.agent_id).subquery())
    q = sa.select(er.agent_id, er.report).join(latest, sa.and_(er.agent_id == latest.c.agent_id,
                                                               er.version == latest.c.v)).where(
        er.period_start == week_start, er.period_end == last)
    with engine_for(url).connect() as conn:
        stored = conn.execute(q).all()
        findings = repo.findings_between(conn, week_start, last)
    explained_agents = {a for f in findings for a in [f["agent_id"], *(f["agents"] or [])] if a}
    rows = []
    for agent, doc in stored:
        for change in (doc or {}).get("changes", []):
            if change.get("verdict") == "regression" and agent not in explained_agents:
                rows.append({"agent": agent, "what": change.get("metric", "?"),
                             "why": "significant regression with no root-cause finding this week"})
    text = (f"every regression in {len(stored)} reports has a finding" if not rows else
            f"{len(rows)} regressions without a root-cause finding: "
            + "; ".join(f"{r['agent']} {r['what']}" for r in rows[:4]))
    return Verdict(not rows, "warn", text, {"reports": len(stored), "unexplained_regressions": len(rows)}, rows)

