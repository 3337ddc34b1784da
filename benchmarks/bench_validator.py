"""The script validator: time per script over the benign corpus, and what it accepts.

    .venv/bin/python benchmarks/bench_validator.py [--repeat 3]

Corpus: every template script (``meta_agent.scriptgen.corpus.template_scripts``) and the
hand-written analyst scripts in tests/scriptgen/corpus/benign/. Hostile: tests/scriptgen/corpus/hostile/.
Goal (docs/architecture.md, Targets): < 30 ms mean per script. Baseline measured in the same run: the
previous validator (benchmarks/_legacy_validator.py: the contract-based checker with bandit
and the previous secret scanner), on the same scripts, with bandit as it ran by default and
without. Each validator is warmed once (registry, plugins) before timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))  # the legacy validator sits next to this file

from meta_agent.scriptgen.corpus import template_scripts  # noqa: E402
from meta_agent.scriptgen.validator import validate_script  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENIGN_DIR = ROOT / "tests" / "scriptgen" / "corpus" / "benign"
HOSTILE_DIR = ROOT / "tests" / "scriptgen" / "corpus" / "hostile"


def timings(validate: Callable[[str], object], sources: list[str], repeat: int) -> list[float]:
    validate(sources[0])  # warm: registry, plugins, caches
    best: list[float] = [float("inf")] * len(sources)
    for _ in range(repeat):
        for i, source in enumerate(sources):
            t0 = time.perf_counter()
            validate(source)
            best[i] = min(best[i], (time.perf_counter() - t0) * 1000)
    return best


def describe(label: str, ms: list[float]) -> str:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 20 else max(ms)
    return f"{label:<44} mean {statistics.fmean(ms):7.2f} ms  p95 {p95:7.2f} ms  max {max(ms):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the corpus (best per script)")
    args = parser.parse_args()

    templates = [s.source for s in template_scripts()]
    hand = [p.read_text(encoding="utf-8") for p in sorted(BENIGN_DIR.glob("*.py"))]
    hostile = [p.read_text(encoding="utf-8") for p in sorted(HOSTILE_DIR.glob("*.py"))]
    benign = templates + hand
    print(f"benign corpus: {len(benign)} scripts ({len(templates)} template outputs, {len(hand)} hand-written); "
          f"hostile: {len(hostile)}")

    reports = [validate_script(s) for s in benign]
    false_positives = sum(not r.valid for r in reports)
    caught = sum(not validate_script(s).valid for s in hostile)
    print(f"false positives: {false_positives} of {len(benign)}; hostile rejected: {caught} of {len(hostile)}")

    new = timings(validate_script, benign, args.repeat)
    import _legacy_validator as legacy  # noqa: PLC0415 — bandit and the old scanner load only here

    old_no_bandit = timings(lambda s: legacy.validate_script(s, run_bandit=False), benign, args.repeat)
    old = timings(legacy.validate_script, benign, 1)
    print(describe("script language validator (this one)", new))
    print(describe("previous validator, bandit (its default)", old))
    print(describe("previous validator, without bandit", old_no_bandit))
    print(f"mean ratio previous/this: {statistics.fmean(old) / statistics.fmean(new):.1f}x with bandit, "
          f"{statistics.fmean(old_no_bandit) / statistics.fmean(new):.1f}x without; goal < 30 ms mean: "
          f"{'met' if statistics.fmean(new) < 30 else 'NOT met'}")


if __name__ == "__main__":
    main()
