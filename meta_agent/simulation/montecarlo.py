"""Monte Carlo over the portfolio: drivers drawn from their distributions, figures computed
by the calculation tools on whole chunks of samples at once.

Per chunk (``stats.CHUNK`` iterations): draw the drivers (Gaussian copula, ``stats``), clip
each to its allowed range (the count is reported), compute every figure for every property
(``metrics.evaluate``: shape iterations × properties) and fold it into streaming summaries —
so memory is one chunk plus the quantile reservoir, whatever the iteration count. The
portfolio figure is the mean over the properties of each iteration; the risk thresholds
(``dscr_below: 1.0``) are counted exactly per property and for the portfolio.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from meta_agent.portfolio.drivers import PortfolioBase
from meta_agent.simulation import metrics as mx
from meta_agent.simulation import stats

FAN_QUANTILES = (5, 25, 50, 75, 95)
FAN_SAMPLE = 8_192  # iterations the fan chart's bands are read from (iid: percentiles to ~1 %)


@dataclass
class MonteCarloResult:
    iterations: int
    seed: int
    drivers: list[str]
    metrics: list[str]
    property_ids: list[str]
    per_property: dict[str, dict[str, dict[str, Any]]]  # property -> metric -> summary
    portfolio: dict[str, dict[str, Any]]  # metric -> summary of the portfolio mean
    risk: list[dict[str, Any]]  # one per threshold: metric, op, value, per property and portfolio probability
    convergence: str
    clipped: dict[str, int]
    fan: dict[str, Any] = field(default_factory=dict)  # periods and percentile bands of operating cash flow
    notes: list[str] = field(default_factory=list)  # what was asked and not estimated, samples clipped
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_risk(risk: Mapping[str, float]) -> list[tuple[str, str, float]]:
    """``{"dscr_below": 1.0}`` → ``[("dscr", "below", 1.0)]``."""
    out = []
    for key, value in risk.items():
        metric, _, op = key.rpartition("_")
        if op not in ("below", "above") or not metric:
            raise ValueError(f"risk key {key!r} must be <metric>_below or <metric>_above")
        out.append((metric, op, float(value)))
    return out


def _compact(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without the per-checkpoint detail a report does not show."""
    return {k: v for k, v in summary.items() if k not in ("checkpoints", "quantile_sample")}


def simulate(base: PortfolioBase, *, distributions: Mapping[str, Mapping], correlations: list[Mapping],
             iterations: int, seed: int, metrics: list[str], fixed: Mapping[str, float] | None = None,
             risk: Mapping[str, float] | None = None, discount_rate: float | None = None,
             chunk_size: int = stats.CHUNK, fan: bool = True) -> MonteCarloResult:
    """Run the Monte Carlo. ``fixed`` drivers hold in every iteration; a driver with a
    distribution replaces its fixed value. Same inputs and seed, same numbers."""
    t0 = time.perf_counter()
    thresholds = parse_risk(risk or {})
    notes = []
    for metric, op, value in thresholds:
        if metric not in mx.SIMULATED_METRICS or (metric == "npv" and discount_rate is None):
            notes.append(f"risk {metric}_{op} {value:g} is not estimated: "
                         + ("NPV needs the request's discount rate" if metric == "npv" else
                            f"{metric} is not simulated (simulated: {', '.join(mx.SIMULATED_METRICS)})"))
    thresholds = [t for t in thresholds if t[0] in mx.SIMULATED_METRICS and (t[0] != "npv" or discount_rate is not None)]
    metrics = mx.simulated(list(dict.fromkeys([*metrics, *(m for m, _, _ in thresholds)])))
    if not metrics:
        raise ValueError(f"nothing to simulate: the figures must include one of {', '.join(mx.SIMULATED_METRICS)}")
    cuts = {m: sorted({v for mm, _, v in thresholds if mm == m}) for m in metrics}
    per_property = {m: stats.RunningSummary(cuts[m], iterations=iterations) for m in metrics}
    portfolio = {m: stats.RunningSummary(cuts[m], iterations=iterations) for m in metrics}
    if mx.CASH_FLOW_METRICS & set(metrics):  # IRR/NPV hold (chunk, properties, periods) arrays
        chunk_size = max(4_096, chunk_size // max(base.periods, 1))
    clipped = dict.fromkeys(distributions, 0)
    fan_sample = None
    fixed = dict(fixed or {})
    for chunk in stats.sample_chunks(distributions, correlations, iterations, seed, chunk_size):
        chunk, n_clipped = mx.clip_to_bounds(chunk)
        for k, v in n_clipped.items():
            clipped[k] += v
        drivers = {**fixed, **chunk}
        figures = mx.evaluate(base, drivers, metrics, discount_rate)
        for m, values in figures.items():
            per_property[m].update(values)
            portfolio[m].update(mx.portfolio_mean(values))
        if fan and fan_sample is None and base.periods > 1:  # the first chunk is an iid sample: enough for bands
            fan_sample = mx.operating_by_period(base, {k: v[:FAN_SAMPLE] if np.ndim(v) else v
                                                       for k, v in drivers.items()})
    per = {pid: {} for pid in base.property_ids}
    whole: dict[str, dict[str, Any]] = {}
    for m in metrics:
        better = mx.HIGHER_IS_BETTER[m]
        for pid, summary in zip(base.property_ids, per_property[m].result(better), strict=True):
            per[pid][m] = _compact(summary)
        whole[m] = portfolio[m].result(better)[0]
    risk_rows = []
    for metric, op, value in thresholds:
        i = cuts[metric].index(value)
        key = "p_below" if op == "below" else "p_above"
        se_key = "se_below" if op == "below" else "se_above"
        risk_rows.append({
            "metric": metric, "op": op, "threshold": value,
            "portfolio": {"p": whole[metric]["thresholds"][i][key], "se": whole[metric]["thresholds"][i][se_key]},
            "per_property": {pid: {"p": per[pid][metric]["thresholds"][i][key],
                                   "se": per[pid][metric]["thresholds"][i][se_key]} for pid in base.property_ids}})
    lead = metrics[0]
    first_risk = next((r for r in thresholds if r[0] == lead), None)
    note = stats.convergence_note(whole[lead], label=f"the portfolio {lead}",
                                  below=first_risk is None or first_risk[1] == "below")
    bands = {}
    if fan_sample is not None:
        q = np.percentile(fan_sample, FAN_QUANTILES, axis=0)
        bands = {"periods": list(range(base.periods)), "bands": {p: q[i].tolist() for i, p in enumerate(FAN_QUANTILES)}}
    return MonteCarloResult(
        iterations=iterations, seed=seed, drivers=list(distributions), metrics=metrics,
        property_ids=list(base.property_ids), per_property=per,
        portfolio={m: _compact(s) for m, s in whole.items()}, risk=risk_rows, convergence=note,
        clipped=clipped, fan=bands, duration_s=time.perf_counter() - t0,
        notes=notes + [f"{k}: {v:,} of {iterations:,} samples clipped to its allowed range" for k, v in clipped.items()
                       if v])
