"""Whole-run isolation, shown: Dagster runs launched through DockerRunLauncher onto the
container engine (Podman here), with PostgreSQL storage, and the evidence that the steps
ran inside the run's container.

``python scripts/docker_run_launcher_demo.py`` (what scripts/docker-run-launcher-demo.sh
calls; not part of the code location) needs DOCKER_HOST (scripts/container-engine.sh) and a PostgreSQL server URL in
``META_AGENT_TEST_PG_URL`` or ``--pg-url`` (scripts/pg-test-setup.sh). It creates two fresh
databases (Dagster storage, ops DB), a scratch DAGSTER_HOME whose dagster.yaml uses the
DockerRunLauncher (DefaultRunCoordinator: launched directly, no daemon needed), seeds the
portfolio, then launches ``isolation_probe_job`` and ``script_factory_job`` for one request
with ``dagster job launch`` and prints the evidence as one JSON document.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent.portfolio import ensure_seeded
from meta_agent.sandbox.cleanup import remove_finished_run_containers
from meta_agent.sandbox.deploy import instance_yaml, run_launcher_config
from meta_agent.sandbox.engine import connect
from meta_agent.sandbox.images import build_local_image, default_image, image_info
from meta_agent.scriptgen import repository as repo
from meta_agent.store import migrate
from meta_agent.store.engine import dispose_all, engine_for

DEMO_REQUEST = "Calculate DSCR for all properties and export to Excel"


def pg_urls(server_url: str, tag: str) -> dict[str, str]:
    """Create two fresh databases on the server; URLs for Dagster (psycopg2) and the ops DB."""
    server = make_url(server_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    names = {"dagster": f"ma_dlr_{tag}_dagster", "ops": f"ma_dlr_{tag}_ops"}
    with admin.connect() as conn:
        for name in names.values():
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    # dagster-postgres issues NOTIFY with bound parameters, which only psycopg2 accepts.
    return {
        "dagster": server.set(drivername="postgresql+psycopg2", database=names["dagster"]).render_as_string(False),
        "ops": server.set(drivername="postgresql+psycopg", database=names["ops"]).render_as_string(False),
        "names": ",".join(names.values()),
    }


def drop_databases(server_url: str, names: list[str]) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def prepare_home(home: Path, env: dict[str, str]) -> dict[str, Any]:
    """Write $DAGSTER_HOME/dagster.yaml (DockerRunLauncher, PostgreSQL, DefaultRunCoordinator)."""
    engine = connect()
    build_local_image(engine.client, default_image())
    info = image_info(engine.client, default_image())
    saved = dict(os.environ)
    os.environ.update(env)  # the pass-through variables are listed when set
    try:
        launcher = run_launcher_config(image=default_image(), dagster_home=home, engine_socket=engine.base_url,
                                       host_mounts=info["mounts"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    (home / "dagster.yaml").write_text(instance_yaml(launcher=launcher, coordinator="default"))
    return {"engine": engine.label, "image": default_image()}


def launch(job: str, env: dict[str, str], tags: dict[str, str], cwd: Path) -> None:
    """``dagster job launch`` — the instance's run coordinator and launcher take it from there."""
    cmd = [str(Path(sys.executable).with_name("dagster")), "job", "launch", "-m", "meta_agent_defs.definitions",
           "-j", job, "--tags", json.dumps(tags)]
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"dagster job launch {job} failed: {proc.stderr[-2000:]}")


def wait_for_run(instance: dg.DagsterInstance, tag: tuple[str, str], timeout: float) -> dg.DagsterRun:
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={tag[0]: tag[1]}), limit=1)
        if runs and runs[0].is_finished:
            return runs[0]
        time.sleep(1)
    raise TimeoutError(f"no finished run tagged {tag} after {timeout:.0f} s")


def evidence(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, Any]:
    """What shows that the run's steps executed inside its own container."""
    container_id = run.tags.get("docker/container_id")
    events = instance.all_logs(run.run_id)
    messages = [e.message or "" for e in events]
    step_events = [e for e in events if e.is_dagster_event and e.dagster_event.step_key]
    out: dict[str, Any] = {
        "run_id": run.run_id, "job": run.job_name, "status": run.status.value,
        "container_id": container_id, "image": run.tags.get("dagster/image"),
        "launcher_event": next((m for m in messages if "Launching run in a new container" in m), None),
        "run_worker_pid_1": any("parent process (pid: 1)" in m or "Started process for run (pid: 1)" in m
                                for m in messages),
        "steps": sorted({e.dagster_event.step_key for e in step_events}),
        "step_success": sorted({e.dagster_event.step_key for e in step_events
                                if e.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS}),
        "materializations": {},
    }
    for e in events:
        if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = e.dagster_event.event_specific_data.materialization
            meta = {k: getattr(v, "value", v) for k, v in mat.metadata.items()
                    if k in ("in_container", "container_id", "hostname", "pid", "runner", "isolation", "status",
                             "message", "probe_run_id")}
            out["materializations"][mat.asset_key.to_user_string()] = meta
    if container_id:
        ct = connect().client.containers.get(container_id)
        logs = ct.logs(stdout=True, stderr=True).decode(errors="replace")
        out["container"] = {"name": ct.name, "status": ct.status,
                            "exit_code": ct.attrs["State"].get("ExitCode"),
                            "label_run_id": (ct.labels or {}).get("dagster/run_id"),
                            "image": ct.attrs.get("ImageName") or ct.attrs["Config"].get("Image"),
                            "network_mode": ct.attrs["HostConfig"].get("NetworkMode"),
                            "ulimits": ct.attrs["HostConfig"].get("Ulimits"),
                            "log_mentions_steps": [s for s in out["steps"] if s in logs]}
    return out


def run_demo(pg_server_url: str, *, jobs: tuple[str, ...] = ("isolation_probe_job", "script_factory_job"),
             keep: bool = False, timeout: float = 600) -> dict[str, Any]:
    """Everything above, end to end; returns the evidence per job."""
    tag = uuid.uuid4().hex[:8]
    urls = pg_urls(pg_server_url, tag)
    # Not under /tmp: run containers get their own /tmp tmpfs.
    home = Path(tempfile.mkdtemp(prefix=f"meta-agent-dlr-{tag}-", dir="/var/tmp"))
    os.chmod(home, 0o755)  # noqa: S103 — the sandbox user traverses it to reach staged runs
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": urls["dagster"], "META_AGENT_DB_URL": urls["ops"],
           "META_AGENT_DATA_URL": f"sqlite:///{home}/portfolio.db", "META_AGENT_ARTIFACTS": str(home / "artifacts"),
           "META_AGENT_SANDBOX_TMP": str(home / "sandbox-tmp"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    report: dict[str, Any] = {"dagster_home": str(home), "runs": {}}
    saved = dict(os.environ)
    try:
        report.update(prepare_home(home, env))
        os.environ.update(env)
        migrate.upgrade(urls["ops"])
        ensure_seeded()
        with engine_for(urls["ops"]).begin() as conn:
            rid = repo.submit_request(conn, DEMO_REQUEST, source="cli")["request_id"]
        report["request_id"] = rid
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.add_dynamic_partitions("script_requests", [rid])  # the script factory's partitions
            for job in jobs:
                marker = ("meta_agent/dlr_demo", f"{tag}-{job}")
                tags = {marker[0]: marker[1]}
                if job == "script_factory_job":
                    tags.update({"dagster/partition": rid, "meta_agent/kind": "script_run"})
                t0 = time.perf_counter()
                launch(job, env, tags, cwd=home)
                run = wait_for_run(instance, marker, timeout)
                ev = evidence(instance, run)
                ev["seconds"] = round(time.perf_counter() - t0, 1)
                report["runs"][job] = ev
        return report
    finally:
        os.environ.clear()
        os.environ.update(saved)
        dispose_all()
        if not keep:
            _remove_run_containers(report)
            drop_databases(pg_server_url, urls["names"].split(","))
            shutil.rmtree(home, ignore_errors=True)


def _remove_run_containers(report: dict[str, Any]) -> None:
    """The demo's run containers, once exited, through the same cleanup the sensor uses."""
    runs = {r["run_id"]: r.get("container_id") for r in report["runs"].values()}
    if not runs:
        return
    client = connect().client
    for cid in runs.values():
        if cid:
            try:
                client.containers.get(cid).wait(timeout=60)
            except Exception:  # noqa: BLE001,S112 — already gone
                continue
    report["run_containers_removed"] = remove_finished_run_containers(
        client, min_age_s=0, run_is_finished=lambda rid: rid in runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg-url", default=os.environ.get("META_AGENT_TEST_PG_URL"),
                    help="PostgreSQL server URL (a role that may create databases)")
    ap.add_argument("--job", action="append", help="job to launch (default: both)")
    ap.add_argument("--keep", action="store_true", help="keep the databases and DAGSTER_HOME for inspection")
    args = ap.parse_args(argv)
    if not args.pg_url:
        print("docker_launch: pass --pg-url or set META_AGENT_TEST_PG_URL=$(scripts/pg-test-setup.sh)",
              file=sys.stderr)
        return 2
    report = run_demo(args.pg_url, jobs=tuple(args.job or ("isolation_probe_job", "script_factory_job")),
                      keep=args.keep)
    print(json.dumps(report, indent=2, default=str))
    ok = all(r["status"] == "SUCCESS" and r.get("run_worker_pid_1") for r in report["runs"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
