"""Rows and prose for people: the tables the asset pages and the CLI show.

Clusters and findings arrive either as the library's objects (``clusters.Cluster``,
``rootcause.Finding``) or as stored rows (dicts); ``_get`` reads either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from meta_agent import units
from meta_agent.evaluation import render


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _when(v: Any) -> str:
    return v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else ("" if v is None else str(v))


def _tally(counts: Mapping[str, int] | None, limit: int = 4) -> str:
    return units.tally(dict(counts or {}), limit)


def cluster_rows(clusters: Iterable[Any]) -> list[dict]:
    return [{"cluster": _get(c, "key") or _get(c, "cluster_key"), "label": _get(c, "label"), "size": _get(c, "size"),
             "trend": _get(c, "trend"), "agents": _tally(_get(c, "agents")), "error_types": _tally(_get(c, "error_types")),
             "first_seen": _when(_get(c, "first_seen")), "last_seen": _when(_get(c, "last_seen")),
             "samples": ", ".join(_get(c, "sample_execution_ids") or [])} for c in clusters]


def _evidence_line(evidence: Mapping | None) -> str:
    if not evidence:
        return ""
    dim = evidence.get("dimension")
    value = evidence.get("value")
    head = f"{dim} = {value}" if dim and value is not None else (dim or "")
    summary = evidence.get("summary") or ""
    return "; ".join(p for p in (head, summary) if p)


def finding_rows(findings: Iterable[Any]) -> list[dict]:
    out = []
    for f in findings:
        agents = _get(f, "agents") or ([_get(f, "agent_id")] if _get(f, "agent_id") else [])
        recurrence = _get(f, "recurrence")
        if recurrence == "recurring":
            recurrence = f"recurring since {_get(f, 'first_seen_day')}"
        out.append({"category": _get(f, "category"), "confidence": units.pct(_get(f, "confidence"), 0),
                    "agents": ", ".join(agents), "title": _get(f, "title"),
                    "evidence": _evidence_line(_get(f, "evidence")),
                    "first_bad_execution": _get(f, "first_bad_execution_id") or "",
                    "since": _when(_get(f, "started_at")), "recurrence": recurrence})
    return out


def findings_markdown(findings: Iterable[Any]) -> str:
    """One paragraph per finding, strongest first — what a person reads on the asset page."""
    items = sorted(findings, key=lambda f: -(_get(f, "confidence") or 0.0))
    if not items:
        return "_No significant failure pattern or regression in the window._"
    lines = []
    for f in items:
        lines.append(f"- **{_get(f, 'category')}** ({units.pct(_get(f, 'confidence'), 0)}) — "
                     f"{_get(f, 'description')} First bad execution `{_get(f, 'first_bad_execution_id') or '?'}`.")
    return "\n".join(lines)


def report_rows(stored: Iterable[Any]) -> list[dict]:
    out = []
    for s in stored:
        r = s.report
        sc = {k: (v.score if hasattr(v, "score") else v) for k, v in r.scores.items()}
        out.append({"agent": r.agent_id, "overall": r.overall, "reliability": sc.get("reliability"),
                    "efficiency": sc.get("efficiency"), "cost": sc.get("cost"), "quality": sc.get("quality"),
                    "risk": r.risk_level, "regressions": len(r.regressions),
                    "improvements": sum(c.verdict == "improvement" for c in r.changes),
                    "version": s.version, "html": str(s.html_path)})
    return sorted(out, key=lambda row: (row["overall"] is None, row["overall"] or 0.0))


def regression_rows(stored: Iterable[Any]) -> list[dict]:
    """Every significant regression of the reports: agent, metric, before → after, size, test."""
    rows = []
    for s in stored:
        for c in s.report.regressions:
            label = render.METRICS.get(c.metric, (c.metric,))[0]
            rows.append({"agent": s.report.agent_id, "metric": label,
                         "before → after": f"{render.fmt(c.before, c.unit)} → {render.fmt(c.after, c.unit)}",
                         "change": render.change_size(c), "test": c.test})
    return rows


def similar_payload(result: Any) -> dict:
    """A ``similarity.SimilarResult`` as plain JSON-able values (the CLI's ``--json``, the demo)."""
    def records(frame) -> list[dict]:
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                for r in frame.to_dict("records")]

    query = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in result.query.items()}
    return {"query": query, "embedding_model": result.embedding_model, "method": result.method,
            "failures": records(result.failures), "successes": records(result.successes)}
