"""meta-agent: the library behind the Dagster platform for teams that run LLM agents.

Plain Python: nothing under ``meta_agent`` imports Dagster (a test enforces it).
"""

__version__ = "0.1.0"
