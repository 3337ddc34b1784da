"""Where alerts go, as a Dagster resource (key ``notifier``)."""

from __future__ import annotations

import dagster as dg

from meta_agent.ops.notifiers import Notifier, NotifierSettings, build_notifier


class NotifierResource(dg.ConfigurableResource):
    """Alert channels: ``log`` (default), ``webhook``, ``slack``, ``email``, each optionally
    ``name:min_severity`` (e.g. ``"log,slack:critical"``). Fields left empty fall back to the
    ``META_AGENT_*`` environment variables (see docs/agent-ops-alerts.md), so secrets stay
    in the environment."""

    channels: str | None = None
    log_path: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_to: str | None = None
    smtp_security: str | None = None

    def settings(self) -> NotifierSettings:
        fields = {k: getattr(self, k) for k in NotifierSettings.model_fields if hasattr(self, k)}
        return NotifierSettings.from_env(**fields)

    def get(self) -> Notifier:
        return build_notifier(self.settings())
