"""Stored clusters and findings: a day's rows rewritten in one transaction, read back by day.

Each daily partition owns its rows (``day`` = the window's last day): a re-run deletes and
inserts them under the day's lock, so a backfill never duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from meta_agent.ops.frames import lock_day
from meta_agent.store.schema_evaluation import (
    failure_cluster_members,
    failure_clusters,
    root_cause_findings,
)


def replace_clusters(conn: sa.Connection, day: date, clusters: Sequence[dict], members: Sequence[dict]) -> None:
    lock_day(conn, "failure_clusters", day)
    conn.execute(failure_cluster_members.delete().where(failure_cluster_members.c.day == day))
    conn.execute(failure_clusters.delete().where(failure_clusters.c.day == day))
    if clusters:
        conn.execute(failure_clusters.insert(), list(clusters))
    if members:
        conn.execute(failure_cluster_members.insert(), list(members))


def clusters_of(conn: sa.Connection, day: date) -> list[dict]:
    """The clusters stored for ``day``, largest first."""
    q = sa.select(failure_clusters).where(failure_clusters.c.day == day).order_by(
        failure_clusters.c.size.desc(), failure_clusters.c.cluster_key)
    return [dict(r._mapping) for r in conn.execute(q)]


def clusters_between(conn: sa.Connection, first: date, last: date) -> list[dict]:
    """Each cluster as of the last day it was stored in ``first..last`` (its latest view)."""
    q = sa.select(failure_clusters).where(failure_clusters.c.day.between(first, last)).order_by(
        failure_clusters.c.day)
    latest: dict[str, dict] = {}
    for r in conn.execute(q):
        latest[r.cluster_key] = dict(r._mapping)
    return sorted(latest.values(), key=lambda c: (-c["size"], c["cluster_key"]))


def members_of(conn: sa.Connection, day: date, cluster_keys: Sequence[str] | None = None) -> dict[str, list[str]]:
    q = sa.select(failure_cluster_members.c.cluster_key, failure_cluster_members.c.execution_id).where(
        failure_cluster_members.c.day == day)
    if cluster_keys is not None:
        q = q.where(failure_cluster_members.c.cluster_key.in_(list(cluster_keys)))
    out: dict[str, list[str]] = {}
    for key, eid in conn.execute(q.order_by(failure_cluster_members.c.execution_id)):
        out.setdefault(key, []).append(eid)
    return out


def replace_findings(conn: sa.Connection, day: date, rows: Sequence[dict]) -> None:
    lock_day(conn, "root_cause_findings", day)
    conn.execute(root_cause_findings.delete().where(root_cause_findings.c.day == day))
    if rows:
        conn.execute(root_cause_findings.insert(), list(rows))


def findings_between(conn: sa.Connection, first: date, last: date, *, agent_id: str | None = None) -> list[dict]:
    """Each finding as of the last day it was stored in ``first..last``, strongest first;
    with ``agent_id``, the ones that involve that agent."""
    q = sa.select(root_cause_findings).where(root_cause_findings.c.day.between(first, last)).order_by(
        root_cause_findings.c.day)
    latest: dict[str, dict] = {}
    for r in conn.execute(q):
        latest[r.finding_id] = dict(r._mapping)
    out = list(latest.values())
    if agent_id is not None:
        out = [f for f in out if f["agent_id"] == agent_id or agent_id in (f["agents"] or [])]
    return sorted(out, key=lambda f: (-f["confidence"], f["finding_id"]))


def findings_before(conn: sa.Connection, day: date) -> list[dict]:
    """Every finding stored before ``day`` (its latest view): what is already known."""
    q = sa.select(root_cause_findings).where(root_cause_findings.c.day < day).order_by(root_cause_findings.c.day)
    latest: dict[str, dict] = {}
    for r in conn.execute(q):
        latest[r.finding_id] = dict(r._mapping)
    return list(latest.values())
