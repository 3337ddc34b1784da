"""Secret scan of generated scripts: detection on the hostile cases, false positives on the
benign corpus, and time per script — the new scanner beside the previous one, in the same run.

    .venv/bin/python benchmarks/bench_secret_scan.py [--repeat 5]

Corpora: tests/scriptgen/secrets/cases.py (snippets, each with the rule it must trip) and
tests/scriptgen/secrets/benign.txt (literals embedded as ``x = "<literal>"``). Timing: the twenty
example requests rendered offline (real generated scripts), each scanned ``--repeat`` times with
its AST parsed beforehand (parsing is the validator's, not the scan's). The previous scanner is
benchmarks/_legacy_secret_scan.py (the file as it was before the rewrite). The new scanner's
first call also imports detect-secrets (reported separately as "cold").
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def benign_literals() -> list[str]:
    lines = (ROOT / "tests/scriptgen/secrets/benign.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("# ")]


def quality(name: str, scan, cases, benign) -> None:
    caught = 0
    missed = []
    for case, snippet, rule in cases:
        if rule in {h.rule for h in scan(snippet, ast.parse(snippet))}:
            caught += 1
        else:
            missed.append(case)
    false = [lit for lit in benign if scan(f"x = {lit!r}\n", ast.parse(f"x = {lit!r}\n"))]
    print(f"  {name:<8} detection {caught}/{len(cases)} = {caught / len(cases):6.1%}   "
          f"false positives {len(false)}/{len(benign)} = {len(false) / len(benign):6.1%}")
    if missed:
        print(f"           missed: {', '.join(missed[:12])}{' ...' if len(missed) > 12 else ''}")
    if false:
        print(f"           flagged: {', '.join(repr(x) for x in false[:8])}{' ...' if len(false) > 8 else ''}")


def timing(name: str, scan, scripts, repeat: int) -> None:
    trees = [ast.parse(s) for s in scripts]
    per: list[float] = []
    for _ in range(repeat):
        for source, tree in zip(scripts, trees, strict=True):
            t0 = time.perf_counter()
            scan(source, tree)
            per.append(time.perf_counter() - t0)
    per.sort()
    p95 = per[min(len(per) - 1, int(0.95 * len(per)))]
    print(f"  {name:<8} mean {ms(statistics.fmean(per))}  p50 {ms(statistics.median(per))}  p95 {ms(p95)}"
          f"  ({len(per)} scans)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import runpy

    import _legacy_secret_scan as legacy

    from meta_agent.scriptgen.examples import TWENTY_REQUESTS
    from meta_agent.scriptgen.generator import render
    from meta_agent.scriptgen.offline_planner import OfflinePlanner

    CASES = runpy.run_path(str(ROOT / "tests/scriptgen/secrets/cases.py"))["CASES"]

    t0 = time.perf_counter()
    from meta_agent.scriptgen import secret_scan as new

    new.scan_source("x = 1\n", ast.parse("x = 1\n"))
    cold = time.perf_counter() - t0

    benign = benign_literals()
    print(f"== secret scan quality: {len(CASES)} hostile cases, {len(benign)} benign literals")
    quality("new", new.scan_source, CASES, benign)
    quality("previous", legacy.scan_source, CASES, benign)

    planner = OfflinePlanner()
    scripts = [render(planner.plan(text).requirements) for text in TWENTY_REQUESTS]
    mean_len = statistics.fmean(map(len, scripts))
    print(f"== time per script: {len(scripts)} generated scripts (mean {mean_len:,.0f} chars) x {args.repeat}")
    timing("new", new.scan_source, scripts, args.repeat)
    timing("previous", legacy.scan_source, scripts, args.repeat)
    print(f"  new, first call in a fresh process (imports detect-secrets, builds plugins) {ms(cold)}")
    hostile = [snippet for _, snippet, _ in CASES]
    print(f"== time per hostile snippet ({len(hostile)} snippets x {args.repeat})")
    timing("new", new.scan_source, hostile, args.repeat)
    timing("previous", legacy.scan_source, hostile, args.repeat)


if __name__ == "__main__":
    main()
