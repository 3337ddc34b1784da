"""``meta-agent sandbox``: run a script in isolation, check the isolation, build the image.

``sandbox run`` runs a script WITHOUT the script validator: it is the operator's tool for
testing the boundary itself (docs/isolation.md). Generated scripts go through the script
factory, which validates them first.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from meta_agent import config
from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.errors import InputError
from meta_agent.sandbox import RunLimits, get_runner
from meta_agent.sandbox.cleanup import remove_finished_run_containers
from meta_agent.sandbox.container import sweep_orphans
from meta_agent.sandbox.deploy import instance_config, instance_yaml, run_launcher_config
from meta_agent.sandbox.doctor import diagnose, strength_of
from meta_agent.sandbox.engine import connect
from meta_agent.sandbox.images import (
    LOCAL_IMAGE,
    PRODUCTION_IMAGE,
    build_local_image,
    build_production_image,
    default_image,
    image_info,
)
from meta_agent.sandbox.records import keep_run
from meta_agent.store import migrate

app = typer.Typer(help="Isolated script execution: run, doctor, build-image, sweep.", no_args_is_help=True)


def _parse_params(raw: str | None) -> dict:
    if raw is None or raw.strip() == "":
        return {}
    text, origin = raw, "--params"
    if raw.startswith("@"):
        path = Path(raw[1:])
        if not path.is_file():
            raise InputError(f"--params {raw}: file {path} does not exist (use @FILE for a JSON file).")
        text, origin = path.read_text(encoding="utf-8"), f"--params file {path}"
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
                         "(pass an object such as '{\"rate\": 0.05}').") from exc
    if not isinstance(params, dict):
        raise InputError(f"{origin} must be a JSON object like '{{\"rate\": 0.05}}', got {type(params).__name__}.")
    return params


@app.command()
def run(
    file: Path = typer.Argument(..., help="The Python script to run (no validation is applied)."),
    params: str = typer.Option(None, "--params", help="Parameters as a JSON object, or @FILE."),
    timeout: float = typer.Option(300.0, "--timeout", help="Wall-clock limit in seconds."),
    memory_mb: int = typer.Option(512, "--memory-mb", help="Memory limit in MB."),
    pids: int = typer.Option(128, "--pids", help="Process/thread limit."),
    runner: str = typer.Option(None, "--runner", help="container | local (default: META_AGENT_RUNNER or auto)."),
    results_dir: Path = typer.Option(None, "--results-dir", help="A fresh directory for the outputs."),
    data: list[Path] = typer.Option(None, "--data", help="A data file mounted read-only under /data (repeatable)."),
    record: bool = typer.Option(False, "--record", help="Keep the outputs as artifacts and record the run in the ops DB."),
    allow_weak_isolation: bool = typer.Option(
        False, "--allow-weak-isolation",
        help="Run it even under local:rlimits (no filesystem or network isolation); refused there otherwise."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run FILE in the sandbox WITHOUT the validator (the operator's boundary test); exit 1 unless it succeeds.

    FILE is a person's script (provenance ``user``): under local:rlimits, the weakest runner, it is
    refused before anything starts unless --allow-weak-isolation is given."""
    if not file.is_file():
        raise InputError(f"Script {file} does not exist: pass the path of a .py file.")
    if timeout <= 0:
        raise InputError(f"--timeout must be a positive number of seconds, got {timeout}.")
    limits = RunLimits(memory_mb=memory_mb, timeout_s=timeout, pids=pids)
    parsed = _parse_params(params)
    r = get_runner(runner)
    if not as_json:
        stderr.print(f"[bold]runner:[/] {r.name} — {strength_of(r.name)}")

    def echo(stream: str, line: str) -> None:  # the script's output as it arrives, to stderr
        if not as_json:
            stderr.out(f"{stream[3:]}| {line}", highlight=False)

    # Always "user": a person handed this file over; it is never a user option.
    res = r.run(file, parsed, limits, results_dir=results_dir, data_files=tuple(data or ()), on_output=echo,
                provenance="user", allow_weak_isolation=allow_weak_isolation)
    payload = res.as_dict()
    payload["strength"] = strength_of(res.runner)
    payload["policy"] = res.details.get("policy")
    if record:
        migrate.upgrade(config.db_url())
        kept = keep_run(config.db_url(), res)
        payload["results_dir"] = res.results_dir
        payload["recorded"] = {"run_id": res.run_id, "artifacts": [a["artifact_path"] for a in kept["artifacts"]]}

    def human() -> None:
        colour = "green" if res.ok else "red"
        stdout.print(f"[bold {colour}]{res.status}[/]: {res.message}", highlight=False)
        if res.status == "refused":
            return
        pol = res.details.get("policy") or {}
        if pol.get("override_used"):
            stdout.print("[yellow]note:[/] it ran under local:rlimits only because of --allow-weak-isolation.")
        stdout.print(table(None, ["runner", "isolation", "exit", "seconds", "peak MB", "results"],
                           [[res.runner, res.isolation, res.exit_code, res.duration_s, res.peak_memory_mb,
                             res.results_dir]]))
        if res.outputs:
            stdout.print(table("outputs", ["path", "format", "bytes"],
                               [[o.path, o.format, o.size_bytes] for o in res.outputs]))
        if res.isolation != "container":
            stdout.print("[yellow]note:[/] this ran in the weaker local runner, not a container.")

    emit(payload, as_json, human)
    if not res.ok:
        raise typer.Exit(1)


@app.command()
def doctor(
    probe: bool = typer.Option(True, "--probe/--no-probe", help="Run a trivial script with the chosen runner."),
    image: str = typer.Option(None, "--image", help="Sandbox image (default META_AGENT_SANDBOX_IMAGE or the local one)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Which runner scripts get on this machine and how strong its isolation is."""
    rep = diagnose(probe=probe, image=image)

    def human() -> None:
        eng = rep["engine"]
        rows = [
            ["container engine", f"{eng.get('name')} {eng.get('version')} on {eng.get('url')}" if eng["answers"]
             else f"none answers ({eng.get('error', '')})"],
            ["sandbox image", f"{rep['image']['name']} ({rep['image'].get('kind', 'missing')})"
             if rep["image"]["present"] else f"{rep['image']['name']}: missing"],
            ["bubblewrap", "works" if rep["bwrap"]["works"] else ("installed, not usable" if rep["bwrap"]["installed"]
                                                                 else "not installed")],
            ["runner", rep["runner"].get("name") or rep["runner"].get("error")],
            ["isolation", rep["strength"]],
        ]
        if "probe" in rep:
            p = rep["probe"]
            rows.append(["probe", f"{p['status']} in {p['seconds']} s; network {p['network']}; uid {p['uid']}"])
        stdout.print(table("sandbox doctor", ["check", "result"], rows))
        if rep.get("weaker"):
            stdout.print("[bold yellow]Isolation is the weaker local kind:[/] scripts do not run in containers here.")
        for n in rep["notes"]:
            stdout.print(f"[yellow]note:[/] {n}")
        pol = rep.get("policy") or {}
        stdout.print(table("run policy: provenance × isolation (→ = the runner scripts get here)",
                           ["runner", "available", "template", "llm", "user"],
                           [[("→ " if r.get("used") else "") + r["runner"], "yes" if r["available"] else "no",
                             r["template"], r["llm"], r["user"]] for r in pol.get("matrix", [])]))

    emit(rep, as_json, human)


@app.command("build-image")
def build_image(
    production: bool = typer.Option(False, "--production", help="Build deploy/docker/Dockerfile instead (needs the base image)."),
    image: str = typer.Option(None, "--image", help="Image name (default: the local sandbox image or meta-agent:latest)."),
    force: bool = typer.Option(False, "--force", help="Re-import even when the local image is up to date."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Build the sandbox image: the local host-mounted image (no registry needed) or the production one."""
    engine = connect()
    if production:
        root = Path(__file__).resolve().parents[2]
        res = build_production_image(engine.client, root, image or PRODUCTION_IMAGE)
    else:
        res = build_local_image(engine.client, image or LOCAL_IMAGE, force=force)
    payload = {**res.as_dict(), "engine": engine.label}
    emit(payload, as_json, lambda: stdout.print(
        f"{'built' if res.built else 'kept'} {res.image} ({res.kind}) on {engine.label} in {res.seconds} s: {res.detail}"))


@app.command()
def sweep(
    runs: bool = typer.Option(True, "--runs/--no-runs", help="Also remove finished Dagster run containers."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove orphaned sandbox containers (dead callers, passed deadlines) and finished run containers."""
    engine = connect()
    orphans = sweep_orphans(engine.client)
    finished = remove_finished_run_containers(engine.client) if runs else []
    payload = {"engine": engine.label, "orphans_removed": orphans, "run_containers_removed": finished}
    emit(payload, as_json, lambda: stdout.print(
        f"removed {len(orphans)} orphaned sandbox container(s) and {len(finished)} finished run container(s)"))


@app.command("launcher-config")
def launcher_config(
    dagster_home: Path = typer.Option(None, "--dagster-home", help="The instance directory run containers mount (default DAGSTER_HOME)."),
    coordinator: str = typer.Option("queued", "--coordinator", help="queued (5 concurrent script runs) | default (launch directly)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print a dagster.yaml that launches each run in its own container on this machine's engine
    (DockerRunLauncher, local image, PostgreSQL from $DAGSTER_PG_URL); see docs/isolation.md."""
    if coordinator not in ("queued", "default"):
        raise InputError(f"--coordinator '{coordinator}' is not one of queued, default.")
    engine = connect()
    info = image_info(engine.client, default_image())
    if info is None:
        raise InputError(f"The image {default_image()} is missing: run `meta-agent sandbox build-image` first.")
    launcher = run_launcher_config(image=default_image(), dagster_home=(dagster_home or config.dagster_home()).resolve(),
                                   engine_socket=engine.base_url, host_mounts=info["mounts"])
    if as_json:
        emit(instance_config(launcher=launcher, coordinator=coordinator), True, lambda: None)
    else:
        print(instance_yaml(launcher=launcher, coordinator=coordinator), end="")
