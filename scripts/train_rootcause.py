"""Fit the root-cause category model on labelled fleets and write ``rootcause_model.json``.

    .venv/bin/python scripts/train_rootcause.py            # seeds 101-104, C=1.0
    .venv/bin/python scripts/train_rootcause.py --check    # fit, compare with the shipped file, write nothing

Each seed is a labelled fleet (``meta_agent.fleet.labelled``: 21 days x 8 agents, incidents of
every category, background noise); every finding of its windows is one training example, its
label the category of the incident it matches (``unknown`` for a false alarm). The features are
the rules' (``rootcause.FEATURES``); the model is a multinomial logistic regression on them
(``calibration.fit``). Background-only fleets of the same seeds (no incidents), analysed at
the sensitive thresholds (``rootcause.SENSITIVE``), add the patterns noise makes, all labelled
``unknown``, so the model learns to say so when nothing explains a pattern. Same seeds, same
file: nothing here is random beyond the seeds. The
held-out seeds (201-203) are never used here; ``benchmarks/bench_rootcause.py`` reports on them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meta_agent.evaluation import calibration, clusters, rootcause  # noqa: E402
from meta_agent.evaluation.data import frames_from_records  # noqa: E402
from meta_agent.fleet.labelled import labelled_fleet  # noqa: E402
from meta_agent.store.schema_evaluation import FINDING_CATEGORIES  # noqa: E402

TRAIN_SEEDS = tuple(range(101, 105))
HELD_OUT_SEEDS = (201, 202, 203)


def labelled_windows(seed: int, model=None, thresholds=rootcause.STRICT) -> list[dict]:
    """``rootcause.evaluate`` over one labelled fleet's windows, with each window's failure
    clusters built as the daily pipeline builds them (``rootcause.window_clusters``)."""
    lf = labelled_fleet(seed)
    ex, act = frames_from_records(lf.records)
    return rootcause.evaluate(ex, act, lf.incidents, window_ends=rootcause.window_ends(ex, lf.incidents),
                              execution_labels=lf.execution_labels, model=model, thresholds=thresholds,
                              clusters_for=rootcause.window_clusters(ex, act, clusters.cluster_failures))


def background_windows(seed: int, model=None, thresholds=rootcause.SENSITIVE, every: int = 2) -> list[dict]:
    """The same fleet without incidents (only its background noise), every ``every`` days from
    the first window with a baseline: every finding is a false alarm (label ``unknown``)."""
    lf = labelled_fleet(seed, incidents_per_category=0)
    ex, act = frames_from_records(lf.records)
    first = lf.start + timedelta(days=rootcause.MIN_BASELINE_DAYS + 1)
    ends = [first + timedelta(days=d) for d in range(0, (lf.end - first).days + 1, every)]
    return rootcause.evaluate(ex, act, [], window_ends=ends, model=model, thresholds=thresholds,
                              clusters_for=rootcause.window_clusters(ex, act, clusters.cluster_failures))


def _seed_windows(seed: int) -> tuple[int, list[dict], float]:
    """A seed's examples: the findings of its labelled fleet at the production thresholds, and
    those of its background-only fleet at the sensitive ones (weak, unexplained patterns)."""
    t = time.perf_counter()
    ws = labelled_windows(seed, rootcause.rule_model())
    ws += background_windows(seed, rootcause.rule_model())
    return seed, ws, time.perf_counter() - t


def dataset(seeds, jobs: int = 1) -> tuple[np.ndarray, list[str], list[dict]]:
    """One example per finding of every window of every seed (seeds in parallel; same result)."""
    rows, labels, windows = [], [], []
    if jobs > 1 and len(seeds) > 1:
        with ProcessPoolExecutor(min(jobs, len(seeds))) as pool:
            done = list(pool.map(_seed_windows, seeds))
    else:
        done = [_seed_windows(s) for s in seeds]
    for seed, ws, secs in done:
        for w in ws:
            for fnd, label in zip(w["findings"], w["labels"], strict=True):
                rows.append([fnd.evidence["features"][k] for k in rootcause.FEATURES])
                labels.append(label)
        windows += ws
        print(f"seed {seed}: {sum(len(w['findings']) for w in ws)} findings in {len(ws)} windows "
              f"({secs:.1f} s)", file=sys.stderr)
    return np.array(rows, dtype=float), labels, windows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default=f"{TRAIN_SEEDS[0]}-{TRAIN_SEEDS[-1]}", help="training seeds, A-B or A,B,C")
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--out", type=Path, default=calibration.MODEL_PATH)
    ap.add_argument("--check", action="store_true", help="fit and compare with --out; write nothing")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="seeds evaluated in parallel")
    args = ap.parse_args(argv)
    if "-" in args.seeds:
        lo, hi = (int(x) for x in args.seeds.split("-"))
        seeds = list(range(lo, hi + 1))
    else:
        seeds = [int(x) for x in args.seeds.split(",")]
    if set(seeds) & set(HELD_OUT_SEEDS):
        ap.error(f"seeds {sorted(set(seeds) & set(HELD_OUT_SEEDS))} are held out for evaluation")
    x, y, _ = dataset(seeds, args.jobs)
    model = calibration.fit(x, y, rootcause.FEATURES, FINDING_CATEGORIES, c=args.c,
                            info={"seeds": seeds, "examples": len(y), "labels": dict(sorted(Counter(y).items())),
                                  "trained_by": "scripts/train_rootcause.py"})
    proba = model.proba_matrix(x)
    pred = [model.classes[i] for i in proba.argmax(axis=1)]
    acc = float(np.mean([p == t for p, t in zip(pred, y, strict=True)]))
    model.info["train_accuracy"] = round(acc, 4)
    text = json.dumps(model.to_dict(), indent=1) + "\n"
    print(f"{len(y)} examples {dict(sorted(Counter(y).items()))}; training accuracy {acc:.3f}")
    if args.check:
        same = args.out.exists() and args.out.read_text() == text
        print(f"{args.out}: {'up to date' if same else 'differs from this fit'}")
        return 0 if same else 1
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
