"""Deterministic parameter extraction from a request in plain English.

Each ``find_*`` function reads one kind of thing (metrics, thresholds, entity ids, filter
values, ...) with regular expressions over the text and returns it with the character span it
came from, so later passes can tell which metric a threshold belongs to ("cap rate above 6 %
and DSCR below 1.25") and ignore text already used ("8 % discount rate" is not a threshold).

What the entities are called, how their ids look and what they are filtered or grouped by
comes from the domain's ``Vocabulary`` (``meta_agent.domain``), compiled once per vocabulary
(``patterns``); the figures, formats and refusals are the tool library's (``vocabulary.py``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from meta_agent.domain import Vocabulary
from meta_agent.scriptgen import vocabulary as V


@dataclass(frozen=True)
class Mention:
    value: str
    start: int
    end: int


@dataclass
class Extraction:
    metrics: list[Mention] = field(default_factory=list)
    input_mentions: list[Mention] = field(default_factory=list)  # data figures used as inputs
    thresholds: list[tuple[str, str, float, int]] = field(default_factory=list)  # metric, op, value, pos
    threshold_problems: list[str] = field(default_factory=list)
    entity_ids: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)  # dimension -> values, vocabulary order
    year: int | None = None
    discount_rate: float | None = None
    group_by: str | None = None
    ranking: tuple[str | None, str, int | None] | None = None  # metric, order, top_n
    formats: list[str] = field(default_factory=list)
    annualized: bool = False
    wants_report: bool = False


_NUM = (r"\$?\s*(?P<num>-?\d+(?:,\d{3})*(?:\.\d+)?)\s*(?P<mult>k\b|thousand\b|mm\b|m\b|million\b|bn\b|billion\b)?"
        r"\s*(?P<unit>%|percent|pct|x\b|times\b|bps\b|basis\s+points)?")
_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
_LT = r"below|under|beneath|less\s+than|lower\s+than|smaller\s+than|falls?\s+below|drops?\s+below|<"
_LE = r"at\s+most|no\s+more\s+than|not\s+(?:more|greater)\s+than|not\s+exceeding|up\s+to|<=|=<|≤"
_GT = r"above|over|greater\s+than|more\s+than|higher\s+than|exceeding|exceeds?|>|in\s+excess\s+of"
_GE = r"at\s+least|no\s+less\s+than|not\s+(?:less|below)\s+than|minimum\s+of|min\.?\s+of|>=|=>|≥"
_COVENANT = r"(?:breach(?:es|ing)?|fail(?:s|ing)?|violat(?:e|es|ing)|miss(?:es|ing)?|trips?|under)\s+(?:a|an|the|its|their)?\s*"
_OPS = [("<=", _LE), (">=", _GE), ("<", _LT), (">", _GT)]
_THRESHOLD_RX = re.compile(
    r"(?<![\w-])(?P<op>" + "|".join(f"(?P<{name}>{rx})" for name, rx in
                                     [("le", _LE), ("ge", _GE), ("lt", _LT), ("gt", _GT)]) + r")\s*"
    r"(?:a|an|the|of)?\s*(?:(?:dscr|ltv|cap\s+rate|occupancy)\s+of\s+)?" + _NUM, re.I)
_COVENANT_RX = re.compile(_COVENANT + r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>x|times)?\s*(?:dscr\s+)?covenant", re.I)
_BETWEEN_RX = re.compile(r"\bbetween\s+(?P<a>\d+(?:\.\d+)?)\s*(?P<ua>%|percent|x)?\s+and\s+(?P<b>\d+(?:\.\d+)?)"
                         r"\s*(?P<ub>%|percent|x)?", re.I)
_DISCOUNT_RXS = [
    re.compile(r"(?P<num>\d+(?:\.\d+)?)\s*(?:%|percent|pct)\s+(?:annual\s+)?(?:discount|hurdle|required|target)"
               r"(?:\s+rate)?", re.I),
    re.compile(r"(?:discount(?:ed|ing)?|hurdle)\s+(?:rate\s+)?(?:of\s+|at\s+|=\s*|is\s+|:\s*)?"
               r"(?P<num>\d+(?:\.\d+)?)\s*(?:%|percent|pct)?", re.I),
    re.compile(r"\b(?:npv|net\s+present\s+value|present\s+value)s?\b[^.%]{0,40}?\b(?:at|using)\s+(?:an?\s+)?"
               r"(?P<num>\d+(?:\.\d+)?)\s*(?:%|percent|pct)", re.I),
    re.compile(r"\bdiscount\w*\b[^.%]{0,40}?\b(?:at|using|by)\s+(?:an?\s+)?(?P<num>\d+(?:\.\d+)?)\s*"
               r"(?:%|percent|pct)", re.I),
]
_YEAR_RX = re.compile(r"(?<![\w.-])(?:fy\s*'?)?(?P<year>(?:19[9]\d|20[0-4]\d))(?![\w.%])", re.I)
_TOP_RX = re.compile(r"\b(?P<word>top|best|highest|largest|biggest|strongest|bottom|worst|lowest|smallest|weakest)"
                     r"\s+(?P<n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)\b", re.I)
_N_TOP_RX = re.compile(r"\b(?P<n>\d{1,3}|three|five|ten)\s+(?P<word>best|highest|largest|strongest|worst|lowest|"
                       r"smallest|weakest)\b", re.I)
_SINGLE_TOP_RX = re.compile(r"\b(?:which|what)\s+(?:one|property|asset|building)\s+(?:has|had|shows|is)\s+(?:the\s+)?"
                            r"(?P<word>highest|lowest|best|worst|largest|smallest|strongest|weakest)\b", re.I)
_SORT_RX = re.compile(r"\b(?:rank(?:ed|ing)?|sort(?:ed)?|order(?:ed)?)\s+(?:them\s+|the\s+properties\s+)?(?:by|on)\b", re.I)
_ANNUAL_RX = re.compile(r"\b(?:annuali[sz]ed|per\s+year|per\s+annum|annual\s+(?:roi|return)|yearly\s+return|cagr)\b", re.I)
_INPUT_CONTEXT = re.compile(r"(?:\busing|\bfrom|\bbased\s+on|\bdivided\s+by|\bof|\bon|\bwith|/|\(|÷)\s*(?:the\s+|their\s+|its\s+)?$", re.I)
_WORD_NUMS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
              "nine": 9, "ten": 10}
_REPORT_RX = re.compile(r"\breports?\b", re.I)


@dataclass(frozen=True)
class Patterns:
    """A vocabulary's regular expressions, compiled."""

    vocabulary: Vocabulary
    ids: re.Pattern  # P-7, P007, p 7
    id_ranges: re.Pattern  # P-003 to P-010
    numbered: re.Pattern  # property 9, properties #2 and #4
    values: tuple[tuple[str, str, re.Pattern], ...]  # (dimension, value, what names it)
    groups: tuple[tuple[str, re.Pattern], ...]  # (dimension, "by <dimension>")
    entity_words: re.Pattern


@functools.lru_cache(maxsize=32)
def patterns(vocabulary: Vocabulary) -> Patterns:
    ids = vocabulary.ids
    prefix, n = re.escape(ids.prefix), rf"\d{{1,{ids.digits + 1}}}"  # one digit too many: refused, not dropped
    nouns = "|".join(re.escape(w) for w in sorted({vocabulary.entity, vocabulary.entities}, key=len, reverse=True))
    short = rf"\d{{1,{ids.digits}}}"
    return Patterns(
        vocabulary=vocabulary,
        ids=re.compile(rf"(?<![\w-]){prefix}-?\s?(?P<n>{n})(?![\w.])", re.I),
        id_ranges=re.compile(rf"(?<![\w-]){prefix}-?(?P<a>{n})\s*(?:to|through|thru|–|—|-|\.\.)\s*{prefix}-?(?P<b>{n})"
                             r"(?![\w.])", re.I),
        numbered=re.compile(rf"\b(?:{nouns})\s+(?:#|no\.?\s*|number\s+)?(?P<n>{short})(?:\s*(?:,|and|&)\s*"
                            rf"(?:#|no\.?\s*)?(?P<more>{short}))*\b", re.I),
        values=tuple((d.name, value, V.rx(list(d.patterns_for(value))))
                     for d in vocabulary.filter_dimensions for value in d.values),
        groups=tuple((d.name, re.compile(r"\b(?:by|per|for\s+each|each|across|grouped\s+by|broken\s+down\s+by|"
                                         r"split\s+by)\s+" + d.group_words + r"\b", re.I))
                     for d in vocabulary.group_dimensions),
        entity_words=re.compile(vocabulary.entity_words, re.I),
    )


def extract(text: str, vocabulary: Vocabulary) -> Extraction:
    pats = patterns(vocabulary)
    ex = Extraction()
    used: list[tuple[int, int]] = []
    ex.formats = find_formats(text)
    ex.wants_report = bool(_REPORT_RX.search(text))
    ex.discount_rate, span = find_discount_rate(text)
    if span:
        used.append(span)
    ex.entity_ids = find_entity_ids(text, pats)
    ex.year = find_year(text)
    ex.group_by, group_span = find_group_by(text, pats)
    ex.metrics, ex.input_mentions = find_metrics(text, exclude=[group_span] if group_span else [])
    ex.filters = find_filters(text, pats, exclude=[group_span] if group_span else [])
    ex.thresholds, ex.threshold_problems = find_thresholds(text, ex.metrics, used)
    ex.ranking = find_ranking(text, ex.metrics)
    ex.annualized = bool(_ANNUAL_RX.search(text))
    return ex


def find_formats(text: str) -> list[str]:
    return [fmt for fmt, rx in V.FORMAT_RX.items() if rx.search(text)]


def find_discount_rate(text: str) -> tuple[float | None, tuple[int, int] | None]:
    for rx in _DISCOUNT_RXS:
        m = rx.search(text)
        if m:
            value = float(m.group("num"))
            return (value / 100 if value >= 1 or "%" in m.group(0) or "percent" in m.group(0).lower() else value,
                    m.span())
    return None, None


def find_entity_ids(text: str, pats: Patterns) -> list[str]:
    """Ids as written (``P-7``, ``p007``), ranges (``P-003 to P-010``) and numbers after the
    entity's name (``property 9``, ``properties #2 and #4``), in canonical form, sorted."""
    fmt = pats.vocabulary.ids.format
    ids: set[str] = set()
    for m in pats.id_ranges.finditer(text):
        a, b = int(m.group("a")), int(m.group("b"))
        if 0 < a <= b and b - a <= 500:
            ids.update(fmt(n) for n in range(a, b + 1))
    for m in pats.ids.finditer(text):
        n = int(m.group("n"))
        if n > 0:
            ids.add(fmt(n))
    for m in pats.numbered.finditer(text):
        for n in re.findall(r"\d+", m.group(0)):
            if int(n) > 0:
                ids.add(fmt(int(n)))
    return sorted(ids)


def find_year(text: str) -> int | None:
    years = [int(m.group("year")) for m in _YEAR_RX.finditer(text)]
    return years[-1] if years else None


def find_group_by(text: str, pats: Patterns) -> tuple[str | None, tuple[int, int] | None]:
    best = None
    for key, rx in pats.groups:
        m = rx.search(text)
        if m and (best is None or m.start() < best[1][0]):
            best = (key, m.span())
    return (best[0], best[1]) if best else (None, None)


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def find_metrics(text: str, exclude: list[tuple[int, int]] = ()) -> tuple[list[Mention], list[Mention]]:
    """Metrics in order of first mention; data figures that read as inputs are set apart."""
    found: list[tuple[int, int, str]] = []
    for metric, rx in V.METRIC_RX.items():
        for m in rx.finditer(text):
            found.append((m.start(), m.end(), metric))
    for rx, metrics in V.METRIC_GROUP_RX.items():
        for m in rx.finditer(text):
            found.extend((m.start(), m.end(), metric) for metric in metrics)
    found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    kept: list[tuple[int, int, str]] = []
    spans: list[tuple[int, int]] = list(exclude)
    for s, e, metric in found:
        overlap = [k for k in kept if s < k[1] and k[0] < e]
        if overlap and not all(k[0] == s and k[1] == e for k in overlap):
            continue  # inside a longer phrase already taken ("occupancy" in "break-even occupancy")
        if _overlaps((s, e), list(exclude)):
            continue
        kept.append((s, e, metric))
        spans.append((s, e))
    computed = any(V.METRICS[m].tool for _, _, m in kept)
    series_metrics = any(m in ("irr", "npv") for _, _, m in kept)
    metrics: list[Mention] = []
    inputs: list[Mention] = []
    seen: set[str] = set()
    for s, e, metric in kept:
        mention = Mention(metric, s, e)
        if (computed and metric in V.DATA_METRICS and _INPUT_CONTEXT.search(text[max(0, s - 20):s])) or \
                (series_metrics and metric == "cash_flow"):  # the series IRR and NPV work on
            inputs.append(mention)
            continue
        if metric not in seen:
            seen.add(metric)
            metrics.append(mention)
    return metrics, inputs


def find_filters(text: str, pats: Patterns, exclude: list[tuple[int, int]] = ()) -> dict[str, list[str]]:
    """Known values of each filter dimension the text names (outside ``exclude``): the longest
    phrase wins where two overlap ("Salt Lake City" over "Lake City"). Dimensions and values in
    the vocabulary's order; a dimension with none is left out."""
    found = sorted(((m.start(), m.end(), dim, value) for dim, value, rx in pats.values for m in rx.finditer(text)),
                   key=lambda x: (x[0], -(x[1] - x[0])))
    taken: list[tuple[int, int]] = list(exclude)
    named: set[tuple[str, str]] = set()
    for s, e, dim, value in found:
        if not _overlaps((s, e), taken):
            taken.append((s, e))
            named.add((dim, value))
    out: dict[str, list[str]] = {}
    for dim, value, _ in pats.values:
        if (dim, value) in named:
            out.setdefault(dim, []).append(value)
    return out


def _scale(metric: str, value: float, unit: str | None) -> float:
    unit = (unit or "").lower().strip()
    if unit in ("bps", "basis points"):
        return value / 10_000
    percent = unit in ("%", "percent", "pct")
    if metric in V.PERCENT_METRICS:
        return value / 100 if percent or value > 1.5 else value
    if percent and V.METRICS[metric].unit == "x":
        return value / 100  # "DSCR below 125 %" = 1.25x
    return value


def _owner(pos: int, metrics: list[Mention]) -> str | None:
    """The metric a threshold at ``pos`` qualifies: the closest mention before it, else after."""
    before = [m for m in metrics if m.end <= pos]
    if before:
        return max(before, key=lambda m: m.end).value
    after = [m for m in metrics if m.start >= pos]
    return min(after, key=lambda m: m.start).value if after else None


def find_thresholds(text: str, metrics: list[Mention], used: list[tuple[int, int]]
                    ) -> tuple[list[tuple[str, str, float, int]], list[str]]:
    out: list[tuple[str, str, float, int]] = []
    problems: list[str] = []
    taken = list(used)

    def add(op: str, raw: str, unit: str | None, pos: int, span: tuple[int, int], mult: str | None = None) -> None:
        metric = _owner(pos, metrics)
        if metric is None:
            problems.append(f"the condition '{text[span[0]:span[1]].strip()}' does not say which figure it is on")
            return
        value = float(raw.replace(",", "")) * _MULTIPLIERS.get((mult or "").lower(), 1.0)
        out.append((metric, op, _scale(metric, value, unit), pos))
        taken.append(span)

    for m in _BETWEEN_RX.finditer(text):
        add(">=", m.group("a"), m.group("ua") or m.group("ub"), m.start(), m.span())
        add("<=", m.group("b"), m.group("ub") or m.group("ua"), m.start(), m.span())
    for m in _COVENANT_RX.finditer(text):
        if not _overlaps(m.span(), taken):
            metric = _owner(m.start(), metrics) or "dscr"
            if metric in [x.value for x in metrics]:
                add("<", m.group("num"), m.group("unit"), m.start(), m.span())
            else:
                problems.append("a covenant is named but not the figure it applies to")
    for m in _THRESHOLD_RX.finditer(text):
        if _overlaps(m.span(), taken):
            continue
        if _looks_like_year_or_count(text, m):
            continue
        op = next(sym for sym, name in (("<=", "le"), (">=", "ge"), ("<", "lt"), (">", "gt")) if m.group(name))
        add(op, m.group("num"), m.group("unit"), m.start(), m.span(), m.group("mult"))
    return sorted(out, key=lambda t: t[3]), problems


def _looks_like_year_or_count(text: str, m: re.Match) -> bool:
    """'over 2020-2024', 'more than 3 properties', 'over the past 5 years' are not thresholds."""
    num = m.group("num").replace(",", "")
    if re.fullmatch(r"(?:19|20)\d\d", num) and not m.group("unit"):
        return True
    tail = text[m.end():m.end() + 20].lower()
    return bool(re.match(r"\s*(?:propert|asset|building|year|month|loan|unit|of\s+the)", tail))


def find_ranking(text: str, metrics: list[Mention]) -> tuple[str | None, str, int | None] | None:
    def order_for(word: str, metric: str | None) -> str:
        word = word.lower()
        hib = V.METRICS[metric].higher_is_better if metric else True
        if word in ("top", "highest", "largest", "biggest"):
            return "desc"
        if word in ("bottom", "lowest", "smallest"):
            return "asc"
        if word in ("best", "strongest"):
            return "desc" if hib else "asc"
        return "asc" if hib else "desc"  # worst, weakest

    def metric_near(pos: int) -> str | None:
        after = [m for m in metrics if m.start >= pos]
        return min(after, key=lambda m: m.start).value if after else _owner(pos, metrics)

    for rx in (_TOP_RX, _N_TOP_RX):
        m = rx.search(text)
        if m:
            raw = m.group("n").lower()
            n = _WORD_NUMS.get(raw) or int(raw)
            metric = metric_near(m.end())
            return metric, order_for(m.group("word"), metric), n
    m = _SINGLE_TOP_RX.search(text)
    if m:
        metric = metric_near(m.end())
        return metric, order_for(m.group("word"), metric), 1
    m = _SORT_RX.search(text)
    if m:
        metric = metric_near(m.end())
        tail = text[m.end():m.end() + 60].lower()
        order = "asc" if re.search(r"\b(?:ascending|lowest\s+first|smallest\s+first)\b", tail) else "desc"
        return metric, order, None
    return None
