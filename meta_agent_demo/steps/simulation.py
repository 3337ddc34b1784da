"""Demo step: scenario simulation — one request re-run under every shipped scenario (five fixed
ones and a Monte Carlo) as one Dagster backfill over request × scenario, then its comparison:
the figures side by side, the delta to the base case, robust-z outliers, and the scenarios that
broke their expected range (a WARN on their partition's check)."""

from __future__ import annotations

from meta_agent import config
from meta_agent.cli.output import table
from meta_agent.scriptgen import repository as repo
from meta_agent.simulation import catalog, present, runner
from meta_agent.store.engine import engine_for
from meta_agent_demo.context import DemoContext
from meta_agent_launch.simulate import simulate

DEMO_REQUEST = "DSCR and cap rate for all properties"


def run(ctx: DemoContext) -> None:
    engine = engine_for(config.db_url())
    synced = catalog.sync_directory(engine, config.scenarios_dir())
    for error in synced.errors:
        ctx.note(f"[red]scenario file rejected[/]: {error}")
    with engine.begin() as conn:
        rid = repo.submit_request(conn, DEMO_REQUEST, source="demo")["request_id"]
    keys = sorted(synced.scenarios)
    ctx.note(f"simulation: {DEMO_REQUEST!r} × {len(keys)} scenarios as one backfill ({', '.join(keys)}) ...")
    out = simulate(rid, keys)
    b = out["backfill"]
    if b["failed"] or b["status"] != "COMPLETED_SUCCESS":
        ctx.note(f"[bold red]backfill {b['backfill_id']} {b['status']}[/]: {b['failed']} failed runs; see the "
                 "Backfills page (make ui)")
    outcomes = runner.outcomes_for(engine, rid)
    report = present.comparison(rid, outcomes, config.artifacts_dir() / "simulations")
    mc = next((o for o in outcomes if o.monte_carlo), None)
    ctx.summary["simulation"] = {
        "request_id": rid, "scenarios": keys, "backfill": b, "comparison": report.summary,
        "monte_carlo": None if mc is None else {"scenario": mc.scenario_key, "iterations": mc.monte_carlo["iterations"],
                                                "risk": [{**r, "per_property": None} for r in mc.monte_carlo["risk"]],
                                                "convergence": mc.monte_carlo["convergence"]}}
    ctx.sections.append(table(
        f"scenario simulation: {rid} × {len(keys)} scenarios — backfill {b['backfill_id']} {b['status']}, "
        f"{b['runs']} runs in {b['wall_s']:.0f} s, at most {b['max_concurrent_steps']} scripts at once; "
        f"{report.sentence}",
        ["metric", "scenario", "portfolio", "Δ base", "robust z", "expected range"],
        [(r["metric"], r["scenario"], present.shown(r["metric"], r["value"]),
          "" if r["delta_pct"] is None else f"{r['delta_pct']:+.1f} %",
          "" if r["robust_z"] is None else f"{r['robust_z']:+.2f}" + (" outlier" if r["outlier"] else ""),
          r["expected"]) for r in report.rows]))
    findings = [*(f"outlier: {s}" for s in report.summary["outliers"]),
                *(f"{x['scenario']} broke its expected {x['metric']} range {x['range'][0]:g}–{x['range'][1]:g} "
                  f"(portfolio {present.shown(x['metric'], x['portfolio_mean'])}, "
                  f"{len(x['outside'])} properties outside)" for x in report.summary["broken_ranges"])]
    if mc is not None:
        for r in mc.monte_carlo["risk"]:
            worst = max(((pid, p) for pid, p in r["per_property"].items() if p["p"] is not None),
                        key=lambda kv: kv[1]["p"], default=None)
            p = r["portfolio"]
            if p["p"] is None:
                continue
            op = "<" if r["op"] == "below" else ">"
            findings.append(f"Monte Carlo {mc.scenario_key} ({mc.monte_carlo['iterations']:,} iterations): "
                            f"P(portfolio {r['metric']} {op} {r['threshold']:g}) = {p['p']:.3%} ± {p['se']:.3%}"
                            + (f"; riskiest {worst[0]}: {worst[1]['p']:.1%} ± {worst[1]['se']:.2%}" if worst else ""))
        findings.append(f"convergence: {mc.monte_carlo['convergence']}")
    ctx.sections.append(table("simulation findings", ["finding"], [(f,) for f in findings or ["none"]]))
    ctx.next_steps.append(f"meta-agent simulate compare {rid}  (the comparison again; charts under "
                          f"{config.artifacts_dir() / 'simulations' / rid})")
    ctx.next_steps.append('meta-agent simulate run "IRR for all properties" --scenario scenarios/recession.yaml '
                          "--scenario base --wait")
