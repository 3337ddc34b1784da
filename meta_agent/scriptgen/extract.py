"""Deterministic parameter extraction from a request in plain English.

Each ``find_*`` function reads one kind of thing (metrics, thresholds, entity ids, filter
values, ...) with regular expressions over the text and returns it with the character span it
came from, so later passes can tell which metric a threshold belongs to ("cap rate above 6 %
and DSCR below 1.25") and ignore text already used ("8 % discount rate" is not a threshold).

What the entities are called, how their ids look and what they are filtered or grouped by
comes from the domain's ``Vocabulary`` (``meta_agent.domain``), compiled once per vocabulary
(``patterns``); the figures, formats and refusals are the tool library's (``vocabulary.py``).

Nothing is dropped silently. A scenario the request assumes ("assuming a 10 % haircut on the
exit value", "if rates rise 200 bp") is read first (``find_drivers``, names and ranges from
``meta_agent.portfolio.drivers``) and its text is closed to every other pass, so "200 bp" is
not a threshold and "NOI" in "if NOI falls 20 %" is not a figure to compute. An aggregation
word attached to a figure ("average occupancy") is ``find_aggregate``'s. Every pass records the
spans it used (``Extraction.consumed``); what is left, less the filler words of
``vocabulary.FILLER_WORDS``, is ``Extraction.unhandled`` ("weighted by square footage").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from meta_agent.domain import Vocabulary
from meta_agent.portfolio.drivers import DRIVERS, check
from meta_agent.scriptgen import vocabulary as V
from meta_agent.scriptgen.derive import FIN_COLUMNS, PROPERTY_COLUMNS

Span = tuple[int, int]


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
    drivers: dict[str, float] = field(default_factory=dict)  # the scenario (non-neutral drivers only)
    driver_clauses: dict[str, str] = field(default_factory=dict)  # driver -> the words that set it
    driver_problems: list[str] = field(default_factory=list)
    aggregate: str | None = None  # mean | sum | median | min | max
    consumed: list[tuple[int, int, str]] = field(default_factory=list)  # start, end, which pass used it
    unhandled: list[str] = field(default_factory=list)  # what no pass used, filler left out

    def use(self, span: Span | None, what: str) -> None:
        if span and span[1] > span[0]:
            self.consumed.append((span[0], span[1], what))

    @property
    def spans(self) -> list[Span]:
        return [(s, e) for s, e, _ in self.consumed]

    def driver_spans(self) -> list[Span]:
        return [(s, e) for s, e, what in self.consumed if what == "driver"]


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
_PLURAL_TOP_RX = re.compile(r"\b(?P<noun>propert(?:y|ies)|assets?|buildings?|ones?)\s+(?:that\s+|which\s+)?(?:with|have|has|had|"
                            r"show|shows|showing)\s+(?:the\s+)?(?P<word>highest|lowest|best|worst|largest|smallest|"
                            r"strongest|weakest)\b", re.I)
_ORDER_TAIL_RX = re.compile(r"\b(?:(?P<asc>ascending|(?:lowest|smallest|worst)\s+first|low(?:est)?\s+to\s+high(?:est)?)|"
                            r"(?P<desc>descending|(?:highest|largest|best)\s+first|high(?:est)?\s+to\s+low(?:est)?))\b",
                            re.I)
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
    ex.drivers, ex.driver_clauses, driver_spans, ex.driver_problems = find_drivers(text)
    for span in driver_spans:
        ex.use(span, "driver")
    closed = list(driver_spans)  # the scenario's words are no other pass's
    ex.formats = find_formats(text)
    for span in find_format_spans(text):
        ex.use(span, "format")
    for m in _REPORT_RX.finditer(text):
        ex.wants_report = True
        ex.use(m.span(), "format")
    ex.discount_rate, discount_span = find_discount_rate(text, exclude=closed)
    ex.use(discount_span, "discount_rate")
    ex.entity_ids, id_spans = find_entity_ids(text, pats, exclude=closed)
    for span in id_spans:
        ex.use(span, "entity_ids")
    ex.year, year_spans = find_year(text, exclude=closed)
    for span in year_spans:
        ex.use(span, "year")
    ex.group_by, group_span = find_group_by(text, pats, exclude=closed)
    ex.use(group_span, "group_by")
    outside = closed + ([group_span] if group_span else [])
    ex.metrics, ex.input_mentions = find_metrics(text, exclude=outside)
    if not ex.metrics and driver_spans:  # "what if NOI falls 20 %": the figure is the driver's own
        ex.metrics, ex.input_mentions = find_metrics(text, exclude=[group_span] if group_span else [])
    for m in [*ex.metrics, *ex.input_mentions]:
        ex.use((m.start, m.end), "metric")
    for s, e in find_metric_spans(text, exclude=outside):  # repeated mentions ("DSCR ... DSCR")
        ex.use((s, e), "metric")
    ex.filters, filter_spans = find_filters(text, pats, exclude=outside, with_spans=True)
    for span in filter_spans:
        ex.use(span, "filters")
    ex.thresholds, ex.threshold_problems, threshold_spans = find_thresholds(
        text, ex.metrics, [*closed, *([discount_span] if discount_span else [])], with_spans=True)
    for t in threshold_spans:
        ex.use(t, "threshold")
    ex.ranking, ranking_spans = find_ranking(text, ex.metrics, exclude=closed, with_spans=True)
    for t in ranking_spans:
        ex.use(t, "ranking")
    for m in _ANNUAL_RX.finditer(text):
        if not _overlaps(m.span(), closed):
            ex.annualized = True
            ex.use(m.span(), "annualized")
    mentions = [*ex.metrics, *ex.input_mentions]
    repeats = [Mention("", s, e) for s, e, what in ex.consumed if what == "metric"]  # "... and their average DSCR"
    ex.aggregate, aggregate_spans = find_aggregate(text, [*mentions, *repeats], exclude=ex.spans)
    for t in aggregate_spans:
        ex.use(t, "aggregate")
    for m in V.UNDERSTOOD_RX.finditer(text):
        ex.use(m.span(), "understood")
    for span in find_columns(text, [m.value for m in ex.metrics], ex.group_by, exclude=ex.spans):
        ex.use(span, "column")
    ex.unhandled = find_unhandled(text, ex.spans)
    return ex


def find_formats(text: str) -> list[str]:
    return [fmt for fmt, rx in V.FORMAT_RX.items() if rx.search(text)]


def find_format_spans(text: str) -> list[Span]:
    return [m.span() for rx in V.FORMAT_RX.values() for m in rx.finditer(text)]


def find_discount_rate(text: str, exclude: list[Span] = ()) -> tuple[float | None, Span | None]:
    for rx in _DISCOUNT_RXS:
        m = next((m for m in rx.finditer(text) if not _overlaps(m.span(), list(exclude))), None)
        if m:
            value = float(m.group("num"))
            return (value / 100 if value >= 1 or "%" in m.group(0) or "percent" in m.group(0).lower() else value,
                    m.span())
    return None, None


def find_entity_ids(text: str, pats: Patterns, exclude: list[Span] = ()) -> tuple[list[str], list[Span]]:
    """Ids as written (``P-7``, ``p007``), ranges (``P-003 to P-010``) and numbers after the
    entity's name (``property 9``, ``properties #2 and #4``), in canonical form, sorted; and
    the spans they came from."""
    fmt = pats.vocabulary.ids.format
    ids: set[str] = set()
    spans: list[Span] = []
    exclude = list(exclude)
    for m in pats.id_ranges.finditer(text):
        a, b = int(m.group("a")), int(m.group("b"))
        if 0 < a <= b and b - a <= 500 and not _overlaps(m.span(), exclude):
            ids.update(fmt(n) for n in range(a, b + 1))
            spans.append(m.span())
    for m in pats.ids.finditer(text):
        n = int(m.group("n"))
        if n > 0 and not _overlaps(m.span(), exclude):
            ids.add(fmt(n))
            spans.append(m.span())
    for m in pats.numbered.finditer(text):
        if _overlaps(m.span(), exclude):
            continue
        spans.append(m.span())
        for n in re.findall(r"\d+", m.group(0)):
            if int(n) > 0:
                ids.add(fmt(int(n)))
    return sorted(ids), spans


def find_year(text: str, exclude: list[Span] = ()) -> tuple[int | None, list[Span]]:
    found = [m for m in _YEAR_RX.finditer(text) if not _overlaps(m.span(), list(exclude))]
    return (int(found[-1].group("year")) if found else None), [m.span() for m in found]


def find_group_by(text: str, pats: Patterns, exclude: list[Span] = ()) -> tuple[str | None, Span | None]:
    best = None
    for key, rx in pats.groups:
        m = next((m for m in rx.finditer(text) if not _overlaps(m.span(), list(exclude))), None)
        if m and (best is None or m.start() < best[1][0]):
            best = (key, m.span())
    return (best[0], best[1]) if best else (None, None)


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def find_metric_spans(text: str, exclude: list[Span] = ()) -> list[Span]:
    """Where any figure is named (outside ``exclude``), repeats included."""
    spans = [m.span() for rx in V.METRIC_RX.values() for m in rx.finditer(text)]
    spans += [m.span() for rx in V.METRIC_GROUP_RX for m in rx.finditer(text)]
    return [sp for sp in spans if not _overlaps(sp, list(exclude))]


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


def find_filters(text: str, pats: Patterns, exclude: list[tuple[int, int]] = (), with_spans: bool = False):
    """Known values of each filter dimension the text names (outside ``exclude``): the longest
    phrase wins where two overlap ("Salt Lake City" over "Lake City"). Dimensions and values in
    the vocabulary's order; a dimension with none is left out. ``with_spans``: also the spans."""
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
    return (out, taken[len(exclude):]) if with_spans else out


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


def find_thresholds(text: str, metrics: list[Mention], used: list[tuple[int, int]], with_spans: bool = False):
    """(metric, op, value, position) per condition, the problems (a condition on no figure)
    and, ``with_spans``, where the conditions are."""
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
    conditions = sorted(out, key=lambda t: t[3])
    return (conditions, problems, taken[len(used):]) if with_spans else (conditions, problems)


def _looks_like_year_or_count(text: str, m: re.Match) -> bool:
    """'over 2020-2024', 'more than 3 properties', 'over the past 5 years' are not thresholds."""
    num = m.group("num").replace(",", "")
    if re.fullmatch(r"(?:19|20)\d\d", num) and not m.group("unit"):
        return True
    tail = text[m.end():m.end() + 20].lower()
    return bool(re.match(r"\s*(?:propert|asset|building|year|month|loan|unit|of\s+the)", tail))


def find_ranking(text: str, metrics: list[Mention], exclude: list[Span] = (), with_spans: bool = False):
    """(metric, order, top_n) or None; ``with_spans``: also the words the ranking used."""
    ranking, spans = _ranking(text, metrics, list(exclude))
    return (ranking, spans) if with_spans else ranking


def _ranking(text: str, metrics: list[Mention], exclude: list[Span]
             ) -> tuple[tuple[str | None, str, int | None] | None, list[Span]]:
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

    def first(rx: re.Pattern) -> re.Match | None:
        return next((m for m in rx.finditer(text) if not _overlaps(m.span(), exclude)), None)

    for rx in (_TOP_RX, _N_TOP_RX):
        m = first(rx)
        if m:
            raw = m.group("n").lower()
            n = _WORD_NUMS.get(raw) or int(raw)
            metric = metric_near(m.end())
            return (metric, order_for(m.group("word"), metric), n), [m.span()]
    m = first(_SINGLE_TOP_RX)
    if m:
        metric = metric_near(m.end())
        return (metric, order_for(m.group("word"), metric), 1), [m.span()]
    m = first(_PLURAL_TOP_RX)
    if m:  # "the properties with the highest cap rates": sorted; "the property with ...": the one
        metric = metric_near(m.end())
        one = m.group("noun").lower() in ("property", "asset", "building", "one")
        return (metric, order_for(m.group("word"), metric), 1 if one else None), [m.span()]
    m = first(_SORT_RX)
    if m:
        metric = metric_near(m.end())
        spans = [m.span()]
        tail = _ORDER_TAIL_RX.search(text, m.end(), min(len(text), m.end() + 60))
        order = "desc"
        if tail:
            spans.append(tail.span())
            order = "asc" if tail.group("asc") else "desc"
        return (metric, order, None), spans
    return None, []


# ------------------------------------------------------------------------ scenario drivers

_DNUM = (r"(?P<num>[-+−]?\d+(?:\.\d+)?)\s*(?P<unit>%|per\s*cent\b|percent(?:age\s+points?)?\b|pct\b|pp\b|"
         r"bps?\b|basis[\s-]+points?\b|points?\b)")
_SUBJ = "(?<![\\w-])(?:" + "|".join(f"(?P<s_{i}>{rx})" for i, rx in enumerate(V.DRIVER_SUBJECTS.values())) + \
    ")(?![\\w-])"
_SUBJECT_NAMES = list(V.DRIVER_SUBJECTS)
_AUX = r"(?:(?:were|was|are|is|will|would|should|could|might|may|to|get|gets|got|go|went)\s+)*(?:be\s+)?"
_BY = r"(?:by\s+)?(?:an?\s+|another\s+|a\s+further\s+)?"
_PREP = r"(?:in|on|to|of|for|at|across)\s+(?:the\s+|our\s+|all\s+|each\s+|every\s+|their\s+|its\s+)?"
_VERB = f"(?:(?P<down>{V.DRIVER_DOWN})|(?P<up>{V.DRIVER_UP})|(?P<signed>{V.DRIVER_SIGNED}))(?![\\w-])"
_NOUN = f"(?:(?P<down>{V.DRIVER_DOWN_NOUNS})|(?P<up>{V.DRIVER_UP_NOUNS})|(?P<signed>{V.DRIVER_SIGNED}))(?![\\w-])"
_COMPARATIVE = r"(?:(?P<down>lower|less|smaller|down|below)|(?P<up>higher|more|larger|bigger|up|above))(?![\w-])"
_ACT = (r"(?:(?P<down>cut(?:s|ting)?|haircut(?:s|ting)?|reduc(?:e|es|ed|ing)|lower(?:s|ed|ing)?|decreas(?:e|es|ed|ing)|"
        r"shrink(?:s|ing)?)|(?P<up>rais(?:e|es|ed|ing)|increas(?:e|es|ed|ing)|lift(?:s|ed|ing)?|bump(?:s|ed|ing)?|"
        r"grow(?:s|ing)?|inflat(?:e|es|ed|ing)|hik(?:e|es|ed|ing))|(?P<signed>shock(?:s|ed)?|stress(?:es|ed)?|"
        r"shift(?:s|ed)?|mov(?:e|es|ed)|chang(?:e|es|ed)))(?![\w-])")
_SIGNED_NUM = (r"(?P<num>[-+−]\d+(?:\.\d+)?)\s*(?P<unit>%|per\s*cent\b|percent(?:age\s+points?)?\b|pct\b|pp\b|"
               r"bps?\b|basis[\s-]+points?\b|points?\b)")
_YEARLY = r"(?:(?:a|per|each|every)\s+year|annually|per\s+annum|/\s*yr|yearly|p\.?a\.?)(?![\w-])"
_DRIVER_RXS = [re.compile(rx, re.I) for rx in (
    _SUBJ + r"\s+" + _AUX + _VERB + r"\s+" + _BY + _DNUM,  # NOI falls 20 %, rates rise by 2 %
    r"(?<![\w.])" + _DNUM + r"\s+" + _NOUN + r"\s+" + _PREP + _SUBJ,  # a 10 % haircut on the exit value
    r"(?<![\w-])" + _NOUN + r"\s+of\s+" + _DNUM + r"\s+" + _PREP + _SUBJ,  # a haircut of 10 % on the exit value
    _SUBJ + r"\s+" + _NOUN + r"\s+(?:of|by)\s+(?:an?\s+)?" + _DNUM,  # an exit value haircut of 10 %, a rate cut of 50 bp
    r"(?<![\w.])" + _DNUM + r"\s+" + _SUBJ + r"\s+" + _NOUN,  # a 10 % exit haircut, a 100 bp rate hike
    r"(?<![\w.])" + _DNUM + r"\s+" + _COMPARATIVE + r"\s+" + _SUBJ,  # 10 % lower NOI, 200 bp higher rates
    _SUBJ + r"\s+" + _AUX + _DNUM + r"\s+" + _COMPARATIVE,  # rates 200 bp higher, NOI 20 % lower
    r"(?<![\w-])(?:(?:the\s+fed|the\s+central\s+bank|lenders?|banks?)\s+)?" + _ACT
    + r"\s+(?:the\s+|all\s+|our\s+)?" + _SUBJ + r"\s+(?:by\s+)?" + _DNUM,  # cut NOI by 20 %, the Fed raises rates 1 %
    _SUBJ + r"\s+(?:at\s+|of\s+)?" + _SIGNED_NUM,  # rates +200 bp, NOI -10 %
)]
_GROWTH_UP = r"growth|appreciation|inflation"
_GROWTH_DOWN = r"decline|contraction|depreciation|shrinkage"
_GROWTH_OF = r"(?:(?P<mkt>market|rents?|rental|income|noi|values?|prices?|cash[\s-]*flows?|nominal)\s+)?"
_GROWTH_RXS = [re.compile(rx, re.I) for rx in (
    # 3 % annual market growth, a 2 % yearly decline
    r"(?<![\w.])" + _DNUM + r"\s+(?P<q1>(?:annual(?:ly)?|yearly|a\s+year|per\s+year|per\s+annum)\s+)?"
    + _GROWTH_OF + r"(?:(?:annual|yearly)\s+)?" + f"(?:(?P<up>{_GROWTH_UP})|(?P<down>{_GROWTH_DOWN}))(?![\\w-])",
    # market growth of 3 %, annual growth at 2 % a year
    r"(?<![\w-])(?:(?P<q1>annual|yearly)\s+)?" + _GROWTH_OF + f"(?:(?P<up>{_GROWTH_UP})|(?P<down>{_GROWTH_DOWN}))"
    r"\s+(?:rate\s+)?(?:of|at|=|:)\s*(?:an?\s+)?" + _DNUM,
    # markets shrink 5 % a year, rents grow 3 % per year
    r"(?<![\w-])(?P<mkt>markets?|(?:market\s+)?values?|rents?|income|noi|cash[\s-]*flows?|prices?)\s+" + _AUX
    + r"(?:(?P<up>grow(?:s|ing)?|grew|appreciat(?:e|es|ing)|ris(?:e|es|ing)|increas(?:e|es|ing))|"
    r"(?P<down>shrink(?:s|ing)?|shrank|declin(?:e|es|ing)|contract(?:s|ing)?|fall(?:s|ing)?|depreciat(?:e|es|ing)|"
    r"drop(?:s|ping)?))\s+(?:by\s+|at\s+)?" + _DNUM,
    # growing at 3 % a year
    r"(?<![\w-])(?:grow(?:s|ing)?|growth)\s+(?:of\s+|at\s+|by\s+)?" + _DNUM,
)]
_YEARLY_AFTER = re.compile(r"\s*" + _YEARLY, re.I)
_GROWS_WITH_CASH = ("noi_multiplier", "income_multiplier", "value_multiplier", "exit_value_multiplier")


def _unit(raw: str) -> str:
    """'pct' (%, percent), 'pp' (percentage points, points) or 'bp' (basis points)."""
    raw = re.sub(r"\s+|-", " ", raw.lower())
    if raw.startswith(("bp", "basis")):
        return "bp"
    if raw.startswith(("percentage", "pp", "point")):
        return "pp"
    return "pct"


def _direction(m: re.Match) -> int | None:
    """+1 up, -1 down (times the number's sign: "-2 % annual growth" is a decline); with no
    direction word ("shock", "change", "rates +200 bp") the number's sign, or None."""
    num = m.group("num")
    explicit = -1 if num[0] in "-−" else 1 if num[0] == "+" else None
    if m.groupdict().get("down"):
        return -(explicit or 1)
    if m.groupdict().get("up"):
        return explicit or 1
    return explicit  # "+200 bp", "a -10 % shock": the number's own sign


def _driver_value(name: str, m: re.Match) -> float | None:
    """The driver's value for a match, or None when its number is not in a unit the driver takes."""
    sign = _direction(m)
    if sign is None:
        return None
    size = abs(float(m.group("num").replace("−", "-")))
    unit = _unit(m.group("unit"))
    if name == "interest_rate_shift_bps":
        return sign * (size if unit == "bp" else size * 100)
    if unit != "pct":
        return None
    if name == "market_growth":
        return sign * size / 100
    return 1 + sign * size / 100


def find_drivers(text: str) -> tuple[dict[str, float], dict[str, str], list[Span], list[str]]:
    """The scenario a request assumes: driver -> value (neutral values left out), the words that
    set each, the spans to close to the other passes, and problems (a value out of the driver's
    range, one driver set twice) — each a sentence."""
    candidates: list[tuple[int, int, str, float]] = []
    for i, rx in enumerate(_GROWTH_RXS):
        for m in rx.finditer(text):
            end = m.end()
            yearly = _YEARLY_AFTER.match(text, end)
            if yearly:
                end = yearly.end()
            qualified = bool(m.groupdict().get("q1")) or bool(yearly) or \
                (m.groupdict().get("mkt") or "").lower().startswith("market")
            if not qualified or (i == 3 and not yearly):
                continue  # "NOI growth of 3 %" is not a yearly rate
            value = _driver_value("market_growth", m)
            if value is not None:
                candidates.append((m.start(), end, "market_growth", value))
    for rx in _DRIVER_RXS:
        for m in rx.finditer(text):
            name = _SUBJECT_NAMES[next(int(k[2:]) for k, v in m.groupdict().items() if k.startswith("s_") and v)]
            end = m.end()
            yearly = _YEARLY_AFTER.match(text, end)
            if yearly:  # "rents grow 3 % a year" is growth; rates or expenses per year are no driver
                if name not in _GROWS_WITH_CASH:
                    continue
                name, end = "market_growth", yearly.end()
            value = _driver_value(name, m)
            if value is not None:
                candidates.append((m.start(), end, name, value))
    candidates.sort(key=lambda c: (c[0], -(c[1] - c[0])))
    drivers: dict[str, float] = {}
    clauses: dict[str, str] = {}
    spans: list[Span] = []
    problems: list[str] = []
    for s, e, name, value in candidates:
        if _overlaps((s, e), spans):
            continue
        spans.append((s, e))
        clause = text[s:e]
        value = round(value, 10)
        if name in drivers and drivers[name] != value:
            problems.append(f"it sets {DRIVERS[name].label} twice ('{clauses[name]}' and '{clause}'); name it once")
            continue
        try:
            check({name: value})
        except ValueError as exc:
            problems.append(f"'{clause}' would set {name} to {value:g}, and {exc}")
            continue
        drivers[name], clauses[name] = value, clause
    neutral = {k for k, v in drivers.items() if v == DRIVERS[k].neutral}
    return ({k: v for k, v in drivers.items() if k not in neutral}, {k: v for k, v in clauses.items()
                                                                      if k not in neutral}, spans, problems)


# ------------------------------------------------------------------- one figure over the selection

_AGGREGATE_RXS = {op: re.compile(r"(?<![\w-])(?:" + words + r")(?![\w-])", re.I)
                  for op, words in V.AGGREGATE_WORDS.items()}
_AGGREGATE_AFTER_RXS = {op: re.compile(r"\s*,?\s*(?:" + words + r")(?![\w-])", re.I)
                        for op, words in V.AGGREGATE_AFTER.items()}
# what may stand between an aggregation word and its figure: "the average of the properties' NOI"
_AGG_GAP_RX = re.compile(r"(?:\s+(?:of|the|their|its|all|our|portfolio(?:'s)?|propert(?:y|ies)(?:'s?)?|annual|yearly|"
                         r"each|every|these|those|current|latest))*\s+", re.I)


def find_aggregate(text: str, mentions: list[Mention], exclude: list[Span] = ()) -> tuple[str | None, list[Span]]:
    """The aggregate asked of the figures ("average occupancy", "total NOI", "the median cap
    rate", "NOI in total"): an aggregation word right before a figure (a few filler words
    between) or its phrase right after one. The first one wins; the spans of the words that ask
    for it (a second, different aggregate is left for the plan to name as not handled)."""
    starts = {m.start for m in mentions}
    found: list[tuple[int, int, str]] = []
    exclude = list(exclude)
    for op, rx in _AGGREGATE_RXS.items():
        for m in rx.finditer(text):
            if _overlaps(m.span(), exclude):
                continue
            gap = _AGG_GAP_RX.match(text, m.end())
            if gap and gap.end() in starts:
                found.append((m.start(), m.end(), op))
    for op, rx in _AGGREGATE_AFTER_RXS.items():
        for mention in mentions:
            m = rx.match(text, mention.end)
            if m and not _overlaps(m.span(), exclude):
                found.append((m.start(), m.end(), op))
    if not found:
        return None, []
    found.sort()
    op = found[0][2]
    return op, [(s, e) for s, e, o in found if o == op]


# --------------------------------------------------------------------------- what is left

def find_columns(text: str, metrics: list[str], group_by: str | None, exclude: list[Span] = ()) -> list[Span]:
    """Where the request names a column the plan's rows hold ("with their purchase price" in a
    listing; "current value" next to a cap rate): every property column in a listing, else
    the ones the figures need, plus the names, type, city, year and the group."""
    if not metrics:
        have = set(V.LISTING_COLUMNS)
    else:
        have = {"name", "property_type", "city", "year", *(c for m in metrics for c in FIN_COLUMNS.get(m, [])),
                *(c for m in metrics for c in PROPERTY_COLUMNS.get(m, []))}
    if group_by:
        have.add(group_by)
    exclude = list(exclude)
    return [m.span() for col, rx in V.COLUMN_RX.items() if col in have for m in rx.finditer(text)
            if not _overlaps(m.span(), exclude)]


_TOKEN_RX = re.compile(r"\$?[^\W_]+(?:['’.,-][^\W_]+)*%?")
_BREAK_RX = re.compile(r"[,;:.!?()\[\]{}\"—–]|\s-\s")


def _filler(word: str) -> bool:
    w = word.lower().replace("’", "'")
    return w in V.FILLER_WORDS or (w.endswith("'s") and w[:-2] in V.FILLER_WORDS) or \
        (w.endswith("s'") and w[:-1] in V.FILLER_WORDS)


def find_unhandled(text: str, consumed: list[Span]) -> list[str]:
    """The clauses no pass used: runs of words outside ``consumed`` (broken by used words and
    by punctuation) that hold a word not in ``vocabulary.FILLER_WORDS``, trimmed of filler at
    both ends and quoted as written ("weighted by square footage")."""
    out: list[str] = []
    run: list[tuple[int, int, str]] = []

    def flush() -> None:
        real = [t for t in run if not _filler(t[2])]
        if real:
            clause = text[real[0][0]:real[-1][1]]
            if clause not in out:
                out.append(clause)
        run.clear()

    prev_end = 0
    for m in _TOKEN_RX.finditer(text):
        used = _overlaps(m.span(), consumed)
        if used or _BREAK_RX.search(text, prev_end, m.start()):
            flush()
        if not used:
            run.append((m.start(), m.end(), m.group(0)))
        prev_end = m.end()
    flush()
    return out
