"""Root-cause analysis on held-out labelled fleets: category accuracy, detection, calibration.

    .venv/bin/python benchmarks/bench_rootcause.py              # held-out seeds 201-203
    .venv/bin/python benchmarks/bench_rootcause.py --seeds 201-205 --rules

Each seed is a labelled fleet (``meta_agent.fleet.labelled``: 21 days x 8 agents x 300/day,
incidents of every category, background noise) the model never saw in training
(``scripts/train_rootcause.py`` refuses these seeds). Each incident is judged in the daily
partition of its last day (at most a window after its start: ``rootcause.incident_window_end``);
a finding matches an incident when they overlap in time and share an agent (for failures, when
most of its sample executions are the incident's). Prints category accuracy per
category and overall (the goal: >= 90 %), detection recall and precision, calibration (ECE,
Brier, the reliability table) and runtime. ``--rules`` scores the hand-set rules instead of the
shipped calibrated model. Then the false alarms on each fleet's background-only twin
(``incidents_per_category=0``, every day's window), and calibration at the sensitive
thresholds (``rootcause.SENSITIVE``) over both, where weak patterns and false alarms (label
``unknown``) fill the lower confidence bins. No assertion: figures, for docs/root-cause.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meta_agent.evaluation import calibration, clusters, rootcause  # noqa: E402
from meta_agent.evaluation.data import frames_from_records  # noqa: E402
from meta_agent.fleet.labelled import labelled_fleet  # noqa: E402
from meta_agent.store.schema_evaluation import FINDING_CATEGORIES  # noqa: E402

HELD_OUT_SEEDS = (201, 202, 203)


def seeds_arg(text: str) -> list[int]:
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(x) for x in text.split(",")]


def pct(v) -> str:
    return "  n/a" if v is None else f"{v * 100:5.1f} %"


def _seed(seed: int, rules: bool = False) -> tuple:
    """One held-out fleet: its evaluated windows (production thresholds), the same windows at
    the sensitive thresholds, its background-only twin's windows at both, executions,
    incidents, window ends, timings."""
    model = rootcause.rule_model() if rules else rootcause.shipped_model()
    t = time.perf_counter()
    lf = labelled_fleet(seed)
    ex, act = frames_from_records(lf.records)
    gen = time.perf_counter() - t
    t = time.perf_counter()
    ends = rootcause.window_ends(ex, lf.incidents)
    clusters_for = rootcause.window_clusters(ex, act, clusters.cluster_failures)  # as the daily pipeline
    ws = rootcause.evaluate(ex, act, lf.incidents, window_ends=ends, execution_labels=lf.execution_labels,
                            model=model, clusters_for=clusters_for)
    rca = time.perf_counter() - t
    loose = rootcause.evaluate(ex, act, lf.incidents, window_ends=ends, execution_labels=lf.execution_labels,
                               model=model, clusters_for=clusters_for, thresholds=rootcause.SENSITIVE)
    bg = labelled_fleet(seed, incidents_per_category=0)
    bex, bact = frames_from_records(bg.records)
    first = bg.start + timedelta(days=rootcause.MIN_BASELINE_DAYS + 1)
    bends = [first + timedelta(days=d) for d in range((bg.end - first).days + 1)]  # every day
    bclusters = rootcause.window_clusters(bex, bact, clusters.cluster_failures)
    quiet = rootcause.evaluate(bex, bact, [], window_ends=bends, model=model, clusters_for=bclusters)
    quiet_loose = rootcause.evaluate(bex, bact, [], window_ends=bends, model=model, clusters_for=bclusters,
                                     thresholds=rootcause.SENSITIVE)
    return seed, ws, len(ex), len(lf.incidents), ends, gen, rca, loose, quiet, quiet_loose


def _reliability(s: dict) -> None:
    print("  confidence bin     n   mean conf  accuracy")
    for r in s["reliability"]:  # every bin, empty ones too
        edge = "]" if r["hi"] == 1 else ")"
        if r["n"]:
            print(f"  [{r['lo']:.1f}, {r['hi']:.1f}{edge}   {r['n']:5d}     {r['confidence']:.3f}     {r['accuracy']:.3f}")
        else:
            print(f"  [{r['lo']:.1f}, {r['hi']:.1f}{edge}       0         -         -")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="201-203")
    ap.add_argument("--rules", action="store_true", help="the uncalibrated rules, not the shipped model")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="seeds evaluated in parallel")
    args = ap.parse_args(argv)
    model = rootcause.rule_model() if args.rules else rootcause.shipped_model()
    print(f"model: {model.source} {model.info.get('seeds', '')}")
    windows, gen_s, rca_s, n_exec, n_win = [], 0.0, 0.0, 0, 0
    misses = []
    seeds = seeds_arg(args.seeds)
    run = partial(_seed, rules=args.rules)
    if args.jobs > 1 and len(seeds) > 1:
        with ProcessPoolExecutor(min(args.jobs, len(seeds))) as pool:
            done = list(pool.map(run, seeds))
    else:
        done = [run(s) for s in seeds]
    loose, quiet, quiet_loose = [], [], []
    for seed, ws, n, n_inc, ends, g, r, lo, q, ql in done:
        loose += lo
        quiet += q
        quiet_loose += ql
        gen_s += g
        rca_s += r
        n_exec += n
        n_win += len(ws)
        windows += ws
        for w in ws:
            misses += [(seed, r) for r in w["incidents"] if r["found"] != r["category"]]
        print(f"seed {seed}: {n:,} executions, {n_inc} incidents, windows {[str(e) for e in ends]}, "
              f"{sum(len(w['findings']) for w in ws)} findings")
    s = calibration.summarize(windows, FINDING_CATEGORIES)
    print(f"\nincidents {s['incidents']}, detected {s['detected']}, findings {s['findings']} "
          f"({s['true_findings']} match an incident)")
    print(f"detection  recall {pct(s['recall'])}   precision {pct(s['precision'])}")
    print(f"category   accuracy {pct(s['accuracy'])} of detected incidents   "
          f"{pct(s['accuracy_end_to_end'])} end to end (a miss counts wrong)")
    for cat, c in s["per_category"].items():
        print(f"  {cat:9s} {c['right']:3d}/{c['detected']:3d} detected of {c['incidents']:3d}  {pct(c['accuracy'])}")
    print(f"calibration  ECE {s['ece']:.4f}   Brier {s['brier']:.4f}   (finding accuracy {pct(s['finding_accuracy'])}, "
          f"every finding incl. false alarms labelled unknown)")
    _reliability(s)
    n_quiet = sum(len(w["findings"]) for w in quiet)
    print(f"\nbackground only (the same fleets without incidents, every day): {n_quiet} false alarms in "
          f"{len(quiet)} windows ({[f.category for w in quiet for f in w['findings']]})")
    stress = calibration.summarize(loose + quiet_loose, FINDING_CATEGORIES)
    unknown = [f for w in loose + quiet_loose for f, lab in zip(w["findings"], w["labels"], strict=True)
               if lab == "unknown"]
    print(f"\nsensitive thresholds (rootcause.SENSITIVE: weak patterns too), incident and background fleets: "
          f"{stress['findings']} findings, {stress['findings'] - stress['true_findings']} of them false alarms "
          f"({sum(f.category == 'unknown' for f in unknown)} called unknown); recall {pct(stress['recall'])}, "
          f"precision {pct(stress['precision'])}")
    print(f"calibration  ECE {stress['ece']:.4f}   Brier {stress['brier']:.4f}   "
          f"(finding accuracy {pct(stress['finding_accuracy'])})")
    _reliability(stress)
    print(f"runtime: generating {gen_s:.1f} s; root causes {rca_s:.1f} s for {n_win} windows "
          f"({rca_s / max(n_win, 1):.2f} s per window of ~{n_exec / max(len(seeds_arg(args.seeds)), 1):,.0f} executions)")
    if misses:
        print("\nmissed or miscategorized:")
        for seed, r in misses:
            print(f"  seed {seed} {r['kind']:20s} {','.join(r['agents'])[:60]:60s} {r['category']:8s} -> {r['found']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
