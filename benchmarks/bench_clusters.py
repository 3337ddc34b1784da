"""How long clustering a window's failures takes at 100,000 failures — the goal is under 60 s.

Data: the labelled fleet (``meta_agent.fleet.labelled``, seed 1, 21 days × 8 agents) gives
~2,400 failures with ground truth; they are replicated with noise up to --failures rows: new
execution ids, timestamps moved by up to ±6 h inside the window, and in 10 % of rows a variant
signature (one of 40 extra words appended — "[region eu-west-3]", ...), so there are more
distinct signatures than the fleet alone has.

Measured:
1. embed: ``hashing_embed`` of the distinct signatures, broadcast to the rows;
2. cluster: ``cluster_failures`` (identical signatures grouped, weighted average linkage over
   the distinct ones, members mapped back, clusters described);
   peak traced memory of both (tracemalloc) and the process's max RSS;
   quality: ARI / purity of the replicated incident labels (``cluster_quality``);
3. the same-run baseline, the naive way: embed every row and cluster every row with
   scikit-learn's average-linkage agglomerative clustering (cosine, same threshold), on a
   --baseline-rows subsample (10,000; O(n²) memory: all 100,000 rows would need 40 GB for the
   distance matrix alone), extrapolated to --failures rows as O(n²) and compared.

    .venv/bin/python benchmarks/bench_clusters.py [--failures 100000] [--baseline-rows 10000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from meta_agent.evaluation.clusters import (  # noqa: E402
    DEFAULT_THRESHOLD,
    cluster_failures,
    cluster_quality,
    failures_from_records,  # noqa: E402
)
from meta_agent.fleet.labelled import labelled_fleet  # noqa: E402
from meta_agent.llm.embeddings import hashing_embed  # noqa: E402

NOISE_WORDS = [f"[region {r}-{z}]" for r in ("us-east", "us-west", "eu-west", "eu-central", "ap-south")
               for z in ("one", "two", "three", "four", "five", "six", "seven", "eight")]


def replicate(failures: pd.DataFrame, labels: dict[str, str], n: int, rng: np.random.Generator,
              lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[pd.DataFrame, dict[str, str]]:
    reps = -(-n // len(failures))
    big = pd.concat([failures] * reps, ignore_index=True).iloc[:n].copy()
    orig = big["execution_id"].to_numpy()
    big["execution_id"] = [f"r{i:08d}" for i in range(n)]
    shift = pd.to_timedelta(rng.uniform(-6, 6, size=n), unit="h")
    started = pd.to_datetime(big["started_at"], utc=True) + shift
    big["started_at"] = started.clip(lower=lo, upper=hi - pd.Timedelta(seconds=1)).dt.floor("us")
    noisy = rng.uniform(size=n) < 0.10
    words = np.array(NOISE_WORDS)[rng.integers(0, len(NOISE_WORDS), size=n)]
    sig = big["signature"].to_numpy().astype(object)
    sig[noisy] = sig[noisy] + " " + words[noisy]
    big["signature"] = sig
    new_labels = {e: labels[o] for e, o in zip(big["execution_id"], orig, strict=True) if o in labels}
    return big, new_labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--failures", type=int, default=100_000)
    ap.add_argument("--baseline-rows", type=int, default=10_000)
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--quick", action="store_true", help="20,000 failures, a 3,000-row baseline")
    args = ap.parse_args()
    if args.quick:
        args.failures, args.baseline_rows = 20_000, 3_000

    t = time.perf_counter()
    lf = labelled_fleet(1, per_day=200 if args.quick else 300)
    base = failures_from_records(lf.records)
    print(f"labelled fleet: {len(lf.records):,} executions, {len(base):,} failures, "
          f"{len(lf.incidents)} incidents ({time.perf_counter() - t:.1f} s to build)")
    rng = np.random.default_rng(0)
    lo = pd.Timestamp(lf.start, tz="UTC")
    hi = pd.Timestamp(lf.end, tz="UTC") + pd.Timedelta(days=1)
    failures, labels = replicate(base, lf.execution_labels, args.failures, rng, lo, hi)
    print(f"replicated: {len(failures):,} failures, {failures['signature'].nunique():,} distinct signatures, "
          f"{len(labels):,} incident-labelled")
    hashing_embed(["warm up sklearn's import"])

    def embed_and_cluster():
        t0 = time.perf_counter()
        uniq, inv = np.unique(failures["signature"].to_numpy().astype(str), return_inverse=True)
        vectors = hashing_embed(list(uniq))[inv]
        t1 = time.perf_counter()
        clusters = cluster_failures(failures, vectors, window_end=lf.end, window_start=lf.start,
                                    distance_threshold=args.threshold)
        return clusters, t0, t1, time.perf_counter()

    clusters, t0, t1, t2 = embed_and_cluster()
    tracemalloc.start()  # a second run for memory: tracing slows Python down
    embed_and_cluster()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    q = cluster_quality(clusters, labels)
    fast = t2 - t0
    print(f"\nembed (distinct signatures): {t1 - t0:7.2f} s")
    print(f"cluster_failures:            {t2 - t1:7.2f} s   -> {len(clusters)} clusters")
    print(f"embed + cluster:             {fast:7.2f} s   (goal < 60 s)")
    print(f"peak traced memory (2nd run): {peak / 2**20:7.1f} MiB; max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"quality (incident labels):   ARI {q['ari']:.3f}, purity {q['purity']:.3f}, "
          f"{q['n_clusters']} clusters for {q['n_labels']} incidents")

    # the naive way: every row embedded and clustered
    from sklearn.cluster import AgglomerativeClustering

    sub = failures.sample(n=min(args.baseline_rows, len(failures)), random_state=0)
    t0 = time.perf_counter()
    v = hashing_embed(sub["signature"].astype(str).tolist())
    AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                            distance_threshold=args.threshold).fit_predict(v)
    naive = time.perf_counter() - t0
    scale = (len(failures) / len(sub)) ** 2
    print(f"\nbaseline, per-row agglomerative on {len(sub):,} rows: {naive:.2f} s; extrapolated to "
          f"{len(failures):,} rows (O(n²)): {naive * scale:,.0f} s "
          f"(and {len(failures) ** 2 * 4 / 2**30:,.0f} GiB for the distance matrix)")
    print(f"ratio: grouped is {naive * scale / fast:,.0f}× faster than the extrapolated baseline "
          f"({naive / fast:.1f}× faster than the baseline's {len(sub):,}-row subsample alone)")


if __name__ == "__main__":
    main()
