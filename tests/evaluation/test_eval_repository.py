"""Stored clusters and findings: a day's rows are rewritten, never duplicated; reads give each
cluster or finding as of its latest day (both engines)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from meta_agent.evaluation import repository as repo
from meta_agent.store.engine import engine_for

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 3, tzinfo=UTC)


def cluster(day: date, key: str, size: int) -> dict:
    return {"day": day, "cluster_key": key, "label": f"label {key}", "size": size, "agents": {"a": size},
            "error_types": {"E": size}, "top_terms": ["e"], "first_seen": T0, "last_seen": T0, "trend": "new",
            "daily_counts": {day.isoformat(): size}, "sample_execution_ids": ["x1"], "window_start": day,
            "created_at": NOW}


def finding(day: date, fid: str, confidence: float, agent: str = "a", agents=("a",)) -> dict:
    return {"day": day, "finding_id": fid, "kind": "cluster", "agent_id": agent, "agents": list(agents),
            "category": "external", "confidence": confidence, "title": f"t {fid}", "description": "d",
            "metric": "failure_rate", "before": 0.01, "after": 0.5, "started_at": T0,
            "first_bad_execution_id": "x1", "cluster_key": "k1", "evidence": {"dimension": "model"},
            "recurrence": "new", "first_seen_day": day, "created_at": NOW}


@pytest.fixture
def engine(migrated_url):
    return engine_for(migrated_url)


def test_a_day_is_rewritten_not_duplicated(engine):
    d = date(2026, 11, 20)
    for size in (3, 5):  # a re-run of the partition
        with engine.begin() as conn:
            repo.replace_clusters(conn, d, [cluster(d, "k1", size), cluster(d, "k2", 1)],
                                  [{"day": d, "execution_id": f"e{i}", "cluster_key": "k1"} for i in range(size)])
    with engine.connect() as conn:
        rows = repo.clusters_of(conn, d)
        members = repo.members_of(conn, d)
    assert [(r["cluster_key"], r["size"]) for r in rows] == [("k1", 5), ("k2", 1)]
    assert members == {"k1": [f"e{i}" for i in range(5)]}
    assert rows[0]["agents"] == {"a": 5} and rows[0]["first_seen"] == T0


def test_between_gives_each_cluster_and_finding_as_of_its_latest_day(engine):
    d1, d2 = date(2026, 11, 20), date(2026, 11, 21)
    with engine.begin() as conn:
        repo.replace_clusters(conn, d1, [cluster(d1, "k1", 3)], [])
        repo.replace_clusters(conn, d2, [cluster(d2, "k1", 9), cluster(d2, "k3", 2)], [])
        repo.replace_findings(conn, d1, [finding(d1, "f1", 0.4), finding(d1, "f2", 0.9, "b", ("b", "c"))])
        repo.replace_findings(conn, d2, [finding(d2, "f1", 0.8)])
    with engine.connect() as conn:
        latest = repo.clusters_between(conn, d1, d2)
        found = repo.findings_between(conn, d1, d2)
        for_c = repo.findings_between(conn, d1, d2, agent_id="c")
        before = repo.findings_before(conn, d2)
    assert [(c["cluster_key"], c["size"], c["day"]) for c in latest] == [("k1", 9, d2), ("k3", 2, d2)]
    assert [(f["finding_id"], f["confidence"]) for f in found] == [("f2", 0.9), ("f1", 0.8)]
    assert [f["finding_id"] for f in for_c] == ["f2"]  # c is one of f2's agents
    assert sorted(f["finding_id"] for f in before) == ["f1", "f2"] and all(f["day"] == d1 for f in before)
