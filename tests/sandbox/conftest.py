"""Fixtures for the sandbox tests: a real container engine, and each kind of runner.

Container tests need an engine answering on DOCKER_HOST (``scripts/container-engine.sh``
starts Podman's API; ``make test`` and ``.ci/run`` do it for you). Without one they skip with
the reason — except under ``CI=true``, where they fail loudly instead.
"""

from __future__ import annotations

import pytest

from meta_agent.errors import ConfigError


@pytest.fixture(scope="session")
def container_engine(unavailable):
    """The engine (Podman or Docker) with the local sandbox image built; skip/fail otherwise."""
    from meta_agent.sandbox.engine import connect
    from meta_agent.sandbox.images import build_local_image, default_image

    try:
        engine = connect()
    except ConfigError as exc:
        unavailable("A container engine", str(exc))
    build_local_image(engine.client, default_image())
    return engine


@pytest.fixture
def container_runner(container_engine):
    from meta_agent.sandbox.container import ContainerRunner

    return ContainerRunner.connect()


@pytest.fixture
def bwrap_runner(unavailable):
    from meta_agent.sandbox.local import LocalRunner

    try:
        return LocalRunner(use_bwrap=True)
    except ConfigError as exc:
        unavailable("bubblewrap", f"bubblewrap cannot run here: {exc}")


@pytest.fixture
def rlimits_runner():
    from meta_agent.sandbox.local import LocalRunner

    return LocalRunner(use_bwrap=False)


@pytest.fixture
def runner(request):
    """Parametrize with ``indirect=True`` over ``KINDS`` (or a subset)."""
    return request.getfixturevalue(f"{request.param}_runner")


def kinds(*names: str) -> list:
    """Runner kinds as pytest params; the container one carries the ``container`` mark."""
    return [pytest.param(n, marks=pytest.mark.container) if n == "container" else n for n in names]
