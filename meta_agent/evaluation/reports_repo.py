"""Evaluation reports in the ops DB (``evaluation_reports``): every build is kept, versioned
per agent and period (``1, 2, …``: a re-run adds a version, it never overwrites one).

``save_report`` reads the next version and inserts it in one transaction; two writers racing
for the same version hit the primary key, and the loser retries with the next number.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from meta_agent.evaluation.report import EvaluationReport
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_evaluation import evaluation_reports

SOURCE_CHARS = 32  # evaluation_reports.narrative_source
_ATTEMPTS = 5


def short_source(source: str) -> str:
    """The narrative source as the column holds it (32 characters): ``rules``,
    ``llm:<model>``, ``rules (model reply rejected)``; the full text stays in the report JSON."""
    if len(source) <= SOURCE_CHARS:
        return source
    head = source.split(":", 1)[0] if source.startswith("rules (") else source
    if head.startswith("rules (") and not head.endswith(")"):
        head += ")"
    return head if len(head) <= SOURCE_CHARS else source[:SOURCE_CHARS]


def save_report(url: str, report: EvaluationReport, *, html_path: str | None, narrative_source: str,
                narrative_text: str | None = None, run_id: str | None = None) -> int:
    """Store ``report`` as the next version for its agent and period; returns the version."""
    doc = report.to_dict()
    doc["narrative"] = {"text": narrative_text or report.summary, "source": narrative_source}
    row = {"agent_id": report.agent_id, "period_start": report.period_start, "period_end": report.period_end,
           "overall": report.overall, "risk_level": report.risk_level,
           "scores": {k: s.score for k, s in report.scores.items()}, "report": doc,
           "markdown": report.markdown(narrative_text), "html_path": None if html_path is None else str(html_path),
           "narrative_source": short_source(narrative_source), "dagster_run_id": run_id}
    key = (evaluation_reports.c.agent_id == report.agent_id, evaluation_reports.c.period_start == report.period_start,
           evaluation_reports.c.period_end == report.period_end)
    engine = engine_for(url)
    for attempt in range(_ATTEMPTS):
        try:
            with engine.begin() as conn:
                last = conn.execute(sa.select(sa.func.max(evaluation_reports.c.version)).where(*key)).scalar()
                version = (last or 0) + 1
                conn.execute(evaluation_reports.insert().values(**row, version=version, created_at=datetime.now(UTC)))
            return version
        except sa.exc.IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _rows(result) -> list[dict]:
    return [dict(r._mapping) for r in result]


def latest_report(url: str, agent_id: str, first: date, last: date) -> dict | None:
    """The newest version of the agent's report for ``first..last`` (the row, ``report`` the
    JSON document), or None."""
    q = (sa.select(evaluation_reports)
         .where(evaluation_reports.c.agent_id == agent_id, evaluation_reports.c.period_start == first,
                evaluation_reports.c.period_end == last)
         .order_by(evaluation_reports.c.version.desc()).limit(1))
    with engine_for(url).connect() as conn:
        rows = _rows(conn.execute(q))
    return rows[0] if rows else None


def list_reports(url: str, agent_id: str | None = None) -> list[dict]:
    """Every stored report (without the JSON and markdown bodies), newest period first, then
    agent, then newest version."""
    cols = [c for c in evaluation_reports.c if c.name not in ("report", "markdown")]
    q = sa.select(*cols)
    if agent_id is not None:
        q = q.where(evaluation_reports.c.agent_id == agent_id)
    q = q.order_by(evaluation_reports.c.period_end.desc(), evaluation_reports.c.agent_id,
                   evaluation_reports.c.version.desc())
    with engine_for(url).connect() as conn:
        return _rows(conn.execute(q))
