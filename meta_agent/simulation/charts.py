"""Charts of a scenario simulation: each one as an inline SVG and as a full PNG.

Dagster's asset page renders markdown under 1,000 characters inline and hides longer values
behind a "Show Markdown" button (tests/ui/FINDINGS.md). So every chart comes twice:

- ``*_svg`` — a compact SVG whose markdown ``![alt](data:image/svg+xml;base64,…) caption``
  (``inline_markdown``) stays under ``INLINE_LIMIT``, visible on the page without a click. It
  returns an ``InlineChart``: the SVG, a caption saying what the marks mean (the SVG itself
  has at most one or two letters per row), and ``fits``. To stay under the limit it degrades
  step by step — two-letter labels, one letter, none, fewer marks, a smaller box (integer
  coordinates throughout) — and when even the smallest form is too long it returns that form
  with ``fits=False`` (the caller then shows only the PNG).
- ``*_png`` — the same data drawn by matplotlib with a title, labelled axes and units, for the
  one-click-away markdown (``meta_agent_defs.metadata.chart``) and the artifact file. It
  returns the path written, or None (no file) when there is nothing to draw.

The charts:

- **distribution**: one row per scenario, a bar from p5 to p95 (darker p25–p75 when given),
  a tick at the median, an orange tick at the scenario's base value, a dot for a fixed
  scenario (p5 = p50 = p95), a red vertical line at a threshold (e.g. DSCR 1.0).
- **tornado**: one row per driver, largest swing on top; a red bar from the base value to the
  value with the driver at its low, a blue one to the value at its high.
- **fan**: percentile bands over periods: shaded p5–p95 and p25–p75, a median line.

Values that are None, NaN, infinite or not numbers are skipped; no data at all gives a small
"no data" SVG (and no PNG).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

INLINE_LIMIT = 1000  # Dagster renders markdown metadata inline only under this many characters

# Colors, as 3-digit hex to keep the SVG short; the tests find the marks by them.
BAND = "#bbe"  # p5–p95 (bar, outer fan band)
INNER = "#87d"  # p25–p75
MEDIAN = "#222"  # median tick / line, tornado base line
DOT = "#54d"  # a fixed scenario's value
BASE = "#e80"  # a scenario's base value
THRESHOLD = "#d22"
LOW = "#e66"  # tornado: driver at its low
HIGH = "#46c"  # tornado: driver at its high
MUTED = "#888"  # zero line, "no data"

_SVG_OPEN = "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}'>"
NO_DATA_SVG = (_SVG_OPEN.format(w=50, h=14)
               + f"<text x='1' y='11' font-size='11' fill='{MUTED}'>no data</text></svg>")


class InlineChart(NamedTuple):
    """An SVG chart for inline markdown: the SVG, its caption, and whether
    ``inline_markdown(svg, alt, caption)`` for the ``alt`` it was built for is under the limit."""

    svg: str
    caption: str
    fits: bool

    def markdown(self, alt: str) -> str:
        return inline_markdown(self.svg, alt, self.caption)


def inline_markdown(svg: str, alt: str, caption: str = "") -> str:
    """``![alt](data:image/svg+xml;base64,…) caption`` — the markdown whose length decides
    whether Dagster shows the chart inline (under ``INLINE_LIMIT``)."""
    data = base64.b64encode(svg.encode()).decode("ascii")
    return f"![{alt}](data:image/svg+xml;base64,{data}) {caption}".rstrip()


# ------------------------------------------------------------------------------ inputs


def _num(v: Any) -> float | None:
    """A finite float, or None for None / NaN / inf / anything not a number."""
    if isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _pair(a: Any, b: Any) -> tuple[float, float] | None:
    """Both ends of a range, in order, or None when either is missing."""
    lo, hi = _num(a), _num(b)
    if lo is None or hi is None:
        return None
    return (lo, hi) if lo <= hi else (hi, lo)


@dataclass(frozen=True)
class _Dist:
    label: str
    outer: tuple[float, float] | None  # p5, p95 (None: fixed)
    inner: tuple[float, float] | None  # p25, p75
    p50: float | None
    base: float | None
    threshold: float | None

    @property
    def point(self) -> float:  # a fixed scenario's value
        if self.p50 is not None:
            return self.p50
        assert self.outer is not None
        return self.outer[0]

    def values(self, base: bool = True) -> list[float]:
        vals = [*(self.outer or ()), *(self.inner or ()), self.p50, self.base if base else None, self.threshold]
        return [v for v in vals if v is not None]


def _dist_rows(rows: Iterable[Mapping[str, Any]]) -> list[_Dist]:
    out = []
    for r in rows:
        outer, p50 = _pair(r.get("p5"), r.get("p95")), _num(r.get("p50"))
        if outer is None and p50 is None:
            continue
        if outer is not None and math.isclose(outer[0], outer[1], rel_tol=1e-9, abs_tol=1e-12):
            p50, outer = (outer[0] if p50 is None else p50), None
        out.append(_Dist(str(r.get("label") or ""), outer, _pair(r.get("p25"), r.get("p75")) if outer else None,
                         p50, _num(r.get("base")), _num(r.get("threshold"))))
    return out


@dataclass(frozen=True)
class _Swing:
    driver: str
    low: float | None
    high: float | None
    swing: float


def _tornado_rows(rows: Iterable[Mapping[str, Any]]) -> list[_Swing]:
    """Rows with at least one value, largest swing first (a missing swing is |high - low|)."""
    out = []
    for r in rows:
        low, high = _num(r.get("value_at_low")), _num(r.get("value_at_high"))
        if low is None and high is None:
            continue
        swing = _num(r.get("swing"))
        if swing is None:
            swing = abs(high - low) if low is not None and high is not None else 0.0
        out.append(_Swing(str(r.get("driver") or ""), low, high, abs(swing)))
    return sorted(out, key=lambda s: -s.swing)


def _band(bands: Mapping[Any, Sequence[Any]], q: int, n: int) -> list[float | None]:
    """Percentile ``q`` of ``bands`` (key 5, "5" or "p5") as n finite floats or None."""
    values = next((bands[k] for k in (q, str(q), f"p{q}") if k in bands), None) or []
    vals = [_num(v) for v in values][:n]
    return vals + [None] * (n - len(vals))


def _fan_data(x_labels: Sequence[Any], bands: Mapping[Any, Sequence[Any]]):
    n = len(x_labels) or max((len(v or []) for v in bands.values()), default=0)
    return n, {q: _band(bands, q, n) for q in (5, 25, 50, 75, 95)}


# ------------------------------------------------------------------------------ SVG pieces


def _short(v: float) -> str:
    """A number in at most three significant digits: ``1.25``, ``840``, ``1.2k``, ``3.4M``."""
    if v == 0:
        return "0"
    r = float(f"{v:.3g}")  # round first, so 999.7 becomes 1k rather than 1e+03
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(r) >= div:
            return f"{r / div:.3g}{suffix}"
    return f"{r:g}"


def _join(nums: Iterable[int]) -> str:
    """Integers as path data: space-separated, except that a minus sign separates by itself."""
    out = ""
    for n in nums:
        s = str(n)
        out += s if not out or s.startswith("-") else " " + s
    return out


def _axis(values: Sequence[float], a: float, b: float) -> Callable[[float], int]:
    """Map the span of ``values`` linearly onto pixels ``a``..``b`` (b < a flips it)."""
    lo, hi = min(values), max(values)
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    return lambda v: round(a + (v - lo) / (hi - lo) * (b - a))


def _path(parts: Sequence[str], **attrs: str | int) -> str:
    if not parts:
        return ""
    attr = "".join(f" {k.replace('_', '-')}='{v}'" for k, v in attrs.items())
    return f"<path{attr} d='{''.join(parts)}'/>"


def _labels(names: Sequence[str], baselines: Sequence[int], chars: int) -> str:
    """Up to ``chars`` letters of each name at the left of its row, in one ``<text>``: SVG
    places each character at its own x / y, so a row costs a few bytes, not an element."""
    xs: list[int] = []
    ys: list[int] = []
    text = ""
    for name, y in zip(names, baselines, strict=True):
        letters = [c for c in name if c.isascii() and c.isalnum()][:chars]
        for i, c in enumerate(letters):
            xs.append(1 + 5 * i)
            ys.append(y)
            text += c
    if not text:
        return ""
    return f"<text font-size='9' x='{_join(xs)}' y='{_join(ys)}'>{text}</text>"


def _svg(width: int, height: int, body: Iterable[str]) -> str:
    return _SVG_OPEN.format(w=width, h=height) + "".join(body) + "</svg>"


def _fit(renders: Sequence[Callable[[], tuple[str, str]]], alt: str, limit: int) -> InlineChart:
    """The first rendering whose markdown is under ``limit``; else the last, not fitting."""
    svg, caption = "", ""
    for render in renders:
        svg, caption = render()
        if len(inline_markdown(svg, alt, caption)) < limit:
            return InlineChart(svg, caption, True)
    return InlineChart(svg, caption, False)


def _no_data(alt: str, limit: int) -> InlineChart:
    return InlineChart(NO_DATA_SVG, "", len(inline_markdown(NO_DATA_SVG, alt)) < limit)


def _range(lo: float, hi: float, unit: str) -> str:
    return f"{_short(lo)}…{_short(hi)}{unit}"


# ------------------------------------------------------------------------------ distribution

# (width, row height, label letters, p25–p75, base ticks), most detailed first
_ROW_LEVELS = ((200, 10, 2, True, True), (200, 10, 1, True, True), (200, 10, 1, True, False),
               (200, 10, 0, True, False), (140, 10, 0, False, False), (99, 8, 0, False, False))


def distribution_svg(rows: Sequence[Mapping[str, Any]], *, alt: str = "distribution", unit: str = "",
                     metric: str = "", limit: int = INLINE_LIMIT) -> InlineChart:
    """Per scenario (rows ``{"label", "p5", "p25"?, "p50", "p75"?, "p95", "base"?,
    "threshold"?}``, in the given order) a bar p5–p95 with a median tick, or a dot when fixed;
    a vertical line per threshold. ``metric`` and ``unit`` only word the caption
    (``red line: DSCR 1x``, ``0.8…1.6x``); ``unit`` is appended as given (``x``, `` USD``)."""
    items = _dist_rows(rows)
    if not items:
        return _no_data(alt, limit)
    return _fit([lambda lv=lv: _distribution(items, *lv, unit=unit, metric=metric) for lv in _ROW_LEVELS],
                alt, limit)


def _distribution(items: list[_Dist], width: int, rh: int, chars: int, quartiles: bool, bases: bool,
                  *, unit: str, metric: str) -> tuple[str, str]:
    height = len(items) * rh + 2
    values = [v for it in items for v in it.values(base=bases)]
    x = _axis(values, chars * 5 + 4 if chars else 3, width - 3)
    ys = [1 + i * rh + rh // 2 for i in range(len(items))]
    bars, inner, ticks, base, dots = [], [], [], [], []
    for it, y in zip(items, ys, strict=True):
        if it.outer is None:
            dots.append(f"M{_join((x(it.point), y))}h0")
        else:
            x0 = x(it.outer[0])
            bars.append(f"M{_join((x0, y))}h{max(x(it.outer[1]) - x0, 1)}")
            if quartiles and it.inner is not None:
                x1 = x(it.inner[0])
                inner.append(f"M{_join((x1, y))}h{max(x(it.inner[1]) - x1, 1)}")
            if it.p50 is not None:
                ticks.append(f"M{_join((x(it.p50), y - rh // 2 + 1))}v{rh - 2}")
        if bases and it.base is not None:
            base.append(f"M{_join((x(it.base), y - rh // 2 + 2))}v{rh - 4}")
    thresholds = sorted({it.threshold for it in items if it.threshold is not None})
    body = [_path(bars, stroke=BAND, stroke_width=rh - 3), _path(inner, stroke=INNER, stroke_width=rh - 3),
            _path([f"M{x(t)} 0v{height}" for t in thresholds], stroke=THRESHOLD),
            _path(ticks, stroke=MEDIAN, stroke_width=2), _path(base, stroke=BASE, stroke_width=2),
            _path(dots, stroke=DOT, stroke_width=rh - 3, stroke_linecap="round"),
            _labels([it.label for it in items], [y + 3 for y in ys], chars)]
    legend = (["bar p5–p95"] if bars else []) + (["tick p50"] if ticks else []) + (["dark p25–p75"] if inner else [])
    legend += (["orange base"] if base else []) + (["dot fixed"] if dots else [])
    caption = ", ".join(legend)
    if thresholds:
        caption += f"; red line: {metric + ' ' if metric else ''}{', '.join(_short(t) + unit for t in thresholds)}"
    caption += "; " + _range(min(values), max(values), unit)
    return _svg(width, height, body), caption


# ------------------------------------------------------------------------------ tornado


def tornado_svg(rows: Sequence[Mapping[str, Any]], base_value: float, *, alt: str = "tornado",
                unit: str = "", limit: int = INLINE_LIMIT) -> InlineChart:
    """Per driver (rows ``{"driver", "value_at_low", "value_at_high", "swing"}``), largest swing
    on top, a bar from ``base_value`` to the value at the driver's low (red) and one to the
    value at its high (blue); a vertical line at the base."""
    items = _tornado_rows(rows)
    base = _num(base_value)
    if not items or base is None:
        return _no_data(alt, limit)
    return _fit([lambda lv=lv: _tornado(items, base, *lv[:3], unit=unit) for lv in _ROW_LEVELS], alt, limit)


def _tornado(items: list[_Swing], base: float, width: int, rh: int, chars: int, *, unit: str) -> tuple[str, str]:
    height = len(items) * rh + 2
    values = [base, *(v for it in items for v in (it.low, it.high) if v is not None)]
    x = _axis(values, chars * 5 + 4 if chars else 3, width - 3)
    xb = x(base)
    ys = [1 + i * rh + rh // 2 for i in range(len(items))]
    lows = [f"M{_join((xb, y))}h{x(it.low) - xb}" for it, y in zip(items, ys, strict=True) if it.low is not None]
    highs = [f"M{_join((xb, y))}h{x(it.high) - xb}" for it, y in zip(items, ys, strict=True) if it.high is not None]
    body = [_path(lows, stroke=LOW, stroke_width=rh - 3), _path(highs, stroke=HIGH, stroke_width=rh - 3),
            _path([f"M{xb} 0v{height}"], stroke=MEDIAN),
            _labels([it.driver for it in items], [y + 3 for y in ys], chars)]
    caption = (f"red: driver low, blue: driver high; line: base {_short(base)}{unit}; "
               + _range(min(values), max(values), unit))
    return _svg(width, height, body), caption


# ------------------------------------------------------------------------------ fan

# (width, height, first/last x label, zero line), most detailed first
_FAN_LEVELS = ((200, 56, True, True), (160, 48, False, True), (120, 40, False, True), (99, 32, False, False))


def fan_svg(x_labels: Sequence[Any], bands: Mapping[Any, Sequence[Any]], *, alt: str = "fan",
            unit: str = "", limit: int = INLINE_LIMIT) -> InlineChart:
    """Percentile bands over x (``bands = {5: [...], 25: [...], 50: [...], 75: [...], 95: [...]}``,
    one value per x label; any band may be missing): shaded p5–p95 and p25–p75, a median line,
    a grey line at zero when the values cross it. A period missing a value leaves a gap."""
    n, qs = _fan_data(x_labels, bands)
    values = [v for vs in qs.values() for v in vs if v is not None]
    if not values:
        return _no_data(alt, limit)
    first = str(x_labels[0]) if x_labels else ""
    last = str(x_labels[-1]) if x_labels else ""
    return _fit([lambda lv=lv: _fan(n, qs, values, first, last, *lv, unit=unit) for lv in _FAN_LEVELS], alt, limit)


def _runs(ok: Sequence[bool]) -> list[list[int]]:
    """Consecutive indices where ``ok``."""
    runs: list[list[int]] = []
    for i, good in enumerate(ok):
        if good:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
    return runs


def _polyline(points: Sequence[tuple[int, int]], close: bool = False) -> str:
    """``M x y l dx dy …`` (relative steps are shorter than absolute points), ``Z`` to close."""
    (x0, y0), d = points[0], []
    for (xa, ya), (xb, yb) in zip(points, points[1:], strict=False):
        d += [xb - xa, yb - ya]
    return f"M{_join((x0, y0))}" + (f"l{_join(d)}" if d else "") + ("Z" if close else "")


def _fan(n: int, qs: dict[int, list[float | None]], values: list[float], first: str, last: str,
         width: int, height: int, labels: bool, zero: bool, *, unit: str) -> tuple[str, str]:
    plot_h = height - 10 if labels else height
    lo, hi = min(values), max(values)
    y = _axis(values, plot_h - 2, 2)
    xs = [round(3 + i / max(n - 1, 1) * (width - 6)) if n > 1 else width // 2 for i in range(n)]

    def band(a: int, b: int) -> list[str]:
        out = []
        for run in _runs([qs[a][i] is not None and qs[b][i] is not None for i in range(n)]):
            upper = [(xs[i], y(qs[b][i])) for i in run]  # type: ignore[arg-type]
            lower = [(xs[i], y(qs[a][i])) for i in reversed(run)]  # type: ignore[arg-type]
            out.append(_polyline(upper + lower, close=True))
        return out

    outer, inner = band(5, 95), band(25, 75)
    median = [_polyline([(xs[i], y(qs[50][i])) for i in run])  # type: ignore[arg-type]
              for run in _runs([v is not None for v in qs[50]])]
    body = [_path(outer, fill=BAND), _path(inner, fill=INNER)]
    if zero and lo < 0 < hi:
        body.append(_path([f"M0 {y(0.0)}h{width}"], stroke=MUTED))
    body.append(_path(median, fill="none", stroke=MEDIAN, stroke_width=2))
    if labels and (first or last):
        body.append(f"<text font-size='9' y='{height - 1}'><tspan x='1'>{escape(first[:8])}</tspan>"
                    f"<tspan x='{width - 1}' text-anchor='end'>{escape(last[:8])}</tspan></text>")
    legend = (["p5–p95"] if outer else []) + (["p25–p75"] if inner else [])
    caption = (" and ".join(legend) + " shaded" if legend else "")
    caption += (", " if caption and median else "") + ("line p50" if median else "")
    span = f"{first}–{last}" if first and last and first != last else first
    caption += (f"; {span}" if span else "") + "; " + _range(lo, hi, unit)
    return _svg(width, height, body), caption


# ------------------------------------------------------------------------------ PNG


def _figure(width: float, height: float):
    """A matplotlib Figure drawn by the Agg canvas: no pyplot, no global state, no display."""
    # local: matplotlib (~0.5 s to import) loads only when a chart is drawn
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _axis_label(metric: str, unit: str) -> str:
    return f"{metric} ({unit})" if unit else metric


def _save(fig: Any, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _value_ticks(axis: Any) -> None:
    """Tick labels as ``1.2M`` / ``840k`` / ``1.25`` (the unit is in the axis label)."""
    from matplotlib.ticker import FuncFormatter  # local: matplotlib, see _figure

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _short(v)))


def _rows_axes(ax: Any, labels: list[str], y_label: str, x_label: str, title: str, *, margin: float) -> None:
    """One labelled row per item, the first on top; values along x with a light grid."""
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_ylabel(y_label)
    ax.set_xlabel(x_label)
    _value_ticks(ax.xaxis)
    ax.margins(x=margin)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)


def distribution_png(rows: Sequence[Mapping[str, Any]], path: Path | str, title: str, unit: str = "",
                     *, metric: str = "value") -> Path | None:
    """The distribution per scenario as a PNG at ``path``: bars p5–p95 (p25–p75 darker), median
    ticks labelled with their value, base values, fixed scenarios as dots, thresholds as
    dashed lines; None (no file) when no row has a value."""
    from matplotlib.lines import Line2D  # local: matplotlib, see _figure

    items = _dist_rows(rows)
    if not items:
        return None
    fig = _figure(8, 1.4 + 0.45 * len(items))
    ax = fig.add_subplot()
    handles: dict[str, Any] = {}
    for i, it in enumerate(items):
        if it.outer is None:
            ax.plot([it.point], [i], "o", color=DOT, markersize=8, zorder=3)
            handles["fixed scenario"] = Line2D([], [], color=DOT, marker="o", linestyle="")
            ax.annotate(_short(it.point) + unit, (it.point, i), xytext=(8, 0), textcoords="offset points",
                        va="center", fontsize=8)
            continue
        ax.plot(it.outer, [i, i], color=BAND, linewidth=10, solid_capstyle="butt")
        handles["p5–p95"] = Line2D([], [], color=BAND, linewidth=6)
        if it.inner is not None:
            ax.plot(it.inner, [i, i], color=INNER, linewidth=10, solid_capstyle="butt")
            handles["p25–p75"] = Line2D([], [], color=INNER, linewidth=6)
        if it.p50 is not None:
            ax.plot([it.p50], [i], "|", color=MEDIAN, markersize=16, markeredgewidth=2.5, zorder=3)
            handles["median"] = Line2D([], [], color=MEDIAN, marker="|", linestyle="", markersize=10)
        label = f"{_short(it.outer[0])}–{_short(it.outer[1])}{unit}"
        if it.p50 is not None:
            label = f"p50 {_short(it.p50)}{unit}  ({label})"
        ax.annotate(label, (it.outer[1], i), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    for i, it in enumerate(items):
        if it.base is not None:
            ax.plot([it.base], [i], "D", color=BASE, markersize=6, zorder=4)
            handles["base"] = Line2D([], [], color=BASE, marker="D", linestyle="")
    for t in sorted({it.threshold for it in items if it.threshold is not None}):
        ax.axvline(t, color=THRESHOLD, linestyle="--", linewidth=1.2)
        handles[f"threshold {_short(t)}{unit}"] = Line2D([], [], color=THRESHOLD, linestyle="--")
    _rows_axes(ax, [it.label for it in items], "scenario", _axis_label(metric, unit), title, margin=0.12)
    ax.legend(handles.values(), handles.keys(), fontsize=8, loc="best")
    return _save(fig, path)


def tornado_png(rows: Sequence[Mapping[str, Any]], base_value: float, path: Path | str, title: str,
                unit: str = "", *, metric: str = "value") -> Path | None:
    """The tornado as a PNG at ``path``: per driver, largest swing on top, bars from the base
    value to the value at the driver's low and high, each end labelled; None (no file) when no
    row has a value or the base is missing."""
    items = _tornado_rows(rows)
    base = _num(base_value)
    if not items or base is None:
        return None
    fig = _figure(8, 1.4 + 0.45 * len(items))
    ax = fig.add_subplot()
    for key, color, label in (("low", LOW, "driver at its low"), ("high", HIGH, "driver at its high")):
        ys = [i for i, it in enumerate(items) if getattr(it, key) is not None]
        ends = [getattr(items[i], key) for i in ys]
        ax.barh(ys, [e - base for e in ends], left=base, color=color, height=0.6, label=label)
        for yi, e in zip(ys, ends, strict=True):
            ax.annotate(_short(e) + unit, (e, yi), xytext=(4 if e >= base else -4, 0), textcoords="offset points",
                        ha="left" if e >= base else "right", va="center", fontsize=8)
    ax.axvline(base, color=MEDIAN, linewidth=1.2, label=f"base {_short(base)}{unit}")
    _rows_axes(ax, [it.driver for it in items], "driver", _axis_label(metric, unit), title, margin=0.15)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def fan_png(x_labels: Sequence[Any], bands: Mapping[Any, Sequence[Any]], path: Path | str, title: str,
            unit: str = "", *, metric: str = "value", x_label: str = "period") -> Path | None:
    """The fan as a PNG at ``path``: p5–p95 and p25–p75 shaded, the median as a line with points,
    a zero line when the values cross it; missing values leave gaps. None (no file) when no
    band has a value."""
    n, qs = _fan_data(x_labels, bands)
    values = [v for vs in qs.values() for v in vs if v is not None]
    if not values:
        return None
    nan = float("nan")
    series = {q: [nan if v is None else v for v in vs] for q, vs in qs.items()}
    x = list(range(n))
    fig = _figure(9, 4.5)
    ax = fig.add_subplot()
    for a, b, color, label in ((5, 95, BAND, "p5–p95"), (25, 75, INNER, "p25–p75")):
        ok = [qs[a][i] is not None and qs[b][i] is not None for i in x]
        if any(ok):
            ax.fill_between(x, series[a], series[b], where=ok, color=color, alpha=0.7, linewidth=0, label=label)
    if any(v is not None for v in qs[50]):
        ax.plot(x, series[50], color=MEDIAN, linewidth=2, marker="o", markersize=3, label="median")
    if min(values) < 0 < max(values):
        ax.axhline(0, color=MUTED, linewidth=1)
    labels = [str(v) for v in x_labels] if x_labels else [str(i + 1) for i in x]
    ax.set_xticks(x, labels, rotation=45 if n > 12 else 0, ha="right" if n > 12 else "center", fontsize=8)
    ax.set_xlabel(x_label)
    ax.set_ylabel(_axis_label(metric, unit))
    _value_ticks(ax.yaxis)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)
