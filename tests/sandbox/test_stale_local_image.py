"""A local sandbox image built by another checkout or venv sharing the engine (its python does
not exist here) is rebuilt for this host when a runner connects, instead of every script
failing with 'exec: .../bin/python: no such file or directory'."""

from __future__ import annotations

from meta_agent.sandbox import RunLimits, images
from meta_agent.sandbox.container import ContainerRunner

STALE = "localhost/meta-agent-sandbox:stale-test"


def test_a_local_image_from_another_layout_is_rebuilt_on_connect(container_engine, monkeypatch, tmp_path):
    real = images.host_layout()
    other = {**real, "python": "/elsewhere/checkout/.venv/bin/python"}
    with monkeypatch.context() as m:  # build it as the other checkout would have
        m.setattr(images, "host_layout", lambda: other)
        images.build_local_image(container_engine.client, STALE, force=True)
    assert images.image_info(container_engine.client, STALE)["python"] == other["python"]
    try:
        runner = ContainerRunner.connect(image=STALE)
        assert runner.python == real["python"]
        assert images.image_info(container_engine.client, STALE)["digest"] == images.layout_digest(real)
        result = runner.run("print('here')", {}, RunLimits(timeout_s=60), results_dir=tmp_path / "r",
                            provenance="template")
        assert result.ok and "here" in result.stdout, result.message
    finally:
        container_engine.client.images.remove(STALE, force=True)
