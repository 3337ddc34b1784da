"""Partitions shared by every asset group (see DESIGN.md, Partitions)."""

import dagster as dg

# One partition per UTC day: execution-log slices, metrics, SLA, health roll-ups, evaluation.
daily_partitions = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=0)

# One partition per script request (id); added by the request sensor.
script_request_partitions = dg.DynamicPartitionsDefinition(name="script_requests")

# One partition per scenario; synced from scenarios/*.yaml and the DB.
scenario_partitions = dg.DynamicPartitionsDefinition(name="scenarios")

# request × scenario: a batch simulation is a backfill over this grid.
request_scenario_partitions = dg.MultiPartitionsDefinition(
    {"request": script_request_partitions, "scenario": scenario_partitions}
)
