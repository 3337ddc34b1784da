"""Scenario files: the what-if cases a request's script is re-run under, read from YAML.

A scenario file (``scenarios/<key>.yaml``; the file name without ``.yaml`` is the scenario's
key, the Dagster partition key) holds one mapping, ``scenario:``::

    scenario:
      name: Pessimistic Case                  # 1-80 characters, required
      description: 20% decrease in NOI        # optional
      parameters: {noi_multiplier: 0.8}       # fixed drivers (portfolio.drivers.DRIVERS)
      expected_outcome: {dscr_range: [1.0, 1.2]}   # <metric>_range: [low, high]
      monte_carlo:                            # optional
        iterations: 200000                    # 1 .. 10,000,000
        seed: 11                              # whole number >= 0, default 0
        distributions:                        # driver -> distribution
          noi_multiplier: {dist: normal, mean: 1.0, sd: 0.1}
        correlations:                         # pairs of drivers with distributions
          - {between: [noi_multiplier, interest_rate_shift_bps], rho: -0.4}
        risk: {dscr_below: 1.0}               # <metric>_below / <metric>_above: threshold
      repeat: 1                               # run the script k times (1..100), default 1

The distributions (``dist:`` picks one; no other keys): ``normal`` (mean, sd >= 0),
``lognormal`` (mu, sigma > 0), ``uniform`` (low < high), ``triangular`` (low <= mode <= high,
low < high), ``beta`` (a, b > 0, low < high, default 0 and 1) and ``discrete`` (values and
their probabilities, which add up to 1). ``MonteCarlo.specs`` gives them as the plain dicts
the Monte Carlo engine samples from.

Every problem is a ``ScenarioFileError`` whose message is one sentence naming the file, the
line, the field and the fix, e.g. ``scenarios/bad.yaml, line 4: scenario.parameters.noi_multipler
is not a driver; did you mean noi_multiplier? (the drivers: ...)``. Lines come from the composed
YAML nodes, so a pydantic error's location maps back to the line a person edits.
"""

from __future__ import annotations

import difflib
import math
import re
import reprlib
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from meta_agent.errors import InputError
from meta_agent.portfolio.drivers import DRIVERS, NEUTRAL
from meta_agent.portfolio.drivers import describe as describe_drivers

# The portfolio figures a scenario run reports; expected_outcome and risk compare against them.
METRICS = ("dscr", "cap_rate", "irr", "npv", "noi", "debt_service", "ltv", "roi")
RANGE_KEYS = tuple(f"{m}_range" for m in METRICS)
RISK_KEYS = tuple(f"{m}_{side}" for m in METRICS for side in ("below", "above"))

MAX_FILE_BYTES = 256 * 1024  # a scenario is a few lines; anything bigger is a mistake
MAX_ITERATIONS = 10_000_000
MAX_REPEAT = 100
MAX_SEED = 2**63 - 1  # fits the database's BIGINT
NAME_MAX = 80
DESCRIPTION_MAX = 2000
PROBABILITY_TOLERANCE = 1e-9
PSD_TOLERANCE = 1e-10  # eigenvalues this far below 0 are rounding, not inconsistency
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
KEY_RULE = "lowercase letters, digits, '_' and '-', starting with a letter or digit, at most 64 characters"
SUFFIXES = (".yaml", ".yml")
README = "scenarios/README.md"

KeyPath = tuple[str | int, ...]  # a place in the document: ("scenario", "monte_carlo", "correlations", 0)
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


# ------------------------------------------------------------------------------ errors


class ScenarioFileError(InputError):
    """A scenario that cannot be read; ``str()`` is one sentence naming where, the field and the fix.

    ``path`` is the file (or the stored scenario), ``line`` the 1-based line (None when the
    problem is the whole file or the scenario has no file), ``field`` the dotted field
    (``scenario.parameters.noi_multiplier``; None for the whole file)."""

    def __init__(self, path: str, line: int | None, field: str | None, problem: str):
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = f"{path}, line {line}" if line else path
        subject = f"{field} " if field else ""
        super().__init__(f"{where}: {subject}{problem.rstrip('.')}.")

    def __reduce__(self):  # picklable across processes: rebuild from the parts, not the message
        return (type(self), (self.path, self.line, self.field, self.problem))


def _problem(message: str, *at: str | int) -> PydanticCustomError:
    """A validation problem for the sentence: ``message`` follows the field's dotted name; ``at``
    is where it is below the field being validated (a driver's key, a list index)."""
    return PydanticCustomError("scenario", "{message}", {"message": message, "at": at})


def _bounded_repr() -> reprlib.Repr:
    r = reprlib.Repr()  # keyword arguments only from Python 3.12
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxstring, r.maxother = 2, 4, 4, 4, 40, 40
    return r


_REPR = _bounded_repr()


def _shown(value: Any) -> str:
    """A value as a person wrote it, cut short: ``-0.1``, ``'abc'``, ``nothing``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 0, not 0.0: numbers are read as floats before they are checked
    text = _REPR.repr(value)  # bounded: an aliased list may hold billions of items
    return text if len(text) <= 40 else text[:37] + "..."


def _figure(value: float) -> str:
    """A bound in words: ``10,000,000``, ``0``, ``-0.5``."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _not_one_of(what: str, word: Any, choices: tuple[str, ...], *, noun: str, rule: str | None = None) -> str:
    """``is not a driver; did you mean noi_multiplier? (the drivers: ...)``; without a close
    match ``is not a driver; use one of the drivers: ...``. ``rule`` replaces the listing when
    the choices follow a pattern (``write <metric>_range ...``)."""
    names = ", ".join(choices)
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    if close:
        return f"is not {what}; did you mean {close[0]}? ({rule or f'the {noun}: {names}'})"
    return f"is not {what}; {rule or f'use one of the {noun}: {names}'}"


def _not_a_driver(word: Any) -> str:
    return _not_one_of("a driver", word, tuple(DRIVERS), noun="drivers")


# ------------------------------------------------------------------------------ value types


def _number(value: Any) -> float:
    """A finite number; YAML booleans and quoted numbers are mistakes, not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _problem(f"must be a number (got {_shown(value)}); write it without quotes or units, e.g. 0.8")
    try:
        number = float(value)
    except OverflowError:
        raise _problem("must be a finite number (got a number too large to hold); use a smaller value") from None
    if not math.isfinite(number):
        raise _problem(f"must be a finite number (got {_shown(value)}); use an ordinary number")
    return number


def _whole(value: Any) -> int:
    """A whole number; ``2.0e5`` counts, ``2.5`` and ``true`` do not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _problem(f"must be a whole number (got {_shown(value)}); write digits only, e.g. 200000")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _problem(f"must be text (got {_shown(value)}); put it in quotes")
    return value


def _range_pair(value: Any) -> Any:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise _problem(f"must be a range [low, high] (got {_shown(value)}); write two numbers in brackets, e.g. [1.0, 1.2]")
    return value


def _driver_pair(value: Any) -> Any:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise _problem(f"must name two drivers (got {_shown(value)}); write them in brackets, "
                       "e.g. [noi_multiplier, interest_rate_shift_bps]")
    return value


def _empty_when_null(value: Any) -> Any:
    """``parameters:`` with nothing after it means none, not an error."""
    return {} if value is None else value


Number = Annotated[float, BeforeValidator(_number)]
Whole = Annotated[int, BeforeValidator(_whole)]
Text = Annotated[str, BeforeValidator(_text)]
Range = Annotated[tuple[Number, Number], BeforeValidator(_range_pair)]


class _Closed(BaseModel):
    """A mapping whose keys are exactly its fields: an unknown key is a typo to report."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------ distributions


class Normal(_Closed):
    """``{dist: normal, mean, sd}``: the bell curve; ``sd: 0`` is the fixed value ``mean``."""

    dist: Literal["normal"]
    mean: Number
    sd: Number = Field(ge=0)

    def anchors(self) -> list[tuple[tuple, str, float]]:
        """(where, what, value) checked against the driver's range: the values the file pins."""
        return [(("mean",), "the mean", self.mean)]


class LogNormal(_Closed):
    """``{dist: lognormal, mu, sigma}``: ``exp`` of a normal(mu, sigma); always positive."""

    dist: Literal["lognormal"]
    mu: Number
    sigma: Number = Field(gt=0)

    def anchors(self) -> list[tuple[tuple, str, float]]:
        return [(("mu",), "the median e^mu", math.exp(min(self.mu, 700.0)))]


class _Ranged(_Closed):
    """A distribution on [low, high]: low must be below high, and both ends are pinned."""

    low: Number
    high: Number

    def _check_range(self) -> None:
        if not self.low < self.high:
            raise _problem(f"must be less than high (got low {self.low:g}, high {self.high:g}); "
                           "swap them or widen the range", "low")

    def anchors(self) -> list[tuple[tuple, str, float]]:
        return [(("low",), "the low end", self.low), (("high",), "the high end", self.high)]


class Uniform(_Ranged):
    """``{dist: uniform, low, high}``: every value in [low, high] equally likely."""

    dist: Literal["uniform"]

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        self._check_range()
        return self


class Triangular(_Ranged):
    """``{dist: triangular, low, mode, high}``: most likely at ``mode``, nothing outside [low, high]."""

    dist: Literal["triangular"]
    mode: Number

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        self._check_range()
        if not self.low <= self.mode <= self.high:
            raise _problem(f"must lie between low and high (got mode {self.mode:g}, low {self.low:g}, "
                           f"high {self.high:g}); move the mode inside [{self.low:g}, {self.high:g}]", "mode")
        return self


class Beta(_Ranged):
    """``{dist: beta, a, b, low: 0, high: 1}``: a beta(a, b) stretched onto [low, high]."""

    dist: Literal["beta"]
    a: Number = Field(gt=0)
    b: Number = Field(gt=0)
    low: Number = 0.0
    high: Number = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> Beta:
        self._check_range()
        return self


class Discrete(_Closed):
    """``{dist: discrete, values: [...], probabilities: [...]}``: one of ``values`` with its
    probability (same length, each >= 0, adding up to 1)."""

    dist: Literal["discrete"]
    values: list[Number]
    probabilities: list[Number]

    @model_validator(mode="after")
    def _probabilities(self) -> Discrete:
        if not self.values:
            raise _problem("must list at least one value; e.g. values: [0.9, 1.0] with probabilities: [0.3, 0.7]",
                           "values")
        if len(self.values) != len(self.probabilities):
            raise _problem(f"must give one probability per value (got {len(self.probabilities)} for "
                           f"{len(self.values)} values); make the two lists the same length", "probabilities")
        for i, p in enumerate(self.probabilities):
            if p < 0:
                raise _problem(f"must be >= 0 (got {p:g}); use a probability between 0 and 1",
                               "probabilities", i)
        total = math.fsum(self.probabilities)
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            raise _problem(f"add up to {total:.12g}, not 1; adjust them so they sum to exactly 1",
                           "probabilities")
        return self

    def anchors(self) -> list[tuple[tuple, str, float]]:
        return [(("values", i), "a value", v) for i, v in enumerate(self.values)]


DISTRIBUTIONS: dict[str, type[_Closed]] = {
    "normal": Normal, "lognormal": LogNormal, "uniform": Uniform,
    "triangular": Triangular, "beta": Beta, "discrete": Discrete,
}
Distribution = Annotated[Normal | LogNormal | Uniform | Triangular | Beta | Discrete, Field(discriminator="dist")]


# ------------------------------------------------------------------------------ Monte Carlo


class Correlation(_Closed):
    """``{between: [a, b], rho}``: the correlation between two sampled drivers."""

    between: Annotated[tuple[Text, Text], BeforeValidator(_driver_pair)]
    rho: Number = Field(ge=-1, le=1)


class MonteCarlo(_Closed):
    """``monte_carlo:``: sample the drivers in ``distributions`` ``iterations`` times (seeded),
    correlated as ``correlations`` say, and report the probability of each ``risk`` threshold."""

    iterations: Whole = Field(ge=1, le=MAX_ITERATIONS)
    seed: Whole = Field(default=0, ge=0, le=MAX_SEED)
    distributions: dict[str, Distribution]
    correlations: list[Correlation] = Field(default_factory=list)
    risk: dict[str, Number] = Field(default_factory=dict)

    @field_validator("correlations", mode="before")
    @classmethod
    def _null_correlations(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("risk", mode="before")
    @classmethod
    def _null_risk(cls, value: Any) -> Any:
        return _empty_when_null(value)

    @field_validator("risk")
    @classmethod
    def _risk_keys(cls, risk: dict[str, float]) -> dict[str, float]:
        for key in risk:
            if key not in RISK_KEYS:
                rule = f"write <metric>_below or <metric>_above with a metric from {', '.join(METRICS)}"
                raise _problem(_not_one_of("a risk threshold", key, RISK_KEYS, noun="thresholds", rule=rule), key)
        return risk

    @model_validator(mode="after")
    def _drivers_and_correlations(self) -> MonteCarlo:
        if not self.distributions:
            raise _problem("must name at least one driver; add e.g. noi_multiplier: {dist: normal, mean: 1.0, sd: 0.1}",
                           "distributions")
        for name, dist in self.distributions.items():
            if name not in DRIVERS:
                raise _problem(_not_a_driver(name), "distributions", name)
            d = DRIVERS[name]
            for at, what, value in dist.anchors():
                if not d.low <= value <= d.high:
                    raise _problem(f"puts {what} of {name} at {value:g}, outside the driver's range "
                                   f"{d.low:g} to {d.high:g}; keep the distribution within it", "distributions", name, *at)
        seen: dict[frozenset[str], int] = {}
        for i, c in enumerate(self.correlations):
            for j, name in enumerate(c.between):
                if name not in DRIVERS:
                    raise _problem(_not_a_driver(name), "correlations", i, "between", j)
                if name not in self.distributions:
                    raise _problem(f"names {name}, which has no distribution; add one under "
                                   "scenario.monte_carlo.distributions or drop this correlation",
                                   "correlations", i, "between", j)
            a, b = c.between
            if a == b:
                raise _problem(f"names {a} twice; a correlation is between two different drivers",
                               "correlations", i, "between")
            pair = frozenset(c.between)
            if pair in seen:
                raise _problem(f"repeats the pair {a}/{b} of correlations[{seen[pair]}]; keep one of them",
                               "correlations", i, "between")
            seen[pair] = i
        if self.correlations:
            smallest = float(np.linalg.eigvalsh(self.correlation_matrix()).min())
            if smallest < -PSD_TOLERANCE:
                raise _problem(f"do not fit together: their correlation matrix is not positive semi-definite "
                               f"(smallest eigenvalue {smallest:.3g}); reduce the correlations toward 0 "
                               "until they are consistent", "correlations")
        return self

    def correlation_matrix(self) -> np.ndarray:
        """The correlations of the drivers in ``distributions`` (in that order); 1 on the
        diagonal, 0 for pairs not listed."""
        names = list(self.distributions)
        index = {n: i for i, n in enumerate(names)}
        matrix = np.eye(len(names))
        for c in self.correlations:
            i, j = index[c.between[0]], index[c.between[1]]
            matrix[i, j] = matrix[j, i] = c.rho
        return matrix

    def specs(self) -> dict[str, dict]:
        """Each sampled driver's distribution as a plain dict: ``{"noi_multiplier": {"dist":
        "normal", "mean": 1.0, "sd": 0.1}}`` (beta always carries ``low`` and ``high``)."""
        return {name: dist.model_dump() for name, dist in self.distributions.items()}

    def correlation_list(self) -> list[dict]:
        """``[{"between": [a, b], "rho": r}]`` in file order."""
        return [{"between": list(c.between), "rho": c.rho} for c in self.correlations]

    def risk_thresholds(self) -> list[tuple[str, str, float]]:
        """``risk`` as (metric, "below" | "above", threshold): ``[("dscr", "below", 1.0)]``."""
        out = []
        for key, value in self.risk.items():
            metric, side = key.rsplit("_", 1)
            out.append((metric, side, value))
        return out

    def to_document(self) -> dict:
        doc: dict[str, Any] = {"iterations": self.iterations, "seed": self.seed, "distributions": self.specs()}
        if self.correlations:
            doc["correlations"] = self.correlation_list()
        if self.risk:
            doc["risk"] = dict(self.risk)
        return doc


# ------------------------------------------------------------------------------ scenarios


class ScenarioBody(_Closed):
    """The mapping under ``scenario:`` in a file: everything but the key and the source."""

    name: Text = Field(min_length=1, max_length=NAME_MAX)
    description: Text = Field(default="", max_length=DESCRIPTION_MAX)
    parameters: dict[str, Number] = Field(default_factory=dict)
    expected_outcome: dict[str, Range] = Field(default_factory=dict)
    monte_carlo: MonteCarlo | None = None
    repeat: Whole = Field(default=1, ge=1, le=MAX_REPEAT)

    @field_validator("description", mode="before")
    @classmethod
    def _no_description(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("parameters", "expected_outcome", mode="before")
    @classmethod
    def _null_mappings(cls, value: Any) -> Any:
        return _empty_when_null(value)

    @field_validator("name")
    @classmethod
    def _one_line(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise _problem("is blank; give the scenario a short title, e.g. Pessimistic Case")
        if "\n" in name or "\r" in name:
            raise _problem("must be one line; move the rest to description:")
        return name

    @field_validator("parameters")
    @classmethod
    def _drivers_in_range(cls, parameters: dict[str, float]) -> dict[str, float]:
        for name, value in parameters.items():
            if name not in DRIVERS:
                raise _problem(_not_a_driver(name), name)
            d = DRIVERS[name]
            if not d.low <= value <= d.high:
                raise _problem(f"must be between {d.low:g} and {d.high:g} (got {value:g}); use a value in "
                               f"that range ({d.example})", name)
        return parameters

    @field_validator("expected_outcome")
    @classmethod
    def _ranges(cls, expected: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for key, (low, high) in expected.items():
            if key not in RANGE_KEYS:
                rule = f"write <metric>_range with a metric from {', '.join(METRICS)}"
                raise _problem(_not_one_of("an expected outcome", key, RANGE_KEYS, noun="outcomes", rule=rule), key)
            if low > high:
                raise _problem(f"must be [low, high] with low <= high (got [{low:g}, {high:g}]); swap them", key)
        return expected


class Scenario(ScenarioBody):
    """A scenario: the body of its file plus its ``key`` (the Dagster partition key — a file's
    stem) and its ``source`` (the file's path, or ``"db"`` for one added without a file)."""

    key: str = Field(pattern=KEY_PATTERN.pattern)
    source: str

    def drivers(self) -> dict[str, float]:
        """Every driver at its fixed value: the neutral ones plus ``parameters``."""
        return NEUTRAL | self.parameters

    def describe(self) -> str:
        """In words: ``NOI × 0.8 (-20 %); market growth -5.0 %/yr``, plus ``(Monte Carlo:
        200,000 iterations over NOI, floating rates)`` when it samples."""
        text = describe_drivers(self.drivers())
        if self.monte_carlo is not None:
            over = ", ".join(DRIVERS[name].label for name in self.monte_carlo.distributions)
            text += f" (Monte Carlo: {self.monte_carlo.iterations:,} iterations over {over})"
        return text

    @property
    def is_base(self) -> bool:
        """True when nothing changes: every fixed driver neutral and no Monte Carlo."""
        return self.monte_carlo is None and all(v == NEUTRAL[k] for k, v in self.parameters.items())

    def expected_ranges(self) -> dict[str, tuple[float, float]]:
        """``expected_outcome`` by metric: ``{"dscr": (1.0, 1.2)}``."""
        return {key.removesuffix("_range"): bounds for key, bounds in self.expected_outcome.items()}

    def to_document(self) -> dict:
        """The YAML document, ``{"scenario": {...}}``, as plain JSON-able values (lists, not
        tuples); ``scenario_from_document`` reads it back to an equal scenario."""
        body: dict[str, Any] = {"name": self.name}
        if self.description:
            body["description"] = self.description
        body["parameters"] = dict(self.parameters)
        if self.expected_outcome:
            body["expected_outcome"] = {k: [lo, hi] for k, (lo, hi) in self.expected_outcome.items()}
        if self.monte_carlo is not None:
            body["monte_carlo"] = self.monte_carlo.to_document()
        if self.repeat != 1:
            body["repeat"] = self.repeat
        return {"scenario": body}


class _Document(_Closed):
    scenario: ScenarioBody


# ------------------------------------------------------------------------------ keys


def slugify(name: str) -> str:
    """A scenario key from a name: ``"Rate Shock +300bp"`` → ``rate_shock_300bp`` (for
    scenarios added without a file)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")[:64].rstrip("_")
    return slug or "scenario"


def _check_key(key: str, where: str, *, from_file: bool) -> None:
    if isinstance(key, str) and KEY_PATTERN.fullmatch(key):
        return
    if from_file:
        raise ScenarioFileError(where, None, None, f"the file name {key!r} cannot be a scenario key (the key is the "
                                f"file name without .yaml: {KEY_RULE}); rename the file to {slugify(key)}.yaml")
    raise ScenarioFileError(where, None, None, f"the key {key!r} is not a scenario key ({KEY_RULE}); "
                            f"use {slugify(key)!r}")


# ------------------------------------------------------------------------------ YAML with lines


def _dotted(path: KeyPath) -> str:
    """``("scenario", "monte_carlo", "correlations", 0, "rho")`` → ``scenario.monte_carlo.correlations[0].rho``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _index_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], seen: set[int], where: str) -> None:
    """Record the 1-based line of every key and list item under ``node``; keys must be plain
    names, each once (YAML would silently keep the last of a repeated key)."""
    if id(node) in seen:  # an alias: walked already, and a cycle of aliases must not loop
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for knode, vnode in node.value:
            line = knode.start_mark.line + 1
            if knode.tag == _MERGE_TAG:
                raise ScenarioFileError(where, line, _dotted(path) or None,
                                        "uses a merge key (<<), which scenario files do not support; write the keys out")
            if not isinstance(knode, yaml.ScalarNode) or knode.tag != _STR_TAG:
                shown = knode.value if isinstance(knode, yaml.ScalarNode) else "a list or mapping"
                raise ScenarioFileError(where, line, _dotted(path) or None,
                                        f"has the key {shown!s}, which is not a name; keys are names such as "
                                        "noi_multiplier (quote it if it must look like a number)")
            key = knode.value
            if key in first:
                raise ScenarioFileError(where, line, _dotted((*path, key)),
                                        f"appears twice (lines {first[key]} and {line}); keep one")
            first[key] = line
            lines[(*path, key)] = line
            _index_lines(vnode, (*path, key), lines, seen, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index_lines(item, (*path, i), lines, seen, where)


def _read_yaml(text: str, where: str) -> tuple[Any, dict[KeyPath, int]]:
    """The document's data and the line of every key path."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # checks for control characters already
        root = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        if root is not None:
            lines[()] = root.start_mark.line + 1
            _index_lines(root, (), lines, set(), where)
        data = loader.construct_document(root) if root is not None else None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioFileError(where, line, None, f"the file contains the control character #x{exc.character:04x}, "
                                "so it is not plain YAML text; save it as UTF-8 text without control characters") from None
    except yaml.composer.ComposerError as exc:
        mark = exc.problem_mark
        if exc.context == "expected a single document in the stream":
            raise ScenarioFileError(where, mark.line + 1 if mark else None, None,
                                    "the file holds more than one YAML document (a second '---'); keep one scenario "
                                    "per file") from None
        fix = ("define the anchor (&name) before its alias (*name)" if "undefined alias" in str(exc.problem)
               else "give each anchor (&name) its own name")
        raise ScenarioFileError(where, mark.line + 1 if mark else None, None,
                                f"the file is not valid YAML ({exc.problem}); {fix}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioFileError(where, mark.line + 1 if mark else None, None,
                                f"the file is not valid YAML ({problem}); fix the syntax there (indentation, "
                                "a missing ':', an unclosed quote or bracket)") from None
    except ValueError as exc:  # a value YAML reads as a date but is not one (2024-02-30)
        raise ScenarioFileError(where, None, None, f"the file has a value YAML cannot read ({exc}); "
                                "quote dates and other text") from None
    except RecursionError:
        raise ScenarioFileError(where, None, None, "the file nests lists or mappings too deeply to read; "
                                "a scenario nests only a few levels, so remove the extra brackets") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


# ------------------------------------------------------------------------------ pydantic errors → sentences


def _at(data: Any, path: KeyPath) -> Any:
    for step in path:
        if isinstance(data, dict) and step in data:
            data = data[step]
        elif isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data):
            data = data[step]
        else:
            return None
    return data


def _clean(loc: tuple, data: Any) -> KeyPath:
    """A pydantic location as a path through the data: the discriminated union's tag
    (``..., "noi_multiplier", "normal", "sd"``) is dropped."""
    out: list[str | int] = []
    node = data
    for step in loc:
        if isinstance(node, dict) and isinstance(step, str) and step == node.get("dist") and step in DISTRIBUTIONS:
            continue
        out.append(step)
        node = _at(node, (step,))
    return tuple(out)


def _keys_at(path: KeyPath, data: Any) -> tuple[str, tuple[str, ...]]:
    """What the mapping at ``path`` is, in words, and the keys it takes."""
    if path == ():
        return "the top level", ("scenario",)
    if path == ("scenario",):
        return "scenario", tuple(ScenarioBody.model_fields)
    if path == ("scenario", "monte_carlo"):
        return "monte_carlo", tuple(MonteCarlo.model_fields)
    if _is_distribution(path):
        dist = _at(data, (*path, "dist"))
        model = DISTRIBUTIONS.get(dist) if isinstance(dist, str) else None
        if model is not None:
            return f"a {dist} distribution", tuple(model.model_fields)
    if len(path) == 4 and path[:3] == ("scenario", "monte_carlo", "correlations"):
        return "a correlation", tuple(Correlation.model_fields)
    return "this mapping", ()


_BOUND_FIXES = {
    "sd": "use a non-negative standard deviation",
    "sigma": "use a positive sigma (the standard deviation of the logarithm)",
    "a": "use a positive shape parameter a",
    "b": "use a positive shape parameter b",
    "rho": "use a correlation between -1 and 1",
    "iterations": f"use 1 to {MAX_ITERATIONS:,} iterations",
    "seed": "use a whole number >= 0",
    "repeat": f"use 1 to {MAX_REPEAT} runs",
}

_BOUNDS = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
           "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}

_MISSING_FIXES = {
    "name": f"add name: with a short title (1-{NAME_MAX} characters)",
    "iterations": f"add iterations: with the number of samples (1 to {MAX_ITERATIONS:,})",
    "distributions": "add distributions: naming each sampled driver, e.g. noi_multiplier: "
                     "{dist: normal, mean: 1.0, sd: 0.1}",
    "scenario": "put the scenario's keys under a scenario: line",
}


_MAPPING_TYPES = ("model_type", "model_attributes_type", "dict_type")


def _is_distribution(path: KeyPath) -> bool:
    return len(path) == 4 and path[:3] == ("scenario", "monte_carlo", "distributions")


def _explain(error: dict, data: Any) -> tuple[KeyPath, str]:
    """One pydantic error as (path through the data, the problem and its fix)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    loc = _clean(error["loc"], data)
    got = _shown(error.get("input"))
    last = loc[-1] if loc else ""
    if kind == "scenario":
        return (*loc, *ctx["at"]), ctx["message"]
    if kind == "missing":
        what, keys = _keys_at(loc[:-1], data)
        fix = _MISSING_FIXES.get(str(last)) or (f"add it ({what} takes {', '.join(keys)})" if keys else "add it")
        return loc, f"is missing; {fix}"
    if kind == "extra_forbidden":
        what, keys = _keys_at(loc[:-1], data)
        return loc, _not_one_of(f"a key of {what}", last, keys, noun="keys")
    if kind in _BOUNDS:
        sign, name = _BOUNDS[kind]
        fix = _BOUND_FIXES.get(str(last), "use a value in range")
        return loc, f"must be {sign} {_figure(ctx[name])} (got {got}); {fix}"
    if kind == "union_tag_invalid":
        return (*loc, "dist"), _not_one_of("a distribution", ctx.get("tag"), tuple(DISTRIBUTIONS), noun="distributions")
    if kind == "union_tag_not_found" or (kind in _MAPPING_TYPES and _is_distribution(loc)):
        if not isinstance(error.get("input"), dict):
            return loc, (f"must be a distribution mapping (got {got}); write e.g. "
                         "{dist: normal, mean: 1.0, sd: 0.1}")
        return loc, f"needs dist: naming its distribution; use one of: {', '.join(DISTRIBUTIONS)}"
    if kind in _MAPPING_TYPES:
        what, keys = _keys_at(loc, data)
        takes = f" ({', '.join(keys)})" if keys else ""
        if error.get("input") is None:
            return loc, f"is empty; write its keys{takes} under it"
        return loc, f"must be a mapping of keys{takes} (got {got}); write key: value lines under it"
    if kind == "list_type":
        return loc, f"must be a list (got {got}); write the items as - lines or in brackets"
    if kind == "string_too_short":
        return loc, "is blank; give the scenario a short title, e.g. Pessimistic Case"
    if kind == "string_too_long":
        return loc, (f"is too long ({len(error.get('input') or '')} characters, at most {ctx.get('max_length')}); "
                     "shorten it")
    return loc, f"is not valid ({error.get('msg')}; got {got}); see {README}"


def _line(path: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    """The line of ``path``, else of its nearest parent that has one."""
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool | int | float):
        return "a number" if not isinstance(value, bool) else "true/false"
    return "not a mapping"


def _check_top(data: Any, lines: dict[KeyPath, int], where: str, what: str) -> None:
    """The one-key top level (``scenario:``), with the fixes for the usual slips."""
    if data is None:
        raise ScenarioFileError(where, None, None, f"{what} is empty; write scenario: with at least name: under it "
                                f"(see {README})")
    if not isinstance(data, dict):
        raise ScenarioFileError(where, lines.get(()), None,
                                f"the top level is {_kind_of(data)}, but a scenario file is a mapping with one key, "
                                f"scenario:; write scenario: and the scenario's keys indented under it (see {README})")
    if "scenario" in data:
        return
    body_keys = [k for k in data if k in ScenarioBody.model_fields]
    if body_keys:
        raise ScenarioFileError(where, lines.get((body_keys[0],)), body_keys[0],
                                "belongs under scenario:; add a scenario: line at the top and indent the "
                                "scenario's keys under it")
    first = next(iter(data), None)
    if first is not None and difflib.get_close_matches(str(first), ["scenario"], n=1, cutoff=0.6):
        raise ScenarioFileError(where, lines.get((first,)), str(first),
                                "is not a known key; did you mean scenario? (a scenario file has that one key)")
    raise ScenarioFileError(where, lines.get(()), None,
                            f"{what} has no scenario: key; a scenario file is scenario: with name:, parameters: "
                            f"and the rest under it (see {README})")


def _build(data: Any, lines: dict[KeyPath, int], *, key: str, source: str, where: str, what: str) -> Scenario:
    _check_top(data, lines, where, what)
    try:
        body = _Document.model_validate(data).scenario
    except ValidationError as exc:
        explained = [_explain(e, data) for e in exc.errors()]
        # an unknown key first (it is usually the typo behind a "missing" one), then top-most
        ranked = sorted(zip(exc.errors(), explained, strict=True),
                        key=lambda ee: (ee[0]["type"] != "extra_forbidden", _line(ee[1][0], lines) or 0))
        path, problem = ranked[0][1]
        raise ScenarioFileError(where, _line(path, lines), _dotted(path) or None, problem) from None
    return Scenario(key=key, source=source, **dict(body))


# ------------------------------------------------------------------------------ loading


def parse_scenario(text: str, *, path: str, key: str | None = None) -> Scenario:
    """The scenario in ``text`` (a file's content); ``path`` names it in errors and becomes its
    ``source``; ``key`` defaults to the path's stem. Raises ``ScenarioFileError``."""
    where = str(path)
    from_file = key is None
    key = Path(where).stem if key is None else key
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise ScenarioFileError(where, None, None, f"the file is {size / 1024:,.0f} KiB, larger than the "
                                f"{MAX_FILE_BYTES // 1024} KiB a scenario file may be; a scenario is a few lines, "
                                "so remove what does not belong")
    _check_key(key, where, from_file=from_file)
    data, lines = _read_yaml(text.removeprefix("\ufeff"), where)
    return _build(data, lines, key=key, source=where, where=where, what="the file")


def load_scenario_file(path: str | Path) -> Scenario:
    """The scenario in the file at ``path`` (UTF-8 YAML, at most 256 KiB); its key is the stem.
    Raises ``ScenarioFileError``."""
    path = Path(path)
    where = str(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)  # never more than the cap, whatever the file's size
    except OSError as exc:
        raise ScenarioFileError(where, None, None, f"the file cannot be read ({exc.strerror or exc}); "
                                "check the path and its permissions") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioFileError(where, None, None, f"the file is larger than the {MAX_FILE_BYTES // 1024} KiB a "
                                "scenario file may be; a scenario is a few lines, so remove what does not belong")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioFileError(where, line, None, f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                                "save it as UTF-8 YAML") from None
    return parse_scenario(text, path=where)


def load_scenario_dir(directory: str | Path) -> tuple[list[Scenario], list[ScenarioFileError]]:
    """Every scenario in ``directory``'s ``*.yaml`` and ``*.yml`` files (hidden files skipped),
    in file-name order, and one error per file that could not be read — a bad file never stops
    the others. A key already taken by an earlier file is an error for the later one; a missing
    directory is one error. Never raises ``ScenarioFileError``."""
    directory = Path(directory)
    if not directory.is_dir():
        return [], [ScenarioFileError(str(directory), None, None, "is not a directory; create it or point to the "
                                      "folder that holds the scenario files")]
    files = sorted((p for p in directory.iterdir()
                    if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()), key=lambda p: p.name)
    scenarios: list[Scenario] = []
    errors: list[ScenarioFileError] = []
    taken: dict[str, str] = {}
    for file in files:
        try:
            scenario = load_scenario_file(file)
        except ScenarioFileError as exc:
            errors.append(exc)
            continue
        if scenario.key in taken:
            errors.append(ScenarioFileError(str(file), None, None, f"the scenario key {scenario.key!r} is already "
                                            f"taken by {taken[scenario.key]}; rename one of the two files"))
            continue
        taken[scenario.key] = str(file)
        scenarios.append(scenario)
    return scenarios, errors


def scenario_from_document(doc: dict, *, key: str, source: str = "db") -> Scenario:
    """The scenario in a stored document (``Scenario.to_document``'s ``{"scenario": {...}}``);
    errors name the file it came from (or the scenario, for one added without a file) and the
    field, with no line. Raises ``ScenarioFileError``."""
    where = source if source.endswith(SUFFIXES) else f"scenario {key} ({source})"
    _check_key(key, where, from_file=False)
    return _build(doc, {}, key=key, source=source, where=where, what="the document")
