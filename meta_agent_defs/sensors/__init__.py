"""Sensors: one module per concern (health, SLA/data-quality alerts, run failures, ...)."""
