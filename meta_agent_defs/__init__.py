"""The Dagster layer of meta-agent: thin, declarative, and built on ``meta_agent``."""
