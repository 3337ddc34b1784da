"""Failure clusters: the failures of a rolling window grouped by what went wrong.

``cluster_failures`` takes the window's failures (the columns of ``failure_embeddings``) and
their L2-normalized signature vectors, aligned by row, and:

1. groups identical signatures first — a fleet's failures repeat a few hundred templates, so
   100,000 failures are a few hundred points to cluster, each weighted by its count;
2. clusters those points by cosine distance with **weighted average linkage** (UPGMA, each
   signature counting as many times as it occurred) cut at ``distance_threshold``. Measured on
   the labelled fleet (``meta_agent.fleet.labelled``, seeds 1-3, hashing embeddings): adjusted
   Rand index over the incidents' failures 0.99 at thresholds 0.10-0.16 (0.98 at 0.20, 0.71 at
   0.30 as different incidents merge); scikit-learn's unweighted average linkage scores the same
   on these data, HDBSCAN (``cluster_selection_epsilon``) at best 0.95 and far worse above 0.06.
   0.13 is the default: the widest setting that keeps every incident apart (two models' 503s
   are 0.145 apart) while merging more of the background's per-model variants. Past
   ``MAX_WEIGHTED`` distinct signatures it falls back to scikit-learn's linkage;
3. maps members back and describes each cluster (below). Clusters smaller than ``min_size``
   are left out (their failures belong to no cluster).

Agent, model and prompt version are not in the signature, so one provider outage seen by five
agents is one signature and one cluster.

A cluster's ``key`` is stable across days: the first 16 hex of the SHA-1 of its most frequent
signature — or, when one of its signatures hashes to a key of ``previous`` (the day before's
clusters), that key, so a cluster keeps its key when its dominant signature changes.
Its ``label`` is its dominant error type, its top c-TF-IDF terms (class-based TF-IDF: terms
frequent in this cluster's signatures and rare in the others') and its dominant failing action.

``trend``, over the window ``[window_start, window_end]`` (the last two days are "recent"):

- ``resolved``: no member in the last two days;
- ``new``: its key is not among ``previous`` (with no ``previous`` at all: first seen in the
  last two days);
- ``growing``: recent daily rate at least twice its rate on the earlier days of the window,
  and the excess over that rate at least 3 Poisson standard deviations (``R − E ≥ 3·√max(E, 2)``,
  R the recent count, E the earlier rate × 2) — so 0-1 → 2 a day is not growth, 10 → 40 is;
- ``recurring``: anything else (it was there, and still is).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from meta_agent.evaluation.data import FAILED_STATUSES, frames_from_records
from meta_agent.evaluation.signature import signatures

DEFAULT_THRESHOLD = 0.13
MAX_WEIGHTED = 2500  # distinct signatures the weighted O(n²)-per-merge linkage handles
RECENT_DAYS = 2
MAX_SAMPLES = 5
TOP_TERMS = 6
FAILURE_COLUMNS = ("execution_id", "agent_id", "started_at", "status", "model", "prompt_version", "error_type",
                   "failing_action", "signature")

_TERM = re.compile(r"[A-Za-z][A-Za-z0-9_.:/\-]*[A-Za-z0-9]|[A-Za-z]")
_STOP = frozenset("""a an and are as at be been by for from has have in into is it its of on or the this
that to was were with your you after before while not no than then there their please retry
none null true false got n""".split())


@dataclass
class Cluster:
    key: str
    label: str
    top_terms: list[str]
    size: int
    agents: dict[str, int]
    error_types: dict[str, int]
    models: dict[str, int]
    first_seen: datetime
    last_seen: datetime
    daily_counts: dict[str, int]
    trend: str  # new | growing | recurring | resolved
    sample_execution_ids: list[str]
    member_ids: list[str] = field(repr=False)
    signatures: dict[str, int] = field(repr=False, default_factory=dict)  # signature -> count

    def to_dict(self) -> dict:
        """As ``previous`` expects it (and JSON-able but for the datetimes)."""
        d = asdict(self)
        d["cluster_key"] = d.pop("key")
        return d


def cluster_failures(failures: pd.DataFrame, vectors: np.ndarray, *, window_end: date, window_start: date,
                     previous: Iterable[Mapping] = (), distance_threshold: float = DEFAULT_THRESHOLD,
                     min_size: int = 3, method: str = "weighted") -> list[Cluster]:
    """The clusters of the window's failures, largest first.

    ``method``: ``weighted`` (weighted average linkage over distinct signatures, the default),
    ``agglomerative`` (scikit-learn's unweighted average linkage over distinct signatures) or
    ``hdbscan`` (scikit-learn's HDBSCAN over distinct signatures; ``distance_threshold`` is its
    ``cluster_selection_epsilon``) — the alternatives are kept for the quality comparison.
    """
    if len(failures) != len(vectors):
        raise ValueError(f"{len(failures)} failures but {len(vectors)} vectors: they must align by row")
    if failures.empty:
        return []
    started = pd.to_datetime(failures["started_at"], utc=True)
    lo, hi = pd.Timestamp(window_start, tz=UTC), pd.Timestamp(window_end + timedelta(days=1), tz=UTC)
    keep = ((started >= lo) & (started < hi)).to_numpy()
    if not keep.all():
        failures, vectors, started = failures[keep], vectors[keep], started[keep]
        if failures.empty:
            return []
    codes, uniques = pd.factorize(failures["signature"].astype(str), sort=True)
    counts = np.bincount(codes, minlength=len(uniques))
    first_row = np.full(len(uniques), -1)
    first_row[codes[::-1]] = np.arange(len(codes))[::-1]  # the first row of each signature
    groups = group_signatures(np.asarray(vectors, dtype=np.float64)[first_row], counts,
                              distance_threshold, method)
    row_group = groups[codes]

    prev = {str(p["cluster_key"]): p for p in previous}
    days = [window_start + timedelta(days=i) for i in range((window_end - window_start).days + 1)]
    cols = _Columns(
        execution_id=failures["execution_id"].astype(str).tolist(),
        agent_id=failures["agent_id"].astype(str).tolist(),
        model=[None if _missing(m) else str(m) for m in failures["model"].tolist()],
        error_type=[str(e) if not _missing(e) else "UnknownError" for e in failures["error_type"].tolist()],
        failing_action=[None if _missing(a) else str(a) for a in failures["failing_action"].tolist()],
        started_at=started.tolist(),
        day=(started.dt.floor("D").dt.date - window_start).map(lambda td: td.days).to_numpy(),
        code=codes,
    )
    order = np.argsort(row_group, kind="stable")
    bounds = np.flatnonzero(np.diff(row_group[order])) + 1
    built = [rows for rows in np.split(order, bounds) if len(rows) >= min_size]
    if not built:
        return []
    sig_counts = [Counter(uniques[c] for c in codes[rows].tolist()) for rows in built]
    terms = _ctfidf(sig_counts)
    ranked = sorted(range(len(built)), key=lambda k: (-len(built[k]), int(codes[built[k]].min())))
    taken: set[str] = set()
    return [_describe(built[k], cols, sig_counts[k], terms[k], prev, taken, days, window_end) for k in ranked]


@dataclass
class _Columns:
    execution_id: list[str]
    agent_id: list[str]
    model: list[str | None]
    error_type: list[str]
    failing_action: list[str | None]
    started_at: list
    day: np.ndarray  # days after window_start
    code: np.ndarray  # the signature's number


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def group_signatures(points: np.ndarray, weights: np.ndarray, threshold: float, method: str = "weighted") -> np.ndarray:
    """A group number per point (distinct signature), by cosine distance."""
    n = len(points)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    if method == "weighted" and n <= MAX_WEIGHTED:
        return _weighted_average_linkage(points, weights.astype(np.float64), threshold)
    if method in ("weighted", "agglomerative"):
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                        distance_threshold=threshold)
        return model.fit_predict(points).astype(np.int64)
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        # on unit vectors, euclidean distance = sqrt(2 · cosine distance)
        model = HDBSCAN(min_cluster_size=2, min_samples=1, cluster_selection_epsilon=math.sqrt(2 * threshold),
                        allow_single_cluster=True)
        labels = model.fit_predict(points).astype(np.int64)
        noise = labels < 0  # HDBSCAN's noise: each its own group
        labels[noise] = labels.max() + 1 + np.arange(int(noise.sum()))
        return labels
    raise ValueError(f"unknown clustering method {method!r}: weighted, agglomerative or hdbscan")


def _weighted_average_linkage(points: np.ndarray, w: np.ndarray, threshold: float) -> np.ndarray:
    """UPGMA where point i counts ``w[i]`` times, merged while the closest pair is < threshold.

    Average linkage of two clusters is the weighted mean of their pairwise distances, so the
    Lance-Williams update is d(A∪B, C) = (W_A·d(A,C) + W_B·d(B,C)) / (W_A + W_B).
    """
    n = len(points)
    d = 1.0 - points @ points.T
    np.clip(d, 0.0, 2.0, out=d)
    np.fill_diagonal(d, np.inf)
    owner = np.arange(n)
    weight = w.copy()
    # each row's nearest neighbour, kept up to date: a merge only moves rows that pointed at it
    rowarg = np.argmin(d, axis=1)
    rowmin = d[np.arange(n), rowarg]
    for _ in range(n - 1):
        i = int(np.argmin(rowmin))
        j = int(rowarg[i])
        if not rowmin[i] < threshold:
            break
        wi, wj = weight[i], weight[j]
        merged = (wi * d[i] + wj * d[j]) / (wi + wj)
        merged[i] = merged[j] = np.inf
        d[i], d[:, i] = merged, merged
        d[j], d[:, j] = np.inf, np.inf
        weight[i] = wi + wj
        owner[owner == j] = i
        rowmin[j] = np.inf
        closer = merged < rowmin
        rowmin[closer], rowarg[closer] = merged[closer], i
        stale = np.flatnonzero(((rowarg == i) | (rowarg == j)) & ~closer)
        stale = stale[stale != j]
        if len(stale):
            rowarg[stale] = np.argmin(d[stale], axis=1)
            rowmin[stale] = d[stale, rowarg[stale]]
        rowarg[i] = int(np.argmin(d[i]))
        rowmin[i] = d[i, rowarg[i]]
    _, groups = np.unique(owner, return_inverse=True)
    return groups.astype(np.int64)


def _terms(signature: str) -> list[str]:
    out = []
    for t in _TERM.findall(signature.replace("<n>", " ").replace("<id>", " ").replace("<url>", " ")):
        t = t.strip(".:-/")
        if len(t) > 1 and t.lower() not in _STOP:
            out.append(t)
    return out


def _ctfidf(clusters: Sequence[Counter]) -> list[list[str]]:
    """Each cluster's top terms by class-based TF-IDF (BERTopic's: tf · log(1 + A / f_t))."""
    tfs = []
    df: Counter = Counter()
    for sigs in clusters:
        tf: Counter = Counter()
        for sig, n in sigs.items():
            for t in _terms(sig):
                tf[t] += n
        tfs.append(tf)
        df.update(tf)
    avg = sum(sum(tf.values()) for tf in tfs) / max(1, len(tfs))
    out = []
    for tf in tfs:
        total = sum(tf.values()) or 1
        scored = sorted(((n / total) * math.log(1 + avg / df[t]), t) for t, n in tf.items())
        out.append([t for _s, t in sorted(scored, key=lambda st: (-st[0], st[1]))[:TOP_TERMS]])
    return out


def cluster_key(signature: str) -> str:
    return hashlib.sha1(signature.encode(), usedforsecurity=False).hexdigest()[:16]  # an id, not a secret


def _describe(rows: np.ndarray, cols: _Columns, sig_counts: Counter, top: list[str], prev: dict[str, Mapping],
              taken: set[str], days: list[date], window_end: date) -> Cluster:
    ranked = sorted(sig_counts.items(), key=lambda sn: (-sn[1], sn[0]))
    keys = [cluster_key(s) for s, _ in ranked]
    inherited = sorted((k for k in keys if k in prev and k not in taken), key=lambda k: -int(prev[k].get("size") or 0))
    key = inherited[0] if inherited else keys[0]
    if key in taken:  # a split: this part keeps a key of its own signatures
        key = next((k for k in keys if k not in taken), keys[0])
    taken.add(key)

    idx = rows.tolist()
    error_types = _counts(cols.error_type[i] for i in idx)
    action = _counts(a for i in idx if (a := cols.failing_action[i]) is not None)
    err = next(iter(error_types), "UnknownError")
    top_action = next(iter(action), None)
    words = [t for t in top if t != err and t != top_action][:3]
    label = " ".join([err, *words]) + (f" · {top_action}" if top_action else "")

    per_day = np.bincount(cols.day[rows], minlength=len(days))
    daily = {d.isoformat(): int(per_day[k]) for k, d in enumerate(days)}
    stamps = [cols.started_at[i] for i in idx]
    first_seen, last_seen = min(stamps).to_pydatetime(warn=False), max(stamps).to_pydatetime(warn=False)
    if key in prev and prev[key].get("first_seen") is not None:
        first_seen = min(first_seen, _as_datetime(prev[key]["first_seen"]))
    return Cluster(
        key=key, label=label, top_terms=top, size=len(idx), agents=_counts(cols.agent_id[i] for i in idx),
        error_types=error_types, models=_counts(m for i in idx if (m := cols.model[i]) is not None),
        first_seen=first_seen, last_seen=last_seen, daily_counts=daily,
        trend=_trend(daily, window_end, key, prev, first_seen),
        sample_execution_ids=_samples(idx, cols), member_ids=[cols.execution_id[i] for i in idx],
        signatures=dict(ranked),
    )


def _trend(daily: dict[str, int], window_end: date, key: str, prev: dict[str, Mapping], first_seen: datetime) -> str:
    values = list(daily.values())
    recent, earlier = values[-RECENT_DAYS:], values[:-RECENT_DAYS]
    r = sum(recent)
    if r == 0:
        return "resolved"
    recent_start = window_end - timedelta(days=RECENT_DAYS - 1)
    if (key not in prev) if prev else first_seen.date() >= recent_start:
        return "new"
    rate = sum(earlier) / len(earlier) if earlier else 0.0
    e = rate * len(recent)
    if r >= 2 * e and r - e >= 3 * math.sqrt(max(e, 2.0)):
        return "growing"
    return "recurring"


def _samples(idx: list[int], cols: _Columns) -> list[str]:
    """Up to five ids, round-robin over the agents (most failures first), latest first."""
    by_agent: dict[str, list[int]] = {}
    for i in idx:
        by_agent.setdefault(cols.agent_id[i], []).append(i)
    queues = [sorted(q, key=lambda i: (cols.started_at[i], cols.execution_id[i]), reverse=True)
              for _a, q in sorted(by_agent.items(), key=lambda aq: (-len(aq[1]), aq[0]))]
    out: list[str] = []
    k = 0
    while len(out) < MAX_SAMPLES and any(k < len(q) for q in queues):
        out += [cols.execution_id[q[k]] for q in queues if k < len(q)][:MAX_SAMPLES - len(out)]
        k += 1
    return out


def _counts(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


def _as_datetime(v) -> datetime:
    ts = pd.Timestamp(v)
    return (ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)).to_pydatetime()


def to_rows(clusters: Sequence[Cluster], day: date, *, window_start: date,
            created_at: datetime | None = None) -> tuple[list[dict], list[dict]]:
    """Rows for ``failure_clusters`` and ``failure_cluster_members`` of the window ending ``day``."""
    created = created_at or datetime.now(UTC)
    cluster_rows = [{
        "day": day, "cluster_key": c.key, "label": c.label, "size": c.size, "agents": c.agents,
        "error_types": c.error_types, "top_terms": c.top_terms, "first_seen": c.first_seen,
        "last_seen": c.last_seen, "trend": c.trend, "daily_counts": c.daily_counts,
        "sample_execution_ids": c.sample_execution_ids, "window_start": window_start, "created_at": created,
    } for c in clusters]
    member_rows = [{"day": day, "execution_id": e, "cluster_key": c.key} for c in clusters for e in c.member_ids]
    return cluster_rows, member_rows


def previous_from_rows(rows: Iterable[Mapping]) -> list[dict]:
    """``failure_clusters`` rows of the day before, as ``cluster_failures(previous=)`` takes them."""
    return [{"cluster_key": r["cluster_key"], "size": r["size"], "daily_counts": r["daily_counts"],
             "first_seen": r["first_seen"]} for r in rows]


def failures_from_records(records: Iterable[dict]) -> pd.DataFrame:
    """The failed executions of contract records with their signatures: ``failure_embeddings``' columns."""
    ex, acts = frames_from_records(records)
    failed = ex[ex["status"].isin(FAILED_STATUSES)].reset_index(drop=True)
    if failed.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS})
    acts = acts[acts["execution_id"].isin(set(failed["execution_id"]))]
    sig = signatures(failed, acts)
    out = failed[["execution_id", "agent_id", "started_at", "status", "model", "prompt_version", "error_type"]].copy()
    out["failing_action"] = sig["failing_action"].to_numpy()
    out["signature"] = sig["signature"].to_numpy()
    return out


def cluster_quality(clusters: Sequence[Cluster], execution_labels: Mapping[str, str], *,
                    background: Mapping[str, str] | None = None) -> dict:
    """How well the clusters recover the labels: adjusted Rand index and purity.

    Scored over the executions in ``execution_labels`` (an incident's failures), plus — when
    ``background`` maps more execution ids to a label (e.g. ``"background:" + error type``) —
    those. A scored failure in no cluster counts as a cluster of its own. Purity: the share of
    clustered scored failures whose label is their cluster's most common one.
    """
    from sklearn.metrics import adjusted_rand_score

    truth = dict(execution_labels)
    if background:
        truth.update({k: v for k, v in background.items() if k not in truth})
    of = {e: c.key for c in clusters for e in c.member_ids}
    ids = sorted(truth)
    if not ids:
        return {"ari": float("nan"), "purity": float("nan"), "n_clusters": len(clusters), "n_labels": 0}
    pred = [of.get(e, f"unclustered:{e}") for e in ids]
    ari = float(adjusted_rand_score([truth[e] for e in ids], pred))
    agree = total = 0
    for c in clusters:
        labels = Counter(truth[e] for e in c.member_ids if e in truth)
        if labels:
            agree += labels.most_common(1)[0][1]
            total += sum(labels.values())
    return {"ari": ari, "purity": agree / total if total else float("nan"),
            "n_clusters": len({of[e] for e in ids if e in of}), "n_labels": len(set(truth.values()))}
