"""``python -m meta_agent_launch JOB [--partition KEY [--dynamic NAME] | --from KEY --to KEY]
[--tag K=V ...]``: run a named job of the code location on the instance at DAGSTER_HOME (one
partition, a range as one run, or none) and print one JSON line with the run's id and outcome
(``meta-agent request --wait`` runs this)."""

from __future__ import annotations

import argparse
import json
import sys

import dagster as dg

from meta_agent_defs.definitions import defs
from meta_agent_launch import run_job


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m meta_agent_launch", description=__doc__)
    ap.add_argument("job")
    ap.add_argument("--partition", help="the partition key to run")
    ap.add_argument("--dynamic", help="the dynamic partitions definition the key belongs to (added when new)")
    ap.add_argument("--from", dest="first", help="the first partition of a range (one run for the range)")
    ap.add_argument("--to", dest="last", help="the last partition of the range")
    ap.add_argument("--tag", action="append", default=[], help="a run tag, KEY=VALUE")
    args = ap.parse_args(argv)
    bad = [t for t in args.tag if "=" not in t]
    if bad:
        ap.error(f"--tag {bad[0]!r}: write KEY=VALUE")
    jobs = sorted(j.name for j in defs.get_repository_def().get_all_jobs() if not j.name.startswith("__"))
    if args.job not in jobs:
        ap.error(f"no job {args.job!r} in the code location; use one of {', '.join(jobs)}")
    if args.dynamic and not args.partition:
        ap.error("--dynamic names the dynamic partitions of --partition KEY; give the key too")
    if bool(args.first) != bool(args.last) or (args.first and args.partition):
        ap.error("a range is --from KEY --to KEY (both), instead of --partition")
    partitions = defs.resolve_job_def(args.job).partitions_def
    keys = [k for k in (args.partition, args.first, args.last) if k]
    if keys and partitions is None:
        ap.error(f"job {args.job!r} is not partitioned; drop --partition/--from/--to")
    for key in keys:
        if not args.dynamic and not isinstance(partitions, dg.DynamicPartitionsDefinition) \
                and not partitions.has_partition_key(key):
            ap.error(f"{key!r} is not a partition of {args.job!r} (e.g. {partitions.get_last_partition_key()})")
    result = run_job(args.job, partition_key=args.partition, dynamic_partitions=args.dynamic,
                     partition_range=(args.first, args.last) if args.first else None,
                     tags=dict(t.split("=", 1) for t in args.tag))
    print(json.dumps({"job": args.job, "run_id": result.run_id, "success": result.success}))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
