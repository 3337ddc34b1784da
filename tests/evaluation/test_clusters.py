"""Failure clustering: one cluster per failure mode across agents, stable keys, trends, rows, quality."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from meta_agent.evaluation.clusters import (
    FAILURE_COLUMNS,
    cluster_failures,
    cluster_quality,
    failures_from_records,
    to_rows,
)
from meta_agent.evaluation.signature import failure_signature
from meta_agent.fleet.labelled import labelled_fleet
from meta_agent.llm.embeddings import hashing_embed
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_evaluation import failure_cluster_members, failure_clusters

END = date(2026, 11, 21)
START = END - timedelta(days=6)
OUTAGE = ("ServiceUnavailableError", "503 Service Unavailable: the claude-sonnet-4-5 endpoint is overloaded or down",
          "llm_inference:claude-sonnet-4-5")
PARSE = ("OutputParserException", "Could not parse LLM output: Expecting ',' delimiter: line 1 column 17 (char 119)",
         "llm_inference:gpt-4o-mini")
TOOL = ("ToolExecutionError", "tool 'query_database' failed: upstream returned 502 Bad Gateway after 3 retries",
        "tool_call:query_database")
_n = iter(range(10**9))


def rows(kind: tuple[str, str, str], per_day: dict[int, int], agents=("sql-analyst",), model="gpt-4o-mini") -> list[dict]:
    """``per_day[k]`` failures of ``kind`` on day START+k, spread over ``agents``."""
    out = []
    for k, n in per_day.items():
        for j in range(n):
            msg = kind[1].replace("17", str(10 + j)) if j % 2 else kind[1]  # numbers vary; the signature does not
            out.append({"execution_id": f"e{next(_n):06d}", "agent_id": agents[j % len(agents)],
                        "started_at": datetime.combine(START + timedelta(days=k), datetime.min.time(), UTC)
                        + timedelta(hours=8, minutes=j), "status": "failure", "model": model,
                        "prompt_version": "v3", "error_type": kind[0], "failing_action": kind[2],
                        "signature": failure_signature(kind[0], msg, kind[2])})
    return out


def frame(*parts: list[dict]) -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.DataFrame([r for p in parts for r in p], columns=list(FAILURE_COLUMNS))
    if df.empty:  # hashing_embed([]) raises (sklearn's FeatureHasher needs one text)
        return df, np.zeros((0, 384), dtype=np.float32)
    return df, hashing_embed(df["signature"].tolist())


def run(df, vec, end=END, start=START, previous=()):
    return cluster_failures(df, vec, window_end=end, window_start=start, previous=previous)


def test_an_outage_across_agents_is_one_cluster():
    df, vec = frame(rows(OUTAGE, {5: 30}, agents=("sql-analyst", "lease-abstractor", "code-reviewer")),
                    rows(PARSE, {k: 3 for k in range(7)}), rows(TOOL, {k: 2 for k in range(7)}))
    clusters = run(df, vec)
    outage = [c for c in clusters if "ServiceUnavailableError" in c.error_types]
    assert len(outage) == 1
    (c,) = outage
    assert c.size == 30 and c.agents == {"sql-analyst": 10, "lease-abstractor": 10, "code-reviewer": 10}
    assert c.error_types == {"ServiceUnavailableError": 30}
    assert len(c.sample_execution_ids) == 5 and len({df.set_index("execution_id").loc[e, "agent_id"]
                                                     for e in c.sample_execution_ids}) == 3  # spread over agents
    assert len(clusters) == 3 and sum(c.size for c in clusters) == len(df)


def test_labels_are_readable():
    df, vec = frame(rows(OUTAGE, {5: 10}), rows(PARSE, {k: 3 for k in range(7)}), rows(TOOL, {3: 6}))
    labels = {next(iter(c.error_types)): c.label for c in run(df, vec)}
    assert labels["ServiceUnavailableError"].startswith("ServiceUnavailableError ")
    assert labels["ServiceUnavailableError"].endswith(" · llm_inference:claude-sonnet-4-5")
    assert "query_database" in labels["ToolExecutionError"]
    for label in labels.values():
        assert "<n>" not in label and len(label.split(" · ")[0].split()) >= 2


def test_trends_new_growing_recurring_resolved():
    steady = rows(PARSE, {k: 4 for k in range(7)})
    growing = rows(TOOL, {0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 15, 6: 18})
    resolved = rows(OUTAGE, {1: 20})
    df, vec = frame(steady, growing, resolved)
    first = run(df, vec)
    by_type = {next(iter(c.error_types)): c for c in first}
    # no previous day at all: "new" means first seen in the last two days — none of these
    assert by_type["OutputParserException"].trend == "recurring"
    assert by_type["ToolExecutionError"].trend == "growing"
    assert by_type["ServiceUnavailableError"].trend == "resolved"
    assert by_type["ToolExecutionError"].daily_counts == {
        (START + timedelta(days=k)).isoformat(): n for k, n in enumerate([1, 1, 1, 1, 1, 15, 18])}

    previous = [c.to_dict() for c in first if "ToolExecutionError" not in c.error_types]
    again = {next(iter(c.error_types)): c for c in run(df, vec, previous=previous)}
    assert again["ToolExecutionError"].trend == "new"  # not among the day before's clusters
    assert again["OutputParserException"].trend == "recurring"

    few = rows(TOOL, {4: 1, 5: 2, 6: 2})  # 1 → 2 a day is no growth
    df2, vec2 = frame(steady, few)
    prev2 = [c.to_dict() for c in run(df2, vec2)]
    assert {c.trend for c in run(df2, vec2, previous=prev2)} == {"recurring"}


def test_keys_are_stable_across_days_and_first_seen_carries_over():
    data = rows(PARSE, {k: 3 for k in range(8)}) + rows(TOOL, {k: 2 for k in range(8)})
    df, vec = frame(data)
    day1 = run(df, vec, end=END, start=START)
    day2 = run(df, vec, end=END + timedelta(days=1), start=START + timedelta(days=1),
               previous=[c.to_dict() for c in day1])
    assert {c.key for c in day1} == {c.key for c in day2} and len(day1) == 2
    first = {c.key: c.first_seen for c in day1}
    for c in day2:
        assert c.trend == "recurring" and c.first_seen == first[c.key] < c.last_seen
        assert len(c.key) == 16 and int(c.key, 16) >= 0


def test_a_cluster_keeps_its_key_when_its_dominant_signature_changes():
    other = ("OutputParserException", "Could not parse LLM output: Expecting ':' delimiter: line 1 column 17 "
             "(char 119)", "llm_inference:gpt-4o-mini")
    df1, vec1 = frame(rows(PARSE, {k: 5 for k in range(7)}), rows(other, {k: 2 for k in range(7)}))
    (c1,) = run(df1, vec1)
    df2, vec2 = frame(rows(PARSE, {k: 1 for k in range(7)}), rows(other, {k: 6 for k in range(7)}))
    (c2,) = run(df2, vec2, previous=[c1.to_dict()])
    assert list(c2.signatures)[0] != list(c1.signatures)[0] and c2.key == c1.key


def test_an_empty_window_gives_no_clusters():
    df, vec = frame([])
    assert run(df, vec) == []
    df, vec = frame(rows(PARSE, {0: 2}))
    assert run(df, vec) == []  # below min_size
    with pytest.raises(ValueError, match="align"):
        run(df, vec[:1])


def test_rows_match_the_schema_on_both_engines(migrated_url):
    df, vec = frame(rows(OUTAGE, {5: 12}, agents=("a", "b")), rows(PARSE, {k: 3 for k in range(7)}))
    clusters = run(df, vec)
    created = datetime(2026, 11, 22, 1, tzinfo=UTC)
    cluster_rows, member_rows = to_rows(clusters, END, window_start=START, created_at=created)
    assert len(member_rows) == len(df)
    eng = engine_for(migrated_url)
    with eng.begin() as conn:
        conn.execute(failure_clusters.insert(), cluster_rows)
        conn.execute(failure_cluster_members.insert(), member_rows)
    with eng.connect() as conn:
        back = {r.cluster_key: r for r in conn.execute(sa.select(failure_clusters))}
        members = conn.execute(sa.select(sa.func.count()).select_from(failure_cluster_members)).scalar_one()
    assert members == len(df)
    for c in clusters:
        r = back[c.key]
        assert (r.label, r.size, r.agents, r.error_types, r.top_terms, r.trend, r.daily_counts,
                r.sample_execution_ids) == (c.label, c.size, c.agents, c.error_types, c.top_terms, c.trend,
                                            c.daily_counts, c.sample_execution_ids)
        assert r.first_seen == c.first_seen and r.window_start == START and r.day == END


@pytest.fixture(scope="module")
def labelled():
    lf = labelled_fleet(5, days=15, per_day=150)
    failures = failures_from_records(lf.records)
    uniq, inv = np.unique(failures["signature"].to_numpy(), return_inverse=True)
    return lf, failures, hashing_embed(list(uniq))[inv]


def test_clusters_recover_the_labelled_incidents(labelled):
    lf, failures, vectors = labelled
    clusters = cluster_failures(failures, vectors, window_end=lf.end, window_start=lf.start)
    q = cluster_quality(clusters, lf.execution_labels)
    assert q["ari"] > 0.9 and q["purity"] > 0.9, q
    assert q["n_labels"] == len(lf.incidents)
    background = {e: f"background:{t}" for e, t in zip(failures["execution_id"], failures["error_type"], strict=True)}
    assert cluster_quality(clusters, lf.execution_labels, background=background)["ari"] > 0.6
    outage_ids = {i.incident_id for i in lf.incidents if i.kind == "provider_outage"}
    for iid in outage_ids:  # each provider outage: one cluster, several agents
        ids = {e for e, label in lf.execution_labels.items() if label == iid}
        holding = [c for c in clusters if ids & set(c.member_ids)]
        assert len(holding) == 1 and len(holding[0].agents) >= 2
