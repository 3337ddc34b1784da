"""How the circuit-breaker defaults were chosen: candidate settings replayed over simulated
demo fleets (7 end dates × 3 seeds, 8 agents × 8 days, incidents included), counting whether
the injected outage opens the circuit and how often any other circuit opens.

    .venv/bin/python benchmarks/tune_circuit.py

Not a timing benchmark (it is not named bench_*); it backs the figures in
docs/agent-ops-alerts.md ("outage caught 21/21, no false trips" for the defaults).
"""

from __future__ import annotations

import collections
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate  # noqa: E402
from meta_agent.ops import circuit  # noqa: E402
from meta_agent.ops.circuit import EPOCH, CircuitConfig, CircuitState  # noqa: E402

CANDIDATES = {
    "defaults (50 %, ≥20 of last 50, 3 h)": CircuitConfig(),
    "50 %, ≥20 of last 50, 1 h": CircuitConfig(window_seconds=3600),
    "50 %, ≥10 of last 50, 1 h": CircuitConfig(min_volume=10, window_seconds=3600),
    "60 %, ≥10 of last 50, 1 h": CircuitConfig(failure_rate_threshold=0.6, min_volume=10, window_seconds=3600),
    "50 %, ≥15 of last 50, 2 h": CircuitConfig(min_volume=15, window_seconds=7200),
}


def main() -> None:
    ids = [p.agent_id for p in fleet(8)]
    stats = {k: collections.Counter() for k in CANDIDATES}
    for seed in (7, 11, 23):
        for k in range(7):  # the outage lands on every weekday once per seed
            end = date(2026, 3, 1) + timedelta(days=k)
            spec = FleetSpec(agents=8, days=8, per_day=300, seed=seed, end=end, incidents=default_incidents(ids, end, 8))
            events = collections.defaultdict(list)
            for r in simulate(spec):
                if r["status"] != "cancelled":
                    events[r["agent_id"]].append((datetime.fromisoformat(r["started_at"]), r["status"] != "success"))
            outage = next(i for i in spec.incidents if i.kind == "outage")
            start = datetime.combine(outage.day, datetime.min.time(), UTC).replace(hour=outage.start_hour)
            for name, cfg in CANDIDATES.items():
                for agent, evs in events.items():
                    evs.sort()
                    _, trans = circuit.advance(CircuitState(agent, since=EPOCH, evaluated_through=EPOCH), [], evs,
                                               evs[-1][0] + timedelta(hours=1), cfg)
                    opens = [t for t in trans if t.from_state == "closed" and t.to_state == "open"]
                    if agent == outage.agent_id:
                        hit = [t for t in opens if t.at.date() == outage.day]
                        stats[name]["fleets"] += 1
                        stats[name]["caught"] += bool(hit)
                        stats[name]["delay_min"] += (hit[0].at - start).total_seconds() / 60 if hit else 0
                        opens = [t for t in opens if t.at.date() != outage.day]
                    stats[name]["false_opens"] += len(opens)
    for name, c in stats.items():
        print(f"{name:40s} outage caught {c['caught']}/{c['fleets']}, mean delay "
              f"{c['delay_min'] / max(c['caught'], 1):.0f} min after it began; other circuits opened: {c['false_opens']}")


if __name__ == "__main__":
    main()
