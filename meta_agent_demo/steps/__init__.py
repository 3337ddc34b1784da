"""The demo steps, one per capability, run in order by ``meta_agent_demo.runner``."""
