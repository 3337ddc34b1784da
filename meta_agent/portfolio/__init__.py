"""The business data the tools work on: a seeded commercial real-estate portfolio.

It lives in its own database (``META_AGENT_DATA_URL``, default SQLite
``<DAGSTER_HOME>/portfolio.db``), never in the ops database. ``seed_database`` (re)creates it
deterministically; ``ensure_seeded`` seeds only when it is missing or empty (what the demo
and the script factory call); ``summary`` describes it; ``vocabulary`` is what the script
factory's planners are told about it (properties, their ids, cities and types).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa

from meta_agent import config, finance
from meta_agent.errors import InputError
from meta_agent.portfolio import db, schema
from meta_agent.portfolio.seed import AS_OF_YEAR, Portfolio, generate
from meta_agent.portfolio.vocabulary import seed_vocabulary, vocabulary

DEFAULT_PROPERTIES = 25
DEFAULT_SEED = 42

__all__ = ["AS_OF_YEAR", "DEFAULT_PROPERTIES", "DEFAULT_SEED", "Portfolio", "ensure_seeded", "generate",
           "is_seeded", "seed_database", "seed_vocabulary", "summary", "vocabulary"]


def seed_database(url: str | None = None, n_properties: int = DEFAULT_PROPERTIES,
                  seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Drop and recreate the portfolio tables at ``url`` and fill them, in one transaction."""
    url = db.resolve_url(url)
    data = generate(n_properties, seed)
    engine = db.write_engine(url)
    with engine.begin() as conn:
        schema.metadata.drop_all(conn)
        schema.metadata.create_all(conn)
        conn.execute(schema.properties.insert(), data.properties)
        if data.loans:
            conn.execute(schema.loans.insert(), data.loans)
        conn.execute(schema.financials.insert(), data.financials)
        conn.execute(schema.cash_flows.insert(), data.cash_flows)
        conn.execute(schema.dataset_info.insert(), [{"key": k, "value": v} for k, v in data.info.items()])
    db.dispose(url)  # readers must not keep a handle on the replaced file
    return {
        "url": config.redact_url(url),
        "seed": seed,
        "properties": len(data.properties),
        "loans": len(data.loans),
        "financial_rows": len(data.financials),
        "cash_flow_rows": len(data.cash_flows),
        "as_of_year": AS_OF_YEAR,
    }


def is_seeded(url: str | None = None) -> bool:
    url = db.resolve_url(url)
    path = db.sqlite_path(url)
    if path is not None and not path.exists():
        return False
    engine = db.write_engine(url)
    if not sa.inspect(engine).has_table("properties"):
        return False
    with engine.connect() as conn:
        return bool(conn.execute(sa.select(sa.func.count()).select_from(schema.properties)).scalar())


def ensure_seeded(url: str | None = None, n_properties: int = DEFAULT_PROPERTIES,
                  seed: int = DEFAULT_SEED) -> dict[str, Any] | None:
    """Seed when the database is missing or empty; returns the seed report, or None if it was there."""
    return None if is_seeded(url) else seed_database(url, n_properties, seed)


def summary(url: str | None = None) -> dict[str, Any]:
    """What is in the portfolio: counts, totals and the latest year's DSCR and cap rates."""
    url = db.resolve_url(url)
    if not is_seeded(url):
        raise InputError(f"the portfolio database at {config.redact_url(url)} is empty or missing; "
                         "create it with `meta-agent data seed`.")
    engine = db.read_engine(url)
    p, f, ln = schema.properties, schema.financials, schema.loans
    with engine.connect() as conn:
        info = dict(conn.execute(sa.select(schema.dataset_info.c.key, schema.dataset_info.c.value)).all())
        latest = conn.execute(sa.select(sa.func.max(f.c.year))).scalar()
        by_type = conn.execute(
            sa.select(p.c.property_type, sa.func.count(), sa.func.sum(p.c.current_value))
            .group_by(p.c.property_type).order_by(p.c.property_type)).all()
        rows = conn.execute(
            sa.select(p.c.property_id, p.c.name, p.c.property_type, p.c.city, p.c.current_value,
                      f.c.noi, f.c.debt_service)
            .join(f, f.c.property_id == p.c.property_id).where(f.c.year == latest)
            .order_by(p.c.property_id)).all()
        debt = conn.execute(sa.select(sa.func.count(), sa.func.sum(ln.c.outstanding_balance))).one()
    noi = np.array([r.noi for r in rows])
    ds = np.array([r.debt_service for r in rows])
    value = np.array([r.current_value for r in rows])
    dscr, _ = finance.dscr(noi, ds)
    cap, _ = finance.cap_rate(noi, value)
    levered = np.isfinite(dscr)
    return {
        "url": config.redact_url(url),
        "info": info,
        "latest_year": latest,
        "properties": len(rows),
        "by_type": [{"property_type": t, "count": c, "value": round(v, 2)} for t, c, v in by_type],
        "total_value": round(float(value.sum()), 2),
        "total_noi": round(float(noi.sum()), 2),
        "loans": debt[0],
        "total_debt": round(float(debt[1] or 0.0), 2),
        "cap_rate": {"min": round(float(cap.min()), 4), "median": round(float(np.median(cap)), 4),
                     "max": round(float(cap.max()), 4)},
        "dscr": {"levered_properties": int(levered.sum()),
                 "min": round(float(np.nanmin(dscr)), 3) if levered.any() else None,
                 "median": round(float(np.nanmedian(dscr)), 3) if levered.any() else None,
                 "max": round(float(np.nanmax(dscr)), 3) if levered.any() else None,
                 "below_1_25": int((dscr[levered] < 1.25).sum())},
        "rows": [{"property_id": r.property_id, "name": r.name, "property_type": r.property_type, "city": r.city,
                  "current_value": r.current_value, "noi": r.noi, "debt_service": r.debt_service,
                  "dscr": None if not np.isfinite(d) else round(float(d), 3), "cap_rate": round(float(c), 4)}
                 for r, d, c in zip(rows, dscr, cap, strict=True)],
    }
