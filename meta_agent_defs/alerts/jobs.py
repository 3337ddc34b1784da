"""The delivery job: alerts that are due go out here, in a run — with logs, retries and
history in the UI — never inside a sensor tick.

``alert_delivery_sensor`` requests a run whenever deliveries are due (run key: the due set,
so a tick never requests the same delivery twice). Each delivery is claimed before it is
sent (concurrent runs never send one twice); a failed one is rescheduled with backoff and the
op fails, so its ``RetryPolicy`` retries the run's step once the backoff has passed.
"""

import dagster as dg

from meta_agent.ops import alerts
from meta_agent_defs.alerts.assets import alert_digest, fleet_health
from meta_agent_defs.resources import NotifierResource, OpsDatabase

TAGS = {"meta_agent/capability": "alerts", "meta_agent/kind": "alert_delivery"}
DELIVERY_RETRY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL)


class DeliveryConfig(dg.Config):
    limit: int = 200  # deliveries per attempt (the oldest due first)


@dg.op(retry_policy=DELIVERY_RETRY, tags=TAGS,
       description="Send every due alert delivery through the notifier; fail (and retry) if any failed.")
def deliver_due_alerts(context: dg.OpExecutionContext, config: DeliveryConfig, ops_db: OpsDatabase,
                       notifier: NotifierResource) -> dict:
    report = alerts.deliver_due(ops_db.engine, notifier.get(), limit=config.limit)
    context.log.info(f"delivered {report.sent}, failed {report.failed}, deferred {report.deferred} "
                     f"(attempt {context.retry_number + 1} of {DELIVERY_RETRY.max_retries + 1})")
    for error in report.errors[:50]:
        context.log.warning(error)
    context.add_output_metadata({"sent": report.sent, "failed": report.failed, "deferred": report.deferred,
                                 "channels_down": ", ".join(report.channels_down)})
    if report.failed:  # the RetryPolicy retries after its backoff, when the rows are due again
        raise dg.Failure(f"{report.failed} deliveries failed (attempt {context.retry_number + 1}); they stay "
                         "pending with a backoff and are retried", metadata={"errors": "\n".join(report.errors[:20])})
    return report.as_dict()


@dg.job(name="alert_delivery", tags=TAGS, description="Deliver the alerts that are due on every notifier channel.")
def alert_delivery_job() -> None:
    deliver_due_alerts()


# Automation materializes the latest digest and refreshes the fleet view; these jobs are for
# people: rebuild digests for a range of days, refresh the fleet view now.
alert_digest_job = dg.define_asset_job("alert_digests", selection=[alert_digest], tags={"meta_agent/capability": "alerts"},
                                       description="Build (and send) the alert digests of a day or a range of days.")
fleet_health_job = dg.define_asset_job("fleet_health_refresh", selection=[fleet_health], tags={"meta_agent/capability": "alerts"},
                                       description="Refresh the fleet-health overview now.")

JOBS = [alert_delivery_job, alert_digest_job, fleet_health_job]
