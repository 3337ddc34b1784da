"""Where alerts and digests go: a log file, a JSON webhook, Slack, email.

Each channel has a ``send(notification)`` that returns when the other side accepted the
message and raises ``NotifierError`` otherwise (``retry_after`` when the server said how
long to wait); ``meta_agent.ops.alerts.deliver_due`` records the failure and retries.

Configuration (environment; the Dagster ``notifier`` resource can set the same fields):

| variable | meaning |
|---|---|
| ``META_AGENT_NOTIFIERS`` | channels, comma-separated, each ``name[:min_severity]``; default ``log`` |
| ``META_AGENT_ALERT_LOG`` | JSONL file of the log channel (default ``<artifacts>/alerts/notifications.jsonl``) |
| ``META_AGENT_WEBHOOK_URL`` / ``META_AGENT_WEBHOOK_SECRET`` | generic JSON webhook; the secret signs the body (HMAC-SHA256) |
| ``META_AGENT_SLACK_WEBHOOK_URL`` | Slack incoming webhook (Block Kit message) |
| ``META_AGENT_SMTP_HOST`` / ``_PORT`` / ``_USER`` / ``_PASSWORD`` / ``_FROM`` / ``_TO`` / ``_SECURITY`` | email (``_TO`` comma-separated; security ``starttls``, ``ssl`` or ``none``) |
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from meta_agent import config
from meta_agent.errors import ConfigError
from meta_agent.store.schema_ops_alerts import SEVERITIES

log = logging.getLogger("meta_agent.alerts")
CHANNEL_NAMES = ("log", "webhook", "slack", "email")
_LEVEL = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR, "emergency": logging.CRITICAL}
_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:",
          "emergency": ":fire:"}
USER_AGENT = "meta-agent-notifier/1"


class NotifierError(Exception):
    """The channel did not accept the message; ``retry_after`` seconds if the server said so."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Notification:
    kind: str  # "alert" | "digest"
    subject: str
    text: str  # plain text / markdown
    severity: str = "info"
    alert: dict | None = None  # the alert's fields, JSON-able
    facts: dict[str, str] = field(default_factory=dict)  # short label → value, shown as fields

    def payload(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "text": self.text, "severity": self.severity,
                "alert": self.alert, "facts": self.facts, "sent_at": datetime.now(UTC).isoformat()}


class Channel(Protocol):
    name: str
    min_severity: str

    def send(self, n: Notification) -> None: ...


def severity_rank(s: str) -> int:
    return SEVERITIES.index(s)


def _json_default(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return str(v)


class LogChannel:
    """Python logging (``meta_agent.alerts``) plus one JSON line per message in ``path``."""

    name = "log"

    def __init__(self, path: Path | None = None, min_severity: str = "info"):
        self.path = path
        self.min_severity = min_severity

    def send(self, n: Notification) -> None:
        log.log(_LEVEL.get(n.severity, logging.INFO), "[%s] %s", n.severity.upper(), n.subject)
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(n.payload(), default=_json_default) + "\n")
        except OSError as exc:
            raise NotifierError(f"cannot append to {self.path}: {exc}") from None


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float, expect_ok_text: bool = False) -> None:
    try:
        resp = httpx.post(url, content=body, headers={"Content-Type": "application/json",
                                                      "User-Agent": USER_AGENT, **headers}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise NotifierError(f"POST {_safe(url)} failed: {type(exc).__name__}: {exc}") from None
    if resp.status_code >= 300:
        retry = resp.headers.get("Retry-After")
        raise NotifierError(f"POST {_safe(url)} answered {resp.status_code}: {resp.text[:200]}",
                            float(retry) if retry and retry.replace(".", "", 1).isdigit() else None)
    if expect_ok_text and resp.text.strip() not in ("ok", ""):
        raise NotifierError(f"POST {_safe(url)} answered {resp.status_code} but not 'ok': {resp.text[:200]}")


def _safe(url: str) -> str:
    """A webhook URL without its secret path (Slack's carries the token)."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}/…" if p.path not in ("", "/") else f"{p.scheme}://{p.netloc}"


class WebhookChannel:
    """POSTs the notification as JSON; with a secret, ``X-Meta-Agent-Signature: sha256=<hmac>``."""

    name = "webhook"

    def __init__(self, url: str, secret: str | None = None, timeout: float = 10.0, min_severity: str = "info"):
        self.url, self.secret, self.timeout, self.min_severity = url, secret, timeout, min_severity

    def send(self, n: Notification) -> None:
        body = json.dumps(n.payload(), default=_json_default, sort_keys=True).encode()
        headers = {}
        if self.secret:
            sig = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Meta-Agent-Signature"] = f"sha256={sig}"
        _post(self.url, body, headers, self.timeout)


def slack_payload(n: Notification) -> dict:
    """A Block Kit message: header, the message, the facts as fields, how to act on it."""
    title = f"{_EMOJI.get(n.severity, '')} {n.subject}".strip()
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}}]
    text = n.text if len(n.text) <= 2900 else n.text[:2900] + "…"
    if n.kind == "digest":
        text = _slack_markdown(text)
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if n.facts:
        fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in list(n.facts.items())[:10]]
        blocks.append({"type": "section", "fields": fields})
    if n.alert and n.alert.get("alert_id") is not None:
        aid = n.alert["alert_id"]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"alert #{aid} · acknowledge: `meta-agent alerts ack {aid}` · resolve: `meta-agent alerts resolve {aid}`")}]})
    return {"text": f"[{n.severity.upper()}] {n.subject}", "blocks": blocks}


def _slack_markdown(md: str) -> str:
    """Slack's mrkdwn has no tables: keep them readable as a code block; **bold** → *bold*."""
    out, in_table = [], False
    for line in md.splitlines():
        is_row = line.startswith("|")
        if is_row and not in_table:
            out.append("```")
        if not is_row and in_table:
            out.append("```")
        in_table = is_row
        out.append(line.replace("**", "*") if not is_row else line)
    if in_table:
        out.append("```")
    return "\n".join(line[2:] if line.startswith("# ") else line for line in out)


class SlackChannel:
    name = "slack"

    def __init__(self, webhook_url: str, timeout: float = 10.0, min_severity: str = "info"):
        self.webhook_url, self.timeout, self.min_severity = webhook_url, timeout, min_severity

    def send(self, n: Notification) -> None:
        _post(self.webhook_url, json.dumps(slack_payload(n), default=_json_default).encode(), {}, self.timeout,
              expect_ok_text=True)


class EmailChannel:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, recipients: Sequence[str], *, username: str | None = None,
                 password: str | None = None, security: str = "none", timeout: float = 15.0,
                 min_severity: str = "info"):
        self.host, self.port, self.sender, self.recipients = host, port, sender, list(recipients)
        self.username, self.password, self.security, self.timeout = username, password, security, timeout
        self.min_severity = min_severity

    def message(self, n: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[meta-agent][{n.severity.upper()}] {n.subject}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="meta-agent")
        lines = [n.text, ""]
        lines += [f"{k}: {v}" for k, v in n.facts.items()]
        if n.alert and n.alert.get("alert_id") is not None:
            aid = n.alert["alert_id"]
            lines += ["", f"Acknowledge: meta-agent alerts ack {aid}", f"Resolve:     meta-agent alerts resolve {aid}"]
        msg.set_content("\n".join(lines))
        return msg

    def send(self, n: Notification) -> None:
        msg = self.message(n)
        try:
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifierError(f"SMTP {self.host}:{self.port} failed: {type(exc).__name__}: {exc}") from None
        if refused:
            raise NotifierError(f"SMTP {self.host}:{self.port} refused recipients: {', '.join(refused)}")


class Notifier:
    """The configured channels, by name."""

    def __init__(self, channels: Sequence[Channel]):
        self.channels: dict[str, Channel] = {c.name: c for c in channels}

    @property
    def names(self) -> list[str]:
        return list(self.channels)

    def channels_for(self, severity: str) -> list[str]:
        """Channels whose minimum severity this alert reaches."""
        return [n for n, c in self.channels.items() if severity_rank(severity) >= severity_rank(c.min_severity)]

    def send(self, channel: str, n: Notification) -> None:
        if channel not in self.channels:
            raise NotifierError(f"channel '{channel}' is not configured (configured: {', '.join(self.names)})")
        self.channels[channel].send(n)


class NotifierSettings(BaseModel):
    """Every knob of every channel; ``from_env`` reads the variables in the module docstring."""

    model_config = ConfigDict(extra="forbid")

    channels: str = "log"
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
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> NotifierSettings:
        env = os.environ if env is None else env
        names = {"channels": "META_AGENT_NOTIFIERS", "log_path": "META_AGENT_ALERT_LOG",
                 "webhook_url": "META_AGENT_WEBHOOK_URL", "webhook_secret": "META_AGENT_WEBHOOK_SECRET",
                 "slack_webhook_url": "META_AGENT_SLACK_WEBHOOK_URL", "smtp_host": "META_AGENT_SMTP_HOST",
                 "smtp_port": "META_AGENT_SMTP_PORT", "smtp_user": "META_AGENT_SMTP_USER",
                 "smtp_password": "META_AGENT_SMTP_PASSWORD", "smtp_from": "META_AGENT_SMTP_FROM",
                 "smtp_to": "META_AGENT_SMTP_TO", "smtp_security": "META_AGENT_SMTP_SECURITY"}
        values: dict[str, Any] = {k: env[v] for k, v in names.items() if env.get(v)}
        if "smtp_port" in values:
            try:
                values["smtp_port"] = int(values["smtp_port"])
            except ValueError:
                raise ConfigError(f"META_AGENT_SMTP_PORT='{values['smtp_port']}' is not a port number; "
                                  "use e.g. 587.") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def parse_channels(spec: str) -> list[tuple[str, str]]:
    """``"log,slack:critical"`` → [("log", "info"), ("slack", "critical")]."""
    out: list[tuple[str, str]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, sev = part.partition(":")
        name, sev = name.strip().lower(), (sev.strip().lower() or "info")
        if name not in CHANNEL_NAMES:
            raise ConfigError(f"META_AGENT_NOTIFIERS: unknown channel '{name}'; use {', '.join(CHANNEL_NAMES)} "
                              "(e.g. 'log,slack:critical').")
        if sev not in SEVERITIES:
            raise ConfigError(f"META_AGENT_NOTIFIERS: '{part}' has severity '{sev}'; use one of {', '.join(SEVERITIES)}.")
        if any(n == name for n, _ in out):
            raise ConfigError(f"META_AGENT_NOTIFIERS: channel '{name}' is listed twice.")
        out.append((name, sev))
    if not out:
        raise ConfigError("META_AGENT_NOTIFIERS is empty; use e.g. 'log' or 'log,slack:critical'.")
    return out


def build_notifier(settings: NotifierSettings | None = None) -> Notifier:
    """The channels ``settings`` (default: the environment) ask for; a channel missing its
    address is a ConfigError naming the variable to set."""
    s = settings or NotifierSettings.from_env()
    channels: list[Channel] = []
    for name, sev in parse_channels(s.channels):
        if name == "log":
            path = Path(s.log_path) if s.log_path else config.artifacts_dir() / "alerts" / "notifications.jsonl"
            channels.append(LogChannel(path, sev))
        elif name == "webhook":
            _need(s.webhook_url, "webhook", "META_AGENT_WEBHOOK_URL")
            channels.append(WebhookChannel(s.webhook_url, s.webhook_secret, s.timeout_seconds, sev))
        elif name == "slack":
            _need(s.slack_webhook_url, "slack", "META_AGENT_SLACK_WEBHOOK_URL")
            channels.append(SlackChannel(s.slack_webhook_url, s.timeout_seconds, sev))
        else:
            _need(s.smtp_host, "email", "META_AGENT_SMTP_HOST")
            _need(s.smtp_to, "email", "META_AGENT_SMTP_TO")
            port = s.smtp_port or 587
            security = (s.smtp_security or {587: "starttls", 465: "ssl"}.get(port, "none")).lower()
            if security not in ("starttls", "ssl", "none"):
                raise ConfigError(f"META_AGENT_SMTP_SECURITY='{security}'; use starttls, ssl or none.")
            recipients = [r.strip() for r in s.smtp_to.split(",") if r.strip()]
            channels.append(EmailChannel(s.smtp_host, port, s.smtp_from or "meta-agent@localhost", recipients,
                                         username=s.smtp_user, password=s.smtp_password, security=security,
                                         timeout=s.timeout_seconds, min_severity=sev))
    return Notifier(channels)


def _need(value: str | None, channel: str, var: str) -> None:
    if not value:
        raise ConfigError(f"the {channel} notifier is enabled but {var} is not set; set it or remove "
                          f"'{channel}' from META_AGENT_NOTIFIERS.")
