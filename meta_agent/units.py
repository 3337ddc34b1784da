"""Numbers as a person reads them: durations, money, percentages, counts, error tallies.

One place for units, so the UI, the CLI and the digests say ``15.2 s``, ``$5.63``, ``83.9 %``
and ``RateLimitError 12 · ToolExecutionError 3`` the same way — never ``1.516e+04`` or a
Python dict. Every function returns ``""`` for a missing value (None or NaN).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def duration_ms(ms: float | None) -> str:
    """``850 ms``, ``15.2 s``, ``2.5 min``, ``1.2 h`` — the unit that keeps 2–3 digits."""
    if _missing(ms):
        return ""
    ms = float(ms)
    if abs(ms) < 1_000:
        return f"{ms:.0f} ms"
    s = ms / 1_000
    if abs(s) < 60:
        return f"{s:.3g} s" if abs(s) < 10 else f"{s:.1f} s"
    if abs(s) < 3_600:
        return f"{s / 60:.1f} min"
    return f"{s / 3_600:.1f} h"


def seconds(s: float | None) -> str:
    return "" if _missing(s) else duration_ms(float(s) * 1_000)


def usd(v: float | None) -> str:
    """``$5.63``, ``$1,204``, ``$0.0042`` (small amounts keep two significant digits)."""
    if _missing(v):
        return ""
    v = float(v)
    if v != 0 and abs(v) < 0.01:
        return f"${v:.2g}"
    return f"${v:,.2f}" if abs(v) < 1_000 else f"${v:,.0f}"


def pct(ratio: float | None, digits: int = 1) -> str:
    """A ratio as a percentage: ``0.8393`` → ``83.9 %``."""
    return "" if _missing(ratio) else f"{float(ratio) * 100:.{digits}f} %"


def count(n: float | int | None) -> str:
    return "" if _missing(n) else f"{int(n):,}"


def number(v: float | None) -> str:
    """A plain quantity without exponent notation: ``1.25``, ``15,160``."""
    if _missing(v):
        return ""
    v = float(v)
    if v == int(v) and abs(v) >= 1:
        return f"{int(v):,}"
    return f"{v:,.4g}" if abs(v) < 1_000 else f"{v:,.0f}"


def tally(counts: Mapping[str, int] | None, limit: int = 4) -> str:
    """``{"RateLimitError": 12, "ToolError": 3}`` → ``RateLimitError 12 · ToolError 3``, largest
    first, the rest folded into ``+N more``."""
    if not counts:
        return ""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = " · ".join(f"{k} {v:,}" for k, v in items[:limit])
    return text + (f" · +{len(items) - limit} more" if len(items) > limit else "")
