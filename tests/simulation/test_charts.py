"""Scenario simulation charts: inline SVGs that stay under Dagster's inline-markdown limit and
map values monotonically, and the full PNGs."""

from __future__ import annotations

import base64
import math
import random
import re
import xml.etree.ElementTree as ET

import pytest

from meta_agent.simulation import charts as c

SVG = "{http://www.w3.org/2000/svg}"
SCENARIOS = ["recession", "baseline", "stagflation", "upside", "rate_shock", "vacancy_spike", "recovery",
             "severe_stress"]
DRIVERS = ["noi_multiplier", "cap_rate", "interest_rate", "vacancy", "capex", "rent_growth", "opex", "exit_yield"]


# ------------------------------------------------------------------------------ helpers


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def paths(svg: str, **attrs: str) -> list[ET.Element]:
    return [p for p in parse(svg).iter(f"{SVG}path") if all(p.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def subpaths(svg: str, **attrs: str) -> list[list[int]]:
    """The integers of each ``M…`` subpath of the (single) path with ``attrs``; [] when none."""
    found = paths(svg, **attrs)
    assert len(found) <= 1
    if not found:
        return []
    return [[int(n) for n in re.findall(r"-?\d+", part)] for part in found[0].get("d").split("M")[1:]]


def points(sub: list[int]) -> list[tuple[int, int]]:
    """Absolute points of ``x y l dx dy …``."""
    pts = [(sub[0], sub[1])]
    for dx, dy in zip(sub[2::2], sub[3::2], strict=True):
        pts.append((pts[-1][0] + dx, pts[-1][1] + dy))
    return pts


def decoded(markdown: str) -> str:
    data = re.search(r"base64,([A-Za-z0-9+/=]+)\)", markdown).group(1)
    return base64.b64decode(data).decode()


def dist_rows(n: int, rng: random.Random, fixed: int = 1, quartiles: bool = True) -> list[dict]:
    rows = []
    for i in range(n):
        m = rng.uniform(0.6, 2.4)
        if i < fixed:
            rows.append({"label": SCENARIOS[i], "p5": m, "p50": m, "p95": m, "base": m, "threshold": 1.0})
            continue
        row = {"label": SCENARIOS[i], "p5": m - rng.uniform(0.05, 0.6), "p50": m, "p95": m + rng.uniform(0.05, 0.9),
               "base": m + rng.uniform(-0.2, 0.2), "threshold": 1.0}
        if quartiles:
            row |= {"p25": m - rng.uniform(0.01, 0.05), "p75": m + rng.uniform(0.01, 0.05)}
        rows.append(row)
    return rows


def tornado_rows(n: int, rng: random.Random, base: float = 1.3) -> list[dict]:
    rows = []
    for d in DRIVERS[:n]:
        low, high = base - rng.uniform(0, 0.7), base + rng.uniform(0, 0.9)
        rows.append({"driver": d, "value_at_low": low, "value_at_high": high, "swing": high - low})
    return rows


def fan_bands(n: int, rng: random.Random, scale: float = 1e6) -> tuple[list[str], dict[int, list[float]]]:
    med = [rng.uniform(-0.5, 3) * scale for _ in range(n)]
    w = [rng.uniform(0.1, 1) * scale for _ in range(n)]
    bands = {5: [m - 2 * x for m, x in zip(med, w, strict=True)], 25: [m - x / 2 for m, x in zip(med, w, strict=True)],
             50: med, 75: [m + x / 2 for m, x in zip(med, w, strict=True)],
             95: [m + 2.5 * x for m, x in zip(med, w, strict=True)]}
    return [str(2026 + i) for i in range(n)], bands


# ------------------------------------------------------------------------------ markdown


def test_inline_markdown_is_a_base64_svg_data_uri_with_the_caption():
    md = c.inline_markdown("<svg xmlns='http://www.w3.org/2000/svg'/>", "chart", "what it shows")
    assert md.startswith("![chart](data:image/svg+xml;base64,") and md.endswith(") what it shows")
    assert decoded(md) == "<svg xmlns='http://www.w3.org/2000/svg'/>"
    assert c.inline_markdown("<svg/>", "chart").endswith(")")  # no caption, no trailing space
    assert c.INLINE_LIMIT == 1000


@pytest.mark.parametrize("chart", ["distribution", "tornado", "fan"])
def test_realistic_sizes_fit_inline(chart):
    """Up to 8 scenarios / 8 drivers / 12 periods, over many random inputs: under the limit."""
    rng = random.Random(7)
    lengths = []
    for trial in range(40):
        for n in range(1, 13 if chart == "fan" else 9):
            if chart == "distribution":
                made, alt = c.distribution_svg(dist_rows(n, rng, fixed=trial % 3), unit="x", metric="DSCR"), "distribution"
            elif chart == "tornado":
                made, alt = c.tornado_svg(tornado_rows(n, rng), 1.3, unit="x"), "tornado"
            else:
                made, alt = c.fan_svg(*fan_bands(n, rng), unit=" USD"), "fan"
            md = made.markdown(alt)
            assert made.fits and len(md) < c.INLINE_LIMIT, (n, len(md))
            assert decoded(md) == made.svg and md.endswith(made.caption)
            parse(made.svg)
            lengths.append(len(md))
    assert max(lengths) < c.INLINE_LIMIT


def test_degrades_instead_of_exceeding_and_flags_the_impossible():
    rows = dist_rows(8, random.Random(3))
    full = c.distribution_svg(rows)
    text = parse(full.svg).find(f"{SVG}text")
    tight = c.distribution_svg(rows, limit=len(full.markdown("distribution")) - 50)
    assert tight.fits and len(tight.markdown("distribution")) < len(full.markdown("distribution")) - 50
    tight_text = parse(tight.svg).find(f"{SVG}text")
    assert tight_text is None or len(tight_text.text) < len(text.text)  # fewer label letters first
    impossible = c.distribution_svg(rows, limit=200)
    assert not impossible.fits
    parse(impossible.svg)  # the smallest form, still a chart
    assert len(subpaths(impossible.svg, stroke=c.BAND)) == 7
    many = c.distribution_svg(dist_rows(8, random.Random(1)) * 6)  # 48 scenarios: too many to inline
    assert not many.fits and len(subpaths(many.svg, stroke=c.BAND)) == 42


# ------------------------------------------------------------------------------ distribution


def test_distribution_draws_a_bar_per_scenario_and_a_dot_per_fixed_one():
    rows = dist_rows(5, random.Random(1), fixed=2)
    made = c.distribution_svg(rows, unit="x", metric="DSCR")
    assert len(subpaths(made.svg, stroke=c.BAND)) == 3
    assert len(subpaths(made.svg, stroke=c.INNER)) == 3
    assert len(subpaths(made.svg, stroke=c.MEDIAN)) == 3
    dots = subpaths(made.svg, stroke=c.DOT)
    assert len(dots) == 2 and all(d[2] == 0 for d in dots)  # zero-length, round caps: a dot
    assert paths(made.svg, stroke=c.DOT)[0].get("stroke-linecap") == "round"
    assert len(subpaths(made.svg, stroke=c.THRESHOLD)) == 1
    assert "p5–p95" in made.caption and "DSCR 1x" in made.caption and "dot fixed" in made.caption
    labels = parse(made.svg).find(f"{SVG}text").text
    assert labels == "rebastupra"  # two letters per scenario, in order


def test_distribution_maps_values_monotonically():
    rows = [{"label": f"s{i}", "p5": 1.0, "p50": 1.2, "p95": 1.5 + 0.2 * i} for i in range(5)]
    made = c.distribution_svg(rows)
    bars = subpaths(made.svg, stroke=c.BAND)
    assert len({b[0] for b in bars}) == 1  # same p5, same start
    widths = [b[2] for b in bars]
    assert widths == sorted(widths) and len(set(widths)) == 5  # a bigger p95, a longer bar
    ys = [b[1] for b in bars]
    assert ys == sorted(ys)  # rows top to bottom in input order
    ticks = subpaths(made.svg, stroke=c.MEDIAN)
    assert all(b[0] < t[0] < b[0] + b[2] for b, t in zip(bars, ticks, strict=True))
    threshold = c.distribution_svg([*rows[:1], {"label": "t", "p5": 1.1, "p50": 1.2, "p95": 1.3, "threshold": 1.25}])
    (line,) = subpaths(threshold.svg, stroke=c.THRESHOLD)
    (_, b1) = subpaths(threshold.svg, stroke=c.BAND)
    assert b1[0] < line[0] < b1[0] + b1[2]


def test_distribution_skips_missing_values():
    nan = float("nan")
    rows = [
        {"label": "all_missing", "p5": None, "p50": nan, "p95": None},
        {"label": "no_range", "p5": None, "p50": 1.4, "p95": 2.0},  # half a range: a dot at p50
        {"label": "no_median", "p5": 0.8, "p50": None, "p95": 1.6, "p25": nan, "p75": 1.2, "base": nan},
        {"label": "text", "p5": "x", "p50": "nan", "p95": math.inf},
        {"label": "swapped", "p5": 2.0, "p50": 1.5, "p95": 1.0, "threshold": None},
    ]
    made = c.distribution_svg(rows)
    assert made.fits
    assert len(subpaths(made.svg, stroke=c.BAND)) == 2
    assert subpaths(made.svg, stroke=c.INNER) == []  # p25 NaN: no quartile box
    assert len(subpaths(made.svg, stroke=c.MEDIAN)) == 1
    assert len(subpaths(made.svg, stroke=c.DOT)) == 1
    assert subpaths(made.svg, stroke=c.THRESHOLD) == [] and subpaths(made.svg, stroke=c.BASE) == []
    assert all(b[2] > 0 for b in subpaths(made.svg, stroke=c.BAND))  # swapped ends still a bar


# ------------------------------------------------------------------------------ tornado


def test_tornado_sorts_by_swing_with_bars_either_side_of_the_base():
    rows = [{"driver": "small", "value_at_low": 1.2, "value_at_high": 1.35, "swing": 0.15},
            {"driver": "big", "value_at_low": 0.7, "value_at_high": 1.9, "swing": 1.2},
            {"driver": "mid", "value_at_low": 1.0, "value_at_high": 1.6}]  # swing computed: 0.6
    made = c.tornado_svg(rows, 1.3, unit="x")
    lows, highs = subpaths(made.svg, stroke=c.LOW), subpaths(made.svg, stroke=c.HIGH)
    (base,) = subpaths(made.svg, stroke=c.MEDIAN)
    assert len(lows) == len(highs) == 3
    assert all(b[0] == base[0] for b in lows + highs)  # every bar starts at the base line
    assert all(b[2] < 0 for b in lows) and all(b[2] > 0 for b in highs)
    assert [lo[2] for lo in lows] == sorted(lo[2] for lo in lows)  # biggest swing on top
    assert [h[2] for h in highs] == sorted((h[2] for h in highs), reverse=True)
    assert parse(made.svg).find(f"{SVG}text").text == "bimism"
    assert "base 1.3x" in made.caption


def test_tornado_skips_missing_values_and_needs_a_base():
    rows = [{"driver": "a", "value_at_low": None, "value_at_high": 1.5, "swing": None},
            {"driver": "b", "value_at_low": float("nan"), "value_at_high": float("nan"), "swing": 1.0},
            {"driver": "c", "value_at_low": 1.1, "value_at_high": None, "swing": 0.2}]
    made = c.tornado_svg(rows, 1.3)
    assert len(subpaths(made.svg, stroke=c.LOW)) == 1 and len(subpaths(made.svg, stroke=c.HIGH)) == 1
    assert c.tornado_svg(rows, float("nan")).svg == c.NO_DATA_SVG


# ------------------------------------------------------------------------------ fan


def test_fan_draws_bands_and_a_median_line():
    x, bands = fan_bands(12, random.Random(2))
    made = c.fan_svg(x, bands, unit=" USD")
    (outer,) = subpaths(made.svg, fill=c.BAND)
    (inner,) = subpaths(made.svg, fill=c.INNER)
    (median,) = subpaths(made.svg, stroke=c.MEDIAN)
    assert len(points(outer)) == len(points(inner)) == 24
    med = points(median)
    assert len(med) == 12
    assert [p[0] for p in med] == sorted(p[0] for p in med)  # left to right
    for (xm, ym), (xu, yu), (xl, yl) in zip(med, points(outer)[:12], points(outer)[12:][::-1], strict=True):
        assert xm == xu == xl and yu <= ym <= yl  # p95 above the median above p5 (y grows down)
    order = sorted(range(12), key=lambda i: bands[50][i])  # a bigger value, higher up
    ys = [med[i][1] for i in order]
    assert ys == sorted(ys, reverse=True)
    texts = "".join(parse(made.svg).itertext())
    assert "2026" in texts and "2037" in texts
    assert "2026–2037" in made.caption and "USD" in made.caption


def test_fan_leaves_gaps_for_missing_values():
    x, bands = fan_bands(10, random.Random(4))
    bands[50][3] = None
    bands[5][6] = float("nan")
    del bands[25], bands[75]
    made = c.fan_svg(x, bands)
    assert [len(points(s)) for s in subpaths(made.svg, stroke=c.MEDIAN)] == [3, 6]
    assert [len(points(s)) for s in subpaths(made.svg, fill=c.BAND)] == [12, 6]
    assert subpaths(made.svg, fill=c.INNER) == []
    assert "p25" not in made.caption
    string_keys = c.fan_svg(x, {"p5": bands[5], "p50": bands[50], "95": bands[95]})
    assert len(subpaths(string_keys.svg, stroke=c.MEDIAN)) == 2


# ------------------------------------------------------------------------------ no data


@pytest.mark.parametrize("made", [
    lambda: c.distribution_svg([]),
    lambda: c.distribution_svg([{"label": "x", "p5": None, "p50": None, "p95": None}]),
    lambda: c.tornado_svg([], 1.0),
    lambda: c.fan_svg([], {}),
    lambda: c.fan_svg(["2026", "2027"], {50: [None, float("nan")]}),
])
def test_empty_input_gives_a_small_no_data_svg(made):
    chart = made()
    assert chart.svg == c.NO_DATA_SVG and chart.fits
    assert "no data" in "".join(parse(chart.svg).itertext())
    assert len(chart.markdown("chart")) < 300


# ------------------------------------------------------------------------------ PNG


def assert_png(path, width: int, height: int):
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib.image.imread(path)
    assert img.shape[:2] == (height, width)
    assert img[..., :3].std() > 0.05  # something drawn, not a blank canvas


def test_distribution_png(tmp_path):
    rows = dist_rows(8, random.Random(5), fixed=2)
    rows.append({"label": "broken", "p5": float("nan"), "p50": None, "p95": None})
    rows[3]["p25"] = None
    out = c.distribution_png(rows, tmp_path / "sub" / "dist.png", "DSCR by scenario", "x", metric="DSCR")
    assert out == tmp_path / "sub" / "dist.png"
    assert_png(out, 800, round(100 * (1.4 + 0.45 * 8)))


def test_tornado_png(tmp_path):
    rows = tornado_rows(8, random.Random(6))
    rows[2]["value_at_high"] = None
    out = c.tornado_png(rows, 1.3, tmp_path / "tornado.png", "DSCR sensitivity", "x", metric="DSCR")
    assert_png(out, 800, round(100 * (1.4 + 0.45 * 8)))


def test_fan_png(tmp_path):
    x, bands = fan_bands(12, random.Random(8))
    bands[50][4] = None
    bands[95][7] = float("nan")
    out = c.fan_png(x, bands, tmp_path / "fan.png", "Portfolio operating cash flow", "USD",
                    metric="operating cash flow", x_label="year")
    assert_png(out, 900, 450)


def test_png_of_nothing_writes_no_file(tmp_path):
    assert c.distribution_png([], tmp_path / "a.png", "t") is None
    assert c.tornado_png([{"driver": "d", "value_at_low": None, "value_at_high": None}], 1.0, tmp_path / "b.png", "t") is None
    assert c.fan_png(["2026"], {50: [None]}, tmp_path / "c.png", "t") is None
    assert list(tmp_path.iterdir()) == []
