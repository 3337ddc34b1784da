"""Assets, one module per capability (agent_ops, script_factory, simulation, evaluation)."""
