"""Jobs and schedules, one module per capability."""
