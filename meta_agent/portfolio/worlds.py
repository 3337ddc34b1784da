"""Scenario worlds: the portfolio database as it would be under a set of drivers.

A script re-run under a scenario reads a *world* — a SQLite copy of the portfolio with the
drivers applied (``drivers.apply``) to the latest financial year, the loans, the property
values and the cash-flow series — mounted read-only like the real one. The script is the
request's own, unchanged: the world is what changes, so every tool (database reads, filters,
calculations) sees the same numbers and no script can forget a driver.

Worlds are content-addressed (a hash of the source data's fingerprint and the drivers) and
kept under the artifacts directory, so a backfill of ten scenarios builds each world once.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from meta_agent import config
from meta_agent.portfolio import db, schema
from meta_agent.portfolio.drivers import NEUTRAL, PortfolioBase, apply, check

WORLD_INFO_KEY = "scenario_drivers"  # dataset_info row naming the drivers a world was built with


def read_tables(url: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every portfolio table's rows, in key order."""
    engine = db.read_engine(url)
    with engine.connect() as conn:
        return {name: [dict(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns)).mappings()]
                for name, t in {**schema.TABLES, "dataset_info": schema.dataset_info}.items()}


def base_from_tables(tables: Mapping[str, list[dict[str, Any]]],
                     property_ids: list[str] | None = None) -> PortfolioBase:
    """The figures drivers act on (``drivers.PortfolioBase``) for ``property_ids`` (default:
    every property, in id order): the latest financial year of each, its loans, its value and
    its cash-flow series."""
    props = {p["property_id"]: p for p in tables["properties"]}
    ids = sorted(props) if property_ids is None else list(property_ids)
    missing = [i for i in ids if i not in props]
    if missing:
        raise ValueError(f"unknown properties: {', '.join(missing)}")
    index = {pid: i for i, pid in enumerate(ids)}
    latest: dict[str, dict[str, Any]] = {}
    for f in tables["financials"]:
        if f["property_id"] in index and f["year"] >= latest.get(f["property_id"], {}).get("year", -1):
            latest[f["property_id"]] = f
    p = len(ids)

    def fin(col: str) -> np.ndarray:
        return np.array([float(latest[i][col]) if i in latest else np.nan for i in ids])

    loans = [ln for ln in tables["loans"] if ln["property_id"] in index]
    flows = [c for c in tables["cash_flows"] if c["property_id"] in index]
    periods = 1 + max((c["period"] for c in flows), default=-1)
    operating = np.zeros((p, max(periods, 1)))
    capital = np.zeros((p, max(periods, 1)))
    last = np.full(p, -1)
    for c in flows:
        i = index[c["property_id"]]
        operating[i, c["period"]] = c["operating"]
        capital[i, c["period"]] = c["capital"]
        last[i] = max(last[i], c["period"])
    return PortfolioBase(
        property_ids=ids, year=np.array([latest[i]["year"] if i in latest else -1 for i in ids]),
        egi=fin("effective_gross_income"), opex=fin("operating_expenses"), noi=fin("noi"),
        debt_service=fin("debt_service"), value=np.array([float(props[i]["current_value"]) for i in ids]),
        loan_property=np.array([index[ln["property_id"]] for ln in loans], dtype=np.intp),
        loan_principal=np.array([float(ln["principal"]) for ln in loans]),
        loan_rate=np.array([float(ln["interest_rate"]) for ln in loans]),
        loan_amortization=np.array([float(ln["amortization_years"]) for ln in loans]),
        loan_floating=np.array([ln["loan_type"] == "floating" for ln in loans], dtype=bool),
        loan_debt_service=np.array([float(ln["annual_debt_service"]) for ln in loans]),
        operating=operating, capital=capital, last_period=last)


def load_base(url: str | None = None, property_ids: list[str] | None = None) -> PortfolioBase:
    return base_from_tables(read_tables(url), property_ids)


def world_tables(tables: Mapping[str, list[dict[str, Any]]], drivers: Mapping[str, float]
                 ) -> dict[str, list[dict[str, Any]]]:
    """The tables under fixed ``drivers``: the latest year's income, expenses, NOI, debt service
    and cash flow; each loan's annual debt service; current values; the cash-flow series. Rows
    the drivers do not touch are copied as they are."""
    drivers = check(drivers)
    base = base_from_tables(tables)
    w = apply(base, drivers)
    index = {pid: i for i, pid in enumerate(base.property_ids)}
    out = {name: [dict(r) for r in rows] for name, rows in tables.items()}
    for prop in out["properties"]:
        prop["current_value"] = float(w.value[index[prop["property_id"]]])
    for row, ds in zip(out["loans"], w.loan_debt_service, strict=True):
        row["annual_debt_service"] = round(float(ds), 2)
    for f in out["financials"]:
        i = index[f["property_id"]]
        if f["year"] != base.year[i]:
            continue
        egi, opex, noi, ds = (float(x[i]) for x in (w.egi, w.opex, w.noi, w.debt_service))
        f.update(effective_gross_income=egi, operating_expenses=opex, noi=noi, debt_service=ds,
                 cash_flow=noi - ds - float(f["capital_expenditures"]))
    for c in out["cash_flows"]:
        i, t = index[c["property_id"]], c["period"]
        c["operating"], c["capital"] = float(w.operating[i, t]), float(w.capital[i, t])
        c["amount"] = c["operating"] + c["capital"]
    info = [r for r in out["dataset_info"] if r["key"] != WORLD_INFO_KEY]
    info.append({"key": WORLD_INFO_KEY, "value": json.dumps(drivers, sort_keys=True)})
    out["dataset_info"] = info
    return out


def fingerprint(tables: Mapping[str, list[dict[str, Any]]], drivers: Mapping[str, float]) -> str:
    """A hash of the source data and the drivers: the world's name."""
    h = hashlib.sha256()
    h.update(json.dumps(tables, sort_keys=True, default=str).encode())
    h.update(json.dumps({k: float(v) for k, v in check(drivers).items()}, sort_keys=True).encode())
    return h.hexdigest()[:20]


def write_world(drivers: Mapping[str, float], worlds_dir: Path, url: str | None = None) -> Path:
    """The SQLite world for ``drivers`` under ``worlds_dir`` (built once per source data and
    drivers; written to a temporary file and renamed, so a reader never sees half a world)."""
    tables = read_tables(url)
    path = Path(worlds_dir) / f"world-{fingerprint(tables, drivers)}.db"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".world-", suffix=".db")
    os.close(fd)
    try:
        engine = sa.create_engine(config.sqlite_url(Path(tmp)))
        with engine.begin() as conn:
            schema.metadata.create_all(conn)
            for name, rows in world_tables(tables, drivers).items():
                if rows:
                    conn.execute(schema.metadata.tables[name].insert(), rows)
        engine.dispose()
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the sandbox reads it as its own user
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def is_neutral(drivers: Mapping[str, float]) -> bool:
    return all(float(v) == NEUTRAL[k] for k, v in check(drivers).items())
