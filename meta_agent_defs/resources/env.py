"""Binding resource fields to the environment, the Dagster way.

``from_env("META_AGENT_DB_URL", default)`` is ``dg.EnvVar("META_AGENT_DB_URL")`` when the
variable is set — resolved where the resource is built (code server, run worker), shown in
the UI as the variable's name, never its value — and the embedded default otherwise, so a
fresh checkout works without any variable.
"""

from __future__ import annotations

import os

import dagster as dg


def from_env(name: str, default: str | None = None) -> str | dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else default
