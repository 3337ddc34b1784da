"""Agent operations: metrics, SLA, health, circuit breakers, alerting."""
