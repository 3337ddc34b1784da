"""Removing finished Dagster run containers: DockerRunLauncher starts one per run and never
removes it. A sensor (meta_agent_defs/sensors/run_containers.py) and ``meta-agent sandbox
sweep`` call ``remove_finished_run_containers``.

A container is removed when it carries the launcher's ``dagster/run_id`` label, has exited
(or is dead / never started) for at least ``min_age_s`` — long enough for run monitoring to
read its exit state — and, when ``run_is_finished`` is given, the run is finished in the
Dagster instance. Running containers are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

RUN_LABEL = "dagster/run_id"
FINISHED_STATES = ("exited", "dead", "created")


def _finished_at(attrs: dict) -> datetime | None:
    raw = (attrs.get("State") or {}).get("FinishedAt") or ""
    if not raw or raw.startswith("0001-"):
        return None
    raw = raw.rstrip("Z")
    if "." in raw:  # nanoseconds -> microseconds for fromisoformat
        head, frac = raw.split(".", 1)
        frac = "".join(ch for ch in frac if ch.isdigit())[:6]
        raw = f"{head}.{frac}"
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    except ValueError:
        return None


def remove_finished_run_containers(client, *, min_age_s: float = 60.0,
                                   run_is_finished: Callable[[str], bool] | None = None,
                                   now: datetime | None = None, labels: dict[str, str] | None = None) -> list[str]:
    """Remove exited run containers (optionally only those carrying ``labels`` too); returns
    the removed containers' run ids."""
    now = now or datetime.now(UTC)
    removed: list[str] = []
    wanted = [RUN_LABEL] + [f"{k}={v}" for k, v in (labels or {}).items()]
    for ct in client.containers.list(all=True, filters={"label": wanted}, ignore_removed=True):
        if ct.status not in FINISHED_STATES:
            continue
        run_id = (ct.labels or {}).get(RUN_LABEL, "")
        finished = _finished_at(ct.attrs)
        if ct.status == "created":
            created = ct.attrs.get("Created")
            finished = _finished_at({"State": {"FinishedAt": created}}) if isinstance(created, str) else None
        if finished is None or (now - finished).total_seconds() < min_age_s:
            continue
        if run_is_finished is not None and not run_is_finished(run_id):
            continue
        try:
            ct.remove(force=False, v=True)
            removed.append(run_id or ct.name)
        except Exception:  # noqa: BLE001,S112 — started again, or removed by someone else meanwhile
            continue
    return removed
