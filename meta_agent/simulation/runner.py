"""One request × one scenario: the request's own validated script, re-run in the sandbox on the
scenario's world, then the statistics the scenario asks for.

1. The scenario's fixed drivers (for a Monte Carlo scenario, the fixed ones plus each
   distribution's mean) build a world — the portfolio with the drivers applied
   (``meta_agent.portfolio.worlds``) — mounted read-only in place of the real database.
2. The script runs there ``repeat`` times under the same run policy and guard as the request's
   own run (``factory.execute_script``); its ``result.json`` gives the figures per property
   (the same ``values`` shape as the request's), the portfolio means, and the expected-outcome
   verdict (``<metric>_range`` on the portfolio mean, with the properties outside it).
3. A Monte Carlo scenario then samples its distributions over the same properties
   (``montecarlo.simulate``); every scenario with drivers gets a one-at-a-time tornado, and a
   Monte Carlo with two or more distributions Sobol indices.
4. ``repeat`` > 1 reports pass^k with a Wilson interval: a run passes when it succeeds and,
   where the scenario states an expected outcome, lands in range.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from meta_agent import config
from meta_agent.portfolio import drivers as drv
from meta_agent.portfolio import worlds
from meta_agent.scriptgen import factory
from meta_agent.simulation import metrics as mx
from meta_agent.simulation import montecarlo, sensitivity, stats
from meta_agent.simulation import repository as srepo
from meta_agent.simulation.scenario import Scenario

SOBOL_N = 2**10  # Saltelli base sample: n·(d + 2) model evaluations, each over every property


@dataclass
class ScenarioOutcome:
    request_id: str
    scenario_key: str
    name: str
    description: str
    status: str  # succeeded | failed | refused | no_data
    message: str
    drivers: dict[str, float]
    world: str | None = None
    results_dir: str | None = None
    metrics: list[str] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # property -> metric -> value
    portfolio: dict[str, float | None] = field(default_factory=dict)  # metric -> mean over properties
    expected: list[dict[str, Any]] = field(default_factory=list)
    monte_carlo: dict[str, Any] | None = None
    tornado: list[dict[str, Any]] | None = None
    tornado_metric: str | None = None
    sobol: dict[str, Any] | None = None
    repeat: dict[str, Any] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "no_data")

    @property
    def out_of_range(self) -> list[dict[str, Any]]:
        return [e for e in self.expected if e["in_range"] is False]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: list[float | None]) -> float | None:
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(xs) / len(xs) if xs else None


def portfolio_means(values: Mapping[str, Mapping[str, Any]], metrics: list[str]) -> dict[str, float | None]:
    """The portfolio mean of each metric over the properties that have it."""
    return {m: _mean([v.get(m) for v in values.values()]) for m in metrics}


def expected_verdict(expected: Mapping[str, tuple[float, float]], values: Mapping[str, Mapping[str, Any]],
                     portfolio: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """Each ``<metric>_range`` against the portfolio mean: in range or not (None when the
    figure is missing), and the properties whose own figure is outside the range."""
    out = []
    for key, (lo, hi) in expected.items():
        metric = key.removesuffix("_range")
        mean = portfolio.get(metric)
        outside = [{"property_id": pid, "value": v[metric]} for pid, v in values.items()
                   if v.get(metric) is not None and not lo <= v[metric] <= hi]
        out.append({"metric": metric, "range": [lo, hi], "portfolio_mean": mean,
                    "in_range": None if mean is None else bool(lo <= mean <= hi), "outside": outside})
    return out


def run_drivers(scenario: Scenario, assumed: Mapping[str, float] | None = None) -> dict[str, float]:
    """The drivers the script runs under: the request's own assumption (``assumed``, from its
    plan: "if rates rise 200 bp"), then the scenario's fixed drivers over it, and each
    distribution's mean (clipped to the driver's range)."""
    fixed = {**drv.NEUTRAL, **dict(assumed or {}), **scenario.parameters}
    if scenario.monte_carlo:
        for name, spec in scenario.monte_carlo.specs().items():
            d = drv.DRIVERS[name]
            fixed[name] = float(min(max(stats.mean_of(spec), d.low), d.high))
    return fixed


def _portfolio_model(base: drv.PortfolioBase, fixed: Mapping[str, float], metric: str,
                     discount_rate: float | None):
    def model(point: dict[str, Any]) -> Any:
        values = mx.evaluate(base, {**fixed, **point}, [metric], discount_rate)[metric]
        return mx.portfolio_mean(values)
    return model


def tornado_for(scenario: Scenario, base: drv.PortfolioBase, metric: str, discount_rate: float | None,
                fixed: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """One-at-a-time swings of the portfolio ``metric``. A Monte Carlo scenario: each
    distribution between its 5th and 95th percentile, the others at their means and the fixed
    drivers at ``fixed`` (the scenario's values). A fixed scenario: each driver between neutral
    and its value, the others neutral — what each driver alone does."""
    ranges: dict[str, tuple[float, float]] = {}
    centre: dict[str, float] = {}
    specs = scenario.monte_carlo.specs() if scenario.monte_carlo else {}
    for name, value in scenario.drivers().items():
        if name not in specs and value != drv.NEUTRAL[name]:
            ranges[name] = (drv.NEUTRAL[name], float(value))
            centre[name] = float(value) if fixed is not None else drv.NEUTRAL[name]
    for name, spec in specs.items():
        lo, hi = (float(stats.quantile(spec, q)) for q in (0.05, 0.95))
        d = drv.DRIVERS[name]
        ranges[name] = (min(max(lo, d.low), d.high), min(max(hi, d.low), d.high))
        centre[name] = float(min(max(stats.mean_of(spec), d.low), d.high))
    if not ranges:
        return []
    held = {k: v for k, v in (fixed or {}).items() if k not in ranges}
    return sensitivity.tornado(_portfolio_model(base, held, metric, discount_rate), centre, ranges)


def run_scenario(engine: sa.Engine, request_id: str, scenario: Scenario, runner=None, *,
                 places: factory.Places | None = None, limits=None, dagster_run_id: str | None = None,
                 on_output=None, allow_weak_isolation: bool = False, store: bool = True) -> ScenarioOutcome:
    """Run ``scenario`` for the request (see the module docstring) and, with ``store``, rewrite
    the request × scenario row."""
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    places = places or factory.Places.from_environment()
    with engine.connect() as conn:
        plan = factory.stored_plan(conn, request_id)
    drivers = run_drivers(scenario, plan.drivers)
    world = worlds.write_world(drivers, places.worlds_dir, places.data_url)
    description = scenario.describe()
    if plan.drivers:
        description += f", over the request's own assumption ({drv.describe(plan.drivers)})"
    out = ScenarioOutcome(request_id=request_id, scenario_key=scenario.key, name=scenario.name,
                          description=description, status="failed", message="", drivers=drivers,
                          world=str(world))
    stamp = started.strftime("%Y%m%dT%H%M%S%f")
    passes = 0
    first = None
    for i in range(scenario.repeat):
        run = factory.execute_script(engine, request_id, runner, data_url=config.sqlite_url(world),
                                     results_dir=places.scenario_runs_dir / request_id / scenario.key / f"{stamp}-{i + 1}",
                                     limits=limits, on_output=on_output, allow_weak_isolation=allow_weak_isolation)
        figures = ((run.result or {}).get("key_figures") or {}).get("values") or {}
        verdict = expected_verdict(scenario.expected_outcome, figures,
                                   portfolio_means(figures, list((run.result or {}).get("metrics") or [])))
        passed = run.ok and all(v["in_range"] is not False for v in verdict)
        passes += passed
        out.runs.append({"n": i + 1, "status": run.status, "passed": passed, "duration_s": round(run.duration_s, 3),
                         "runner": run.runner, "isolation": run.isolation, "results_dir": run.results_dir,
                         "message": run.message, "provenance": run.provenance, "guard": run.guard,
                         "allowed": bool((run.policy or {}).get("allowed")), "values": figures})
        if first is None and run.ok:
            first = run
        if run.refused:
            break  # the policy will refuse every repeat alike
    last = out.runs[-1]
    if first is None:
        out.status = "refused" if last["status"] == "refused" else "failed"
        out.message = last["message"]
    else:
        result = first.result or {}
        out.status = "no_data" if result.get("status") == "no_data" else "succeeded"
        out.results_dir = first.results_dir
        out.metrics = list(result.get("metrics") or [])
        out.values = ((result.get("key_figures") or {}).get("values")) or {}
        out.portfolio = portfolio_means(out.values, out.metrics)
        out.expected = expected_verdict(scenario.expected_outcome, out.values, out.portfolio)
        _statistics(out, scenario, plan.parameters.discount_rate, places.data_url, plan.drivers)
        out.message = summary_sentence(out)
    if scenario.repeat > 1:
        out.repeat = {**stats.repeat_reliability(passes, len(out.runs)),
                      "identical_figures": len({repr(r["values"]) for r in out.runs if r["status"] == "succeeded"}) <= 1}
    out.duration_s = time.perf_counter() - t0
    if store:
        with engine.begin() as conn:
            srepo.write_scenario_run(conn, {
                "request_id": request_id, "scenario_key": scenario.key,
                "scenario_hash": srepo.content_hash(scenario.to_document()), "status": out.status,
                "message": out.message, "drivers": drivers, "world": out.world, "results_dir": out.results_dir,
                "result": stored_result(out), "dagster_run_id": dagster_run_id, "duration_s": out.duration_s,
                "started_at": started, "finished_at": datetime.now(UTC)})
    return out


def _statistics(out: ScenarioOutcome, scenario: Scenario, discount_rate: float | None, data_url: str,
                assumed: Mapping[str, float] | None = None) -> None:
    """Monte Carlo, tornado and Sobol over the properties the script reported."""
    simulated = mx.simulated(out.metrics)
    if "npv" in simulated and discount_rate is None:
        simulated.remove("npv")
    tables = worlds.read_tables(data_url)
    known = {p["property_id"] for p in tables["properties"]}
    ids = [pid for pid in out.values if pid in known]  # a script's values are keyed by property
    mc = scenario.monte_carlo
    fixed = {k: v for k, v in run_drivers(scenario, assumed).items() if not mc or k not in mc.specs()}
    if not simulated or not ids:
        return
    base = worlds.base_from_tables(tables, ids)
    lead = simulated[0]
    out.tornado_metric = lead
    out.tornado = tornado_for(scenario, base, lead, discount_rate, fixed if mc else None)
    if mc is None:
        return
    result = montecarlo.simulate(base, distributions=mc.specs(), correlations=mc.correlation_list(),
                                 iterations=mc.iterations, seed=mc.seed, metrics=simulated, fixed=fixed,
                                 risk=mc.risk, discount_rate=discount_rate)
    out.monte_carlo = result.as_dict()
    if len(mc.specs()) >= 2:
        model = _portfolio_model(base, fixed, lead, discount_rate)
        indices = sensitivity.sobol(lambda point: model(dict(mx.clip_to_bounds(point)[0])), mc.specs(),
                                    n=SOBOL_N, seed=mc.seed)
        out.sobol = {"metric": lead, "n": SOBOL_N, "indices": indices,
                     "note": "Sobol indices assume independent drivers; the scenario's correlations are ignored here"}


def summary_sentence(out: ScenarioOutcome) -> str:
    """What a person reads first: the portfolio figures, the verdict, the risk."""
    parts = [f"{out.name}: {out.description}"]
    figures = ", ".join(f"{m} {v:.4g}" for m, v in out.portfolio.items() if v is not None)
    if figures:
        parts.append(f"portfolio mean {figures}")
    for e in out.expected:
        if e["in_range"] is False:
            parts.append(f"{e['metric']} {e['portfolio_mean']:.4g} outside the expected {e['range'][0]:g}–"
                         f"{e['range'][1]:g} ({len(e['outside'])} properties outside)")
        elif e["in_range"]:
            parts.append(f"{e['metric']} within the expected {e['range'][0]:g}–{e['range'][1]:g}")
    if out.monte_carlo:
        for r in out.monte_carlo["risk"]:
            p = r["portfolio"]
            if p["p"] is not None:
                parts.append(f"P(portfolio {r['metric']} {'<' if r['op'] == 'below' else '>'} {r['threshold']:g}) = "
                             f"{p['p']:.2%} ± {p['se']:.2%}")
    return "; ".join(parts)


def stored_result(out: ScenarioOutcome) -> dict[str, Any]:
    """The outcome as the JSON the row keeps (numbers only; NaN as None)."""
    return _clean({k: v for k, v in out.as_dict().items() if k not in ("request_id", "scenario_key", "drivers",
                                                                          "world", "results_dir", "status",
                                                                          "message", "duration_s")})


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    return value


def outcome_from_row(row: Mapping[str, Any]) -> ScenarioOutcome:
    """A stored request × scenario row back as an outcome (the CLI and the comparison read them)."""
    result = dict(row.get("result") or {})
    fields = set(ScenarioOutcome.__dataclass_fields__)
    kept = {k: v for k, v in result.items() if k in fields}
    return ScenarioOutcome(request_id=row["request_id"], scenario_key=row["scenario_key"],
                           status=row["status"], message=row["message"], drivers=row["drivers"] or {},
                           world=row.get("world"), results_dir=row.get("results_dir"),
                           duration_s=row.get("duration_s") or 0.0,
                           **{"name": row["scenario_key"], "description": "", **kept})


def outcomes_for(engine: sa.Engine, request_id: str) -> list[ScenarioOutcome]:
    """Every stored scenario run of the request, by scenario key."""
    with engine.connect() as conn:
        return [outcome_from_row(r) for r in srepo.scenario_runs_for(conn, request_id)]
