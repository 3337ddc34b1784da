"""Agent operations: execution log, registry, daily metrics, data quality, SLAs, reports."""
