"""Calibrated category probabilities for root-cause findings, and how to measure calibration.

A ``RootCauseModel`` is a multinomial logistic regression over a finding's rule features
(``meta_agent.evaluation.rootcause.FEATURES``): standardize, ``softmax(W x + b)``. It is fitted
offline on labelled fleets (``scripts/train_rootcause.py``, scikit-learn) and shipped as
``rootcause_model.json`` beside this module, so production evaluates it with numpy alone and
needs no training. A confidence of 0.8 should then be right about 8 times in 10 — checked on
held-out seeds with a reliability table, the expected calibration error (ECE) and the Brier
score (``benchmarks/bench_rootcause.py``; docs/root-cause.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

MODEL_PATH = Path(__file__).with_name("rootcause_model.json")


@dataclass(frozen=True)
class RootCauseModel:
    """``softmax(coef @ ((x - mean) / scale) + intercept)`` over ``classes``."""

    features: tuple[str, ...]
    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (len(classes), len(features))
    intercept: np.ndarray  # (len(classes),)
    source: str = "rules"  # rules | fitted
    info: dict = field(default_factory=dict)

    def vector(self, features: Mapping[str, float]) -> np.ndarray:
        """The model's feature vector (a feature it does not know is ignored, one it lacks is 0)."""
        return np.array([float(features.get(f, 0.0) or 0.0) for f in self.features])

    def proba_matrix(self, x: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef.T + self.intercept
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_proba(self, features: Mapping[str, float]) -> dict[str, float]:
        p = self.proba_matrix(self.vector(features))[0]
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}

    def to_dict(self) -> dict:
        return {"source": self.source, "features": list(self.features), "classes": list(self.classes),
                "mean": [round(float(v), 8) for v in self.mean], "scale": [round(float(v), 8) for v in self.scale],
                "coef": [[round(float(v), 8) for v in row] for row in self.coef],
                "intercept": [round(float(v), 8) for v in self.intercept], "info": self.info}

    @classmethod
    def from_dict(cls, d: Mapping) -> RootCauseModel:
        return cls(features=tuple(d["features"]), classes=tuple(d["classes"]),
                   mean=np.asarray(d["mean"], dtype=float), scale=np.asarray(d["scale"], dtype=float),
                   coef=np.asarray(d["coef"], dtype=float), intercept=np.asarray(d["intercept"], dtype=float),
                   source=d.get("source", "fitted"), info=dict(d.get("info") or {}))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> RootCauseModel:
        return cls.from_dict(json.loads(Path(path).read_text()))


def from_weights(features: Sequence[str], classes: Sequence[str], weights: Mapping[str, Mapping[str, float]],
                 bias: Mapping[str, float]) -> RootCauseModel:
    """A model from hand-set weights on raw (unscaled) features — the rules before calibration."""
    coef = np.array([[float(weights.get(c, {}).get(f, 0.0)) for f in features] for c in classes])
    return RootCauseModel(tuple(features), tuple(classes), np.zeros(len(features)), np.ones(len(features)),
                          coef, np.array([float(bias.get(c, 0.0)) for c in classes]), source="rules")


def fit(x: np.ndarray, y: Sequence[str], features: Sequence[str], classes: Sequence[str], *, c: float = 1.0,
        info: Mapping | None = None) -> RootCauseModel:
    """Multinomial logistic regression (L2, ``C=c``) on standardized features; deterministic.

    A class with no training example keeps a very negative intercept (never predicted)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    present = [k for k in classes if k in set(y)]
    lr = LogisticRegression(C=c, max_iter=5000, random_state=0)
    lr.fit((x - mean) / scale, np.asarray(y))
    coef = np.zeros((len(classes), len(features)))
    intercept = np.full(len(classes), -30.0)
    for i, k in enumerate(lr.classes_):
        j = list(classes).index(k)
        if len(lr.classes_) == 2:  # binary: sklearn keeps one row; softmax of (-z/2, z/2) is the same model
            sign = 1.0 if i == 1 else -1.0
            coef[j], intercept[j] = sign * lr.coef_[0] / 2, sign * lr.intercept_[0] / 2
        else:
            coef[j], intercept[j] = lr.coef_[i], lr.intercept_[i]
    return RootCauseModel(tuple(features), tuple(classes), mean, scale, coef, intercept, source="fitted",
                          info={"classes_seen": present, "C": c, **(info or {})})


def reliability_table(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[dict]:
    """Per confidence bin ``[lo, hi)`` (the last one closed): count, mean confidence, accuracy."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        n = int(m.sum())
        out.append({"lo": round(float(edges[b]), 3), "hi": round(float(edges[b + 1]), 3), "n": n,
                    "confidence": float(conf[m].mean()) if n else None,
                    "accuracy": float(ok[m].mean()) if n else None})
    return out


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """``Σ_bins n_b / N · |accuracy_b − confidence_b|`` (0: perfectly calibrated)."""
    table = reliability_table(confidence, correct, bins)
    total = sum(r["n"] for r in table)
    if not total:
        return 0.0
    return float(sum(r["n"] / total * abs(r["accuracy"] - r["confidence"]) for r in table if r["n"]))


def brier_score(probabilities: np.ndarray, truth: Sequence[int]) -> float:
    """Multiclass Brier score: mean over rows of ``Σ_k (p_k − 1[k = truth])²`` (0 best, 2 worst)."""
    p = np.atleast_2d(np.asarray(probabilities, dtype=float))
    if not len(p):
        return 0.0
    onehot = np.zeros_like(p)
    onehot[np.arange(len(p)), np.asarray(truth, dtype=int)] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


# ------------------------------------------------------------------ scoring against labels

def _span(finding) -> tuple[datetime, datetime]:
    start = pd.Timestamp(finding.started_at)
    end = pd.Timestamp((finding.evidence or {}).get("segment_end") or finding.started_at)
    return start, end


def _overlap(finding, incident, horizon: datetime) -> float:
    """Seconds the finding's span shares with the incident's (0: none), when they share an agent."""
    if not set(finding.agents) & set(incident.agents):
        return 0.0
    f0, f1 = _span(finding)
    i0 = pd.Timestamp(incident.start)
    i1 = pd.Timestamp(incident.end) if incident.end is not None else pd.Timestamp(horizon)
    lo, hi = max(f0, i0), min(f1, i1)
    if hi < lo:
        return 0.0
    return max((hi - lo).total_seconds(), 1.0)


def match(findings: Sequence, incidents: Sequence, horizon: datetime,
          labels: Mapping[str, str] | None = None) -> tuple[list[int | None], dict[int, int]]:
    """Findings against labelled incidents (objects with ``incident_id``, ``agents``, ``start``,
    ``end`` — None: open — and ``category``): a finding matches an incident when they overlap in
    time and share an agent. With ``labels`` (``{execution_id: incident_id}`` of the executions an
    incident made fail), a finding whose sample executions are mostly labelled matches their
    incident (two incidents of one agent that overlap in time stay apart). Returns, per finding,
    the index of its incident (None: a false alarm), and per detected incident the finding
    that shows it best."""
    index = {getattr(inc, "incident_id", i): i for i, inc in enumerate(incidents)}
    per_finding: list[int | None] = []
    best: dict[int, tuple[float, int]] = {}
    for fi, fnd in enumerate(findings):
        scores = [_overlap(fnd, inc, horizon) for inc in incidents]
        chosen = None
        if labels:
            ids = (fnd.evidence or {}).get("execution_ids") or []
            hits = [labels[e] for e in ids if e in labels]
            if ids and len(hits) >= 0.5 * len(ids):
                top_id = max(sorted(set(hits)), key=hits.count)
                chosen = index.get(top_id)
                if chosen is not None:
                    scores[chosen] = max(scores[chosen], 1.0) + 1e12  # the labels outrank time overlap
        if chosen is None and scores:
            top = int(np.argmax(scores))
            chosen = top if scores[top] > 0 else None
        per_finding.append(chosen)
        if chosen is not None and scores[chosen] > best.get(chosen, (0.0, -1))[0]:
            best[chosen] = (scores[chosen], fi)
    return per_finding, {ii: fi for ii, (_, fi) in best.items()}


def finding_labels(findings: Sequence, incidents: Sequence, horizon: datetime,
                   labels: Mapping[str, str] | None = None) -> list[str]:
    """The training label of each finding: its incident's category, ``unknown`` for a false alarm."""
    per_finding, _ = match(findings, incidents, horizon, labels)
    return [incidents[i].category if i is not None else "unknown" for i in per_finding]


def summarize(windows: Sequence[Mapping], classes: Sequence[str], bins: int = 10) -> dict:
    """Figures over evaluated windows (``rootcause.evaluate``): category accuracy per category and
    overall (of the detected incidents, and end to end with a miss counted wrong), detection
    recall and precision, and calibration of the confidence over every finding (its label:
    its incident's category, ``unknown`` for a false alarm) — ECE, Brier, reliability table."""
    per_cat: dict[str, list[int]] = {}
    detected = total = 0
    conf, ok, probs, truth = [], [], [], []
    n_findings = n_true = 0
    for w in windows:
        for row in w["incidents"]:
            total += 1
            c = per_cat.setdefault(row["category"], [0, 0, 0])  # right, detected, incidents
            c[2] += 1
            if row["found"] is not None:
                detected += 1
                c[1] += 1
                c[0] += int(row["found"] == row["category"])
        for fnd, label in zip(w["findings"], w["labels"], strict=True):
            n_findings += 1
            n_true += int(label != "unknown")
            conf.append(fnd.confidence)
            ok.append(fnd.category == label)
            p = (fnd.evidence or {}).get("probabilities") or {}
            probs.append([float(p.get(k, 0.0)) for k in classes])
            truth.append(list(classes).index(label))
    right = sum(c[0] for c in per_cat.values())
    return {
        "incidents": total, "detected": detected, "findings": n_findings, "true_findings": n_true,
        "recall": detected / total if total else None, "precision": n_true / n_findings if n_findings else None,
        "accuracy": right / detected if detected else None,
        "accuracy_end_to_end": right / total if total else None,
        "per_category": {k: {"incidents": c[2], "detected": c[1], "right": c[0],
                             "accuracy": c[0] / c[1] if c[1] else None} for k, c in sorted(per_cat.items())},
        "ece": expected_calibration_error(conf, ok, bins), "brier": brier_score(np.array(probs), truth) if probs else 0.0,
        "reliability": reliability_table(conf, ok, bins), "finding_accuracy": float(np.mean(ok)) if ok else None,
    }
