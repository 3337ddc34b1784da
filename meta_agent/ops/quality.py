"""Data quality of the daily execution slice: a great-expectations (GX Core 1.x) suite,
evaluated in the database.

The suite (``SUITE``, plain data in GX's configuration shape) checks the required columns,
non-null values, allowed statuses, non-negative latency/tokens/cost, ``ended_at >=
started_at`` and non-blank agent ids. It is defined once, here; two engines evaluate it:

- ``validate_day`` (the daily asset): pushed down into SQL (``pushdown.py``) — one scan of the
  day returns only the rows that may fail an expectation, and ``evaluate_frame`` decides them
  exactly with GX's semantics (nulls and NaN skipped by value checks, NaN counted as null,
  a pair failing when one side is missing, regexes with Python's ``re``), so the rejected
  rows, counts, examples and details are what GX reports. Nothing else is read.
- ``ExecutionSuite.validate(pandas_df)``: GX itself, on a pandas data source — the reference
  the tests hold the pushdown to, and the way to check a slice that is not in the database.

An agent seen for the first time is *registered*, not rejected. Every execution that fails
an expectation is recorded in ``execution_rejections`` (one row per failed expectation) and
left out of the metrics; the per-expectation counts and examples go to
``data_quality_results``. Both are rewritten per day, so a re-run is idempotent.

The ops store's ingest already refuses records that break the contract; the suite is the
second line of defence against rows written around it (SQL, other tools, old data).
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd
import polars as pl
import sqlalchemy as sa

from meta_agent.ops import frames, pushdown, retention
from meta_agent.store.executions import register_agents
from meta_agent.store.schema import EXECUTION_STATUSES
from meta_agent.store.schema_ops_metrics import data_quality_results, execution_rejections

REQUIRED_COLUMNS = ("execution_id", "agent_id", "started_at", "ended_at", "status", "latency_ms",
                    "tokens_in", "tokens_out", "cost_usd")
NON_NEGATIVE = ("latency_ms", "tokens_in", "tokens_out", "cost_usd")
TABLE_EXPECTATION = "expect_table_columns_to_match_set"
MAX_EXAMPLES = 5
SUITE_NAME = "daily_execution_slice"


@dataclass(frozen=True)
class Expectation:
    """One expectation of the suite, in GX's configuration shape (``type`` + ``kwargs``)."""

    type: str
    kwargs: dict

    @property
    def gx_class(self) -> str:
        """``expect_column_values_to_not_be_null`` → ``ExpectColumnValuesToNotBeNull``."""
        return "".join(part.capitalize() for part in self.type.split("_"))


# The suite, in the order it is defined (GX reports results grouped by column: see gx_order).
SUITE: tuple[Expectation, ...] = (
    Expectation(TABLE_EXPECTATION, {"column_set": list(REQUIRED_COLUMNS), "exact_match": False}),
    *(Expectation("expect_column_values_to_not_be_null", {"column": c}) for c in REQUIRED_COLUMNS),
    Expectation("expect_column_values_to_be_in_set", {"column": "status", "value_set": list(EXECUTION_STATUSES)}),
    *(Expectation("expect_column_values_to_be_between", {"column": c, "min_value": 0}) for c in NON_NEGATIVE),
    Expectation("expect_column_pair_values_a_to_be_greater_than_b",
                {"column_A": "ended_at", "column_B": "started_at", "or_equal": True}),
    Expectation("expect_column_values_to_match_regex", {"column": "agent_id", "regex": r"\S"}),
)


def _expectations(expectations: Sequence[Expectation] = SUITE) -> list:
    """The suite as GX expectation objects."""
    import great_expectations.expectations as gxe  # heavy (~2 s): only the GX engine needs it

    return [getattr(gxe, e.gx_class)(**e.kwargs) for e in expectations]


def gx_order(expectations: Sequence[Expectation] = SUITE) -> list[Expectation]:
    """The order GX evaluates and reports a suite in: grouped by the ``column`` argument in
    order of first appearance, expectations without one (table, column pairs) as one group
    (``Validator.process_expectations_for_validation``)."""
    groups: dict[str | None, list[Expectation]] = {}
    for e in expectations:
        col = e.kwargs.get("column")
        groups.setdefault(col if isinstance(col, str) else None, []).append(e)
    return [e for g in groups.values() for e in g]


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
    """The suite and its two engines: ``check_day`` (pushed down into the ops DB, what
    ``validate_day`` runs) and ``validate`` (GX on a pandas data source, the reference).
    Cheap to build: the GX context is created on the first ``validate``."""

    def __init__(self, expectations: Sequence[Expectation] = SUITE) -> None:
        self.expectations = tuple(expectations)
        self._gx = None

    # ---------------------------------------------------------------- GX, on pandas

    def _gx_batches(self):
        if self._gx is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
            logging.getLogger("great_expectations").setLevel(logging.ERROR)
            # heavy (~2 s with its context): only the reference engine needs it
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            ctx = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                progress_bars=ProgressBarsConfig(globally=False),
                analytics_enabled=False,
            ))
            asset = ctx.data_sources.add_pandas("ops_db").add_dataframe_asset("executions")
            batches = asset.add_batch_definition_whole_dataframe("daily_slice")
            suite = gx.ExpectationSuite(name=SUITE_NAME)
            for e in _expectations(self.expectations):
                suite.add_expectation(e)
            self._gx = (ctx, batches, ctx.suites.add(suite))
        return self._gx

    @property
    def suite(self):
        """The GX ``ExpectationSuite`` (creates the GX context)."""
        return self._gx_batches()[2]

    def validate(self, df: pd.DataFrame) -> QualityOutcome:
        """Validate one pandas slice with GX; every row failing an expectation becomes a rejection."""
        if "execution_id" not in df.columns:
            raise ValueError("the slice needs an execution_id column to say which rows failed")
        _, batches, suite = self._gx_batches()
        batch = batches.get_batch(batch_parameters={"dataframe": df})
        res = batch.validate(suite, result_format={
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
                rejections.append({"execution_id": item["execution_id"],
                                   "agent_id": agent_of.get(item["execution_id"]),
                                   "expectation": name, "detail": _detail(values)})
                if len(examples) < MAX_EXAMPLES:
                    examples.append({"execution_id": item["execution_id"], **values})
            results.append(ExpectationResult(name, False, int(r.result.get("unexpected_count") or len(found)),
                                             examples))
        # (execution, expectation) is the key: a row failing two checks is two rejections
        unique = {(x["execution_id"], x["expectation"]): x for x in rejections}
        return QualityOutcome(rows_checked=len(df), results=results, rejections=list(unique.values()))

    # ---------------------------------------------------------------- polars, GX's semantics

    def evaluate(self, df: pl.DataFrame, rows_checked: int | None = None) -> QualityOutcome:
        """The suite on a polars slice (``frames.read_day``'s types), with GX's semantics: the
        same results, rejections, examples and details ``validate`` gives for the slice.
        ``rows_checked``: the size of the whole slice when ``df`` holds only the rows that
        may fail (the pushdown's candidates)."""
        missing = sorted(set(REQUIRED_COLUMNS) - set(df.columns))
        if missing:  # the whole slice is condemned: GX decides how each expectation reports it
            return self.validate(_naive_utc(df).to_pandas())
        results: list[ExpectationResult] = []
        rejections: list[dict] = []
        ids = df["execution_id"].to_list()
        agents = df["agent_id"].to_list()
        for e in gx_order(self.expectations):
            name = expectation_name(e)
            cols, mask = _unexpected(df, e)
            if mask is None:
                results.append(ExpectationResult(name, True, 0))
                continue
            rows = mask.arg_true().to_list()
            if not rows:
                results.append(ExpectationResult(name, True, 0))
                continue
            values_of = {c: df[c].gather(rows).to_list() for c in cols}
            examples = []
            for i, row in enumerate(rows):
                values = {c: _plain_pl(values_of[c][i]) for c in cols}
                rejections.append({"execution_id": ids[row], "agent_id": agents[row], "expectation": name,
                                   "detail": _detail(values)})
                if len(examples) < MAX_EXAMPLES:
                    examples.append({"execution_id": ids[row], **values})
            results.append(ExpectationResult(name, False, len(rows), examples))
        unique = {(x["execution_id"], x["expectation"]): x for x in rejections}
        return QualityOutcome(rows_checked=df.height if rows_checked is None else rows_checked,
                              results=results, rejections=list(unique.values()))

    # ---------------------------------------------------------------- pushed down into the DB

    def check_day(self, conn: sa.Connection, day: date) -> DayCheck:
        """The suite on ``day``'s executions in the ops DB, pushed down (see ``pushdown.py``):
        the outcome ``validate`` would give on the whole slice, and each agent's first and
        last ``started_at`` among the rows that passed (for the agent registry)."""
        total = pushdown.count_day(conn, day)
        if total == 0:
            return DayCheck(QualityOutcome(0, [], []), {})
        agents = frames.day_agents(conn, day)
        blank = pushdown.regex_failures(self.expectations, agents)
        pred = pushdown.candidate_predicate(conn, day, self.expectations, failing_agents=blank)
        cand = frames.read_day(conn, day, where=pred)
        outcome = self.evaluate(cand, rows_checked=total)
        rejected = outcome.rejected_ids
        spans: dict[str, tuple[datetime, datetime]] = {}
        with_candidates = set(cand["agent_id"].to_list())
        valid = cand.filter(~pl.col("execution_id").is_in(list(rejected))) if rejected else cand
        valid_spans = {r["agent_id"]: (r["lo"], r["hi"]) for r in valid.group_by("agent_id").agg(
            pl.col("started_at").min().alias("lo"), pl.col("started_at").max().alias("hi")).to_dicts()}
        for agent, (first, last) in agents.items():
            if agent in with_candidates:  # the index's ends may be candidates: walk past them
                first = pushdown.edge_started_at(conn, day, agent, pred, last=False)
                last = pushdown.edge_started_at(conn, day, agent, pred, last=True) if first is not None else None
            ends = [t for t in pushdown.parse_started_at(conn, [first, last]) if t is not None] if first else []
            ends += [t for t in valid_spans.get(agent, ()) if t is not None]
            if ends:
                spans[agent] = (min(ends), max(ends))
        return DayCheck(outcome, spans)


@dataclass
class DayCheck:
    outcome: QualityOutcome
    spans: dict[str, tuple[datetime, datetime]]  # agent → first/last started_at of its valid rows


def _unexpected(df: pl.DataFrame, e: Expectation) -> tuple[list[str], pl.Series | None]:
    """The columns GX reports for ``e`` and the mask of the rows it rejects (None: none can)."""
    kw = e.kwargs
    if e.type == TABLE_EXPECTATION:
        return [], None  # every column is there (checked by the caller)
    if e.type == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = df[kw["column_A"]], df[kw["column_B"]]
        ok = (a >= b) if kw.get("or_equal") else (a > b)
        both_missing = _missing(a) & _missing(b)
        return [kw["column_A"], kw["column_B"]], (~ok.fill_null(False)) & ~both_missing
    col = kw["column"]
    s = df[col]
    if e.type == "expect_column_values_to_not_be_null":
        return [col], _missing(s)
    present = ~_missing(s)  # GX's column-value checks skip nulls (and NaN)
    if e.type == "expect_column_values_to_be_in_set":
        return [col], present & ~s.is_in(kw["value_set"]).fill_null(False)
    if e.type == "expect_column_values_to_be_between":
        ok = pl.repeat(True, len(s), eager=True)
        if kw.get("min_value") is not None:
            ok = ok & ((s > kw["min_value"]) if kw.get("strict_min") else (s >= kw["min_value"])).fill_null(False)
        if kw.get("max_value") is not None:
            ok = ok & ((s < kw["max_value"]) if kw.get("strict_max") else (s <= kw["max_value"])).fill_null(False)
        return [col], present & ~ok
    if e.type == "expect_column_values_to_match_regex":
        pattern = re.compile(kw["regex"])
        uniques = s.drop_nulls().unique().to_list()
        bad = [v for v in uniques if pattern.search(str(v)) is None]
        return [col], (present & s.is_in(bad)) if bad else pl.repeat(False, len(s), eager=True)
    raise pushdown.Unsupported(f"no polars evaluation for {e.type}")


def _missing(s: pl.Series) -> pl.Series:
    """Null as pandas sees it: None, NaT and NaN."""
    return (s.is_null() | s.is_nan()).fill_null(True) if s.dtype.is_float() else s.is_null()


def _detail(values: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _plain(v):
    """A GX (pandas) value as plain JSON-able Python (the examples are stored as JSON):
    NaN/NaT → None, ±inf → "inf"/"-inf" (PostgreSQL's JSON has no infinity), timestamps → ISO text."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    return _finite(v)


def _plain_pl(v):
    """A polars value as ``_plain`` renders the same value from pandas (naive UTC timestamps)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat()
    return _finite(v)


def _finite(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None if v != v else ("inf" if v > 0 else "-inf")
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
    """Check the day's slice in the database, register first-seen agents, and replace the
    day's rejections and quality result (one transaction)."""
    suite = suite or ExecutionSuite()
    with engine.begin() as conn:
        frames.lock_day(conn, "execution_rejections", day)
        cutoff = retention.pruned_before(conn)
        if cutoff is not None and frames.day_bounds(day)[1] <= cutoff:
            return DayQuality(day, skipped=f"raw executions pruned before {cutoff:%Y-%m-%d}; result kept")
        check = suite.check_day(conn, day)
        outcome = check.outcome
        new_agents = register_agents(conn, [{"agent_id": a, "started_at": t}
                                            for a, span in check.spans.items() for t in span])
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


def _naive_utc(df: pl.DataFrame) -> pl.DataFrame:
    """Timestamps as naive UTC for GX (its pandas metrics drop the zone with a warning)."""
    return df.with_columns(pl.col(c).dt.replace_time_zone(None) for c in ("started_at", "ended_at") if c in df.columns)


def rejections_for_day(conn: sa.Connection, day: date) -> list[dict]:
    q = (sa.select(execution_rejections).where(execution_rejections.c.day == day)
         .order_by(execution_rejections.c.execution_id, execution_rejections.c.expectation))
    return [dict(r._mapping) for r in conn.execute(q)]


def quality_for_day(conn: sa.Connection, day: date) -> dict | None:
    row = conn.execute(sa.select(data_quality_results).where(data_quality_results.c.day == day)).first()
    return dict(row._mapping) if row else None
