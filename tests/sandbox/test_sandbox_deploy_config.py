"""The deployment files are valid Dagster instance configs with the promised settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

ROOT = Path(__file__).resolve().parents[2]
INSTANCE_FILES = [ROOT / "deploy/docker/dagster.yaml", ROOT / "dagster_home/dagster.docker.yaml",
                  ROOT / "dagster_home/dagster.postgres.yaml"]


def validated(path: Path, tmp_path: Path) -> dict:
    shutil.copy(path, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    return config


@pytest.mark.parametrize("path", INSTANCE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_instance_files_validate_and_limit_script_runs(path, tmp_path):
    """Outcome: each file passes Dagster's instance schema, uses PostgreSQL storage, enables run
    monitoring and queues runs with at most 5 concurrent `meta_agent/kind=script_run`."""
    config = validated(path, tmp_path)
    assert "postgres" in config["storage"]
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "meta_agent/kind", "value": "script_run", "limit": 5} in limits
    assert config["concurrency"]["pools"]["default_limit"] == 5


@pytest.mark.parametrize("path", INSTANCE_FILES[:2], ids=lambda p: str(p.relative_to(ROOT)))
def test_docker_run_launcher_config_constructs_with_ulimits(path, tmp_path):
    """Outcome: the run_launcher block builds a DockerRunLauncher whose container kwargs carry
    explicit nproc/nofile ulimits and the run-container label the cleanup relies on."""
    from dagster_docker import DockerRunLauncher

    config = validated(path, tmp_path)
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    built = DockerRunLauncher(**launcher["config"])
    kwargs = built.container_kwargs
    assert {u["Name"] for u in kwargs["ulimits"]} == {"nproc", "nofile"}
    assert kwargs["labels"]["meta-agent.run-container"] == "1"
    assert "no-new-privileges" in kwargs["security_opt"]


def test_local_docker_yaml_is_the_podman_recipe():
    """Outcome: run containers use host networking (PostgreSQL on 127.0.0.1), the host's /usr
    read-only, the instance directory read-write, and the engine socket."""
    config = yaml.safe_load((ROOT / "dagster_home/dagster.docker.yaml").read_text())
    kwargs = config["run_launcher"]["config"]["container_kwargs"]
    assert kwargs["network_mode"] == "host"
    assert "/usr:/usr:ro" in kwargs["volumes"]
    assert any(v.endswith("dagster_home:rw") for v in kwargs["volumes"])
    assert any(v.startswith("/run/meta-agent/podman.sock:") for v in kwargs["volumes"])
    assert "DAGSTER_PG_URL" in config["run_launcher"]["config"]["env_vars"]


def test_compose_file_has_the_services_and_the_network_the_launcher_joins():
    compose = yaml.safe_load((ROOT / "deploy/docker/docker-compose.yml").read_text())
    assert set(compose["services"]) == {"postgres", "user_code", "webserver", "daemon"}
    dagster_yaml = yaml.safe_load((ROOT / "deploy/docker/dagster.yaml").read_text())
    assert dagster_yaml["run_launcher"]["config"]["network"] == compose["networks"]["meta_agent"]["name"]
    user_code = compose["services"]["user_code"]
    assert user_code["environment"]["DAGSTER_CURRENT_IMAGE"] == user_code["image"] == "meta-agent:latest"
    assert "code-server" in user_code["command"] and "meta_agent_defs.definitions" in user_code["command"]
    for svc in ("webserver", "daemon"):
        assert "/var/run/docker.sock:/var/run/docker.sock" in compose["services"][svc]["volumes"]
        assert compose["services"][svc]["environment"]["DAGSTER_POSTGRES_HOST"] == "postgres"
    workspace = yaml.safe_load((ROOT / "deploy/docker/workspace.yaml").read_text())
    assert workspace["load_from"][0]["grpc_server"] == {"host": "user_code", "port": 4000,
                                                        "location_name": "meta_agent_defs"}


def test_dockerfile_installs_the_project_and_labels_the_sandbox_image():
    text = (ROOT / "deploy/docker/Dockerfile").read_text()
    assert text.splitlines()[next(i for i, ln in enumerate(text.splitlines()) if ln.startswith("FROM"))] == \
        "FROM python:3.11-slim"
    assert "RUN pip install ." in text
    for label in ('meta-agent.sandbox-image="production"', 'meta-agent.python="/usr/local/bin/python"',
                  'meta-agent.host-mounts="[]"'):
        assert label in text
    assert "COPY deploy/docker/dagster.yaml ${DAGSTER_HOME}/dagster.yaml" in text


def test_generated_instance_config_validates(tmp_path):
    from meta_agent.sandbox.deploy import instance_yaml, run_launcher_config

    launcher = run_launcher_config(image="localhost/meta-agent-sandbox:local", dagster_home=tmp_path,
                                   engine_socket="unix:///run/meta-agent/podman.sock", host_mounts=["/usr"])
    for coordinator in ("queued", "default"):
        (tmp_path / "dagster.yaml").write_text(instance_yaml(launcher=launcher, coordinator=coordinator))
        config, _ = dagster_instance_config(str(tmp_path))
        assert config["run_coordinator"]["class"] == ("QueuedRunCoordinator" if coordinator == "queued"
                                                      else "DefaultRunCoordinator")
