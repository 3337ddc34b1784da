"""What a data domain tells the script factory: its entities, their ids, what they are filtered
and grouped by, and the words people use for those.

The planners (``meta_agent.scriptgen``) are generic: a plan asks for ``entity_ids`` and
``filters`` (``{dimension: [values]}``) of *some* domain. The domain side builds a
``Vocabulary`` — the portfolio's is ``meta_agent.portfolio.vocabulary()`` (properties ``P-007``,
by city and property type) — and the caller passes it to the planner. This module is plain data
and imports nothing of meta_agent's, so both sides depend on it and not on each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EntityIds:
    """Ids are a prefix, a dash and a zero-padded number: ``EntityIds("P", 3)`` is ``P-007``."""

    prefix: str
    digits: int

    @property
    def pattern(self) -> str:
        """The regular expression a valid id matches in full."""
        return rf"{re.escape(self.prefix)}-\d{{{self.digits}}}"

    @property
    def maximum(self) -> int:
        return 10 ** self.digits - 1

    def format(self, number: int) -> str:
        """The id for ``number`` (a number beyond ``maximum`` gives an id that does not match)."""
        return f"{self.prefix}-{number:0{self.digits}d}"

    def matches(self, text: str) -> bool:
        return re.fullmatch(self.pattern, text) is not None

    def span(self) -> str:
        """``P-001 to P-999``: what people are told when an id is out of range."""
        return f"{self.format(1)} to {self.format(self.maximum)}"


@dataclass(frozen=True)
class Dimension:
    """Something the entities are filtered or grouped by: a column the data tools return.

    ``values`` are the known values (a request naming one filters by it; none: group-only);
    ``phrasings`` the regular expressions that name a value when its own spelling is not all
    people write (``multifamily``: ``apartments?``); ``group_words`` what follows "by"/"per"
    when a request groups by it (``cit(?:y|ies)|markets?``).
    """

    name: str
    label: str
    values: tuple[str, ...] = ()
    phrasings: tuple[tuple[str, tuple[str, ...]], ...] = ()
    group_words: str | None = None

    @property
    def filterable(self) -> bool:
        return bool(self.values)

    @property
    def groupable(self) -> bool:
        return self.group_words is not None

    def patterns_for(self, value: str) -> tuple[str, ...]:
        """The regular expressions that name ``value`` (its own spelling when none are given)."""
        return dict(self.phrasings).get(value) or (re.escape(value),)

    def canonical(self, value: str) -> str | None:
        """The known value ``value`` spells (case-insensitively), or None."""
        return next((v for v in self.values if v.lower() == value.strip().lower()), None)


def phrasings(mapping: Mapping[str, Iterable[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``Dimension.phrasings`` from a ``{value: [regex, ...]}`` mapping."""
    return tuple((value, tuple(patterns)) for value, patterns in mapping.items())


@dataclass(frozen=True)
class Vocabulary:
    """A domain as the planners see it.

    ``entity``/``entities`` name one and many ("property", "properties"); ``entity_words`` is a
    regular expression for the words that mean "the entities in general" (a listing request
    must name them); ``description`` says in a sentence or two what the data is (the LLM
    planner's prompt starts with it).
    """

    entity: str
    entities: str
    ids: EntityIds
    dimensions: tuple[Dimension, ...]
    entity_words: str
    description: str
    notes: tuple[str, ...] = field(default=())  # more facts for a model (e.g. how many there are)

    def dimension(self, name: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.name == name), None)

    @property
    def filter_dimensions(self) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions if d.filterable)

    @property
    def group_dimensions(self) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions if d.groupable)

    def problems(self, entity_ids: Iterable[str] | None, filters: Mapping[str, Iterable[str]] | None,
                 group_by: str | None) -> list[str]:
        """What in plan parameters does not fit this domain, one sentence each (empty: all fits)."""
        out = []
        bad_ids = [i for i in entity_ids or () if not self.ids.matches(i)]
        if bad_ids:
            out.append(f"parameters.entity_ids: {self.entity} ids look like {self.ids.format(7)} "
                       f"({self.ids.span()}); got {bad_ids}")
        names = ", ".join(d.name for d in self.filter_dimensions) or "none"
        for dim, values in (filters or {}).items():
            d = self.dimension(dim)
            if d is None or not d.filterable:
                out.append(f"parameters.filters: '{dim}' is not a dimension to filter by (one of: {names})")
                continue
            unknown = [v for v in values if d.canonical(v) is None]
            if unknown:
                out.append(f"parameters.filters.{dim}: {unknown} are not known {d.label} values "
                           f"(known: {', '.join(d.values)})")
        groups = ", ".join(d.name for d in self.group_dimensions) or "none"
        if group_by is not None and (self.dimension(group_by) is None or not self.dimension(group_by).groupable):
            out.append(f"parameters.group_by: '{group_by}' is not a dimension to group by (one of: {groups})")
        return out

    def describe(self) -> str:
        """The domain for a prompt: what the data is, the id format, each dimension and its values."""
        lines = [self.description, *self.notes,
                 f"{self.entity.capitalize()} ids look like {self.ids.format(7)} ({self.ids.span()}); put the ones "
                 f"a request names in parameters.entity_ids (none: every {self.entity})."]
        for d in self.dimensions:
            uses = [w for w, ok in (("filter", d.filterable), ("group", d.groupable)) if ok]
            values = f": {', '.join(d.values)}" if d.values else ""
            lines.append(f"- {d.name} ({d.label}; {' and '.join(uses)} by it){values}")
        lines.append("Filters go in parameters.filters as {dimension: [values]} with the values spelled as listed; "
                     "parameters.group_by is one dimension name.")
        return "\n".join(lines)
