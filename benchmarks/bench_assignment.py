"""What one ``assign`` call costs, beside a same-run baseline.

    .venv/bin/python benchmarks/bench_assignment.py [--calls 100000] [--repeats 5] [--units 1000]

Figures printed, each the median of ``--repeats`` runs of ``--calls`` calls, in ns per call
(loop overhead included in every row alike), over ``--units`` distinct ids of the form
``conversation-<uuid4>`` (49 ASCII characters, as run ids are) cycled through:
- baseline: Python's built-in ``hash()`` of the id (a C-level string hash — cached after the
  first call on the same str object, so this is the floor of any per-call work);
- ``hash_value(seed, id, 2)`` (GrowthBook's v2 hash alone: two pure-Python FNV-1a passes);
- ``assign(key, id, [0.5, 0.5])`` and ``assign`` with three arms and coverage 0.8 — the full
  call: validation, bucket ranges, hash, range lookup;
each with its ratio to the baseline; and the load average, since the machine may be shared.

No assertion and no target: the figures are printed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
import uuid

from meta_agent.experiments.assignment import assign, hash_value


def per_call_ns(fn, args: list, calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the time per call of ``fn(arg)``, cycling through ``args``, in ns."""
    runs = []
    for _ in range(repeats):
        feed = itertools.islice(itertools.cycle(args), calls)
        t0 = time.perf_counter_ns()
        for arg in feed:
            fn(arg)
        runs.append((time.perf_counter_ns() - t0) / calls)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--units", type=int, default=1_000)
    args = parser.parse_args()

    units = [f"conversation-{uuid.UUID(int=i, version=4)}" for i in range(args.units)]
    rows = [
        ("baseline: hash(unit_id)", hash),
        ("hash_value(seed, unit_id, 2)", lambda u: hash_value("exp-key", u, 2)),
        ("assign(key, unit_id, [0.5, 0.5])", lambda u: assign("exp-key", u, [0.5, 0.5])),
        (
            "assign(..., [0.2, 0.3, 0.5], coverage=0.8)",
            lambda u: assign("exp-key", u, [0.2, 0.3, 0.5], coverage=0.8),
        ),
    ]
    print(f"{args.units} unit ids of {len(units[0])} chars, {args.calls} calls x {args.repeats} repeats, "
          f"load average {os.getloadavg()[0]:.2f}")
    baseline = None
    for label, fn in rows:
        ns = per_call_ns(fn, units, args.calls, args.repeats)
        baseline = baseline or ns
        print(f"  {label:<46} {ns:>9.0f} ns/call   x{ns / baseline:>7.1f} baseline")


if __name__ == "__main__":
    main()
