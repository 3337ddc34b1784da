"""Notifier channels against real servers on loopback: an HTTP server (pytest-httpserver)
for the JSON webhook and Slack, an SMTP server (aiosmtpd) for email; the log channel's
file; configuration errors; and end-to-end delivery with a failing, then healthy, server."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from monitordata import T0
from werkzeug import Request, Response

from meta_agent.errors import ConfigError
from meta_agent.ops import alerts
from meta_agent.ops.alerts import AlertSpec
from meta_agent.ops.notifiers import (
    EmailChannel,
    LogChannel,
    Notification,
    NotifierError,
    NotifierSettings,
    SlackChannel,
    WebhookChannel,
    build_notifier,
    parse_channels,
    slack_payload,
)
from meta_agent.store.engine import engine_for

ALERT = {"alert_id": 42, "agent_id": "sql-analyst", "alert_type": "health_critical", "severity": "critical",
         "title": "sql-analyst is critical", "message": "17 of 17 executions failed in the last 1h"}


def note(**kw) -> Notification:
    return Notification("alert", kw.pop("subject", ALERT["title"]), kw.pop("text", ALERT["message"]),
                        kw.pop("severity", "critical"), kw.pop("alert", ALERT),
                        kw.pop("facts", {"Agent": "sql-analyst", "Type": "health_critical"}))


# ---- webhook ------------------------------------------------------------------------------
def test_webhook_posts_signed_json(httpserver):
    seen = {}

    def handler(request: Request) -> Response:
        seen["body"] = request.get_data()
        seen["sig"] = request.headers.get("X-Meta-Agent-Signature")
        seen["ua"] = request.headers.get("User-Agent")
        return Response("accepted", status=202)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    WebhookChannel(httpserver.url_for("/hook"), secret="s3cret").send(note())
    body = json.loads(seen["body"])
    assert body["kind"] == "alert" and body["alert"]["alert_id"] == 42 and body["severity"] == "critical"
    assert body["subject"] == "sql-analyst is critical" and body["facts"]["Agent"] == "sql-analyst"
    expected = hmac.new(b"s3cret", seen["body"], hashlib.sha256).hexdigest()
    assert seen["sig"] == f"sha256={expected}" and seen["ua"].startswith("meta-agent-notifier")


def test_webhook_errors_raise_with_status_and_retry_after(httpserver):
    httpserver.expect_request("/down").respond_with_data("upstream is down", status=503)
    httpserver.expect_request("/slow").respond_with_data("slow down", status=429, headers={"Retry-After": "120"})
    with pytest.raises(NotifierError, match="answered 503: upstream is down") as err:
        WebhookChannel(httpserver.url_for("/down")).send(note())
    assert err.value.retry_after is None
    with pytest.raises(NotifierError) as err:
        WebhookChannel(httpserver.url_for("/slow")).send(note())
    assert err.value.retry_after == 120.0


def test_webhook_connection_refused_is_a_notifier_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(NotifierError, match="ConnectError"):
        WebhookChannel(f"http://127.0.0.1:{port}/hook", timeout=2).send(note())


# ---- Slack --------------------------------------------------------------------------------
def test_slack_message_has_blocks_and_the_ack_command(httpserver):
    httpserver.expect_request("/services/T000/B000/XXXX", method="POST").respond_with_data("ok")
    SlackChannel(httpserver.url_for("/services/T000/B000/XXXX")).send(note())
    (req, _), = httpserver.log
    body = json.loads(req.get_data())
    assert body["text"] == "[CRITICAL] sql-analyst is critical"
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    assert body["blocks"][0]["text"]["text"].startswith(":rotating_light: sql-analyst is critical")
    assert {"type": "mrkdwn", "text": "*Agent*\nsql-analyst"} in body["blocks"][2]["fields"]
    assert "`meta-agent alerts ack 42`" in body["blocks"][3]["elements"][0]["text"]


def test_slack_rejection_is_an_error_without_leaking_the_webhook_path(httpserver):
    httpserver.expect_request("/services/T000/B000/SECRET").respond_with_data("invalid_blocks", status=400)
    with pytest.raises(NotifierError) as err:
        SlackChannel(httpserver.url_for("/services/T000/B000/SECRET")).send(note())
    assert "invalid_blocks" in str(err.value) and "SECRET" not in str(err.value)


def test_slack_digest_tables_become_code_blocks():
    md = "# digest\n**2 alerts**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nend"
    text = slack_payload(Notification("digest", "d", md))["blocks"][1]["text"]["text"]
    assert "```\n| a | b |" in text and "| 1 | 2 |\n```" in text and "*2 alerts*" in text


# ---- email --------------------------------------------------------------------------------
class Inbox:
    def __init__(self, refuse: str | None = None):
        self.messages, self.refuse = [], refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    servers = []

    def start(**kw):
        inbox = Inbox(kw.pop("refuse", None))
        ctl = Controller(inbox, hostname="127.0.0.1", port=_free_port(), **kw)
        ctl.start()
        servers.append(ctl)
        return inbox, ctl.port

    yield start
    for ctl in servers:
        ctl.stop()


def test_email_is_delivered_over_smtp(smtp_server):
    inbox, port = smtp_server()
    EmailChannel("127.0.0.1", port, "alerts@example.com", ["oncall@example.com", "lead@example.com"]).send(note())
    (env,) = inbox.messages
    assert env.mail_from == "alerts@example.com" and env.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    msg = email.message_from_bytes(env.content)
    assert msg["Subject"] == "[meta-agent][CRITICAL] sql-analyst is critical"
    body = msg.get_payload(decode=True).decode()
    assert "17 of 17 executions failed" in body and "meta-agent alerts ack 42" in body and "Agent: sql-analyst" in body


def test_email_with_login(smtp_server):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"pw")

    inbox, port = smtp_server(authenticator=authenticator, auth_require_tls=False)
    EmailChannel("127.0.0.1", port, "a@example.com", ["b@example.com"], username="bot", password="pw").send(note())
    assert logins == [(b"bot", b"pw")] and len(inbox.messages) == 1


def test_email_refused_recipient_and_dead_server(smtp_server):
    inbox, port = smtp_server(refuse="gone@example.com")
    with pytest.raises(NotifierError, match="gone@example.com"):
        EmailChannel("127.0.0.1", port, "a@example.com", ["gone@example.com"]).send(note())
    with pytest.raises(NotifierError, match="SMTP 127.0.0.1"):
        EmailChannel("127.0.0.1", _free_port(), "a@example.com", ["b@example.com"], timeout=2).send(note())


# ---- log ---------------------------------------------------------------------------------
def test_log_channel_appends_json_lines(tmp_path, caplog):
    path = tmp_path / "alerts" / "n.jsonl"
    ch = LogChannel(path)
    with caplog.at_level("WARNING", logger="meta_agent.alerts"):
        ch.send(note())
        ch.send(note(severity="info", subject="fyi"))
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["subject"] for x in lines] == ["sql-analyst is critical", "fyi"]
    assert "[CRITICAL] sql-analyst is critical" in caplog.text and "fyi" not in caplog.text
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "n.jsonl").mkdir()  # a directory where the file should be
    with pytest.raises(NotifierError, match="cannot append"):
        LogChannel(tmp_path / "ro" / "n.jsonl").send(note())


# ---- configuration -------------------------------------------------------------------------
def test_channels_from_the_environment(tmp_path):
    env = {"META_AGENT_NOTIFIERS": "log, webhook:warning ,slack:critical,email:emergency",
           "META_AGENT_ALERT_LOG": str(tmp_path / "n.jsonl"), "META_AGENT_WEBHOOK_URL": "http://127.0.0.1:1/h",
           "META_AGENT_SLACK_WEBHOOK_URL": "http://127.0.0.1:1/s", "META_AGENT_SMTP_HOST": "127.0.0.1",
           "META_AGENT_SMTP_PORT": "2525", "META_AGENT_SMTP_TO": "a@x, b@x"}
    n = build_notifier(NotifierSettings.from_env(env))
    assert n.names == ["log", "webhook", "slack", "email"]
    assert n.channels_for("info") == ["log"] and n.channels_for("critical") == ["log", "webhook", "slack"]
    assert n.channels_for("emergency") == ["log", "webhook", "slack", "email"]
    mail = n.channels["email"]
    assert (mail.port, mail.security, mail.recipients) == (2525, "none", ["a@x", "b@x"])
    assert build_notifier(NotifierSettings.from_env({})).names == ["log"]  # the default


@pytest.mark.parametrize(("env", "message"), [
    ({"META_AGENT_NOTIFIERS": "pager"}, "unknown channel 'pager'"),
    ({"META_AGENT_NOTIFIERS": "log:loud"}, "severity 'loud'"),
    ({"META_AGENT_NOTIFIERS": "log,log"}, "listed twice"),
    ({"META_AGENT_NOTIFIERS": " , "}, "is empty"),
    ({"META_AGENT_NOTIFIERS": "webhook"}, "META_AGENT_WEBHOOK_URL is not set"),
    ({"META_AGENT_NOTIFIERS": "slack"}, "META_AGENT_SLACK_WEBHOOK_URL is not set"),
    ({"META_AGENT_NOTIFIERS": "email", "META_AGENT_SMTP_HOST": "h"}, "META_AGENT_SMTP_TO is not set"),
    ({"META_AGENT_NOTIFIERS": "email", "META_AGENT_SMTP_HOST": "h", "META_AGENT_SMTP_TO": "a@x",
      "META_AGENT_SMTP_SECURITY": "tls13"}, "META_AGENT_SMTP_SECURITY='tls13'"),
    ({"META_AGENT_SMTP_PORT": "smtp"}, "META_AGENT_SMTP_PORT='smtp' is not a port"),
])
def test_bad_configuration_names_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        build_notifier(NotifierSettings.from_env(env))


def test_parse_channels_defaults_to_info():
    assert parse_channels("Log,SLACK:Critical") == [("log", "info"), ("slack", "critical")]


# ---- end to end: an alert delivered to a real webhook that fails first -----------------------
def test_alert_delivery_survives_a_failing_webhook(migrated_url, httpserver, tmp_path):
    engine = engine_for(migrated_url)
    httpserver.expect_ordered_request("/hook").respond_with_data("boom", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=200)
    n = build_notifier(NotifierSettings(channels="log,webhook", webhook_url=httpserver.url_for("/hook"),
                                        log_path=str(tmp_path / "n.jsonl")))
    s = AlertSpec("sql-analyst", "circuit_open", "critical", "circuit open for sql-analyst", "opened", T0, "test")
    with engine.begin() as conn:
        aid = alerts.raise_alert(conn, s, n.channels_for(s.severity), now=T0).alert_id
    first = alerts.deliver_due(engine, n, T0)
    assert (first.sent, first.failed) == (1, 1) and "answered 500: boom" in first.errors[0]
    second = alerts.deliver_due(engine, n, T0 + timedelta(seconds=30))
    assert (second.sent, second.failed) == (1, 0)
    with engine.connect() as conn:
        got = alerts.get_alert(conn, aid)
    assert {d["channel"]: (d["status"], d["attempts"]) for d in got["deliveries"]} == {
        "log": ("sent", 1), "webhook": ("sent", 2)}
    posted = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert len(posted) == 2 and posted[1]["alert"]["alert_id"] == aid
    assert json.loads((tmp_path / "n.jsonl").read_text())["alert"]["title"] == "circuit open for sql-analyst"
