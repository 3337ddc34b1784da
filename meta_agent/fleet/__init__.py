"""The demo fleet: realistic synthetic executions, with incidents to find."""

from meta_agent.fleet.incidents import KINDS, Incident, default_incidents, parse_incident
from meta_agent.fleet.profiles import CATALOG, AgentProfile, fleet
from meta_agent.fleet.simulate import FleetSpec, estimate_count, simulate

__all__ = ["CATALOG", "KINDS", "AgentProfile", "FleetSpec", "Incident", "default_incidents",
           "estimate_count", "fleet", "parse_incident", "simulate"]
