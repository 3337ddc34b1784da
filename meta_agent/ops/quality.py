"""Data quality of the daily execution slice: a great-expectations (GX Core 1.x) suite.

The suite (``EXPECTATIONS``) checks the required columns, non-null values, allowed
statuses, non-negative latency/tokens/cost, ``ended_at >= started_at`` and non-blank agent
ids. An agent seen for the first time is *registered*, not rejected.

Every execution that fails an expectation is recorded in ``execution_rejections`` (one row
per failed expectation) and left out of the metrics; the per-expectation counts and examples
go to ``data_quality_results``. Both are rewritten per day, so a re-run is idempotent.

The ops store's ingest already refuses records that break the contract; the suite is the
second line of defence against rows written around it (SQL, other tools, old data).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from meta_agent.ops import frames, retention
from meta_agent.store.executions import register_agents
from meta_agent.store.schema import EXECUTION_STATUSES
from meta_agent.store.schema_ops_metrics import data_quality_results, execution_rejections

REQUIRED_COLUMNS = ("execution_id", "agent_id", "started_at", "ended_at", "status", "latency_ms",
                    "tokens_in", "tokens_out", "cost_usd")
NON_NEGATIVE = ("latency_ms", "tokens_in", "tokens_out", "cost_usd")
TABLE_EXPECTATION = "expect_table_columns_to_match_set"
MAX_EXAMPLES = 5
SUITE_NAME = "daily_execution_slice"


def _expectations() -> list:
    import great_expectations.expectations as gxe

    exps = [gxe.ExpectTableColumnsToMatchSet(column_set=list(REQUIRED_COLUMNS), exact_match=False)]
    exps += [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in REQUIRED_COLUMNS]
    exps.append(gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(EXECUTION_STATUSES)))
    exps += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in NON_NEGATIVE]
    exps.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ended_at", column_B="started_at",
                                                            or_equal=True))
    exps.append(gxe.ExpectColumnValuesToMatchRegex(column="agent_id", regex=r"\S"))
    return exps


def expectation_name(cfg) -> str:
    """``expect_column_values_to_be_in_set(status)``: the type and the column(s) it checks."""
    kw = cfg.kwargs
    cols = [kw[k] for k in ("column", "column_A", "column_B") if kw.get(k)]
    return f"{cfg.type}({', '.join(cols)})" if cols else cfg.type


@dataclass
class ExpectationResult:
    expectation: str
    success: bool
    unexpected_count: int
    examples: list[dict] = field(default_factory=list)
    error: str | None = None


@dataclass
class QualityOutcome:
    rows_checked: int
    results: list[ExpectationResult]
    rejections: list[dict]  # {execution_id, agent_id, expectation, detail}

    @property
    def rejected_ids(self) -> set[str]:
        return {r["execution_id"] for r in self.rejections}

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    def failing(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]


class ExecutionSuite:
    """The suite on an ephemeral GX context with a pandas data source; build once, validate
    many slices."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self._ctx = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        ))
        asset = self._ctx.data_sources.add_pandas("ops_db").add_dataframe_asset("executions")
        self._batches = asset.add_batch_definition_whole_dataframe("daily_slice")
        suite = gx.ExpectationSuite(name=SUITE_NAME)
        for e in _expectations():
            suite.add_expectation(e)
        self.suite = self._ctx.suites.add(suite)

    def validate(self, df: pd.DataFrame) -> QualityOutcome:
        """Validate one slice; every row failing an expectation becomes a rejection."""
        if "execution_id" not in df.columns:
            raise ValueError("the slice needs an execution_id column to say which rows failed")
        batch = self._batches.get_batch(batch_parameters={"dataframe": df})
        res = batch.validate(self.suite, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": ["execution_id"]})
        agent_of = dict(zip(df["execution_id"], df["agent_id"], strict=True)) if "agent_id" in df else {}
        results: list[ExpectationResult] = []
        rejections: list[dict] = []
        for r in res.results:
            name = expectation_name(r.expectation_config)
            if r.success:
                results.append(ExpectationResult(name, True, 0))
                continue
            exc = (r.exception_info or {}).get("exception_message") if r.exception_info else None
            if r.expectation_config.type == TABLE_EXPECTATION or exc:
                # a missing column (or a check that could not run) condemns the whole slice
                missing = sorted(set(REQUIRED_COLUMNS) - set(df.columns))
                detail = f"missing columns {missing}" if missing else (exc or "could not be evaluated")
                ids = list(df["execution_id"])
                rejections += [{"execution_id": i, "agent_id": agent_of.get(i), "expectation": name,
                                "detail": detail} for i in ids]
                results.append(ExpectationResult(name, False, len(ids), [{"detail": detail}], error=exc))
                continue
            found = r.result.get("unexpected_index_list") or []
            examples = []
            for item in found:
                values = {k: _plain(v) for k, v in item.items() if k != "execution_id"}
                detail = ", ".join(f"{k}={v!r}" for k, v in values.items())
                rejections.append({"execution_id": item["execution_id"],
                                   "agent_id": agent_of.get(item["execution_id"]),
                                   "expectation": name, "detail": detail})
                if len(examples) < MAX_EXAMPLES:
                    examples.append({"execution_id": item["execution_id"], **values})
            results.append(ExpectationResult(name, False, int(r.result.get("unexpected_count") or len(found)),
                                             examples))
        # (execution, expectation) is the key: a row failing two checks is two rejections
        unique = {(x["execution_id"], x["expectation"]): x for x in rejections}
        return QualityOutcome(rows_checked=len(df), results=results, rejections=list(unique.values()))


def _plain(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


@dataclass
class DayQuality:
    day: date
    rows_checked: int = 0
    rows_rejected: int = 0
    new_agents: int = 0
    results: list[dict] = field(default_factory=list)
    skipped: str | None = None

    @property
    def success(self) -> bool:
        return self.rows_rejected == 0

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(), "rows_checked": self.rows_checked,
                "rows_rejected": self.rows_rejected, "new_agents": self.new_agents,
                "failing": [r for r in self.results if not r["success"]], "skipped": self.skipped}


def validate_day(engine: sa.Engine, day: date, suite: ExecutionSuite | None = None) -> DayQuality:
    """Check the day's slice, register first-seen agents, and replace the day's rejections
    and quality result (one transaction)."""
    suite = suite or ExecutionSuite()
    with engine.begin() as conn:
        frames.lock_day(conn, "execution_rejections", day)
        cutoff = retention.pruned_before(conn)
        if cutoff is not None and frames.day_bounds(day)[1] <= cutoff:
            return DayQuality(day, skipped=f"raw executions pruned before {cutoff:%Y-%m-%d}; result kept")
        df = frames.read_day(conn, day)
        outcome = suite.validate(_naive_utc(df).to_pandas()) if df.height else QualityOutcome(0, [], [])
        new_agents = _register_agents(conn, df, outcome.rejected_ids)
        now = datetime.now(UTC)
        results = [{"expectation": r.expectation, "success": r.success,
                    "unexpected_count": r.unexpected_count, "examples": r.examples} for r in outcome.results]
        rejected = len(outcome.rejected_ids)
        conn.execute(execution_rejections.delete().where(execution_rejections.c.day == day))
        if outcome.rejections:
            conn.execute(execution_rejections.insert(),
                         [{**r, "day": day, "checked_at": now} for r in outcome.rejections])
        conn.execute(data_quality_results.delete().where(data_quality_results.c.day == day))
        conn.execute(data_quality_results.insert().values(
            day=day, rows_checked=outcome.rows_checked, rows_rejected=rejected,
            success=rejected == 0, results=results, checked_at=now))
    return DayQuality(day, outcome.rows_checked, rejected, new_agents, results)


def _naive_utc(df):
    """Timestamps as naive UTC for GX (its pandas metrics drop the zone with a warning)."""
    import polars as pl

    return df.with_columns(pl.col(c).dt.replace_time_zone(None) for c in ("started_at", "ended_at") if c in df.columns)


def _register_agents(conn: sa.Connection, df, rejected: set[str]) -> int:
    """Agents in the valid rows that the registry does not know yet (rows written around
    the SDK) are registered, never rejected."""
    import polars as pl

    if df.is_empty():
        return 0
    valid = df.filter(~pl.col("execution_id").is_in(list(rejected))) if rejected else df
    spans = valid.group_by("agent_id").agg(pl.col("started_at").min().alias("lo"),
                                          pl.col("started_at").max().alias("hi"))
    rows = [{"agent_id": r["agent_id"], "started_at": t} for r in spans.to_dicts() for t in (r["lo"], r["hi"])]
    return register_agents(conn, rows)


def rejections_for_day(conn: sa.Connection, day: date) -> list[dict]:
    q = (sa.select(execution_rejections).where(execution_rejections.c.day == day)
         .order_by(execution_rejections.c.execution_id, execution_rejections.c.expectation))
    return [dict(r._mapping) for r in conn.execute(q)]


def quality_for_day(conn: sa.Connection, day: date) -> dict | None:
    row = conn.execute(sa.select(data_quality_results).where(data_quality_results.c.day == day)).first()
    return dict(row._mapping) if row else None
