"""A throwaway code location for the UI tests: one asset per metadata shape whose rendering
FINDINGS.md documents. The ``probe_server`` fixture copies this file into a scratch
directory, serves it with ``dagster-webserver -f`` and materializes everything in it. (No ``from __future__ import annotations``: Dagster
validates the ``context`` type hints of the decorated functions at definition time.)
"""

import base64
import io
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import numpy as np
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not exported by `dagster` in 1.13
)
from PIL import Image

GROUP = "ui_probe"


def png(side: int, seed: int = 0) -> bytes:
    """A side x side RGB PNG of noise (incompressible: about 3 * side**2 bytes), red on top."""
    arr = np.random.default_rng(seed).integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    arr[: side // 4] = [200, 30, 30]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def png_markdown(alt: str, data: bytes) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(data).decode()})"


# PNGs of ~50 KB (49.7 KB) and ~300 KB (303 KB); as data URIs base64 adds a third
IMAGE_SIDES = {"chart_50kb": 148, "chart_300kb": 366}


@dg.asset(group_name=GROUP, description="Charts as markdown images with inline PNG data URIs.",
          owners=["team:platform", "alice@example.com"], kinds={"python", "sql"})
def chart_images() -> dg.MaterializeResult:
    md = {alt: dg.MetadataValue.md(f"A chart:\n\n{png_markdown(alt, png(side))}\n\ntext after")
          for alt, side in IMAGE_SIDES.items()}
    return dg.MaterializeResult(metadata={"charts": len(md), **md})


@dg.asset(group_name=GROUP)
def html_image() -> dg.MaterializeResult:
    """An HTML <img> tag inside markdown (Dagster's sanitizer drops it)."""
    uri = "data:image/png;base64," + base64.b64encode(png(64)).decode()
    return dg.MaterializeResult(metadata={
        "html_img": dg.MetadataValue.md(f'<img src="{uri}" alt="html_chart">\n\nafter the html tag'),
    })


def sparkline_markdown(values: list[float], alt: str = "sparkline") -> str:
    """An SVG sparkline as a data URI: small enough (< 1000 characters) to render inline."""
    lo, hi = min(values), max(values)
    pts = " ".join(f"{i * 4},{20 - 18 * (v - lo) / ((hi - lo) or 1):.0f}" for i, v in enumerate(values))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{4 * len(values)}" height="22">'
           f'<polyline fill="none" stroke="#4f43dd" points="{pts}"/></svg>')
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()})"


@dg.asset(group_name=GROUP)
def sparkline() -> dg.MaterializeResult:
    md = sparkline_markdown([((i * 37) % 11) + i / 3 for i in range(30)])
    return dg.MaterializeResult(metadata={"spark": dg.MetadataValue.md(md), "spark_chars": len(md)})


SCORES_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("agent_id", "string", description="the agent's registry id"),
    dg.TableColumn("executions", "int", description="executions that day"),
    dg.TableColumn("p95_ms", "float"),
])
TABLE_ROWS = [{"agent_id": f"agent-{i}", "executions": 10 * i, "p95_ms": 100.5 + i} for i in range(5)]


@dg.asset(group_name=GROUP)
def scores_table() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "scores": dg.MetadataValue.table([dg.TableRecord(r) for r in TABLE_ROWS], schema=SCORES_SCHEMA),
        "schema": dg.MetadataValue.table_schema(SCORES_SCHEMA),
    })


# Daily partitions that end yesterday: the UI's per-partition plots show only the newest
# 120 partition keys of the definition, so partitions far in the past are not plotted.
TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=20)
daily = dg.DailyPartitionsDefinition(start_date=START.isoformat())
RANGE = [(TODAY - timedelta(days=d)).isoformat() for d in range(8, 0, -1)]  # 8 days to yesterday
LIMIT = 40.0


def score(pk: str) -> float:
    """10, 11, 14, 19, 26, 35, 46, 59 over RANGE: the last two partitions fail the check."""
    k = (date.fromisoformat(pk) - date.fromisoformat(RANGE[0])).days
    return float(10 + k * k)


@dg.asset(group_name=GROUP, partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
def daily_scores(context: dg.AssetExecutionContext) -> None:
    for pk in context.partition_keys:
        context.add_asset_metadata({"score": score(pk), "rows": 100 + len(pk)}, partition_key=pk)


def _evaluations(context: dg.AssetCheckExecutionContext, name: str, linked: bool):
    for pk in context.op_execution_context.partition_keys:
        target = None
        if linked:  # the materialization this evaluation judges: what makes it "current"
            recs = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=daily_scores.key, asset_partitions=[pk]), limit=1).records
            if recs:
                target = AssetCheckEvaluationTargetMaterializationData(
                    run_id=recs[0].run_id, storage_id=recs[0].storage_id, timestamp=recs[0].timestamp)
        yield dg.AssetCheckEvaluation(asset_key=daily_scores.key, check_name=name, passed=score(pk) < LIMIT,
                                      metadata={"score": score(pk)}, partition=pk,
                                      target_materialization_data=target)
    yield dg.Output(None)


@dg.asset_check(asset=daily_scores, partitions_def=daily, description="score < 40; evaluations name their target materialization")
def score_linked(context: dg.AssetCheckExecutionContext):
    yield from _evaluations(context, "score_linked", linked=True)


@dg.asset_check(asset=daily_scores, partitions_def=daily, description="score < 40; evaluations without a target materialization")
def score_unlinked(context: dg.AssetCheckExecutionContext):
    yield from _evaluations(context, "score_unlinked", linked=False)


@dg.sensor(target=[sparkline], minimum_interval_seconds=3600,
           description="Probe sensor: never fires; its description is what the UI test looks for.")
def probe_sensor(context: dg.SensorEvaluationContext):
    return dg.SkipReason("probe")


UNPARTITIONED = [chart_images, html_image, sparkline, scores_table]
defs = dg.Definitions(assets=[*UNPARTITIONED, daily_scores], asset_checks=[score_linked, score_unlinked],
                      sensors=[probe_sensor])


def materialize_all(materialize) -> None:
    """Everything above, through ``materialize(assets, **kwargs)`` (``ScratchHome.materialize``)."""
    assert materialize(UNPARTITIONED).success
    assert materialize([daily_scores, score_linked, score_unlinked], tags={
        "dagster/asset_partition_range_start": RANGE[0],
        "dagster/asset_partition_range_end": RANGE[-1]}).success
