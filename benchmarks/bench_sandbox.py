"""Sandbox overhead and concurrency (docs/architecture.md, Targets: <1 s container overhead, 10 in parallel).

1. Overhead per script: a trivial script in a container vs the same script as a plain
   subprocess (the baseline), plus the two local runners, N runs each (median, p90).
2. Concurrency: 10 scripts (each sleeps 1 s, the shape of a script waiting on a database)
   submitted at once to a pool of 5 workers vs the same 10 one after another; the peak
   number of sandbox containers alive at once is sampled from the engine.

Needs an engine on DOCKER_HOST (scripts/container-engine.sh) and the local image
(`meta-agent sandbox build-image`); without one it measures the local runners only.

    .venv/bin/python benchmarks/bench_sandbox.py [--runs 10] [--jobs 10] [--workers 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from meta_agent.errors import ConfigError
from meta_agent.sandbox import RunLimits
from meta_agent.sandbox.local import LocalRunner

TRIVIAL = "print('ok')\n"
SLEEPER = "import time\ntime.sleep(1.0)\nprint('done')\n"


def stats(xs: list[float]) -> str:
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    return f"median {statistics.median(xs):.3f} s, p90 {p90:.3f} s, min {xs[0]:.3f} s"


def time_runner(runner, n: int, source: str = TRIVIAL) -> list[float]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            t0 = time.perf_counter()
            res = runner.run(source, {}, RunLimits(timeout_s=60), results_dir=Path(tmp) / f"r{i}",
                             provenance="template")  # our own fixed script, like the doctor probe
            out.append(time.perf_counter() - t0)
            assert res.ok, res.message
    return out


def time_plain(n: int) -> list[float]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "s.py"
        f.write_text(TRIVIAL)
        for _ in range(n):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(f)], check=True, capture_output=True)
            out.append(time.perf_counter() - t0)
    return out


def concurrency(runner, jobs: int, workers: int) -> dict:
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        from meta_agent.sandbox.container import LABEL

        while not stop.is_set():
            n = len(runner.client.containers.list(filters={"label": LABEL, "status": "running"}, ignore_removed=True))
            peak[0] = max(peak[0], n)
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True) if runner.isolation == "container" else None
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for i in range(jobs):
            res = runner.run(SLEEPER, {}, RunLimits(timeout_s=60), results_dir=Path(tmp) / f"s{i}", provenance="template")
            assert res.ok, res.message
        sequential = time.perf_counter() - t0
        if sampler:
            sampler.start()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda i: runner.run(SLEEPER, {}, RunLimits(timeout_s=60),
                                                         results_dir=Path(tmp) / f"p{i}", provenance="template"),
                                      range(jobs)))
        parallel = time.perf_counter() - t0
        stop.set()
        assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    return {"sequential_s": sequential, "parallel_s": parallel, "peak_running": peak[0] if sampler else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=10)
    ap.add_argument("--workers", type=int, default=5)
    args = ap.parse_args()

    container = None
    try:
        from meta_agent.sandbox.container import ContainerRunner

        container = ContainerRunner.connect()
    except ConfigError as exc:
        print(f"no container engine: {exc}\n(local runners only)")

    print(f"== overhead per trivial script ({args.runs} runs each; data size: a 1-line script)")
    plain = time_plain(args.runs)
    print(f"plain subprocess (baseline):   {stats(plain)}")
    rows = {}
    for label, runner in [("local:rlimits", LocalRunner(use_bwrap=False)), ("local:bwrap", LocalRunner())] + (
            [(container.name, container)] if container else []):
        time_runner(runner, 1)  # warm-up
        xs = time_runner(runner, args.runs)
        rows[label] = xs
        over = statistics.median(xs) - statistics.median(plain)
        print(f"{label:<30} {stats(xs)}; overhead vs plain {over:+.3f} s "
              f"({statistics.median(xs) / statistics.median(plain):.1f}x)")
    if container:
        over = statistics.median(rows[container.name]) - statistics.median(plain)
        print(f"container overhead per script: {over:.3f} s (goal < 1 s: {'met' if over < 1 else 'NOT met'})")

    print(f"\n== {args.jobs} scripts (each sleeps 1 s), {args.workers} at a time vs one after another")
    for label, runner in ([(container.name, container)] if container else []) + [("local:bwrap", LocalRunner())]:
        c = concurrency(runner, args.jobs, args.workers)
        peak = f", peak running containers {c['peak_running']}" if c["peak_running"] is not None else ""
        print(f"{label:<30} sequential {c['sequential_s']:.2f} s, {args.workers} concurrent {c['parallel_s']:.2f} s "
              f"(speed-up {c['sequential_s'] / c['parallel_s']:.2f}x{peak})")


if __name__ == "__main__":
    main()
