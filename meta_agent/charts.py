"""Charts small enough to sit inline in a page: an SVG sparkline in a few hundred bytes.

Dagster's asset page renders markdown under 1,000 characters inline and hides longer values
behind a "Show Markdown" button (tests/ui/FINDINGS.md), so a full PNG chart is one click away
while a sparkline of the same series shows at a glance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def sparkline_svg(values: Sequence[float | None], width: int = 160, height: int = 32,
                  color: str = "#4f43dd") -> str:
    """The series as one polyline (missing values skipped), scaled to the box, with a dot on
    the last point; an empty series draws only the box."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(float(v))]
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}'>"]
    if points:
        lo, hi = min(v for _, v in points), max(v for _, v in points)
        span_x = max(len(values) - 1, 1)
        pad = 3

        def xy(i: int, v: float) -> str:
            y = height / 2 if hi == lo else pad + (hi - v) / (hi - lo) * (height - 2 * pad)
            return f"{pad + i / span_x * (width - 2 * pad):.1f},{y:.1f}"

        coords = [xy(i, v) for i, v in points]
        parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{' '.join(coords)}'/>")
        last_x, last_y = coords[-1].split(",")
        parts.append(f"<circle cx='{last_x}' cy='{last_y}' r='2.5' fill='{color}'/>")
    parts.append("</svg>")
    return "".join(parts)
