"""Calculation tools over 1,000,000 samples (vectorized) vs a per-element baseline.

For IRR, NPV and DSCR: the tool (``call_tool``, including input validation) and the raw
vectorized function on N samples, against numpy-financial (IRR, NPV) or plain Python (DSCR)
called once per element on a subset, scaled to N. Prints the data size, times, the
speed-up ratio and the largest difference from the baseline on the subset.

    .venv/bin/python benchmarks/bench_tools.py [--samples 1000000] [--periods 10] [--subset 5000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import numpy_financial as npf

from meta_agent import finance
from meta_agent.tools import CalculationWarning, call_tool


def timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--periods", type=int, default=10)
    ap.add_argument("--subset", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    n, t, k = args.samples, args.periods, args.subset
    rng = np.random.default_rng(args.seed)

    # Monte Carlo-like equity cash flows: an outflow, yearly cash flows, a sale at the end
    cf = rng.normal(8.0, 2.5, (n, t))
    cf[:, 0] = -rng.uniform(60, 120, n)
    cf[:, -1] += rng.uniform(80, 140, n)
    rate = rng.uniform(0.04, 0.12, n)
    noi = rng.lognormal(np.log(1.2e6), 0.25, n)
    ds = rng.lognormal(np.log(8.5e5), 0.15, n)
    sub = rng.choice(n, k, replace=False)

    print(f"bench_tools: {n:,} samples x {t} periods (cash flows {cf.nbytes / 1e6:,.0f} MB), "
          f"baseline on {k:,} samples scaled to {n:,}; best of 3 (baseline: 1 run)")
    rows = []

    # IRR
    tool_s, irr_tool = timed(lambda: call_tool("calculate_irr", cashflows=cf, on_undefined="nan"))
    raw_s, (irr_raw, status) = timed(lambda: finance.irr(cf))
    t0 = time.perf_counter()
    ref = np.array([npf.irr(cf[i]) for i in sub])
    base_s = (time.perf_counter() - t0) * n / k
    diff = np.nanmax(np.abs(irr_raw[sub] - ref))
    rows.append(("calculate_irr", tool_s, raw_s, base_s, diff, finance.describe_status(status) or "all ok"))

    # IRR where 5 % of the series have a big capital call mid-way (several sign changes: eigenvalue path)
    mixed = cf.copy()
    hit = rng.uniform(size=n) < 0.05
    mixed[hit, t // 2] = -rng.uniform(60, 150, int(hit.sum()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalculationWarning)  # the multiple-IRR flag, by design
        tool_s, _ = timed(lambda: call_tool("calculate_irr", cashflows=mixed, on_undefined="nan"))
    raw_s, (irr_mixed, status) = timed(lambda: finance.irr(mixed))
    t0 = time.perf_counter()
    ref = np.array([npf.irr(mixed[i]) for i in sub])
    base_s = (time.perf_counter() - t0) * n / k
    both = np.isfinite(ref) & np.isfinite(irr_mixed[sub])
    rows.append(("calculate_irr*", tool_s, raw_s, base_s, np.max(np.abs(irr_mixed[sub][both] - ref[both])),
                 finance.describe_status(status)))

    # NPV (one rate per sample)
    tool_s, _ = timed(lambda: call_tool("calculate_npv", rate=rate, cashflows=cf))
    raw_s, (npv_raw, _) = timed(lambda: finance.npv(rate, cf))
    t0 = time.perf_counter()
    ref = np.array([npf.npv(rate[i], cf[i]) for i in sub])
    base_s = (time.perf_counter() - t0) * n / k
    rows.append(("calculate_npv", tool_s, raw_s, base_s, np.max(np.abs(npv_raw[sub] - ref)), ""))

    # DSCR
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalculationWarning)
        tool_s, _ = timed(lambda: call_tool("calculate_dscr", noi=noi, debt_service=ds))
    raw_s, (dscr_raw, _) = timed(lambda: finance.dscr(noi, ds))
    noi_l, ds_l = noi[sub].tolist(), ds[sub].tolist()
    t0 = time.perf_counter()
    ref = np.array([a / b if b > 0 else float("nan") for a, b in zip(noi_l, ds_l, strict=True)])
    base_s = (time.perf_counter() - t0) * n / k
    rows.append(("calculate_dscr", tool_s, raw_s, base_s, np.max(np.abs(dscr_raw[sub] - ref)), ""))

    print(f"{'tool':<16}{'tool s':>10}{'raw s':>10}{'baseline s':>13}{'speed-up':>11}{'max |diff|':>13}  baseline")
    names = {"calculate_irr": "npf.irr per series", "calculate_irr*": "npf.irr per series, 5 % multi-sign", "calculate_npv": "npf.npv per series",
             "calculate_dscr": "Python a/b per element"}
    for name, tool_s, raw_s, base_s, diff, note in rows:
        print(f"{name:<16}{tool_s:>10.3f}{raw_s:>10.3f}{base_s:>13.2f}{base_s / tool_s:>10.0f}x{diff:>13.2e}  "
              f"{names[name]}{'; ' + str(note) if note else ''}")


if __name__ == "__main__":
    main()
