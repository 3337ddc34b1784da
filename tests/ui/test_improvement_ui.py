"""Approving and rejecting a proposal from the Dagster UI: the ``proposal_decision`` job is
launched through the running webserver's GraphQL API (what the Launchpad's button sends), the
daemon dequeues it, and ``workflow.decide`` — the function the CLI calls — changes the proposal
and writes the audit trail. A bad id, a wrong state and a config without a reason are refused
with their message and change nothing; the Launchpad page shows the typed config in Chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from uihelpers import ROOT, screenshot

from meta_agent.improvement import workflow
from meta_agent.improvement.model import Proposal

pytestmark = pytest.mark.slow
DAEMON = Path(sys.executable).parent / "dagster-daemon"
SELECTOR = {"repositoryLocationName": "meta_agent_defs", "repositoryName": "__repository__",
            "jobName": "proposal_decision"}
LAUNCH = """mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message }
  }
}"""
STATUS = """query Status($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { status } }
  logsForRun(runId: $runId) {
    ... on EventConnection { events { __typename ... on ExecutionStepFailureEvent { error { message } } } }
  }
}"""


def _proposal(agent: str, version: str) -> Proposal:
    return Proposal(
        kind="prompt_rollback", agent_id=agent, agents=[agent], category="prompt",
        title=f"roll {agent}'s system prompt back from {version} to v3", summary="p95 latency tripled with the new version",
        change={"prompt": "system", "label": "production", "from_version": version, "to_version": "v3"},
        expected={"metric": "latency_p95_ms", "unit": "ms", "current": 90_000.0, "expected": 30_000.0,
                  "effect": -60_000.0, "ci_low": -66_000.0, "ci_high": -54_000.0, "confidence_level": 0.95,
                  "method": "bootstrap of the p95 difference, v3 vs " + version, "n_current": 900, "n_reference": 1800},
        risk="medium", confidence=0.9, blast_radius={"traffic_share": 0.12, "agents": [agent], "executions_per_day": 300},
        rollback_plan=f"move production back to {version}", priority=1.0,
        evidence={"finding_ids": ["f-1"], "execution_ids": ["e-1"], "category": "prompt"})


@pytest.fixture(scope="module")
def daemon(project_server):
    """dagster-daemon on the server's home: the queued runs the webserver launches start."""
    home = project_server.home
    log = open(home.path / "daemon.log", "wb")  # noqa: SIM115 — closed below
    proc = subprocess.Popen([str(DAEMON), "run", "-w", "workspace.yaml"], cwd=ROOT, env={**os.environ, **home.env()},
                            stdout=log, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def proposals(project_server):
    url = project_server.home.db_url
    engine = sa.create_engine(url)
    made = [_proposal("ui-agent-a", "v4"), _proposal("ui-agent-b", "v5")]
    with engine.begin() as conn:
        workflow.upsert(conn, made, day=date(2026, 11, 30))
    engine.dispose()
    return url, [p.proposal_id for p in made]


def launch(server, config: dict) -> dict:
    params = {"selector": SELECTOR, "runConfigData": {"ops": {"decide_proposal": {"config": config}}}}
    return server.graphql(LAUNCH, {"params": params})["launchRun"]


def wait_for(server, run_id: str, timeout: float = 240) -> tuple[str, list[str]]:
    deadline = time.time() + timeout
    while True:
        data = server.graphql(STATUS, {"runId": run_id})
        status = data["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            errors = [e["error"]["message"] for e in data["logsForRun"]["events"]
                      if e["__typename"] == "ExecutionStepFailureEvent"]
            return status, errors
        assert time.time() < deadline, f"run {run_id} still {status} after {timeout} s (is the daemon up?)"
        time.sleep(1)


def _state(url: str, pid: str) -> tuple[str, list[dict]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = workflow.get(conn, pid)
    engine.dispose()
    return row["state"], row["events"]


def test_approve_and_reject_from_the_dagster_ui(project_server, daemon, proposals, page):
    url, (first, second) = proposals
    ok = launch(project_server, {"proposal_id": first, "decision": "approve", "reviewer": "ana",
                                 "reason": "the v3 latency is the agent's own baseline"})
    assert ok["__typename"] == "LaunchRunSuccess", ok
    assert wait_for(project_server, ok["run"]["runId"]) == ("SUCCESS", [])
    state, events = _state(url, first)
    assert state == "approved"
    assert (events[-1]["actor"], events[-1]["reason"]) == ("ana", "the v3 latency is the agent's own baseline")

    no = launch(project_server, {"proposal_id": second, "decision": "reject", "reviewer": "bo",
                                 "reason": "v5 carries a fix we need"})
    assert wait_for(project_server, no["run"]["runId"])[0] == "SUCCESS"
    assert _state(url, second)[0] == "rejected"

    # the bad cases: each refused with its sentence, nothing changed
    before = {pid: _state(url, pid) for pid in (first, second)}
    unknown = launch(project_server, {"proposal_id": "prop-000000000000", "decision": "approve", "reviewer": "ana",
                                      "reason": "x"})
    status, errors = wait_for(project_server, unknown["run"]["runId"])
    assert status == "FAILURE" and any("prop-000000000000" in e and "no proposal" in e.lower() for e in errors), errors
    wrong = launch(project_server, {"proposal_id": second, "decision": "approve", "reviewer": "ana", "reason": "x"})
    status, errors = wait_for(project_server, wrong["run"]["runId"])
    assert status == "FAILURE" and any("rejected" in e for e in errors), errors
    blank = launch(project_server, {"proposal_id": first, "decision": "reject", "reviewer": "ana", "reason": "  "})
    status, errors = wait_for(project_server, blank["run"]["runId"])
    assert status == "FAILURE" and any("reason" in e for e in errors), errors
    missing = launch(project_server, {"proposal_id": first, "decision": "approve", "reviewer": "ana"})
    assert missing["__typename"] == "RunConfigValidationInvalid"
    assert any("reason" in e["message"] for e in missing["errors"]), missing
    bad_choice = launch(project_server, {"proposal_id": first, "decision": "maybe", "reviewer": "ana", "reason": "x"})
    assert bad_choice["__typename"] == "RunConfigValidationInvalid"
    assert {pid: _state(url, pid) for pid in (first, second)} == before

    # the Launchpad a person uses: it knows the typed config and says what is missing, field by field
    page.goto(f"{project_server.url}/locations/meta_agent_defs/jobs/proposal_decision/playground")
    page.get_by_text('Missing required config entry "ops"').first.wait_for(timeout=60_000)
    text = page.inner_text("body")
    screenshot(page, "proposal_decision-launchpad")
    example = text[text.index('Missing required config entry "ops"'):][:400]
    assert all(f"'{f}'" in example for f in ("proposal_id", "decision", "reviewer", "reason")), example
    assert "'approve'" in example  # the decision is a choice, not free text
