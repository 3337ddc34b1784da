"""The execution-record contract: reasons for rejection, and the fast path agreeing with pydantic."""

from datetime import UTC, date, datetime

import pytest

from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate
from meta_agent.records.contract import RecordError, _fast_rows, normalize, parse_record, to_rows

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
    ex, acts = normalize(record(started_at="2026-11-01T10:00:00", ended_at="2026-11-01T10:00:02", latency_ms=...),
                         source="t", ingested_at=NOW)
    assert ex["started_at"] == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert ex["latency_ms"] == 2000.0 and acts == []


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
