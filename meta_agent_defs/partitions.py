"""Partitions shared by every capability (docs/architecture.md, Partitions).

Daily partitions start on the first UTC day the ops database has data for
(``meta_agent.store.calendar``), read once when the code location loads — so a new install
shows the days it has, not a year of "missing". ``META_AGENT_DAILY_START=YYYY-MM-DD`` pins the
start (deployments that backfill history set it); with no data yet the partitions cover the
last 30 days.
"""

import os
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from meta_agent import config
from meta_agent.errors import ConfigError
from meta_agent.store.calendar import first_day_on_record

DAILY_START_ENV = "META_AGENT_DAILY_START"
EMPTY_HISTORY_DAYS = 30


def daily_start() -> date:
    pinned = os.environ.get(DAILY_START_ENV, "").strip()
    if pinned:
        try:
            return date.fromisoformat(pinned)
        except ValueError:
            raise ConfigError(f"{DAILY_START_ENV}={pinned!r} is not a date; use YYYY-MM-DD, "
                              "e.g. 2026-01-01, or unset it to start where the data starts.") from None
    today = datetime.now(UTC).date()
    return first_day_on_record(config.db_url()) or today - timedelta(days=EMPTY_HISTORY_DAYS)


# One partition per UTC day (a day closes at midnight UTC): the daily slices, metrics, SLA,
# data-quality and digest assets.
daily_partitions = dg.DailyPartitionsDefinition(start_date=daily_start().isoformat(), timezone="UTC")

# One partition per script request (its id); the request sensor adds them.
script_request_partitions = dg.DynamicPartitionsDefinition(name="script_requests")

# One partition per scenario; synced from scenarios/*.yaml and the DB (scenario simulation).
scenario_partitions = dg.DynamicPartitionsDefinition(name="scenarios")

# request × scenario: a batch simulation is a backfill over this grid.
request_scenario_partitions = dg.MultiPartitionsDefinition(
    {"request": script_request_partitions, "scenario": scenario_partitions}
)

# One partition per ISO week (Monday 00:00 UTC to the next Monday), from the Monday on or before
# the first daily partition; the current week is a partition too (``end_offset=1``): its report
# is "week to date" until Sunday closes it.
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=(daily_start() - timedelta(days=daily_start().weekday())).isoformat(), day_offset=1,
    timezone="UTC", end_offset=1)
