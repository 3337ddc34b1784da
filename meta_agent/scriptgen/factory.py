"""The script factory, step by step: plan -> generate (or reuse) + validate -> run.

Each step reads what the previous one stored and rewrites its own row for the request, so
the Dagster assets (one per step, partitioned by request) are thin wrappers and every step
can be re-run alone. ``process`` runs all three in-process (tests, benchmarks).

Reuse: a script that validated and ran successfully goes into the library under the
fingerprint of its plan's shape (tools, steps, formats; parameter values abstracted). A new
request with the same fingerprint gets that script with its own parameters instead of a new
one — and says so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent import config
from meta_agent.errors import MetaAgentError
from meta_agent.portfolio import worlds
from meta_agent.portfolio.drivers import describe as describe_drivers
from meta_agent.sandbox import RunLimits, get_runner
from meta_agent.sandbox.policy import check_flag, provenance_of_author
from meta_agent.scriptgen import repository as repo
from meta_agent.scriptgen.derive import shape_description
from meta_agent.scriptgen.generator import render, script_id
from meta_agent.scriptgen.llm_planner import LLMScriptWriter
from meta_agent.scriptgen.planner import Planner, get_planner
from meta_agent.scriptgen.requirements import PlanOutcome, PlanRefusal, ScriptRequirements
from meta_agent.scriptgen.validator import ValidationReport, validate_script


class NotPlanned(MetaAgentError):
    """The request has no plan (refused, or never planned); nothing to generate or run."""


class NotValid(MetaAgentError):
    """The request's script failed validation; it is never run."""


@dataclass
class Generation:
    request_id: str
    script_id: str
    fingerprint: str
    template: str
    author: str
    source: str
    path: str
    reused: bool
    reused_from: str | None
    report: ValidationReport
    duration_ms: float
    message: str

    @property
    def valid(self) -> bool:
        return self.report.valid

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["report"] = self.report.as_dict()
        d.pop("source")
        return d


@dataclass
class ScriptRun:
    request_id: str
    script_id: str
    status: str
    exit_code: int | None
    duration_s: float
    runner: str
    isolation: str
    results_dir: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    message: str = ""
    peak_memory_mb: float | None = None
    stderr_tail: str = ""
    provenance: str = ""  # template | llm | user: from the stored script's author
    guard: bool = False  # run through the runtime guard (meta_agent.tools.guard)
    policy: dict[str, Any] | None = None  # the run policy's decision (meta_agent.sandbox.policy)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def refused(self) -> bool:
        return self.status == "refused"

    def key_figures(self) -> dict[str, Any]:
        return (self.result or {}).get("key_figures") or {}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- plan

def plan_request(engine: sa.Engine, request_id: str, planner: Planner | None = None) -> PlanOutcome:
    """Plan the request and store the plan (or the refusal)."""
    planner = planner or get_planner()
    with engine.connect() as conn:
        req = repo.get_request(conn, request_id)
    outcome = planner.plan(req["text"], req["output_format"])
    with engine.begin() as conn:
        if outcome.ok:
            r = outcome.requirements
            repo.write_plan(conn, request_id, planner=planner.name, requirements=r.model_dump(mode="json"),
                            refusal=None, fingerprint=r.fingerprint(), duration_ms=outcome.duration_ms,
                            attempts=outcome.attempts)
            repo.set_status(conn, request_id, "planned", f"planned: {r.goal}")
        else:
            repo.write_plan(conn, request_id, planner=planner.name, requirements=None,
                            refusal=outcome.refusal.model_dump(mode="json"), fingerprint=None,
                            duration_ms=outcome.duration_ms, attempts=outcome.attempts)
            repo.set_status(conn, request_id, "refused", outcome.refusal.message())
    return outcome


def stored_plan(conn: sa.Connection, request_id: str) -> ScriptRequirements:
    row = repo.read_plan(conn, request_id)
    if row is None:
        raise NotPlanned(f"request {request_id} has not been planned yet; materialize script_plan first.")
    if row["status"] != "planned":
        refusal = PlanRefusal.model_validate(row["refusal"])
        raise NotPlanned(f"request {request_id} was not planned: {refusal.message()}")
    return ScriptRequirements.model_validate(row["requirements"])


# --------------------------------------------------------------------------- places

@dataclass(frozen=True)
class Places:
    """Where the factory keeps scripts and run results, and the business database scripts
    read. The Dagster resources give them (artifacts, the script factory's ``data_url``); the
    command line takes them from the environment (``from_environment``)."""

    scripts_dir: Path
    runs_dir: Path
    data_url: str

    @classmethod
    def under(cls, artifacts: Path, data_url: str) -> Places:
        return cls(Path(artifacts) / "scripts", Path(artifacts) / "script_runs", data_url)

    @property
    def worlds_dir(self) -> Path:
        """Scenario worlds (``meta_agent.portfolio.worlds``), beside the runs."""
        return self.runs_dir.parent / "worlds"

    @property
    def scenario_runs_dir(self) -> Path:
        return self.runs_dir.parent / "scenario_runs"

    @classmethod
    def from_environment(cls) -> Places:
        """``META_AGENT_ARTIFACTS`` and ``META_AGENT_DATA_URL`` (see ``meta_agent.config``)."""
        return cls.under(config.artifacts_dir(), config.data_url())


# ------------------------------------------------------------------------- generate

def generate_script(engine: sa.Engine, request_id: str, *, places: Places | None = None, author: str = "template",
                    writer=None) -> Generation:
    """Reuse the library's script for this shape, or render a new one; validate; store it
    under ``places.scripts_dir`` (default: the environment's places).

    ``author="llm"`` asks ``writer`` (an ``LLMScriptWriter``) for the script body instead of
    the templates; the same validator judges it.
    """
    t0 = time.perf_counter()
    with engine.connect() as conn:
        req = stored_plan(conn, request_id)
        fingerprint = req.fingerprint()
        entry = repo.library_entry(conn, fingerprint)
        stored = repo.get_script(conn, entry["script_id"]) if entry else None
    reused = bool(stored and entry["first_request_id"] != request_id)
    if reused:
        source, template, author_used = stored["source"], stored["template"], stored["author"]
        message = (f"reused script {stored['script_id']} from request {entry['first_request_id']} "
                   f"(same shape: {entry['description']}) with this request's parameters")
    elif author == "llm":
        if writer is None:
            writer = LLMScriptWriter()
        source = writer.write(req)
        template, author_used = req.template, "llm"
        message = f"script written by the model for: {req.goal}"
    else:
        source, template, author_used = render(req), req.template, "template"
        message = f"new script from the {template} template for: {req.goal}"
    report = validate_script(source)
    sid = script_id(source)
    path = (places or Places.from_environment()).scripts_dir / f"{sid}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(source, encoding="utf-8")
    duration_ms = (time.perf_counter() - t0) * 1000
    if not report.valid:
        message = f"{message}; INVALID: {report.summary()}"
        if reused:
            message += "; the script is removed from the library (the next request of this shape gets a new one)"
    with engine.begin() as conn:
        repo.save_script(conn, {"script_id": sid, "fingerprint": fingerprint, "template": template,
                                "author": author_used, "source": source, "path": str(path), "valid": report.valid,
                                "validation": report.as_dict(), "first_request_id": request_id,
                                "created_at": repo.now()})
        repo.write_generation(conn, {"request_id": request_id, "script_id": sid, "fingerprint": fingerprint,
                                     "reused": reused, "reused_from": entry["first_request_id"] if reused else None,
                                     "valid": report.valid, "errors": len(report.errors),
                                     "duration_ms": duration_ms, "generated_at": repo.now()})
        if reused and report.valid:
            repo.library_record_reuse(conn, fingerprint)
        elif reused:
            repo.library_remove(conn, fingerprint)
        repo.set_status(conn, request_id, "generated" if report.valid else "invalid", message)
    return Generation(request_id, sid, fingerprint, template, author_used, source, str(path), reused,
                      entry["first_request_id"] if reused else None, report, duration_ms, message)


def stored_generation(conn: sa.Connection, request_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    gen = repo.read_generation(conn, request_id)
    if gen is None:
        raise NotPlanned(f"request {request_id} has no generated script yet; materialize generated_script first.")
    script = repo.get_script(conn, gen["script_id"])
    return gen, script


# ------------------------------------------------------------------------------ run

def runtime_data(url: str) -> tuple[tuple[Path, ...], dict[str, str]]:
    """The portfolio database ``url`` for a sandboxed script: a SQLite file is mounted
    read-only (every runner exposes it under its own ``META_AGENT_DATA_DIR``; ``config.data_url``
    finds it there by the name given here); any other database is passed by URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return (), {"META_AGENT_DATA_URL": url}
    path = Path(parsed.database).resolve()
    return (path,), {"META_AGENT_DATA_FILE": path.name}


def results_dir_for(runs_dir: Path, request_id: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return Path(runs_dir) / request_id / stamp


# Who may ask for weak isolation on the request itself (``meta-agent request --allow-weak-isolation``
# records it): a person at this machine's command line. A drop-folder file's metadata never can.
WEAK_ISOLATION_SOURCES = ("cli",)


def request_allows_weak_isolation(request: dict[str, Any]) -> bool:
    """Whether the request carries the command line's ``--allow-weak-isolation``."""
    flag = (request.get("metadata") or {}).get("allow_weak_isolation")
    return request.get("source") in WEAK_ISOLATION_SOURCES and flag is True


def execute_script(engine: sa.Engine, request_id: str, runner=None, *, data_url: str, results_dir: Path,
                   limits=None, on_output=None, allow_weak_isolation: bool = False) -> ScriptRun:
    """Run the request's validated script through the sandbox runner against the portfolio
    database ``data_url`` (the real one, or a scenario world), its results in ``results_dir``;
    store nothing. The run policy and the guard apply as in ``run_script``."""
    check_flag(allow_weak_isolation, "allow_weak_isolation")
    with engine.connect() as conn:
        req = stored_plan(conn, request_id)
        gen, script = stored_generation(conn, request_id)
        request = repo.get_request(conn, request_id)
    if not gen["valid"]:
        raise NotValid(f"request {request_id}'s script {gen['script_id']} failed validation; it is not run.")
    runner = runner or get_runner()
    provenance = provenance_of_author(script.get("author")).value
    allow = allow_weak_isolation or request_allows_weak_isolation(request)
    data_files, env = runtime_data(data_url)
    result = runner.run(script["source"], req.script_params(), limits or RunLimits(), results_dir=results_dir,
                        data_files=data_files, env=env, on_output=on_output, provenance=provenance,
                        allow_weak_isolation=allow, guard=True)
    rj = result.result_json if isinstance(result.result_json, dict) else None
    status = result.status
    if status == "succeeded" and (rj is None or rj.get("status") not in ("succeeded", "no_data")):
        status = "failed"  # exit 0 without a good result.json is not a success
    message = result.message
    if rj and rj.get("error"):
        message = f"{message} The script says: {rj['error']}"
    elif rj and rj.get("status") == "no_data":
        message = f"{message} No data: {rj.get('message')}"
    outputs = [{"path": o.path, "size_bytes": o.size_bytes, "format": o.format} for o in result.outputs]
    return ScriptRun(request_id=request_id, script_id=gen["script_id"], status=status, exit_code=result.exit_code,
                     duration_s=result.duration_s, runner=result.runner, isolation=result.isolation or "",
                     results_dir=result.results_dir, outputs=outputs, result=rj, message=message,
                     peak_memory_mb=result.peak_memory_mb, stderr_tail=result.stderr[-4000:],
                     provenance=provenance, guard=bool(result.details.get("guard")),
                     policy=result.details.get("policy"))


def run_script(engine: sa.Engine, request_id: str, runner=None, *, places: Places | None = None, limits=None,
               dagster_run_id: str | None = None, on_output=None, allow_weak_isolation: bool = False) -> ScriptRun:
    """Run the request's validated script through the sandbox runner, its results under
    ``places.runs_dir``, reading ``places.data_url``; store the run; on success keep the script
    in the library.

    A plan with ``drivers`` (an assumption the request states: "if rates rise 200 bp") runs its
    script on that scenario's world (``meta_agent.portfolio.worlds``), and the run's message
    says so.

    The script runs through the runtime guard, with the provenance of its author (``template``,
    ``llm``, else ``user``): under ``local:rlimits`` an llm-written script is refused before it
    starts (request and run status ``refused``, the sentence saying how to get stronger
    isolation) unless ``allow_weak_isolation`` (the sandbox resource's) or the request's own
    ``--allow-weak-isolation``. The decision is stored with the run (``repo.write_run``)."""
    places = places or Places.from_environment()
    with engine.connect() as conn:
        req = stored_plan(conn, request_id)
        gen, _ = stored_generation(conn, request_id)
    started = repo.now()
    data_url = places.data_url
    if req.drivers:  # the request states an assumption: its script reads that scenario's world
        data_url = config.sqlite_url(worlds.write_world(req.drivers, places.worlds_dir, places.data_url))
    run = execute_script(engine, request_id, runner, data_url=data_url,
                         results_dir=results_dir_for(places.runs_dir, request_id), limits=limits,
                         on_output=on_output, allow_weak_isolation=allow_weak_isolation)
    status, message, rj, outputs, policy = run.status, run.message, run.result, run.outputs, run.policy
    if req.drivers:
        message = f"under the assumed scenario ({describe_drivers(req.drivers)}): {message}"
        run.message = message
    with engine.begin() as conn:
        repo.write_run(conn, {
            "request_id": request_id, "script_id": run.script_id, "dagster_run_id": dagster_run_id,
            "status": status, "exit_code": run.exit_code, "duration_s": run.duration_s,
            "peak_memory_mb": run.peak_memory_mb, "runner": run.runner[:64], "isolation": run.isolation,
            "results_dir": run.results_dir, "params": req.script_params(), "outputs": outputs, "result": rj,
            "policy": policy, "message": message, "started_at": started, "finished_at": repo.now()})
        if run.ok:
            repo.library_record_success(conn, fingerprint=gen["fingerprint"], script_id=gen["script_id"],
                                        description=shape_description(req), shape=req.shape(),
                                        request_id=request_id)
        repo.set_status(conn, request_id, "succeeded" if run.ok else "refused" if run.refused else "failed", message)
    return run


# -------------------------------------------------------------------------- all three

def process(engine: sa.Engine, request_id: str, *, planner: Planner | None = None, runner=None,
            places: Places | None = None, execute: bool = True) -> dict[str, Any]:
    """Plan, generate/validate and (when valid and ``execute``) run one request, in-process."""
    outcome = plan_request(engine, request_id, planner)
    out: dict[str, Any] = {"request_id": request_id, "plan": outcome.model_dump(mode="json")}
    if not outcome.ok:
        out["status"] = "refused"
        return out
    gen = generate_script(engine, request_id, places=places)
    out["generation"] = gen.as_dict()
    if not gen.valid:
        out["status"] = "invalid"
        return out
    if execute:
        run = run_script(engine, request_id, runner, places=places)
        out["run"] = run.as_dict()
        out["status"] = run.status
    else:
        out["status"] = "generated"
    return out


# ------------------------------------------------------------------------- describe

def describe_request(conn: sa.Connection, request_id: str) -> dict[str, Any]:
    """Everything stored about a request, for the CLI: request, plan, script, run."""
    req = repo.get_request(conn, request_id)
    out: dict[str, Any] = {"request_id": request_id, "text": req["text"], "status": req["status"],
                           "message": req["message"], "source": req["source"],
                           "submitted_at": req["submitted_at"].isoformat(), "plan": None, "script": None, "run": None}
    plan = repo.read_plan(conn, request_id)
    if plan:
        if plan["status"] == "planned":
            r = ScriptRequirements.model_validate(plan["requirements"])
            out["plan"] = {"status": "planned", "planner": plan["planner"], "goal": r.goal, "template": r.template,
                           "tools": r.tools, "parameters": r.script_params(), "fingerprint": plan["fingerprint"],
                           "steps": [f"{s.n}. {s.description}" + (f" [{s.tool}]" if s.tool else "") for s in r.steps],
                           "assumptions": r.assumptions, "drivers": r.drivers,
                           "scenario": describe_drivers(r.drivers) if r.drivers else None,
                           "unhandled": r.unhandled}
        else:
            refusal = PlanRefusal.model_validate(plan["refusal"])
            out["plan"] = {"status": "refused", "planner": plan["planner"], "reason": refusal.reason,
                           "hint": refusal.hint, "closest_tools": [t.name for t in refusal.closest_tools]}
    gen = repo.read_generation(conn, request_id)
    if gen:
        script = repo.get_script(conn, gen["script_id"]) or {}
        validation = script.get("validation") or {}
        out["script"] = {"script_id": gen["script_id"], "path": script.get("path"), "valid": gen["valid"],
                         "reused": gen["reused"], "reused_from": gen["reused_from"], "template": script.get("template"),
                         "author": script.get("author"), "errors": validation.get("errors", [])}
    run = repo.read_run(conn, request_id)
    if run:
        result = run["result"] or {}
        out["run"] = {"status": run["status"], "runner": run["runner"], "isolation": run["isolation"],
                      "duration_s": run["duration_s"], "exit_code": run["exit_code"], "message": run["message"],
                      "results_dir": run["results_dir"],
                      "outputs": [f"{run['results_dir']}/{o['path']}" for o in run["outputs"] or []],
                      "result_status": result.get("status"), "metrics": result.get("metrics", []),
                      "key_figures": result.get("key_figures"),
                      "notes": result.get("notes", []), "policy": run.get("policy")}
    return out
