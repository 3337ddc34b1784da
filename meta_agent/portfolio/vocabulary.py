"""The portfolio as the script factory's planners see it: properties ``P-007``, filtered by
property type and city, grouped by those or by state.

``vocabulary(url)`` reads the portfolio database for the values it holds (with the seed's lists,
so a city the generator uses but no property has is still a city); ``seed_vocabulary()`` is the
seed's lists alone (no database). Callers pass the result to a planner
(``OfflinePlanner(vocabulary)``); the plan then speaks of ``entity_ids`` and
``filters: {"property_type": [...], "city": [...]}``, which the templates turn into the
database tools' own arguments (``property_ids``, ``property_type``, ``city``).
"""

from __future__ import annotations

import sqlalchemy as sa

from meta_agent.domain import Dimension, EntityIds, Vocabulary, phrasings
from meta_agent.errors import InputError
from meta_agent.portfolio import db, schema
from meta_agent.portfolio.seed import CITIES

IDS = EntityIds("P", 3)  # properties.property_id; the database tools accept ^P-\d{3}$

# What people write for each property type besides its own name.
TYPE_PHRASINGS = {
    "multifamily": [r"multi[\s-]*family", r"apartments?", r"residential"],
    "office": [r"offices?", r"office\s+buildings?"],
    "retail": [r"retail", r"shopping\s+cent(?:er|re)s?", r"malls?", r"strip\s+cent(?:er|re)s?"],
    "industrial": [r"industrial", r"warehouses?", r"logistics", r"distribution\s+cent(?:er|re)s?"],
    "hotel": [r"hotels?", r"hospitality", r"motels?"],
    "self_storage": [r"self[\s-]*storage", r"storage"],
}
# What follows "by", "per", "for each"... when a request groups by a dimension.
GROUP_WORDS = {
    "property_type": r"(?:property\s+|asset\s+)?(?:types?|class(?:es)?|sectors?)",
    "city": r"(?:city|cities|markets?|metros?|locations?)",
    "state": r"states?",
}
ENTITY_WORDS = r"\b(?:propert(?:y|ies)|assets?|buildings?|portfolio|holdings?)\b"
DESCRIPTION = ("A commercial real-estate portfolio database: properties with their type, city and state, "
               "loans, yearly operating financials and equity cash flows.")


def _vocabulary(cities: list[str], types: list[str], notes: tuple[str, ...] = ()) -> Vocabulary:
    return Vocabulary(
        entity="property",
        entities="properties",
        ids=IDS,
        dimensions=(
            Dimension("property_type", "property type", tuple(types), phrasings(TYPE_PHRASINGS),
                      GROUP_WORDS["property_type"]),
            Dimension("city", "city", tuple(sorted(cities)), group_words=GROUP_WORDS["city"]),
            Dimension("state", "state", group_words=GROUP_WORDS["state"]),
        ),
        entity_words=ENTITY_WORDS,
        description=DESCRIPTION,
        notes=notes,
    )


def seed_vocabulary() -> Vocabulary:
    """The seed's lists: every city and property type the generator uses."""
    return _vocabulary([c for c, _ in CITIES], list(schema.PROPERTY_TYPES))


def vocabulary(url: str | None = None) -> Vocabulary:
    """The portfolio database's vocabulary (default ``META_AGENT_DATA_URL``): the cities and types
    it holds together with the seed's, and how many properties there are. A database that is
    missing, empty or unreachable gives the seed's lists (planning does not need the data;
    the run says what is wrong with it)."""
    try:
        engine = db.read_engine(db.resolve_url(url))
        if not sa.inspect(engine).has_table("properties"):
            return seed_vocabulary()
        p = schema.properties
        with engine.connect() as conn:
            cities = list(conn.execute(sa.select(p.c.city).distinct()).scalars())
            types = list(conn.execute(sa.select(p.c.property_type).distinct()).scalars())
            count, first, last = conn.execute(
                sa.select(sa.func.count(), sa.func.min(p.c.property_id), sa.func.max(p.c.property_id))).one()
    except (InputError, sa.exc.OperationalError):
        return seed_vocabulary()
    if not count:
        return seed_vocabulary()
    seed = seed_vocabulary()
    known_types = list(seed.dimension("property_type").values)
    return _vocabulary(sorted({*seed.dimension("city").values, *cities}),
                       known_types + sorted(set(types) - set(known_types)),
                       (f"This database holds {count} properties ({first} to {last}).",))
