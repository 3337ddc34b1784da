"""Resources: ConfigurableResources wrapping meta_agent objects, bound once in definitions.py."""

from meta_agent_defs.resources.artifacts import ArtifactStore
from meta_agent_defs.resources.env import from_env
from meta_agent_defs.resources.llm import LLMGatewayResource, LLMMode
from meta_agent_defs.resources.notifier import (
           EmailChannel,
           NotifierResource,
           SlackChannel,
           WebhookChannel,
)
from meta_agent_defs.resources.ops_db import OpsDatabase
from meta_agent_defs.resources.repo_config import RepoConfig
from meta_agent_defs.resources.sandbox import RunnerKind, SandboxResource
from meta_agent_defs.resources.script_factory import (
           PlannerKind,
           ScriptAuthor,
           ScriptFactoryResource,
)

__all__ = ["ArtifactStore", "EmailChannel", "SlackChannel", "WebhookChannel", "LLMGatewayResource", "LLMMode", "NotifierResource", "OpsDatabase", "PlannerKind",
           "RepoConfig", "RunnerKind", "SandboxResource", "ScriptAuthor", "ScriptFactoryResource", "from_env"]
