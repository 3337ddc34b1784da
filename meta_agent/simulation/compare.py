"""The scenario comparison table: each scenario's portfolio figures next to the base case's,
with deltas, robust z-scores across the scenarios and the outliers in words.

A scenario result is a dict::

    {"scenario": key, "name": str, "is_base": bool, "status": str,
     "values": {property_id: {metric: float | None}},
     "portfolio": {metric: float | None}}   # the portfolio mean of each metric

Only results with status ``"succeeded"`` have figures; the others are listed with their status
and no numbers. ``None`` and NaN both mean *undefined* and come out as ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from meta_agent.simulation.stats import OUTLIER_Z, robust_z

SUCCEEDED = "succeeded"


def _figure(value: Any) -> float | None:
    """A figure as a float, or None when it is missing, NaN or infinite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _label(result: Mapping) -> str:
    return str(result.get("name") or result["scenario"])


def _fmt(value: float) -> str:
    """A figure for a sentence: thousands separators for large ones, 3 significant digits else."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def find_base(results: Sequence[Mapping]) -> Mapping | None:
    """The base case: the result flagged ``is_base``, else the one keyed ``"base"``, else None."""
    flagged = [r for r in results if r.get("is_base")]
    if flagged:
        return flagged[0]
    keyed = [r for r in results if r.get("scenario") == "base"]
    return keyed[0] if keyed else None


def delta(value: float | None, base: float | None) -> tuple[float | None, float | None]:
    """``value − base`` and that difference as a percentage of |base| (None when either figure
    is undefined; the percentage also when the base is 0)."""
    if value is None or base is None:
        return None, None
    difference = value - base
    return difference, (difference / abs(base) * 100 if base != 0 else None)


def compare(results: Sequence[Mapping], metrics: Sequence[str]) -> dict:
    """Compare scenario results on ``metrics``. Returns:

    - ``rows``: one row per metric × scenario (metrics in the given order, scenarios in input
      order) — a long table that reads as one block per metric: ``metric``, ``scenario``,
      ``name``, ``status``, ``is_base``, ``value`` (the portfolio figure), ``delta`` and
      ``delta_pct`` (to the base case, percent of |base|), ``robust_z`` (the Iglewicz–Hoaglin
      modified z of the figure among the succeeded scenarios' figures for that metric) and
      ``outlier`` (|z| > ``OUTLIER_Z``);
    - ``properties``: one row per property × metric: ``property_id``, ``metric``, ``base``
      (its base-case value), ``values`` and ``deltas`` (scenario key → figure / difference to
      the base case), for the succeeded scenarios;
    - ``outliers``: one sentence per outlying portfolio figure;
    - ``base``: the base scenario's key (see ``find_base``), or None;
    - ``failed``: the scenarios that did not succeed, ``{"scenario", "name", "status"}``;
    - ``notes``: sentences on what could not be compared (no base case, a failed base case,
      a single scenario).
    """
    keys = [r["scenario"] for r in results]
    if len(set(keys)) != len(keys):
        raise ValueError(f"scenario keys must be unique, got {keys}")
    base = find_base(results)
    notes = []
    if base is None:
        notes.append("no base case (no scenario is flagged is_base or keyed 'base'): deltas are not computed")
    elif base.get("status") != SUCCEEDED:
        notes.append(f"the base case {_label(base)} did not succeed ({base.get('status')}): deltas are not computed")
    base_ok = base if base is not None and base.get("status") == SUCCEEDED else None
    succeeded = [r for r in results if r.get("status") == SUCCEEDED]
    if len(succeeded) < 2:
        notes.append(f"only {len(succeeded)} scenario succeeded: there is nothing to compare it with"
                     if succeeded else "no scenario succeeded: there are no figures to compare")
    rows, outliers = [], []
    for metric in metrics:
        portfolio = {r["scenario"]: _figure((r.get("portfolio") or {}).get(metric)) for r in succeeded}
        scores = robust_z(np.array([np.nan if v is None else v for v in portfolio.values()]))
        z_of = dict(zip(portfolio, scores, strict=True))
        defined = [v for v in portfolio.values() if v is not None]
        median = float(np.median(defined)) if defined else None
        base_value = portfolio.get(base_ok["scenario"]) if base_ok is not None else None
        for r in results:
            ok = r.get("status") == SUCCEEDED
            value = portfolio.get(r["scenario"]) if ok else None
            z = _figure(z_of.get(r["scenario"])) if value is not None else None
            difference, percent = delta(value, base_value) if base_ok is not None else (None, None)
            is_outlier = z is not None and abs(z) > OUTLIER_Z
            rows.append({"metric": metric, "scenario": r["scenario"], "name": r.get("name"),
                         "status": r.get("status"), "is_base": r is base, "value": value,
                         "delta": difference, "delta_pct": percent, "robust_z": z, "outlier": is_outlier})
            if is_outlier:
                side = "above" if z > 0 else "below"
                outliers.append(f"{_label(r)}: portfolio {metric} {_fmt(value)} is {abs(z):.1f} robust-z "
                                f"{side} the scenarios' median {_fmt(median)}")
    return {"rows": rows, "properties": _properties(succeeded, base_ok, metrics), "outliers": outliers,
            "base": base["scenario"] if base is not None else None,
            "failed": [{"scenario": r["scenario"], "name": r.get("name"), "status": r.get("status")}
                       for r in results if r.get("status") != SUCCEEDED],
            "notes": notes}


def _properties(succeeded: Sequence[Mapping], base: Mapping | None, metrics: Sequence[str]) -> list[dict]:
    """Per property × metric, the figure under each succeeded scenario and its delta to base."""
    property_ids: dict[Any, None] = {}  # first-seen order
    for r in succeeded:
        property_ids.update(dict.fromkeys(r.get("values") or {}))
    out = []
    for property_id in property_ids:
        for metric in metrics:
            values = {r["scenario"]: _figure(((r.get("values") or {}).get(property_id) or {}).get(metric))
                      for r in succeeded}
            base_value = values.get(base["scenario"]) if base is not None else None
            deltas = {key: (delta(v, base_value)[0] if base is not None else None) for key, v in values.items()}
            out.append({"property_id": property_id, "metric": metric, "base": base_value,
                        "values": values, "deltas": deltas})
    return out
