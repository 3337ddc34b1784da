"""Similar-failure search over 100,000 failure embeddings: ``FailureIndex`` (FAISS HNSW,
inner product over L2-normalized vectors, one slot per distinct vector) against exact numpy
search over every embedding, in the same run.

Data, two sets of embeddings, 384-d (--n, default 100,000; the clustered set --clustered-n,
default 20,000, because its HNSW build takes minutes at 100,000):
- ``signatures``: failure signatures built from the fleet's error templates
  (``meta_agent.fleet.simulate``) with varying models, tools, columns and token counts, a
  failing action, and in 70 % of them a tail of 2–12 words drawn from a 3,000-word noise
  vocabulary (so neighbours are not trivial), masked by ``signature.failure_signature`` and
  embedded with the offline hashing embedder. Many failures share a signature, as in a fleet.
- ``clustered``: random unit vectors around 1,000 random centres (cosine to the centre ≈ 0.7)
  plus 20 % uniform noise vectors — no duplicates at all.

Queries: --queries held-out items generated the same way (not in the index: new failures and
text queries), and for ``signatures`` also embeddings already in the index (an execution-id
query, itself excluded).

Measured: build time (ids + vectors into the index), incremental update (1,000 more),
single-query latency p50/p99 of ``FailureIndex.search(k=10)`` (one query per call, one
thread), recall@10 against exact numpy over all embeddings, and exact numpy's own p50/p99 per
single query (the baseline) with the ratio; then an efSearch sweep on the same index.
Recall is tie-aware, as in ann-benchmarks: a returned id counts when its exact similarity is
at least the 10th best exact similarity (−1e-5) — identical signatures tie.

    .venv/bin/python benchmarks/bench_similarity.py [--n 100000] [--clustered-n 20000] [--queries 1000] [--quick]

Target: p99 < 1 ms per query with recall@10 ≥ 0.95 at 100,000 embeddings. No assertion:
the figures are printed (latencies on a shared machine vary; the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import faiss  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from meta_agent.evaluation import similarity  # noqa: E402
from meta_agent.evaluation.signature import failure_signature  # noqa: E402
from meta_agent.fleet.simulate import ERRORS, NEW_ERROR, OUTAGE_ERROR  # noqa: E402
from meta_agent.llm.embeddings import hashing_embed  # noqa: E402

K = 10
MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-1.5-pro",
          "llama-3.1-70b", "mistral-large")
TOOLS = tuple(f"{verb}_{noun}" for verb in ("fetch", "get", "load", "query", "update", "list")
              for noun in ("rent_roll", "leases", "noi", "tenants", "units", "budget", "diff", "invoice"))
TEMPLATES = tuple((t, m) for t, m, _, _ in ERRORS) + (OUTAGE_ERROR, NEW_ERROR)


def signature_texts(rng: np.random.Generator, n: int, vocab: np.ndarray) -> list[str]:
    tmpl = rng.integers(len(TEMPLATES), size=n)
    models = rng.integers(len(MODELS), size=n)
    tools = rng.integers(len(TOOLS), size=n)
    nums = rng.integers(1, 900, size=(n, 2))
    noisy = rng.uniform(size=n) < 0.7
    lengths = rng.integers(2, 13, size=n)
    words = rng.integers(len(vocab), size=(n, 12))
    via_tool = rng.uniform(size=n) < 0.4
    fail_model = rng.integers(len(MODELS), size=n)
    out = []
    for i in range(n):
        etype, message = TEMPLATES[tmpl[i]]
        msg = message.format(model=MODELS[models[i]], tool=TOOLS[tools[i]], col=nums[i, 0], char=nums[i, 1] * 7,
                             tokens=128000 + nums[i, 0] * 11)
        if noisy[i]:
            msg += " " + " ".join(vocab[words[i, :lengths[i]]])
        action = f"tool_call:{TOOLS[tools[i]]}" if via_tool[i] else f"llm_inference:{MODELS[fail_model[i]]}"
        out.append(failure_signature(etype, msg, action))
    return out


def embed_texts(texts: list[str]) -> np.ndarray:
    """Each distinct text embedded once (as embed_failures does), rows mapped back."""
    distinct, inverse = np.unique(np.array(texts, dtype=object), return_inverse=True)
    return hashing_embed(list(distinct))[inverse.ravel()]


def signature_set(rng: np.random.Generator, n: int, queries: int) -> tuple[np.ndarray, np.ndarray, str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, rng.integers(3, 10))) for _ in range(3000)], dtype=object)
    texts = signature_texts(rng, n + queries, vocab)
    vecs = embed_texts(texts)
    return vecs[:n], vecs[n:], f"{len(set(texts[:n])):,} distinct signatures"


def clustered_set(rng: np.random.Generator, n: int, queries: int, dim: int = 384) -> tuple[np.ndarray, np.ndarray, str]:
    centres = similarity.normalized(rng.normal(size=(1000, dim)))
    total = n + queries
    which = rng.integers(len(centres), size=total)
    x = centres[which] + rng.normal(scale=1.0 / np.sqrt(dim), size=(total, dim)).astype(np.float32)
    noise = rng.uniform(size=total) < 0.2
    noise[n:] = False  # distractors in the index; a query of pure noise has no neighbours to find
    x[noise] = rng.normal(size=(int(noise.sum()), dim))
    x = similarity.normalized(x)
    return x[:n], x[n:], "1,000 centres + 20 % noise"


def exact_topk(base: np.ndarray, q: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """The k-th best exact similarity per query (the tie-aware recall threshold)."""
    kth = np.empty(len(q), dtype=np.float32)
    for lo in range(0, len(q), 256):
        s = q[lo:lo + 256] @ base.T
        if exclude is not None:
            s[np.arange(len(s)), exclude[lo:lo + 256]] = -np.inf
        kth[lo:lo + 256] = -np.partition(-s, k - 1, axis=1)[:, k - 1]
    return kth


def recall(index: similarity.FailureIndex, base: np.ndarray, q: np.ndarray, kth: np.ndarray,
           pos_of: dict[str, int], self_ids: list[str] | None = None) -> float:
    hits = 0
    for i in range(len(q)):
        ids, _ = index.search(q[i], K, exclude=[self_ids[i]] if self_ids else ())
        rows = [pos_of[e] for e in ids[0] if e is not None]
        hits += int((base[rows] @ q[i] >= kth[i] - 1e-5).sum())
    return hits / (K * len(q))


def latencies(fn, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per single query, ms: wall clock, and CPU time of this thread (BLAS and faiss are held
    to this one thread, so that is all the work: it leaves out waiting for a busy CPU)."""
    wall, cpu = np.empty(len(q)), np.empty(len(q))
    with threadpool_limits(1):
        for i in range(len(q)):
            t, c = time.perf_counter(), time.thread_time()
            fn(i, q[i:i + 1])
            wall[i], cpu[i] = time.perf_counter() - t, time.thread_time() - c
    return wall * 1000, cpu * 1000


def pct(ms: np.ndarray, p: float) -> str:
    return f"{np.percentile(ms, p):.3f}"


def run(name: str, base: np.ndarray, queries: np.ndarray, note: str, extra: int, sweep: list[int]) -> None:
    n = len(base) - extra
    threads = faiss.omp_get_max_threads()
    ids = [f"e{i:07d}" for i in range(len(base))]
    pos_of = {e: i for i, e in enumerate(ids)}
    t = time.perf_counter()
    index = similarity.FailureIndex(base.shape[1], "offline:hashing-v1-384")
    index.add(ids[:n], base[:n])
    build = time.perf_counter() - t
    t = time.perf_counter()
    index.add(ids[n:], base[n:])
    update = time.perf_counter() - t
    print(f"\n{name}: {len(base):,} embeddings ({note}), {index.slots:,} slots, {index.method} "
          f"M={index.m} efConstruction={index.ef_construction}")
    print(f"  build {build:.1f} s for {n:,}; add {extra:,} more: {update * 1000:.0f} ms")

    kth_new = exact_topk(base, queries, K)
    inside = np.random.default_rng(5).choice(len(base), size=len(queries), replace=False)
    kth_in = exact_topk(base, base[inside], K, exclude=inside)
    ex_wall, ex_cpu = latencies(lambda _, v: np.argpartition(-(base @ v[0]), K)[:K], queries)
    print(f"  {'':<31}{'----- FailureIndex -----':>34}{'----- exact numpy -----':>27}{'-- p99 ratio --':>16}")
    print(f"  {'query set':<22}{'efSearch':>9}{'recall@10':>11}{'p50 ms':>8}{'p99 ms':>8}{'p99 cpu':>9}"
          f"{'p50 ms':>10}{'p99 ms':>8}{'p99 cpu':>9}{'wall':>8}{'cpu':>8}")
    sets = [("held-out", queries, kth_new, None)]
    if name == "signatures":
        sets.append(("in index (self excl.)", base[inside], kth_in, [ids[i] for i in inside]))
    for ef in sweep:
        if index._hnsw is not None:
            index.ef_search = ef
        for label, q, kth, self_ids in sets:
            rec = recall(index, base, q, kth, pos_of, self_ids)
            faiss.omp_set_num_threads(1)
            wall, cpu = latencies(lambda i, v, s=self_ids: index.search(v, K, exclude=[s[i]] if s else ()), q)
            faiss.omp_set_num_threads(threads)
            mark = " *" if ef == similarity.EF_SEARCH else ""
            print(f"  {label:<22}{ef:>9}{rec:>11.4f}{pct(wall, 50):>8}{pct(wall, 99):>8}{pct(cpu, 99):>9}"
                  f"{pct(ex_wall, 50):>10}{pct(ex_wall, 99):>8}{pct(ex_cpu, 99):>9}"
                  f"{np.percentile(ex_wall, 99) / np.percentile(wall, 99):>7.0f}x"
                  f"{np.percentile(ex_cpu, 99) / np.percentile(cpu, 99):>7.0f}x{mark}")
    index.ef_search = similarity.EF_SEARCH


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="10,000 embeddings, 200 queries")
    ap.add_argument("--sets", default="signatures,clustered")
    ap.add_argument("--clustered-n", type=int, default=20_000,
                    help="size of the clustered set (its HNSW build is ~5x slower than the signatures'; "
                         "pass 100000 for the full figure)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.queries, args.clustered_n = 10_000, 200, 10_000
    print(f"bench_similarity: {args.n:,} embeddings (clustered {args.clustered_n:,}) + 1,000 added, {args.queries:,} queries, k={K}; "
          f"faiss {faiss.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"defaults M={similarity.HNSW_M} efConstruction={similarity.EF_CONSTRUCTION} "
          f"efSearch={similarity.EF_SEARCH} (*), exact below {similarity.EXACT_BELOW:,} slots")
    rng = np.random.default_rng(11)
    for name in args.sets.split(","):
        t = time.perf_counter()
        make = signature_set if name == "signatures" else clustered_set
        n = args.n if name == "signatures" else args.clustered_n
        extra = min(1000, n // 10)
        base, queries, note = make(rng, n + extra, args.queries)
        print(f"[{name}: data generated and embedded in {time.perf_counter() - t:.1f} s]")
        run(name, base, queries, note, extra, sweep=[16, 24, 32, 64])
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
