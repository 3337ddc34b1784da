"""``meta-agent simulate``: scenarios, batch simulations and their comparison.

- ``simulate scenarios list | validate FILE | add FILE`` — the scenario files (``scenarios/``,
  ``META_AGENT_SCENARIOS_DIR``) and the ones added here, kept in the ops database;
- ``simulate run "REQUEST" --scenario FILE_OR_KEY ... [--wait]`` — records the request and the
  scenarios, and submits one Dagster backfill over request × scenario (the request's script,
  each scenario's run, the comparison). With ``--wait`` it drives the backfill to the end
  (``python -m meta_agent_launch.simulate`` in a child process: the library never imports
  Dagster) and prints each scenario's figures; without, a running daemon does it;
- ``simulate compare REQUEST_ID`` — the scenarios of a request side by side.

Every scenario file is validated before anything is stored: one bad file stores nothing and
prints the one sentence naming its file, line and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from meta_agent import config
from meta_agent.cli.child import run_launcher
from meta_agent.cli.db import ops_engine
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.portfolio import is_seeded
from meta_agent.scriptgen import repository as repo
from meta_agent.simulation import catalog, present, runner
from meta_agent.simulation import repository as srepo
from meta_agent.simulation.scenario import Scenario, load_scenario_file

app = typer.Typer(help="Scenario simulation: scenarios, batch runs as Dagster backfills, comparisons.",
                  no_args_is_help=True)
scenarios_app = typer.Typer(help="Scenario files: list, validate, add.", no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")


def _scenario_summary(s: Scenario) -> dict[str, Any]:
    return {"key": s.key, "name": s.name, "description": s.description, "drivers": s.describe(),
            "monte_carlo": s.monte_carlo is not None, "repeat": s.repeat, "source": s.source,
            "expected_outcome": {k: list(v) for k, v in s.expected_outcome.items()}}


@scenarios_app.command("list")
def list_scenarios(as_json: bool = JSON_OPTION) -> None:
    """The scenarios the simulation knows: the folder's files (synced now) and those added here."""
    engine = ops_engine()
    report = catalog.sync_directory(engine, config.scenarios_dir())
    rows = [_scenario_summary(s) for s in catalog.known(engine)]
    payload = {"directory": report.directory, "scenarios": rows, "rejected": report.errors}
    emit(payload, as_json, lambda: _show_list(payload))


def _show_list(p: dict) -> None:
    stdout.print(table(f"scenarios ({p['directory']})", ["key", "name", "drivers", "expected", "source"],
                       [[r["key"], r["name"], r["drivers"], ", ".join(f"{k} {v[0]:g}–{v[1]:g}"
                                                                     for k, v in r["expected_outcome"].items()),
                         r["source"]] for r in p["scenarios"]]))
    for e in p["rejected"]:
        stderr.print(f"[red]rejected[/]: {e}", highlight=False)


@scenarios_app.command("validate")
def validate(path: Path = typer.Argument(..., help="A scenario file (YAML)."), as_json: bool = JSON_OPTION) -> None:
    """Check one scenario file; prints what it does, or the sentence naming file, line and field."""
    s = load_scenario_file(path)
    payload = {"valid": True, **_scenario_summary(s)}
    emit(payload, as_json, lambda: stdout.print(f"{path}: valid — {s.name} ({s.key}): {s.describe()}",
                                                highlight=False))


@scenarios_app.command("add")
def add(path: Path = typer.Argument(..., help="A scenario file (YAML) to store under its key."),
        as_json: bool = JSON_OPTION) -> None:
    """Validate a scenario file and store it (the scenario sensor adds its partition)."""
    s = catalog.add(ops_engine(), path)
    payload = {"added": True, **_scenario_summary(s)}
    emit(payload, as_json, lambda: stdout.print(f"added scenario [bold]{s.key}[/]: {s.describe()}", highlight=False))


def resolve_scenarios(engine, given: list[str]) -> list[Scenario]:
    """``--scenario`` values: files, or keys — stored ones, else ``<scenarios folder>/KEY.yaml``
    — every one validated before any is stored."""
    out = []
    known = {s.key: s for s in catalog.known(engine)}
    for value in given:
        path = Path(value)
        if path.suffix not in (".yaml", ".yml") and not path.is_file():
            folder_file = config.scenarios_dir() / f"{value}.yaml"
            if value in known:
                out.append(known[value])
                continue
            if not folder_file.is_file():
                raise InputError(f"scenario {value!r} is not known; add it with `meta-agent simulate scenarios add "
                                 f"FILE`, give a file, or put {value}.yaml in {config.scenarios_dir()}")
            path = folder_file
        if not path.exists():
            raise InputError(f"--scenario {value}: no such file; give a scenario file or a known key "
                             "(`meta-agent simulate scenarios list`)")
        out.append(load_scenario_file(path))
    keys = [s.key for s in out]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InputError(f"--scenario names {', '.join(dupes)} more than once; give each scenario once")
    return out


@app.command("run")
def run(
    text: str = typer.Argument(..., help="The request, in plain English (quote it)."),
    scenario: list[str] = typer.Option(..., "--scenario", "-s", help="A scenario file or a known scenario key "
                                                                        "(repeat for the grid)."),
    wait: bool = typer.Option(False, "--wait", help="Drive the backfill to the end here and print the figures."),
    timeout: float = typer.Option(1800.0, "--timeout", min=10, help="Seconds to wait with --wait."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a request under scenarios: one Dagster backfill over request × scenario."""
    engine = ops_engine()
    chosen = resolve_scenarios(engine, scenario)  # every file valid before anything is stored
    if not is_seeded():
        raise InputError("the portfolio database is empty or missing; create it with `meta-agent data seed`.")
    with engine.begin() as conn:
        for s in chosen:
            if Path(s.source).is_file():  # given as a file (or found in the folder): stored under its key
                srepo.upsert_scenario(conn, s, source="cli", source_ref=str(Path(s.source).resolve()))
        rid = repo.submit_request(conn, text, source="cli", metadata={"simulation": [s.key for s in chosen]})["request_id"]
    if not as_json:
        stderr.print(f"request {rid} × {len(chosen)} scenarios: submitting the backfill"
                     + (" and running it ..." if wait else " ..."))
    launched = launch(rid, [s.key for s in chosen], wait=wait, timeout=timeout)
    if not wait:
        payload = {"request_id": rid, "scenarios": [s.key for s in chosen], "backfill_id": launched["backfill_id"],
                   "message": "submitted; the dagster-daemon runs it (make ui), or run again with --wait"}
        emit(payload, as_json, lambda: stdout.print(f"request [bold]{rid}[/]: backfill {payload['backfill_id']} "
                                                    f"submitted: {payload['message']}"))
        return
    payload = results(engine, rid, launched)
    emit(payload, as_json, lambda: show_results(payload))
    if any(s["status"] not in ("succeeded", "no_data") for s in payload["scenarios"]) or not payload["scenarios"]:
        raise typer.Exit(1)


def launch(request_id: str, keys: list[str], *, wait: bool, timeout: float) -> dict:
    args = ["meta_agent_launch.simulate", request_id, "--timeout", str(timeout)]
    for k in keys:
        args += ["--scenario", k]
    if not wait:
        args.append("--no-wait")
    return run_launcher(args, timeout=timeout + 120,
                        timed_out=f"the simulation of {request_id} did not finish within {timeout:.0f} s; see its "
                                  "backfill on the Backfills page",
                        failed=f"the backfill for {request_id} could not run")


def _scenario_payload(o: runner.ScenarioOutcome) -> dict[str, Any]:
    mc = o.monte_carlo
    return {"scenario": o.scenario_key, "name": o.name, "status": o.status, "message": o.message,
            "drivers": o.drivers, "metrics": o.metrics, "values": o.values, "portfolio": o.portfolio,
            "expected": o.expected, "repeat": o.repeat,
            "monte_carlo": None if not mc else {
                "iterations": mc["iterations"], "seed": mc["seed"], "convergence": mc["convergence"],
                "clipped": mc.get("clipped") or {}, "notes": mc.get("notes") or [],
                "portfolio": mc["portfolio"], "risk": mc["risk"], "per_property": mc["per_property"]},
            "tornado": o.tornado, "sobol": o.sobol}


def results(engine, request_id: str, launched: dict | None = None) -> dict[str, Any]:
    with engine.connect() as conn:
        request = repo.get_request(conn, request_id)
    wanted = (launched or {}).get("scenarios")
    outcomes = [o for o in runner.outcomes_for(engine, request_id) if wanted is None or o.scenario_key in wanted]
    report = present.comparison(request_id, outcomes, config.artifacts_dir() / "simulations") if outcomes else None
    return {"request_id": request_id, "text": request["text"], "request_status": request["status"],
            "backfill": (launched or {}).get("backfill"), "scenarios": [_scenario_payload(o) for o in outcomes],
            "comparison": report.summary if report else None}


@app.command("compare")
def compare(request_id: str = typer.Argument(..., help="The request whose scenarios to compare."),
            as_json: bool = JSON_OPTION) -> None:
    """Every scenario run of a request side by side, with outliers and broken expected ranges."""
    engine = ops_engine()
    payload = results(engine, request_id)
    if not payload["scenarios"]:
        raise InputError(f"request {request_id} has no scenario runs; run `meta-agent simulate run` first")
    emit(payload, as_json, lambda: show_results(payload))


def show_results(p: dict) -> None:
    b = p.get("backfill")
    stdout.print(f"[bold]{p['request_id']}[/] — {p['text']}", highlight=False)
    if b:
        stdout.print(f"  backfill {b['backfill_id']}: {b['status']}, {b['runs']} runs ({b['succeeded']} succeeded, "
                     f"{b['failed']} failed) in {b['wall_s']:.1f} s; at most {b['max_concurrent_steps']} scripts "
                     "at once", highlight=False)
    for s in p["scenarios"]:
        stdout.print(f"\n[bold]{s['scenario']}[/] ({s['status']}): {s['message']}", highlight=False)
        metrics = s["metrics"]
        if s["values"] and metrics:
            stdout.print(table(None, ["property", *metrics],
                               [[pid, *(present.shown(m, v.get(m)) for m in metrics)] for pid, v in s["values"].items()]))
        for e in s["expected"]:
            verdict = {True: "in range", False: "[red]OUTSIDE[/]", None: "unknown"}[e["in_range"]]
            stdout.print(f"  expected {e['metric']} {e['range'][0]:g}–{e['range'][1]:g}: {verdict} "
                         f"(portfolio {present.shown(e['metric'], e['portfolio_mean'])}; "
                         f"{len(e['outside'])} properties outside)")
        mc = s["monte_carlo"]
        if mc:
            stdout.print(f"  Monte Carlo, {mc['iterations']:,} iterations (seed {mc['seed']}): {mc['convergence']}",
                         highlight=False)
            for note in mc["notes"]:
                stdout.print(f"  [yellow]note[/]: {note}", highlight=False)
            risk = {r["metric"]: r for r in mc["risk"]}
            rows = []
            for pid, by_metric in mc["per_property"].items():
                for m, st in by_metric.items():
                    r = risk.get(m)
                    pr = r["per_property"][pid] if r else None
                    rows.append([pid, m, present.shown(m, st["mean"]), present.shown(m, st["p5"]),
                                 present.shown(m, st["p50"]), present.shown(m, st["p95"]),
                                 present.shown(m, st["cvar_95"]),
                                 f"{pr['p']:.2%} ± {pr['se']:.2%}" if pr and pr["p"] is not None else ""])
            stdout.print(table(None, ["property", "metric", "mean", "p5", "p50", "p95", "CVaR95", "P(risk)"], rows))
        if s["repeat"]:
            r = s["repeat"]
            stdout.print(f"  repeat: {json.dumps(r, default=str)}", highlight=False)
    c = p.get("comparison")
    if c:
        stdout.print(f"\n[bold]comparison[/]: {c['sentence']}", highlight=False)
        stdout.print(table(None, ["metric", "scenario", "value", "Δ base", "Δ %", "robust z", "outlier", "expected"],
                           [[r["metric"], r["scenario"], present.shown(r["metric"], r["value"]),
                             "" if r["delta"] is None else f"{r['delta']:+.4g}",
                             "" if r["delta_pct"] is None else f"{r['delta_pct']:+.1f} %",
                             "" if r["robust_z"] is None else f"{r['robust_z']:+.2f}",
                             "yes" if r["outlier"] else "", r["expected"]] for r in c["rows"]]))
        for o in c["outliers"]:
            stdout.print(f"  outlier: {o}", highlight=False)
        for br in c["broken_ranges"]:
            stdout.print(f"  [red]broke its range[/]: {br['scenario']} {br['metric']} "
                         f"{present.shown(br['metric'], br['portfolio_mean'])} outside {br['range'][0]:g}–"
                         f"{br['range'][1]:g}", highlight=False)
        for name, path in c["charts"].items():
            stdout.print(f"  chart ({name}): {path}", highlight=False)
