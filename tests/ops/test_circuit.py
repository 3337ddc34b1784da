"""Circuit breaker: every transition of the state machine, tick invariance, persistence,
the manual override, and evaluators racing."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from monitordata import T0, insert, row

from meta_agent.errors import InputError
from meta_agent.ops import circuit
from meta_agent.ops.circuit import CLOSED, HALF_OPEN, OPEN, CircuitConfig, CircuitState
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_ops_alerts import circuit_breakers, circuit_transitions

CFG = CircuitConfig(failure_rate_threshold=0.5, min_volume=4, window_size=6, window_seconds=600,
                    cooldown_seconds=60, half_open_successes=2)
START = CircuitState("a", since=T0 - timedelta(hours=1), evaluated_through=T0)


def ev(*outcomes: str, start: int = 1, step: int = 1):
    """Events at T0+start s, T0+start+step s, …: 'F' failed, 'S' succeeded."""
    return [(T0 + timedelta(seconds=start + i * step), o == "F") for i, o in enumerate(outcomes)]


def at(seconds: float):
    return T0 + timedelta(seconds=seconds)


def test_closed_opens_at_the_threshold_once_the_minimum_volume_is_reached():
    s, tr = circuit.advance(START, [], ev("F", "F", "F"), at(10), CFG)
    assert s.state == CLOSED and tr == []  # 3 < min_volume
    s, tr = circuit.advance(START, [], ev("F", "F", "S", "S"), at(10), CFG)
    assert s.state == OPEN and s.since == at(4)  # 2 of 4 = 50 % ≥ 50 %
    assert [(t.from_state, t.to_state, t.at) for t in tr] == [(CLOSED, OPEN, at(4))]
    assert tr[0].failure_rate == 0.5 and tr[0].volume == 4 and "2 of the last 4 executions failed" in tr[0].reason


def test_just_under_the_threshold_stays_closed():
    s, tr = circuit.advance(START, [], ev("S", "S", "F", "S", "F", "S"), at(10), CFG)
    assert s.state == CLOSED and tr == []  # 1 of 4, 2 of 5, 2 of 6: never 50 %


def test_count_window_keeps_only_the_last_window_size():
    # six successes, then failures: the window (6) forgets the oldest successes
    s, tr = circuit.advance(START, [], ev("S", "S", "S", "S", "S", "S", "F", "F", "F"), at(20), CFG)
    assert s.state == OPEN and tr[0].at == at(9) and tr[0].volume == 6  # F,F,F + 3 S = 50 %


def test_time_window_forgets_old_failures():
    old = [(T0 - timedelta(seconds=700), True)] * 3  # older than window_seconds
    s, _ = circuit.advance(START, old, ev("F", "S", "S"), at(10), CFG)
    assert s.state == CLOSED
    recent = [(T0 - timedelta(seconds=100), True)] * 3
    s, tr = circuit.advance(START, recent, ev("S"), at(10), CFG)
    assert s.state == OPEN and tr[0].at == at(1)  # 3 old-but-recent failures + 1 success


def test_failures_before_the_circuit_last_closed_do_not_count():
    s0 = replace(START, since=T0 - timedelta(seconds=30))
    before = [(T0 - timedelta(seconds=40), True)] * 5
    s, _ = circuit.advance(s0, before, ev("S", "F"), at(10), CFG)
    assert s.state == CLOSED


def test_cancelled_and_old_events_are_ignored():
    s, tr = circuit.advance(START, [], [(T0, True), (T0 - timedelta(seconds=5), True)], at(10), CFG)
    assert s.state == CLOSED and tr == []  # at or before evaluated_through: already counted


def test_open_moves_to_half_open_after_the_cooldown_even_without_traffic():
    s, _ = circuit.advance(START, [], ev("F", "F", "F", "F"), at(30), CFG)
    assert s.state == OPEN and s.evaluated_through == at(30)
    s, tr = circuit.advance(s, [], [], at(63), CFG)
    assert s.state == OPEN and tr == []  # opened at 4 s: cooldown ends at 64 s
    s, tr = circuit.advance(s, [], [], at(64), CFG)
    assert s.state == HALF_OPEN and [(t.to_state, t.at) for t in tr] == [(HALF_OPEN, at(64))]


def test_executions_while_open_are_not_counted():
    s, _ = circuit.advance(START, [], ev("F", "F", "F", "F"), at(10), CFG)
    s, tr = circuit.advance(s, [], ev("S", "S", "S", start=20), at(50), CFG)
    assert s.state == OPEN and tr == []


def test_half_open_closes_after_n_successes():
    s, _ = circuit.advance(START, [], ev("F", "F", "F", "F"), at(70), CFG)
    assert s.state == HALF_OPEN
    s, tr = circuit.advance(s, [], ev("S", start=80), at(85), CFG)
    assert s.state == HALF_OPEN and s.half_open_successes == 1 and tr == []
    s, tr = circuit.advance(s, [], ev("S", start=90), at(95), CFG)
    assert s.state == CLOSED and s.since == at(90) and s.half_open_successes == 0
    assert [(t.from_state, t.to_state) for t in tr] == [(HALF_OPEN, CLOSED)]
    # the closed window starts empty: the outage's failures do not reopen it
    s, tr = circuit.advance(s, [], ev("F", "S", "S", start=100), at(110), CFG)
    assert s.state == CLOSED and tr == []


def test_half_open_reopens_on_a_failure_and_the_cooldown_starts_over():
    s, _ = circuit.advance(START, [], ev("F", "F", "F", "F"), at(70), CFG)
    s, tr = circuit.advance(s, [], ev("S", "F", start=80), at(100), CFG)
    assert s.state == OPEN and s.since == at(81)
    assert [(t.from_state, t.to_state, t.at) for t in tr] == [(HALF_OPEN, OPEN, at(81))]
    s, tr = circuit.advance(s, [], [], at(141), CFG)
    assert s.state == HALF_OPEN and tr[0].at == at(141)


def test_a_whole_cycle_in_one_step():
    events = ev("F", "F", "F", "F") + ev("S", "S", start=70)
    s, tr = circuit.advance(START, [], events, at(100), CFG)
    assert [(t.from_state, t.to_state, t.at) for t in tr] == [
        (CLOSED, OPEN, at(4)), (OPEN, HALF_OPEN, at(64)), (HALF_OPEN, CLOSED, at(71))]
    assert s.state == CLOSED


def test_an_override_pins_the_state_and_pauses_the_machine():
    s0 = replace(START, override=OPEN)
    s, tr = circuit.advance(s0, [], ev("S", "S", "S", "S"), at(10), CFG)
    assert s.effective == OPEN and tr == [] and s.evaluated_through == at(10)
    s1 = replace(START, override=CLOSED)
    s, tr = circuit.advance(s1, [], ev("F", "F", "F", "F"), at(10), CFG)
    assert s.effective == CLOSED and s.state == CLOSED and tr == []


@settings(max_examples=150, deadline=None)
@given(outcomes=st.lists(st.tuples(st.integers(1, 40), st.booleans()), min_size=0, max_size=60),
       cuts=st.lists(st.integers(1, 2000), max_size=8))
def test_evaluating_in_many_steps_equals_one_step(outcomes, cuts):
    """Tick invariance: the sensor's interval changes nothing but when a result is seen."""
    events, t = [], 0
    for gap, failed in outcomes:
        t += gap
        events.append((at(t), failed))
    end = at(t + 200)
    one, one_tr = circuit.advance(START, [], events, end, CFG)
    s, trs = START, []
    for cut in [*sorted(set(cuts)), t + 200]:
        upto = at(min(cut, t + 200))
        if upto <= s.evaluated_through:
            continue
        # what evaluate() would read from the DB: the closed window's history, then new events
        floor = circuit.history_floor(s, CFG)
        history = [e for e in events if floor < e[0] <= s.evaluated_through][-CFG.window_size:] \
            if s.state == CLOSED else []
        new = [e for e in events if s.evaluated_through < e[0] <= upto]
        s, tr = circuit.advance(s, history, new, upto, CFG)
        trs += tr
    assert (s.state, s.since, s.half_open_successes) == (one.state, one.since, one.half_open_successes)
    assert [(x.from_state, x.to_state, x.at) for x in trs] == [(x.from_state, x.to_state, x.at) for x in one_tr]


# ---- persistence -------------------------------------------------------------------------
DB_CFG = CircuitConfig(min_volume=10, window_size=50, window_seconds=3600, cooldown_seconds=300,
                       half_open_successes=3)


def test_evaluate_persists_states_and_transitions(migrated_url):
    engine = engine_for(migrated_url)
    rows = [row("a", T0 + timedelta(minutes=i), "success") for i in range(10)]
    rows += [row("a", T0 + timedelta(minutes=10 + i), "failure") for i in range(12)]
    rows += [row("a", T0 + timedelta(minutes=22, seconds=i), "cancelled") for i in range(5)]
    rows += [row("a", T0 + timedelta(minutes=40 + i), "success") for i in range(3)]
    rows += [row("b", T0 + timedelta(minutes=i), "success") for i in range(30)]
    insert(engine, rows)
    cfg = lambda a: DB_CFG  # noqa: E731
    with engine.begin() as conn:
        states, trans = circuit.evaluate(conn, T0 + timedelta(minutes=15), cfg, ["a", "b"])
    assert {s.agent_id: s.state for s in states} == {"a": CLOSED, "b": CLOSED}
    with engine.begin() as conn:
        states, trans = circuit.evaluate(conn, T0 + timedelta(minutes=60), cfg, ["a", "b"])
    # 10 S + 10 F → 50 % at the 20th execution (T0+19 min); cooldown → half-open at T0+24 min;
    # 3 successes from T0+40 → closed at T0+42
    assert [(t.agent_id, t.to_state, t.at) for t in trans] == [
        ("a", OPEN, T0 + timedelta(minutes=19)), ("a", HALF_OPEN, T0 + timedelta(minutes=24)),
        ("a", CLOSED, T0 + timedelta(minutes=42))]
    with engine.connect() as conn:
        stored = circuit.status(conn)
        logged = circuit.transitions(conn, "a")
        again = conn.execute(sa.select(circuit_breakers.c.version).where(circuit_breakers.c.agent_id == "a")).scalar()
    assert {r["agent_id"]: r["state"] for r in stored} == {"a": CLOSED, "b": CLOSED}
    assert [r["to_state"] for r in logged] == [CLOSED, HALF_OPEN, OPEN] and again == 1
    with engine.begin() as conn:  # evaluating the same time again changes nothing
        _, trans = circuit.evaluate(conn, T0 + timedelta(minutes=60), cfg, ["a", "b"])
    assert trans == []


def test_manual_override_and_auto(migrated_url):
    engine = engine_for(migrated_url)
    insert(engine, [row("a", T0)])
    with engine.begin() as conn:
        s, t = circuit.set_mode(conn, "a", "open", "maria", now=T0 + timedelta(minutes=1))
    assert s.effective == OPEN and s.override == OPEN and t.actor == "manual:maria" and t.from_state is None
    with engine.begin() as conn:
        s, t = circuit.set_mode(conn, "a", "open", "maria", now=T0 + timedelta(minutes=2))
    assert t is None  # already forced open
    with engine.begin() as conn:  # the automatic machine waits while pinned
        states, trans = circuit.evaluate(conn, T0 + timedelta(minutes=3), lambda a: DB_CFG, ["a"])
    assert states[0].effective == OPEN and trans == []
    with engine.begin() as conn:
        s, t = circuit.set_mode(conn, "a", "closed", "maria", now=T0 + timedelta(minutes=4))
    assert s.effective == CLOSED and (t.from_state, t.to_state) == (OPEN, CLOSED)
    with engine.begin() as conn:
        s, t = circuit.set_mode(conn, "a", "auto", "dev", "incident over", now=T0 + timedelta(minutes=5))
    assert s.override is None and s.state == CLOSED and s.since == T0 + timedelta(minutes=5)
    assert t.reason == "incident over"
    with engine.connect() as conn:
        assert [r["actor"] for r in circuit.transitions(conn, "a")] == ["manual:dev", "manual:maria", "manual:maria"]


def test_set_mode_rejects_unknown_agents_and_modes(migrated_url):
    engine = engine_for(migrated_url)
    insert(engine, [row("sql-analyst", T0)])
    with engine.begin() as conn, pytest.raises(InputError, match="no agent 'nope'.*known agents: sql-analyst"):
        circuit.set_mode(conn, "nope", "open", "me")
    with engine.begin() as conn, pytest.raises(InputError, match="not one of open, closed, auto"):
        circuit.set_mode(conn, "sql-analyst", "half", "me")


def test_racing_evaluators_log_each_transition_once(migrated_url):
    engine = engine_for(migrated_url)
    insert(engine, [row("a", T0 + timedelta(seconds=i), "failure") for i in range(20)])
    with engine.begin() as conn:
        circuit.evaluate(conn, T0, lambda a: DB_CFG, ["a"])
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait()
            with engine.begin() as conn:
                circuit.evaluate(conn, T0 + timedelta(minutes=1), lambda a: DB_CFG, ["a"])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(circuit_transitions)).scalar()
    assert n == 1
