"""Sandbox images: the production image (deploy/docker/Dockerfile) and the local image.

The **local image** is for machines without an image registry (docs/architecture.md,
docs/isolation.md): a tarball of a few kilobytes — empty mount points, symlinks like the
host's, an ``/etc/passwd`` with ``nobody`` — imported into the engine (``podman import``
through the Docker API). At run time the container runner bind-mounts the host's ``/usr`` (and
``/bin``, ``/lib``... when they are real directories), the Python prefix, the venv and the
project package read-only; the image's labels list them, so the runner needs no configuration.
The **production image** is python:3.11-slim with the project installed; its labels say which
Python to run and that it needs no host mounts.

Labels the runner reads:
- ``meta-agent.sandbox-image`` = ``local`` | ``production``
- ``meta-agent.python`` — the interpreter inside the container
- ``meta-agent.host-mounts`` — JSON list of host directories to bind read-only (local only)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meta_agent.errors import ConfigError
from meta_agent.sandbox.local import python_mounts

LOCAL_IMAGE = "localhost/meta-agent-sandbox:local"
PRODUCTION_IMAGE = "meta-agent:latest"
LABEL_KIND = "meta-agent.sandbox-image"
LABEL_PYTHON = "meta-agent.python"
LABEL_MOUNTS = "meta-agent.host-mounts"
LABEL_DIGEST = "meta-agent.layout-digest"
SYSTEM_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def default_image(image: str | None = None) -> str:
    """``image`` when given, else ``META_AGENT_SANDBOX_IMAGE`` (the command line's), else the local image."""
    return image or os.environ.get("META_AGENT_SANDBOX_IMAGE") or LOCAL_IMAGE


def host_layout() -> dict[str, Any]:
    """What the local image mirrors: host mounts (read-only) and top-level symlinks."""
    mounts = ["/usr"]
    symlinks: dict[str, str] = {}
    for d in SYSTEM_DIRS:
        host = Path("/") / d
        if host.is_symlink():
            symlinks[d] = os.readlink(host)
        elif host.is_dir():
            mounts.append(str(host))
    mounts += [str(p) for p in python_mounts()]
    python = str(Path(sys.prefix) / "bin" / "python")
    return {"mounts": mounts, "symlinks": symlinks, "python": python}


def layout_digest(layout: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(layout, sort_keys=True).encode()).hexdigest()[:16]


def local_image_tarball(layout: dict[str, Any]) -> bytes:
    """The few kilobytes the local image consists of."""
    buf = io.BytesIO()
    dirs: set[str] = set()
    now = int(time.time())

    def add_dir(tf: tarfile.TarFile, path: str, mode: int = 0o755) -> None:
        parts = Path(path.strip("/")).parts
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p not in dirs:
                dirs.add(p)
                ti = tarfile.TarInfo(p)
                ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, mode if i == len(parts) else 0o755, now
                tf.addfile(ti)

    def add_file(tf: tarfile.TarFile, path: str, text: str, mode: int = 0o644) -> None:
        data = text.encode()
        ti = tarfile.TarInfo(path.strip("/"))
        ti.size, ti.mode, ti.mtime = len(data), mode, now
        tf.addfile(ti, io.BytesIO(data))

    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in ("etc", "proc", "dev", "sys", "sandbox", "results", "data", "run", "var"):
            add_dir(tf, d)
        add_dir(tf, "tmp", 0o1777)
        for name, target in layout["symlinks"].items():
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname, ti.mtime = tarfile.SYMTYPE, target, now
            tf.addfile(ti)
        for m in layout["mounts"]:
            add_dir(tf, m)
        add_file(tf, "etc/passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                   "nobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n")
        add_file(tf, "etc/group", "root:x:0:\nnogroup:x:65534:\n")
        add_file(tf, "etc/hosts", "127.0.0.1 localhost sandbox\n")
        add_file(tf, "etc/os-release", 'NAME="meta-agent sandbox (host-mounted)"\n')
    return buf.getvalue()


@dataclass
class BuildResult:
    image: str
    image_id: str
    built: bool  # False: an up-to-date image was already there
    kind: str
    seconds: float
    size_bytes: int
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def image_info(client, image: str) -> dict[str, Any] | None:
    """Labels and id of ``image``, or None when the engine does not have it."""
    import docker  # local: the docker SDK (~0.1 s) loads only when an engine is used

    try:
        img = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    labels = img.labels or {}
    return {"id": img.id, "tags": img.tags, "labels": labels,
            "kind": labels.get(LABEL_KIND, "unknown"), "python": labels.get(LABEL_PYTHON),
            "mounts": json.loads(labels.get(LABEL_MOUNTS, "[]")), "digest": labels.get(LABEL_DIGEST)}


def build_local_image(client, image: str = LOCAL_IMAGE, force: bool = False) -> BuildResult:
    """Import the local image (idempotent: skipped when the host layout is unchanged)."""
    t0 = time.perf_counter()
    layout = host_layout()
    digest = layout_digest(layout)
    current = image_info(client, image)
    if current and current["digest"] == digest and not force:
        return BuildResult(image, current["id"], False, "local", round(time.perf_counter() - t0, 3), 0,
                           "up to date (same host layout)")
    tarball = local_image_tarball(layout)
    repo, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    changes = [
        f"LABEL {LABEL_KIND}=local",
        f"LABEL {LABEL_PYTHON}={layout['python']}",
        f"LABEL {LABEL_MOUNTS}={json.dumps(layout['mounts'], separators=(',', ':'))}",
        f"LABEL {LABEL_DIGEST}={digest}",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "USER 65534:65534",
        "WORKDIR /results",
    ]
    image_id = _import(client, tarball, repo, tag, changes)
    _drop_stale(client, repo, tag, image_id, current["id"] if current else None)
    return BuildResult(image, image_id, True, "local", round(time.perf_counter() - t0, 3), len(tarball),
                       f"imported a {len(tarball):,}-byte tarball; host mounts at run time: "
                       + ", ".join(layout["mounts"]))


def _import(client, tarball: bytes, repo: str, tag: str, changes: list[str]) -> str:
    """Import through the Docker API (Docker Engine and Podman); ``podman import`` as the
    fallback when the API refuses. Returns the image id and tags it ``repo:tag``."""
    import docker  # local: the docker SDK (~0.1 s) loads only when an engine is used

    try:
        out = client.api.import_image(src=tarball, repository=repo, tag=tag, changes=changes)
        image_id = _image_id_from(out)
        img = client.images.get(image_id)
        img.tag(repo, tag)  # podman's compat import ignores repository/tag
        return img.id
    except (docker.errors.APIError, ValueError) as exc:
        podman = shutil.which("podman")
        if not podman:
            raise ConfigError(f"The engine refused to import the sandbox image: {exc}.") from exc
    cmd = [podman, "import"]
    for c in changes:
        cmd += ["--change", c]
    cmd += ["-", f"{repo}:{tag}"]
    r = subprocess.run(cmd, input=tarball, capture_output=True, timeout=120)
    if r.returncode != 0:
        raise ConfigError(f"podman import failed: {r.stderr.decode(errors='replace').strip()}.")
    return client.images.get(f"{repo}:{tag}").id


def _drop_stale(client, repo: str, tag: str, new_id: str, old_id: str | None) -> None:
    """Podman's import also tags ``repo:latest``; untag it, and remove the image this one
    replaced (best effort: an image a container still uses stays)."""
    import docker  # local: the docker SDK (~0.1 s) loads only when an engine is used

    if tag != "latest":
        try:
            img = client.images.get(f"{repo}:latest")
            if img.id == new_id:
                client.images.remove(f"{repo}:latest")
        except docker.errors.APIError:
            pass
    if old_id and old_id != new_id:
        try:
            client.images.remove(old_id)
        except docker.errors.APIError:
            pass


def _image_id_from(out: Any) -> str:
    text = out if isinstance(out, str) else json.dumps(out)
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("error"):
            raise ValueError(doc["error"])
        for key in ("id", "status"):
            v = doc.get(key, "")
            if isinstance(v, str) and v.startswith("sha256:"):
                return v
    raise ValueError(f"no image id in the engine's import answer: {text[:200]}")


def build_production_image(client, context: Path, image: str = PRODUCTION_IMAGE) -> BuildResult:
    """``docker build -f deploy/docker/Dockerfile`` through the API (needs a registry for
    python:3.11-slim, or the base image already loaded)."""
    import docker  # local: the docker SDK (~0.1 s) loads only when an engine is used

    t0 = time.perf_counter()
    try:
        img, _logs = client.images.build(path=str(context), dockerfile="deploy/docker/Dockerfile", tag=image,
                                         rm=True, pull=False)
    except (docker.errors.BuildError, docker.errors.APIError) as exc:
        raise ConfigError(f"Building {image} from deploy/docker/Dockerfile failed: {exc}. On a machine "
                          "without a registry use the local image (`meta-agent sandbox build-image`).") from exc
    return BuildResult(image, img.id, True, "production", round(time.perf_counter() - t0, 3), 0,
                       "built from deploy/docker/Dockerfile")
