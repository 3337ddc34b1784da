"""The code location: every capability's Definitions, merged, and every resource bound once.

Resources read their settings from the environment through ``dg.EnvVar`` when a variable is
set (the UI shows the variable, never its value) and fall back to the embedded defaults
(docs/architecture.md, Stores); the library takes them as arguments.
"""

import dagster as dg

from meta_agent import config
from meta_agent_defs.agent_ops import definitions as agent_ops
from meta_agent_defs.alerts import definitions as alerts
from meta_agent_defs.evaluation import definitions as evaluation
from meta_agent_defs.improvement import definitions as improvement
from meta_agent_defs.isolation import definitions as isolation
from meta_agent_defs.resources import (
    ArtifactStore,
    LLMGatewayResource,
    NotifierResource,
    OpsDatabase,
    RepoConfig,
    SandboxResource,
    ScriptFactoryResource,
    from_env,
)
from meta_agent_defs.script_factory import definitions as script_factory
from meta_agent_defs.simulation import definitions as simulation

ops_db = OpsDatabase(url=from_env("META_AGENT_DB_URL", config.db_url()))
artifacts = ArtifactStore(root=from_env("META_AGENT_ARTIFACTS", str(config.artifacts_dir())))
repo_config = RepoConfig(config_dir=from_env("META_AGENT_CONFIG_DIR", str(config.config_dir())),
                         monitoring_file=from_env("META_AGENT_MONITORING_FILE"),
                         scenarios_dir=from_env("META_AGENT_SCENARIOS_DIR", str(config.scenarios_dir())))
llm = LLMGatewayResource(config_path=from_env("META_AGENT_LLM_CONFIG"), ops_db=ops_db)
sandbox = SandboxResource(runner=from_env("META_AGENT_RUNNER", "auto"), docker_host=from_env("DOCKER_HOST"),
                          image=from_env("META_AGENT_SANDBOX_IMAGE"), staging_dir=from_env("META_AGENT_SANDBOX_TMP"),
                          allow_weak_isolation=from_env("META_AGENT_ALLOW_WEAK_ISOLATION", "false"))
notifier = NotifierResource(
    channels=from_env("META_AGENT_NOTIFIERS", "log"),
    log_path=from_env("META_AGENT_ALERT_LOG", str(config.artifacts_dir() / "alerts" / "notifications.jsonl")),
)

# Declarative automation (reports, the registry, the digest, the fleet view follow their inputs).
automation = dg.AutomationConditionSensorDefinition(
    "automation_conditions", target=dg.AssetSelection.all(include_sources=True), minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates every asset's automation condition: SLA reports, the digest and the fleet view "
                "follow the daily run; the execution log is observed hourly.")

defs = dg.Definitions.merge(
    agent_ops.defs,
    alerts.defs,
    script_factory.defs,
    isolation.defs,
    simulation.defs,
    evaluation.defs,
    improvement.defs,
    dg.Definitions(sensors=[automation], resources={
        "ops_db": ops_db, "artifacts": artifacts, "repo_config": repo_config, "llm": llm, "sandbox": sandbox,
        "notifier": notifier,
        "script_factory": ScriptFactoryResource(
            planner=from_env("META_AGENT_PLANNER", "offline"), data_url=from_env("META_AGENT_DATA_URL", config.data_url()),
            llm=llm, sandbox=sandbox, artifacts=artifacts),
    }),
)
