"""The isolation Dagster layer: the probe asset and the run-container cleanup."""

from __future__ import annotations

import time
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa

from meta_agent.sandbox.probe import where_am_i
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_sandbox import sandbox_runs
from meta_agent_defs.isolation.assets import sandbox_probe
from meta_agent_defs.isolation.sensors import run_container_cleanup
from meta_agent_defs.resources import OpsDatabase, RunnerKind, SandboxResource


def test_probe_asset_on_the_host_records_the_runner(ops_env):
    """Outcome: materialized on the host, the probe says the run executes on the host (the
    marker files this host has are shown as not decisive), names the runner scripts get, and
    its probe run lands in sandbox_runs."""
    result = dg.materialize([sandbox_probe], resources={"ops_db": OpsDatabase(url=ops_env),
                                                       "sandbox": SandboxResource(runner=RunnerKind.LOCAL)})
    assert result.success
    md = result.asset_materializations_for_node("sandbox_probe")[0].metadata
    assert md["in_container"].value is False and md["run_executes_in"].value == "the host"
    assert "exists" not in md["evidence"].value  # a marker file is not evidence of a container
    if where_am_i()["markers"]:
        assert "not decisive" in md["marker_files"].value
    assert md["runner"].value.startswith("local:")
    assert md["isolation"].value == "local"
    with engine_for(ops_env).connect() as conn:
        row = conn.execute(sa.select(sandbox_runs)).one()._mapping
    (probe,) = md["probe"].value.records
    assert row["run_id"] == probe.data["run_id"] and row["status"] == "succeeded"
    assert row["details"]["dagster_run_id"] == result.run_id
    # The probe is our own script (provenance template); the table says what each provenance may do.
    assert md["probe_provenance"].value == "template" and row["details"]["policy"]["allowed"] is True
    decisions = {r.data["provenance"]: r.data for r in md["provenance_policy"].value.records}
    assert set(decisions) == {"template", "llm", "user"} and decisions["template"]["allowed"] is True
    assert all(d["runner"] == md["runner"].value for d in decisions.values())


def test_probe_asset_under_rlimits_shows_llm_and_user_refused(ops_env, tmp_path, monkeypatch):
    """Outcome: with no bubblewrap on PATH the local runner is local:rlimits; the probe (ours)
    still runs, and the metadata shows llm and user scripts refused there — or allowed by the
    override (override_used) when the resource allows weak isolation."""
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for allow in ("false", "true"):
        result = dg.materialize([sandbox_probe], resources={
            "ops_db": OpsDatabase(url=ops_env),
            "sandbox": SandboxResource(runner=RunnerKind.LOCAL, allow_weak_isolation=allow)})
        md = result.asset_materializations_for_node("sandbox_probe")[0].metadata
        assert md["runner"].value == "local:rlimits"
        (probe,) = md["probe"].value.records
        assert probe.data["status"] == "succeeded"
        d = {r.data["provenance"]: r.data for r in md["provenance_policy"].value.records}
        assert d["template"]["allowed"] is True and d["template"]["override_used"] is False
        for who in ("llm", "user"):
            assert d[who]["allowed"] is (allow == "true") and d[who]["override_used"] is (allow == "true")
            if allow == "false":
                assert "install bubblewrap" in d[who]["reason"]


def test_container_id_is_read_from_cgroup_lines():
    from meta_agent.sandbox.probe import container_id_from_cgroup

    cid = "d9650cc1ad7c9e11357e1c1951ba9b2ed227b087c4c6106a9f01d1867e71b18e"
    assert container_id_from_cgroup(f"4:memory:/libpod_parent/libpod-{cid}\n") == cid
    assert container_id_from_cgroup(f"0::/system.slice/docker-{cid}.scope\n") == cid
    assert container_id_from_cgroup(f"12:pids:/docker/{cid}\n") == cid
    assert container_id_from_cgroup("4:memory:/process_api/8c3beea8c912285b905d07df43a20080\n0::/\n") is None


@pytest.mark.container
def test_cleanup_removes_only_finished_run_containers(container_engine):
    """Outcome: an exited container labelled with a finished run is removed; a running one and
    one whose run is not finished stay."""
    from meta_agent.sandbox.cleanup import remove_finished_run_containers
    from meta_agent.sandbox.images import default_image, image_info

    client = container_engine.client
    info = image_info(client, default_image())
    py = info["python"]
    volumes = {m: {"bind": m, "mode": "ro"} for m in info["mounts"]}
    common = {"volumes": volumes, "network_mode": "none", "detach": True,
              "ulimits": [{"Name": "nproc", "Soft": 4096, "Hard": 4096}, {"Name": "nofile", "Soft": 1024, "Hard": 1024}]}
    done_id, pending_id, running_id = (f"test-{uuid.uuid4().hex[:8]}" for _ in range(3))
    mine = {"meta-agent.test": uuid.uuid4().hex}  # never touch other tests' containers
    made = []
    try:
        for run_id, cmd in ((done_id, "pass"), (pending_id, "pass"), (running_id, "import time; time.sleep(60)")):
            made.append(client.containers.run(default_image(), [py, "-c", cmd], labels={"dagster/run_id": run_id, **mine},
                                              **common))
        for ct in made[:2]:
            ct.wait(timeout=30)
        time.sleep(1.1)
        removed = remove_finished_run_containers(client, min_age_s=1, labels=mine,
                                                 run_is_finished=lambda rid: rid != pending_id)
        assert done_id in removed and pending_id not in removed and running_id not in removed
        names = {c.labels.get("dagster/run_id") for c in client.containers.list(all=True, filters={"label": "dagster/run_id"}, ignore_removed=True)}
        assert done_id not in names and pending_id in names and running_id in names
    finally:
        for ct in made:
            try:
                ct.remove(force=True)
            except Exception:
                pass


def test_cleanup_sensor_skips_plainly_without_an_engine():
    nowhere = SandboxResource(docker_host="unix:///nonexistent/engine.sock")
    with dg.instance_for_test() as instance:
        out = run_container_cleanup(dg.build_sensor_context(instance=instance, resources={"sandbox": nowhere}))
    assert isinstance(out, dg.SkipReason) and "no container engine" in out.skip_message


@pytest.mark.container
def test_cleanup_sensor_with_an_engine(container_engine):
    here = SandboxResource(docker_host=container_engine.base_url)
    with dg.instance_for_test() as instance:
        out = run_container_cleanup(dg.build_sensor_context(instance=instance, resources={"sandbox": here}))
    assert isinstance(out, dg.SkipReason) and out.skip_message.startswith("removed ")
