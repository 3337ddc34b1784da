"""Charts of evaluation, drawn by matplotlib's Agg canvas (no pyplot, no display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def _figure(width: float, height: float):
    # local: matplotlib (~0.5 s to import) loads only when a chart is drawn
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def cluster_trend_png(days: Sequence[str], series: Mapping[str, Sequence[int]], path: Path, title: str) -> Path | None:
    """Failures per day of each cluster (one line each), or None when there is nothing to draw."""
    if not days or not series:
        return None
    fig = _figure(8, 3.6)
    ax = fig.add_subplot()
    for label, counts in series.items():
        ax.plot(range(len(days)), counts, marker="o", markersize=3, label=label[:60])
    ax.set_xticks(range(len(days)), [d[5:] for d in days], rotation=45, fontsize=8)
    ax.set_ylabel("failures per day")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def score_bars_png(scores: Mapping[str, float | None], path: Path, title: str) -> Path | None:
    """Overall score per agent, lowest first, with the 60/80 bands the risk rules use."""
    rows = sorted(((a, s) for a, s in scores.items() if s is not None), key=lambda kv: kv[1])
    if not rows:
        return None
    fig = _figure(7, 0.45 * len(rows) + 1.2)
    ax = fig.add_subplot()
    colors = ["#c0392b" if s < 60 else "#e67e22" if s < 80 else "#27ae60" for _, s in rows]
    ax.barh(range(len(rows)), [s for _, s in rows], color=colors)
    ax.set_yticks(range(len(rows)), [a for a, _ in rows])
    ax.set_xlim(0, 100)
    ax.set_xlabel("overall score (0–100)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)
