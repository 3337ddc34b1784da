"""Deterministic, sticky arm assignment, bit-for-bit compatible with GrowthBook's SDKs.

A unit (a conversation, a user, an agent run) gets a number in [0, 1) from a hash of the
experiment's seed and the unit's id; each arm owns an interval of [0, 1); the unit is in the
arm whose interval holds its number, or in no arm (outside coverage). Nothing is stored: the
same seed, unit id and hash version always give the same number, so assignment is sticky
across processes, machines and languages, and a GrowthBook SDK evaluating the same experiment
puts the unit in the same arm. GrowthBook's published test vectors
(``tests/experiments/growthbook_cases.json``) pin every function here that has a table.

The pieces, each a port of the GrowthBook SDK function of the same role:

- ``fnv1a32`` — 32-bit FNV-1a (GrowthBook's ``hashFnv32a``);
- ``hash_value`` — GrowthBook's ``hash``: version 1 ``(fnv1a32(value + seed) % 1000) / 1000``
  (the original, slightly biased hash), version 2
  ``(fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000`` (GrowthBook's unbiased
  replacement: hashing the first hash's decimal digits again, with ten times the buckets);
  any other version: None;
- ``bucket_ranges`` — GrowthBook's ``getBucketRanges``: arm ``i`` owns
  ``[start_i, start_i + coverage * w_i)`` with ``start_i = w_0 + … + w_{i-1}``;
- ``choose_variation``, ``in_range``, ``in_namespace`` — ``chooseVariation``, ``inRange``,
  ``inNamespace``;
- ``assign`` — the small front door: key, unit id and weights in, arm index (or None) out.

Why weights and coverage can change without reshuffling units
-------------------------------------------------------------
A unit's number depends only on (seed, unit id, hash version) — never on the weights or the
coverage — and each arm's interval starts at the sum of the weights before it and grows from
that start. So:

- Raising coverage (same weights) lengthens every arm's interval from its fixed start: every
  unit already in the experiment keeps its arm, and new units join. Lowering coverage only
  drops units (from the top of each interval); it never moves one to another arm.
- Changing weights (coverage 1) moves a boundary, and only the units whose number lies between
  the old and the new boundary change arm. Two arms 50/50 → 60/40: arm 0 becomes [0, 0.6), so
  units with numbers in [0.5, 0.6) move from arm 1 to arm 0 and nobody else moves — 10 % of
  units, the least any scheme can move to realise the new split (``hash % n`` schemes move
  about half). With three or more arms a weight change shifts the start of every later arm,
  so units near each shifted boundary move; still only those between an old and a new
  boundary.
- Below full coverage a weight change shifts the arms' starts, so some units can leave or join
  the experiment as well as change arm; change weights at full coverage, or accept that.
- Changing the seed (or the key it defaults to) or the hash version reshuffles every unit: that
  is how to re-randomise.

A unit that moved has seen both arms; GrowthBook's analysis drops such units, and its docs advise
treating a running experiment's split as fixed — only coverage is safe to change mid-run.

Input handling
--------------
Where GrowthBook quietly repairs an input, the functions here do the same, since answering
differently would break compatibility; where GrowthBook would carry on with nonsense, they
raise ``InputError`` naming the value and the fix:

- coverage below 0 or above 1 is clamped to 0 or 1 (GrowthBook, pinned by published cases);
  a coverage that is not a number (NaN) is an ``InputError``;
- weights of the wrong length, or whose sum is outside [0.99, 1.01], are replaced by equal
  weights (GrowthBook, pinned by published cases) — so a mistyped split silently runs as an
  even split; negative or non-finite weights are an ``InputError`` (GrowthBook would build
  overlapping or inverted ranges from them);
- fewer than one arm in ``bucket_ranges`` is an ``InputError`` (GrowthBook returns no ranges);
  ``assign`` needs two arms (GrowthBook runs nothing for fewer) and hash version 1 or 2 (any
  other version would put every unit outside the experiment) and raises otherwise;
- an empty unit id is outside the experiment (``assign`` returns None), as in GrowthBook, so
  units with no id are never pooled into one arm.

Strings are hashed as GrowthBook's reference SDK (JavaScript) hashes them: one FNV step per
UTF-16 code unit. For ASCII that is byte-wise FNV-1a over UTF-8; for other text it differs from
UTF-8 bytes, and GrowthBook's Python SDK (which steps per code point) agrees with it for every
character except those outside the Basic Multilingual Plane (emoji), which JavaScript sees as
two surrogate code units. (GrowthBook's Flutter SDK changed to full 16-bit code units "for
cross-platform consistency", so code units are the cross-SDK contract.)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

from meta_agent.errors import InputError

Range = tuple[float, float]

_FNV_OFFSET_BASIS = 0x811C9DC5
_FNV_PRIME = 0x01000193
_UINT32 = 0xFFFFFFFF
# UTF-16 in the machine's byte order, so memoryview.cast("H") reads code units without swapping.
_UTF16_NATIVE = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"
# GrowthBook accepts weights summing to within 1 % of 1 and otherwise falls back to equal weights.
_WEIGHT_SUM_LOW, _WEIGHT_SUM_HIGH = 0.99, 1.01
_HASH_VERSIONS = (1, 2)


def _code_units(text: str) -> Iterable[int]:
    """The UTF-16 code units of ``text`` — what JavaScript's ``charCodeAt`` walks."""
    if text.isascii():  # the common case: one byte per code unit, no decoding work
        return text.encode("ascii")
    return memoryview(text.encode(_UTF16_NATIVE)).cast("H")


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a of ``text``, stepping per UTF-16 code unit as GrowthBook's SDK does.

    For ASCII text this is standard FNV-1a over the UTF-8 bytes (``fnv1a32("a") == 0xE40C292C``).
    """
    h = _FNV_OFFSET_BASIS
    for unit in _code_units(text):
        h = ((h ^ unit) * _FNV_PRIME) & _UINT32
    return h


def hash_value(seed: str, value: str, version: int) -> float | None:
    """GrowthBook's ``hash``: a unit's number in [0, 1), or None for an unknown ``version``.

    Version 1 has 1,000 buckets and hashes ``value + seed``; version 2 has 10,000 and hashes
    the decimal string of the FNV of ``seed + value``.
    """
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000
    if version == 1:
        return (fnv1a32(value + seed) % 1000) / 1000
    return None


def in_range(n: float, bucket: Range) -> bool:
    """Whether ``n`` lies in the half-open interval ``[start, end)``."""
    return bucket[0] <= n < bucket[1]


def choose_variation(n: float, ranges: Sequence[Range]) -> int:
    """Index of the first range holding ``n``, or -1 when none does (outside coverage)."""
    for index, bucket in enumerate(ranges):
        if in_range(n, bucket):
            return index
    return -1


def in_namespace(unit_id: str, namespace: tuple[str, float, float]) -> bool:
    """GrowthBook's ``inNamespace``: whether the unit falls in ``[start, end)`` of namespace ``id``.

    Namespaces keep experiments mutually exclusive: each takes a disjoint slice of the same
    per-unit number. The number is version-1 hash with seed ``"__" + id``, as in GrowthBook.
    """
    name, start, end = namespace
    n = hash_value("__" + name, unit_id, 1)
    return n is not None and start <= n < end


def _is_real(value: object) -> bool:
    """A real number that is not a bool (numpy scalars included)."""
    kind = type(value)
    if kind is float or kind is int:  # the usual case, without the slower ABC check
        return True
    return kind is not bool and isinstance(value, Real)


def _check_arm_count(num_variations: object) -> int:
    if type(num_variations) is not int and (
        isinstance(num_variations, bool) or not isinstance(num_variations, Integral)
    ):
        raise InputError(
            f"num_variations is {num_variations!r}; pass the number of arms as an int of at least 1"
        )
    if num_variations < 1:
        raise InputError(
            f"num_variations is {num_variations}; an experiment needs at least one arm, pass 1 or more"
        )
    return int(num_variations)


def _check_coverage(coverage: object) -> float:
    """Coverage as a float, clamped to [0, 1] as GrowthBook clamps it; NaN or a non-number raises."""
    if not _is_real(coverage) or math.isnan(coverage):
        raise InputError(
            f"coverage is {coverage!r}; pass the share of units to include, a number from 0 to 1"
        )
    return min(max(float(coverage), 0.0), 1.0)


def _check_weights(weights: Iterable[float]) -> list[float]:
    """Weights as floats; negative, infinite or NaN weights (which GrowthBook would not repair) raise."""
    weights = _weight_list(weights)
    checked = []
    for index, weight in enumerate(weights):
        if not _is_real(weight) or not math.isfinite(weight) or weight < 0:
            raise InputError(
                f"weights[{index}] is {weight!r} in {weights!r}; "
                "pass one non-negative share per arm, summing to 1 (e.g. [0.5, 0.5])"
            )
        checked.append(float(weight))
    return checked


def _weight_list(weights: object) -> list:
    """Any iterable of weights (a list, a tuple, a numpy array) as a list; a string or a scalar raises."""
    if not isinstance(weights, str | bytes):
        try:
            return list(weights)  # type: ignore[call-overload]
        except TypeError:
            pass
    raise InputError(f"weights is {weights!r}; pass one share per arm, e.g. [0.5, 0.5]")


def _equal_weights(num_variations: int) -> list[float]:
    return [1 / num_variations] * num_variations


def _left_sum(values: Iterable[float]) -> float:
    # A plain left fold, as JavaScript's reduce adds: Python 3.12's sum() compensates float
    # rounding, which could tip a total across GrowthBook's 0.99/1.01 bounds differently.
    total = 0.0
    for value in values:
        total += value
    return total


def bucket_ranges(
    num_variations: int, coverage: float = 1.0, weights: Iterable[float] | None = None
) -> list[Range]:
    """GrowthBook's ``getBucketRanges``: one ``(start, end)`` per arm.

    Arm ``i`` owns ``[start_i, start_i + coverage * w_i)``, ``start_i`` being the sum of the
    weights before it, so each arm's range grows from a fixed start as coverage rises.
    As GrowthBook does: coverage is clamped to [0, 1]; weights that are None, of a length other
    than ``num_variations``, or summing outside [0.99, 1.01] become equal weights. Raises
    ``InputError`` for fewer than one arm, a NaN coverage, or a negative/non-finite weight.
    """
    num_variations = _check_arm_count(num_variations)
    coverage = _check_coverage(coverage)
    if weights is None:
        weights = _equal_weights(num_variations)
    else:
        weights = _check_weights(weights)
        if len(weights) != num_variations:
            weights = _equal_weights(num_variations)
        total = _left_sum(weights)
        if total < _WEIGHT_SUM_LOW or total > _WEIGHT_SUM_HIGH:
            weights = _equal_weights(num_variations)

    ranges = []
    cumulative = 0.0
    for weight in weights:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


def assign(
    experiment_key: str,
    unit_id: str | int,
    weights: Iterable[float],
    *,
    coverage: float = 1.0,
    seed: str | None = None,
    hash_version: int = 2,
) -> int | None:
    """The arm index of ``unit_id`` in the experiment, or None when it is outside coverage.

    Same answer as GrowthBook running an experiment with ``key=experiment_key``,
    ``weights``, ``coverage``, ``seed`` and ``hashVersion`` on a unit whose hash attribute is
    ``unit_id``: the seed defaults to the key (an empty seed too, as GrowthBook's ``seed || key``),
    an int id hashes as its decimal string (as JavaScript's ``String``), an empty id is outside
    the experiment. ``hash_version`` defaults to 2, what GrowthBook gives new experiments (its SDK
    falls back to 1 when an experiment names none); pass 1 for experiments created with v1.
    Coverage outside [0, 1] is clamped, and weights not summing to ~1 become equal weights, as in
    GrowthBook (see the module docstring); the rest of the malformed input raises ``InputError``.
    """
    if not isinstance(experiment_key, str) or not experiment_key:
        raise InputError(
            f"experiment_key is {experiment_key!r}; pass the experiment's key, a non-empty string"
        )
    if isinstance(unit_id, bool) or not isinstance(unit_id, str | int):
        raise InputError(
            f"unit_id is {unit_id!r}; pass the unit's id as a string (or an int), e.g. str(run_id)"
        )
    if isinstance(hash_version, bool) or hash_version not in _HASH_VERSIONS:
        raise InputError(
            f"hash_version is {hash_version!r}; pass 2 (GrowthBook's current hash) or 1 (its original one)"
        )
    arms = _weight_list(weights)
    if len(arms) < 2:
        raise InputError(
            f"weights is {weights!r}; an experiment needs at least two arms, pass one share per arm "
            "(e.g. [0.5, 0.5])"
        )
    ranges = bucket_ranges(len(arms), coverage, arms)
    unit = str(unit_id)
    if not unit:
        return None
    n = hash_value(seed or experiment_key, unit, hash_version)
    arm = choose_variation(n, ranges)  # n is a float: the version was checked above
    return None if arm == -1 else arm
