"""Arm assignment against GrowthBook's published test vectors, and its stickiness properties.

``growthbook_cases.json`` holds the ``hash``, ``getBucketRange``, ``chooseVariation`` and
``inNamespace`` tables of GrowthBook's ``packages/sdk-js/test/cases.json`` verbatim (source URL
and commit in its ``_source``); every row is one test here. The published bucket ranges are
rounded decimals, so they are compared as GrowthBook's own test compares them (floored to 1e-8);
``JS_BUCKET_RANGES`` and ``JS_HASHES`` pin exact floats and non-ASCII strings, which the tables
do not cover.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meta_agent.errors import InputError
from meta_agent.experiments.assignment import (
    assign,
    bucket_ranges,
    choose_variation,
    fnv1a32,
    hash_value,
    in_namespace,
    in_range,
)

CASES = json.loads((Path(__file__).with_name("growthbook_cases.json")).read_text(encoding="utf-8"))
PUBLISHED_SECTIONS = ("hash", "getBucketRange", "chooseVariation", "inNamespace")

# Output of GrowthBook's own getBucketRanges / hash (packages/sdk-js/src/util.ts at the commit in
# the fixture's _source), run under Node 20 for inputs the published tables lack: exact floats
# (no rounding) and strings beyond ASCII, where UTF-16 code units, code points and UTF-8 bytes
# part ways.
JS_BUCKET_RANGES = [
    (3, 1, None, [(0, 0.3333333333333333), (0.3333333333333333, 0.6666666666666666), (0.6666666666666666, 1)]),
    (3, 0.7, None, [(0, 0.2333333333333333), (0.3333333333333333, 0.5666666666666667), (0.6666666666666666, 0.8999999999999999)]),
    (4, 0.7, [0.1, 0.2, 0.3, 0.4], [(0, 0.06999999999999999), (0.1, 0.24), (0.30000000000000004, 0.51), (0.6000000000000001, 0.8800000000000001)]),
    (3, 0.33, [0.1, 0.6, 0.3], [(0, 0.033), (0.1, 0.29800000000000004), (0.7, 0.7989999999999999)]),
    (5, 0.95, None, [(0, 0.19), (0.2, 0.39), (0.4, 0.5900000000000001), (0.6000000000000001, 0.79), (0.8, 0.99)]),
    (7, 1, None, [(0, 0.14285714285714285), (0.14285714285714285, 0.2857142857142857), (0.2857142857142857, 0.42857142857142855), (0.42857142857142855, 0.5714285714285714), (0.5714285714285714, 0.7142857142857142), (0.7142857142857142, 0.857142857142857), (0.857142857142857, 0.9999999999999998)]),
    (2, 1, [0.6, 0.4], [(0, 0.6), (0.6, 1)]),
    (3, 0.5, [0.333, 0.333, 0.334], [(0, 0.1665), (0.333, 0.49950000000000006), (0.666, 0.8330000000000001)]),
]
JS_HASHES = [
    ("exp", "josé", 1, 0.077),
    ("exp", "josé", 2, 0.3584),
    ("", "日本語ユーザー", 2, 0.3039),
    ("seed", "😀", 1, 0.429),  # outside the BMP: two UTF-16 code units
    ("seed", "😀", 2, 0.4346),
    ("🚀launch", "user-😀-1", 2, 0.1675),
    ("café", "naïve", 1, 0.781),
]


def _floor8(ranges) -> list[list[float]]:
    """GrowthBook's json.test.ts rounding: floor to 1e-8, so rounded decimals in the table match."""
    return [[math.floor(x * 1e8) / 1e8 for x in bucket] for bucket in ranges]


def _fnv1a32_bytes(data: bytes) -> int:
    """Textbook FNV-1a over bytes, written independently of the module, as a reference."""
    h = 2166136261
    for byte in data:
        h ^= byte
        h = (h * 16777619) % 2**32
    return h


# --- the fixture ------------------------------------------------------------------------------


def test_fixture_names_its_source_and_holds_only_the_published_sections():
    source = CASES["_source"]
    assert source["url"].startswith("https://github.com/growthbook/growthbook/blob/")
    assert source["commit"] in source["url"] and len(source["commit"]) == 40
    assert source["path"] == "packages/sdk-js/test/cases.json"
    assert set(CASES) == {"_source", *PUBLISHED_SECTIONS}
    assert [len(CASES[s]) for s in PUBLISHED_SECTIONS] == [15, 13, 13, 16]


# --- GrowthBook's published tables, one test per row --------------------------------------------


@pytest.mark.parametrize(("seed", "value", "version", "expected"), CASES["hash"])
def test_published_hash(seed, value, version, expected):
    assert hash_value(seed, value, version) == expected


@pytest.mark.parametrize(
    ("name", "inputs", "expected"), CASES["getBucketRange"], ids=[c[0] for c in CASES["getBucketRange"]]
)
def test_published_bucket_ranges(name, inputs, expected):
    num_variations, coverage, weights = inputs
    assert _floor8(bucket_ranges(num_variations, coverage, weights)) == _floor8(expected)


@pytest.mark.parametrize(
    ("name", "n", "ranges", "expected"), CASES["chooseVariation"], ids=[c[0] for c in CASES["chooseVariation"]]
)
def test_published_choose_variation(name, n, ranges, expected):
    assert choose_variation(n, [tuple(r) for r in ranges]) == expected


@pytest.mark.parametrize(
    ("name", "unit_id", "namespace", "expected"), CASES["inNamespace"], ids=[c[0] for c in CASES["inNamespace"]]
)
def test_published_in_namespace(name, unit_id, namespace, expected):
    assert in_namespace(unit_id, tuple(namespace)) is expected


# --- bit-for-bit beyond the tables ---------------------------------------------------------------


@pytest.mark.parametrize(("num_variations", "coverage", "weights", "expected"), JS_BUCKET_RANGES)
def test_bucket_ranges_are_the_same_floats_as_growthbook_js(num_variations, coverage, weights, expected):
    assert bucket_ranges(num_variations, coverage, weights) == expected


@pytest.mark.parametrize(("seed", "value", "version", "expected"), JS_HASHES)
def test_non_ascii_hashes_match_growthbook_js(seed, value, version, expected):
    assert hash_value(seed, value, version) == expected


def test_fnv1a32_standard_vectors():
    # from the FNV reference test suite (isthe.com/chongo/tech/comp/fnv)
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_fnv1a32_is_byte_wise_fnv1a_for_ascii(text):
    assert fnv1a32(text) == _fnv1a32_bytes(text.encode("utf-8"))


@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])))
def test_fnv1a32_steps_per_character_inside_the_bmp(text):
    # Inside the BMP a UTF-16 code unit is the code point: GrowthBook's JS and Python SDKs agree.
    h = 0x811C9DC5
    for char in text:
        h = ((h ^ ord(char)) * 0x01000193) % 2**32
    assert fnv1a32(text) == h


def test_non_ascii_is_not_hashed_as_utf8_bytes():
    assert fnv1a32("josé") != _fnv1a32_bytes("josé".encode())


def test_in_range_is_half_open():
    assert in_range(0.2, (0.2, 0.5)) and in_range(0.4999, (0.2, 0.5))
    assert not in_range(0.5, (0.2, 0.5)) and not in_range(0.5, (0.5, 0.5))


def test_unknown_hash_version_is_none_as_in_growthbook():
    assert hash_value("abc", "def", 3) is None
    assert hash_value("abc", "def", 0) is None


# --- assign --------------------------------------------------------------------------------------

unit_ids = st.text(min_size=1, max_size=40)
two_arm_splits = st.integers(min_value=1, max_value=99).map(lambda p: [p / 100, 1 - p / 100])


@given(unit_ids, st.sampled_from([1, 2]))
def test_assign_is_growthbooks_composition(unit_id, version):
    weights = [0.2, 0.3, 0.5]
    expected = choose_variation(hash_value("exp-key", unit_id, version), bucket_ranges(3, 0.8, weights))
    got = assign("exp-key", unit_id, weights, coverage=0.8, hash_version=version)
    assert got == (None if expected == -1 else expected)


@given(unit_ids, two_arm_splits)
def test_assign_is_sticky(unit_id, weights):
    first = assign("sticky", unit_id, weights)
    assert all(assign("sticky", unit_id, list(weights)) == first for _ in range(3))
    assert assign("sticky", unit_id, tuple(weights), seed="sticky") == first  # the seed defaults to the key
    assert assign("sticky", unit_id, weights, seed="") == first  # GrowthBook's seed || key


@given(unit_ids)
def test_50_50_to_60_40_only_moves_units_from_arm_1_to_arm_0(unit_id):
    n = hash_value("exp", unit_id, 2)
    before = assign("exp", unit_id, [0.5, 0.5])
    after = assign("exp", unit_id, [0.6, 0.4])
    if n < 0.5:
        assert before == after == 0
    elif n < 0.6:
        assert (before, after) == (1, 0)  # the only units that move: numbers in [0.5, 0.6)
    else:
        assert before == after == 1


def test_50_50_to_60_40_moves_a_tenth_of_units():
    units = [f"conversation-{i}" for i in range(20_000)]
    moves = [(assign("exp", u, [0.5, 0.5]), assign("exp", u, [0.6, 0.4])) for u in units]
    moved = [m for m in moves if m[0] != m[1]]
    assert {m for m in moved} == {(1, 0)}
    assert 0.09 < len(moved) / len(units) < 0.11


@given(unit_ids, two_arm_splits, two_arm_splits)
def test_a_two_arm_weight_change_moves_only_units_between_the_boundaries(unit_id, old, new):
    n = hash_value("exp", unit_id, 2)
    moved = assign("exp", unit_id, old) != assign("exp", unit_id, new)
    low, high = sorted((old[0], new[0]))
    assert moved == (low <= n < high)


@given(unit_ids, st.lists(st.floats(0.05, 1.0), min_size=3, max_size=5), st.data())
def test_a_unit_keeps_its_arm_exactly_when_its_number_is_in_both_ranges(unit_id, raw, data):
    # With three or more arms later starts shift too; what stays true: same arm iff the number
    # lies in that arm's old and new range.
    raw_new = data.draw(st.lists(st.floats(0.05, 1.0), min_size=len(raw), max_size=len(raw)))
    old = [w / sum(raw) for w in raw]
    new = [w / sum(raw_new) for w in raw_new]
    n = hash_value("exp", unit_id, 2)
    before, after = assign("exp", unit_id, old), assign("exp", unit_id, new)
    kept = before == after
    in_both = any(
        in_range(n, a) and in_range(n, b)
        for a, b in zip(bucket_ranges(len(old), 1, old), bucket_ranges(len(new), 1, new), strict=True)
    )
    assert kept == in_both


@given(unit_ids, two_arm_splits, st.floats(0, 1), st.floats(0, 1))
def test_raising_coverage_never_moves_a_unit_already_in(unit_id, weights, c1, c2):
    low, high = sorted((c1, c2))
    before = assign("exp", unit_id, weights, coverage=low)
    after = assign("exp", unit_id, weights, coverage=high)
    if before is not None:
        assert after == before


def test_assignment_is_balanced_and_the_seed_reshuffles():
    units = [f"user-{i}" for i in range(10_000)]
    arms = [assign("exp", u, [0.5, 0.5]) for u in units]
    assert 0.48 < arms.count(0) / len(units) < 0.52
    reseeded = [assign("exp", u, [0.5, 0.5], seed="exp-rerun") for u in units]
    agree = sum(a == b for a, b in zip(arms, reseeded, strict=True)) / len(units)
    assert 0.47 < agree < 0.53  # independent of the first assignment


def test_coverage_leaves_the_rest_outside():
    units = [f"user-{i}" for i in range(10_000)]
    arms = [assign("exp", u, [0.5, 0.5], coverage=0.3) for u in units]
    assert 0.28 < (len(units) - arms.count(None)) / len(units) < 0.32


def test_int_ids_hash_as_their_decimal_string_and_empty_ids_are_outside():
    assert assign("exp", 12345, [0.5, 0.5]) == assign("exp", "12345", [0.5, 0.5])
    assert assign("exp", "", [0.5, 0.5]) is None


def test_hash_version_1_is_available_for_older_experiments():
    expected = choose_variation(hash_value("exp", "u-1", 1), bucket_ranges(2))
    assert assign("exp", "u-1", [0.5, 0.5], hash_version=1) == expected


# --- malformed input: InputError, except where GrowthBook repairs it ------------------------------


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: bucket_ranges(0), "num_variations is 0"),
        (lambda: bucket_ranges(-1), "num_variations is -1"),
        (lambda: bucket_ranges(2.0), "num_variations is 2.0"),
        (lambda: bucket_ranges(2, 1, [1.5, -0.5]), "weights[1] is -0.5"),
        (lambda: bucket_ranges(2, 1, [math.nan, 0.5]), "weights[0] is nan"),
        (lambda: bucket_ranges(2, 1, [math.inf, 0.5]), "weights[0] is inf"),
        (lambda: bucket_ranges(2, math.nan), "coverage is nan"),
        (lambda: bucket_ranges(2, "1"), "coverage is '1'"),
        (lambda: assign("exp", "u", [-0.2, 1.2]), "weights[0] is -0.2"),
        (lambda: assign("exp", "u", [1.0]), "at least two arms"),
        (lambda: assign("exp", "u", []), "at least two arms"),
        (lambda: assign("exp", "u", 0.5), "weights is 0.5"),
        (lambda: assign("exp", "u", "0.5,0.5"), "weights is '0.5,0.5'"),
        (lambda: assign("exp", "u", [0.5, 0.5], hash_version=3), "hash_version is 3"),
        (lambda: assign("", "u", [0.5, 0.5]), "experiment_key is ''"),
        (lambda: assign("exp", None, [0.5, 0.5]), "unit_id is None"),
        (lambda: assign("exp", "u", [0.5, 0.5], coverage=math.nan), "coverage is nan"),
    ],
)
def test_malformed_input_names_the_value_and_the_fix(call, fragment):
    with pytest.raises(InputError) as excinfo:
        call()
    message = str(excinfo.value)
    assert fragment in message
    assert "pass" in message  # every message says what to pass instead


def test_coverage_outside_0_1_is_clamped_as_growthbook_does():
    units = [f"user-{i}" for i in range(500)]
    assert [assign("exp", u, [0.5, 0.5], coverage=1.5) for u in units] == [
        assign("exp", u, [0.5, 0.5]) for u in units
    ]
    assert {assign("exp", u, [0.5, 0.5], coverage=-0.2) for u in units} == {None}


def test_weights_not_summing_to_1_fall_back_to_equal_weights_as_growthbook_does():
    units = [f"user-{i}" for i in range(500)]
    equal = [assign("exp", u, [0.5, 0.5]) for u in units]
    assert [assign("exp", u, [0.7, 0.6]) for u in units] == equal
    assert [assign("exp", u, [0.4, 0.1]) for u in units] == equal
    assert bucket_ranges(3, 1, [0.5, 0.5]) == bucket_ranges(3)  # wrong length: equal weights too
