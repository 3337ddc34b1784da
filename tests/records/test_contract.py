"""The execution-record contract: reasons for rejection, and the fast path agreeing with pydantic."""

from datetime import UTC, date, datetime

import pytest

from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate
from meta_agent.records.contract import (
    RecordError,
    _fast_rows,
    normalize,
    normalize_score,
    parse_record,
    record_kind,
    to_rows,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def record(**over):
    base = {"execution_id": "e1", "agent_id": "a", "started_at": "2026-11-01T10:00:00Z",
            "ended_at": "2026-11-01T10:00:01.5Z", "status": "success", "latency_ms": 1500.0}
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"status": "done"}, "status: Input should be 'success', 'failure', 'timeout' or 'cancelled' (got 'done')"),
        ({"latency_ms": -5}, "latency_ms: Input should be greater than or equal to 0 (got -5)"),
        ({"ended_at": "2026-11-01T09:00:00Z"}, "ended_at (2026-11-01T09:00:00+00:00) is before started_at"),
        ({"agent_id": "   "}, "agent_id: must not be empty"),
        ({"execution_id": ...}, "execution_id: required field is missing"),
        ({"started_at": "yesterday"}, "started_at: Input should be a valid datetime"),
        ({"tokens_in": -1}, "tokens_in: Input should be greater than or equal to 0"),
        ({"cost_usd": float("nan")}, "cost_usd: Input should be a finite number"),
        ({"ended_at": ..., "latency_ms": ...}, "needs ended_at or latency_ms"),
        ({"actions": [{"action_type": "teleport", "started_at": "2026-11-01T10:00:00Z", "latency_ms": 1}]},
         "actions.0.action_type: Input should be 'tool_call'"),
    ],
)
def test_bad_records_are_rejected_with_a_reason_naming_the_field(over, expected):
    with pytest.raises(RecordError) as err:
        normalize(record(**over), source="t", ingested_at=NOW)
    assert expected in err.value.reason


def test_several_problems_are_all_named():
    with pytest.raises(RecordError) as err:
        parse_record(record(status="x", latency_ms=-1, agent_id=""))
    assert err.value.reason.count(";") == 2


def test_non_objects_are_rejected():
    with pytest.raises(RecordError, match="expected a JSON object, got list"):
        parse_record([1, 2])


def test_naive_timestamps_are_utc_and_latency_is_derived():
    ex, acts, scores = normalize(record(started_at="2026-11-01T10:00:00", ended_at="2026-11-01T10:00:02",
                                        latency_ms=...),
                         source="t", ingested_at=NOW)
    assert ex["started_at"] == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert ex["latency_ms"] == 2000.0 and acts == [] and scores == []


def _fleet_records(n=400):
    spec = FleetSpec(agents=8, days=3, per_day=20, seed=3, end=date(2026, 11, 3))
    spec.incidents = default_incidents([p.agent_id for p in fleet(8)], spec.end, spec.days)
    return list(simulate(spec))[:n]


def test_fast_path_and_pydantic_path_give_identical_rows():
    """Well-formed records take the fast path; pydantic is the reference it must match."""
    recs = _fleet_records()
    assert recs
    for raw in recs:
        fast = _fast_rows(raw, "t", NOW)
        assert fast is not None, f"fleet record fell off the fast path: {raw['execution_id']}"
        slow = to_rows(parse_record(raw), source="t", ingested_at=NOW)
        assert fast[0] == slow[0]
        assert fast[1] == slow[1]


@pytest.mark.parametrize(
    "over",
    [
        {"status": "bogus"}, {"latency_ms": -1.0}, {"tokens_out": 2.5}, {"metadata": [1]},
        {"ended_at": "2026-11-01T09:00:00Z"}, {"agent_id": ""}, {"model": "m" * 200},
        {"actions": [{"action_type": "tool_call", "started_at": "2026-11-01T10:00:00Z", "latency_ms": -3}]},
        {"actions": [{"action_type": "tool_call", "started_at": "nope", "latency_ms": 3}]},
        {"actions": [{"seq": 0, "action_type": "custom", "started_at": "2026-11-01T10:00:00Z", "latency_ms": 1},
                     {"seq": 0, "action_type": "custom", "started_at": "2026-11-01T10:00:00Z", "latency_ms": 1}]},
    ],
)
def test_fast_path_never_accepts_what_pydantic_rejects(over):
    raw = record(**over)
    assert _fast_rows(raw, "t", NOW) is None
    with pytest.raises(RecordError):
        parse_record(raw)


def test_execution_ids_are_uuid7_and_time_ordered():
    import time
    import uuid

    from meta_agent.sdk.ids import new_execution_id

    first = new_execution_id()
    time.sleep(0.002)
    later = [new_execution_id() for _ in range(100)]
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in later)
    assert all(first < i for i in later) and len(set(later)) == 100
    ms = uuid.UUID(first).int >> 80
    assert abs(ms / 1000 - time.time()) < 5


# ---- scores -------------------------------------------------------------------------------

SCORES = [{"name": "helpfulness", "value": 0.75, "source": "human", "comment": "ok"},
          {"name": "format_ok", "value": 1, "source": "check", "scored_at": "2026-11-01T11:00:00"},
          {"name": "judge.task:1", "value": 0.0, "source": "llm_judge", "scored_at": "2026-11-01T12:00:00+02:00"}]


def test_scores_take_the_fast_path_and_agree_with_pydantic():
    raw = record(scores=SCORES)
    fast = _fast_rows(raw, "t", NOW)
    assert fast is not None, "well-formed scores fell off the fast path"
    slow = to_rows(parse_record(raw), source="t", ingested_at=NOW)
    assert fast == slow
    ex, _, scores = fast
    assert "scores" not in ex and [s["value"] for s in scores] == [0.75, 1.0, 0.0]
    assert scores[0]["scored_at"] == datetime(2026, 11, 1, 10, 0, 1, 500000, tzinfo=UTC)  # default: ended_at
    assert scores[2]["scored_at"] == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert {s["agent_id"] for s in scores} == {"a"} and {s["execution_id"] for s in scores} == {"e1"}


def test_fleet_records_with_scores_stay_on_the_fast_path():
    for raw in _fleet_records(50):
        raw = {**raw, "scores": SCORES[:1]}
        assert _fast_rows(raw, "t", NOW) == to_rows(parse_record(raw), source="t", ingested_at=NOW)


@pytest.mark.parametrize(
    "bad",
    [{"value": 1.7}, {"value": -0.01}, {"value": float("nan")}, {"value": float("inf")}, {"value": True},
     {"value": "0.5"}, {"value": None}, {"name": "has space"}, {"name": ""}, {"name": "x" * 65},
     {"name": 7}, {"source": "robot"}, {"source": None}, {"comment": "c" * 4001}, {"comment": 3},
     {"scored_at": "later"}],
)
def test_fast_path_never_accepts_a_score_pydantic_rejects(bad):
    raw = record(scores=[{**SCORES[0], **bad}])
    assert _fast_rows(raw, "t", NOW) is None
    if bad == {"value": "0.5"}:  # a numeric string (CSV) is pydantic's to accept
        assert to_rows(parse_record(raw), source="t", ingested_at=NOW)[2][0]["value"] == 0.5
        return
    with pytest.raises(RecordError) as err:
        parse_record(raw)
    assert err.value.reason.startswith("scores.0.")


def test_two_scores_with_the_same_name_and_source_are_refused_on_both_paths():
    raw = record(scores=[SCORES[0], {**SCORES[0], "value": 0.1}])
    assert _fast_rows(raw, "t", NOW) is None
    with pytest.raises(RecordError, match=r"scores.1: repeats scores.0 \(name 'helpfulness', source 'human'\)"):
        parse_record(raw)


def test_standalone_score_lines():
    row = normalize_score({"record": "score", "execution_id": "e1", "name": "q", "value": 1, "source": "check"},
                          ingested_at=NOW)
    assert row == {"execution_id": "e1", "name": "q", "source": "check", "agent_id": None, "value": 1.0,
                   "comment": None, "scored_at": NOW, "ingested_at": NOW}
    assert record_kind({"record": "score"}) == "score" and record_kind(record()) == "execution"
    with pytest.raises(RecordError, match="record: unknown record kind 'metric'"):
        record_kind({"record": "metric"})
    with pytest.raises(RecordError, match="value: must be between 0 and 1"):
        normalize_score({"record": "score", "execution_id": "e1", "name": "q", "value": 3, "source": "check"},
                        ingested_at=NOW)
