"""Where alerts go: the notifier channels and their addresses."""

from __future__ import annotations

from enum import StrEnum

import dagster as dg

from meta_agent.ops.notifiers import Notifier, NotifierSettings, build_notifier


class WebhookChannel(dg.Config):
    """A JSON POST to ``url``, signed with HMAC-SHA256 when ``secret`` is set."""

    url: str
    secret: str | None = None


class SlackChannel(dg.Config):
    """A Slack incoming webhook."""

    webhook_url: str


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


class EmailChannel(dg.Config):
    """SMTP delivery; ``security`` defaults by port (587 starttls, 465 ssl)."""

    host: str
    to: str  # comma-separated recipients
    port: int = 587
    sender: str | None = None
    user: str | None = None
    password: str | None = None
    security: SmtpSecurity | None = None


class NotifierResource(dg.ConfigurableResource):
    """``channels``: which channels get alerts, each optionally with a minimum severity
    (``"log,slack:critical"``); bound to ``META_AGENT_NOTIFIERS``. Each channel's address is
    its own nested config; secrets come from environment variables
    (docs/agent-ops-alerts.md lists them)."""

    channels: str = "log"
    log_path: str
    timeout_seconds: float = 10.0
    webhook: WebhookChannel | None = None
    slack: SlackChannel | None = None
    email: EmailChannel | None = None

    def settings(self) -> NotifierSettings:
        w, s, e = self.webhook, self.slack, self.email
        return NotifierSettings(
            channels=self.channels, log_path=self.log_path, timeout_seconds=self.timeout_seconds,
            webhook_url=w.url if w else None, webhook_secret=w.secret if w else None,
            slack_webhook_url=s.webhook_url if s else None,
            smtp_host=e.host if e else None, smtp_port=e.port if e else None, smtp_user=e.user if e else None,
            smtp_password=e.password if e else None, smtp_from=e.sender if e else None,
            smtp_to=e.to if e else None, smtp_security=e.security.value if e and e.security else None)

    def get(self) -> Notifier:
        return build_notifier(self.settings())
