"""A seeded, realistic commercial real-estate portfolio (deterministic for a given seed).

How the numbers hang together (so every derived figure can be checked by direct computation):

- Each property is bought in 2012–2021 at a going-in cap rate typical of its type
  (multifamily 4–6 %, industrial 4.5–6.5 %, retail 5.5–7.8 %, office 5.5–7.5 %, hotel 6.8–8.2 %,
  self-storage 5–6.5 %): first-year NOI = price × cap rate.
- NOI grows yearly with a type-specific trend and noise, including the 2020 shock (hotels
  −45 %, retail −12 %) and the post-2020 office slump. Occupancy and the operating-expense
  ratio are type-specific; effective gross income = NOI / (1 − expense ratio), potential gross
  income = (EGI − other income) / occupancy, vacancy loss = PGI × (1 − occupancy).
- Most properties carry one fixed- or floating-rate loan sized from a target going-in DSCR
  (mostly 1.25–1.75, some tighter, some looser) and capped at 75 % LTV; debt service is the
  monthly-amortizing payment summed per year. A few are unlevered (debt service 0, so their
  DSCR is undefined — the tools say so).
- Current value = latest NOI / current cap rate (going-in cap plus the type's market drift),
  kept within 4–9 %.
- Equity cash flows for IRR: −(price × 1.02 − loan) at acquisition, the levered cash flow of
  each year, and net sale proceeds (value × 0.98 − loan balance) in the last year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from meta_agent.finance import loan_balance, loan_payment

AS_OF_YEAR = 2024
VALUATION_DATE = dt.date(AS_OF_YEAR, 12, 31)

CITIES = [
    ("New York", "NY"), ("Los Angeles", "CA"), ("Chicago", "IL"), ("Houston", "TX"), ("Phoenix", "AZ"),
    ("Philadelphia", "PA"), ("San Antonio", "TX"), ("San Diego", "CA"), ("Dallas", "TX"), ("Austin", "TX"),
    ("Denver", "CO"), ("Seattle", "WA"), ("Boston", "MA"), ("Atlanta", "GA"), ("Miami", "FL"),
    ("Nashville", "TN"), ("Charlotte", "NC"), ("Portland", "OR"), ("Minneapolis", "MN"), ("Raleigh", "NC"),
    ("Salt Lake City", "UT"), ("Tampa", "FL"), ("Columbus", "OH"), ("Indianapolis", "IN"),
]
PREFIXES = [
    "Harbor Point", "Maple Ridge", "Riverside", "Cedar Grove", "Union Square", "Lakeview", "Summit",
    "Granite", "Pioneer", "Willow Creek", "Oak Hollow", "Bayfront", "Canyon", "Meridian", "Northgate",
    "Eastfield", "Parkside", "Stonebridge", "Silver Lake", "Highland", "Ironwood", "Magnolia", "Westbrook",
    "Crescent", "Foxhall", "Gateway", "Brookstone", "Redwood", "Larkspur", "Copperfield",
]
LENDERS = ["Wells Fargo", "JPMorgan Chase", "Bank of America", "MetLife Investment Management",
           "Prudential Mortgage Capital", "Freddie Mac", "Fannie Mae", "CBRE Capital Markets",
           "Pacific Life", "Truist", "PNC Real Estate", "KeyBank Real Estate Capital"]

# Base lending rates by origination year (roughly 10-year Treasury + a CRE spread).
BASE_RATE = {2012: 0.041, 2013: 0.044, 2014: 0.045, 2015: 0.043, 2016: 0.041, 2017: 0.044,
             2018: 0.050, 2019: 0.045, 2020: 0.037, 2021: 0.036}


@dataclass(frozen=True)
class TypeProfile:
    weight: float
    cap: tuple[float, float]  # going-in cap rate range
    cap_drift: float  # change of market cap rate by the valuation date
    oer: tuple[float, float]  # operating expense ratio (of EGI)
    occupancy: tuple[float, float]
    units: tuple[int, int]
    sqft_per_unit: tuple[float, float]
    price_per_unit: tuple[float, float]
    growth: float  # mean yearly NOI growth
    volatility: float
    shock_2020: float
    spread: float  # extra loan spread
    suffixes: tuple[str, ...]


PROFILES: dict[str, TypeProfile] = {
    "multifamily": TypeProfile(0.30, (0.040, 0.060), 0.006, (0.35, 0.45), (0.92, 0.97), (40, 400),
                               (750, 1100), (140_000, 380_000), 0.032, 0.025, -0.02, 0.000,
                               ("Apartments", "Residences", "Lofts")),
    "office": TypeProfile(0.18, (0.055, 0.075), 0.012, (0.38, 0.50), (0.78, 0.93), (8, 60),
                          (2500, 6500), (1_200_000, 4_000_000), 0.010, 0.035, -0.03, 0.003,
                          ("Office Park", "Tower", "Plaza", "Corporate Center")),
    "retail": TypeProfile(0.15, (0.055, 0.078), 0.004, (0.20, 0.32), (0.86, 0.96), (6, 40),
                          (2000, 6000), (700_000, 2_500_000), 0.015, 0.030, -0.12, 0.002,
                          ("Shopping Center", "Marketplace", "Commons")),
    "industrial": TypeProfile(0.17, (0.045, 0.065), 0.002, (0.15, 0.28), (0.93, 0.99), (1, 12),
                              (25_000, 90_000), (2_500_000, 9_000_000), 0.045, 0.025, 0.02, 0.000,
                              ("Logistics Center", "Distribution Center", "Business Park")),
    "hotel": TypeProfile(0.10, (0.068, 0.082), 0.002, (0.62, 0.74), (0.64, 0.80), (90, 320),
                         (450, 650), (110_000, 260_000), 0.030, 0.050, -0.45, 0.008,
                         ("Hotel", "Inn & Suites")),
    "self_storage": TypeProfile(0.10, (0.050, 0.065), 0.003, (0.32, 0.40), (0.88, 0.95), (300, 1200),
                                (80, 130), (9_000, 20_000), 0.040, 0.025, 0.03, 0.001,
                                ("Self Storage",)),
}


@dataclass
class Portfolio:
    properties: list[dict]
    loans: list[dict]
    financials: list[dict]
    cash_flows: list[dict]
    info: dict[str, str]


def _r(x: float, nd: int = 2) -> float:
    return round(float(x), nd)


def generate(n_properties: int = 25, seed: int = 42) -> Portfolio:
    """The portfolio for ``seed`` (same seed and size, same data)."""
    if n_properties < 1 or n_properties > 999:
        raise ValueError("n_properties must be between 1 and 999")
    rng = np.random.default_rng(seed)
    types = list(PROFILES)
    weights = np.array([PROFILES[t].weight for t in types])
    chosen_types = rng.choice(types, size=n_properties, p=weights / weights.sum())
    props: list[dict] = []
    loans: list[dict] = []
    fins: list[dict] = []
    flows: list[dict] = []
    used_names: set[str] = set()

    for i, ptype in enumerate(chosen_types, start=1):
        ptype = str(ptype)
        prof = PROFILES[ptype]
        pid = f"P-{i:03d}"
        city, state = CITIES[int(rng.integers(len(CITIES)))]
        name = f"{PREFIXES[int(rng.integers(len(PREFIXES)))]} {prof.suffixes[int(rng.integers(len(prof.suffixes)))]}"
        if name in used_names:
            name = f"{name} {city}"
        if name in used_names:
            name = f"{name} {i}"
        used_names.add(name)

        units = int(rng.integers(prof.units[0], prof.units[1] + 1))
        sqft = int(round(units * rng.uniform(*prof.sqft_per_unit), -2))
        acq_year = int(rng.integers(2012, 2022))
        acq_date = dt.date(acq_year, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
        year_built = int(min(acq_year - 1, rng.integers(1965, 2020)))
        price = round(units * rng.uniform(*prof.price_per_unit), -3)
        going_in_cap = rng.uniform(*prof.cap)
        noi0 = price * going_in_cap

        # yearly NOI path from the first full year after acquisition to AS_OF_YEAR
        years = list(range(acq_year + 1, AS_OF_YEAR + 1))
        noi = noi0
        path = []
        for y in years:
            g = prof.growth + prof.volatility * rng.standard_normal()
            if y == 2020:
                g += prof.shock_2020
            if y == 2021 and prof.shock_2020 < -0.1:
                g += -prof.shock_2020 * 0.8  # recovery
            if ptype == "office" and y >= 2021:
                g -= 0.025
            noi = max(noi * (1 + g), noi0 * 0.2)
            path.append(noi)

        # loan sized from a target going-in DSCR, capped at 75 % LTV
        levered = rng.uniform() > 0.07
        loan = None
        debt_service = 0.0
        principal = 0.0
        if levered:
            rate = round(BASE_RATE[acq_year] + prof.spread + rng.uniform(0.008, 0.022), 5)  # as stored
            amort = int(rng.choice([25, 30]))
            u = rng.uniform()
            target = rng.uniform(0.98, 1.12) if u < 0.15 else rng.uniform(1.45, 1.8) if u > 0.88 else rng.uniform(1.12, 1.45)
            constant = float(loan_payment(1.0, rate, amort))
            principal = round(min(noi0 / (target * constant), 0.75 * price), -3)
            debt_service = float(loan_payment(principal, rate, amort))
            needed = AS_OF_YEAR + 1 - acq_year
            term = next(t for t in (5, 7, 10, 12, 15) if t >= needed)
            maturity = dt.date(acq_date.year + term, acq_date.month, acq_date.day)
            elapsed = (VALUATION_DATE - acq_date).days / 365.25
            balance = float(loan_balance(principal, rate, amort, elapsed))
            loan = {
                "loan_id": f"L-{len(loans) + 1:03d}", "property_id": pid,
                "lender": LENDERS[int(rng.integers(len(LENDERS)))],
                "loan_type": "floating" if rng.uniform() < 0.2 else "fixed",
                "principal": _r(principal), "interest_rate": _r(rate, 5), "term_years": term,
                "amortization_years": amort, "origination_date": acq_date, "maturity_date": maturity,
                "annual_debt_service": _r(debt_service), "outstanding_balance": _r(balance),
            }
            loans.append(loan)

        occ_lo, occ_hi = prof.occupancy
        oer = rng.uniform(*prof.oer)
        fin_rows = []
        for y, n in zip(years, path, strict=True):
            occ = float(np.clip(rng.uniform(occ_lo, occ_hi) - (0.12 if (ptype == "hotel" and y == 2020) else 0.0)
                                - (0.05 if (ptype == "office" and y >= 2021) else 0.0), 0.35, 0.995))
            oer_y = float(np.clip(oer + 0.015 * rng.standard_normal(), 0.10, 0.85))
            n = _r(n)
            egi = _r(n / (1 - oer_y))
            opex = _r(egi - n)
            other = _r(egi * rng.uniform(0.01, 0.04))
            pgi = _r((egi - other) / occ)
            vacancy = _r(pgi - (egi - other))
            capex = _r(egi * rng.uniform(0.01, 0.04) + (egi * rng.uniform(0.05, 0.15) if rng.uniform() < 0.08 else 0.0))
            ds = _r(debt_service)
            fin_rows.append({
                "property_id": pid, "year": y, "potential_gross_income": pgi, "vacancy_loss": vacancy,
                "other_income": other, "effective_gross_income": egi, "operating_expenses": opex, "noi": n,
                "debt_service": ds, "capital_expenditures": capex, "cash_flow": _r(n - ds - capex),
                "occupancy": round(occ, 4),
            })
        fins.extend(fin_rows)

        cap_now = float(np.clip(going_in_cap + prof.cap_drift + 0.004 * rng.standard_normal(), 0.04, 0.09))
        value = round(path[-1] / cap_now, -3)
        props.append({
            "property_id": pid, "name": name, "property_type": ptype, "city": city, "state": state,
            "units": units, "square_feet": sqft, "year_built": year_built, "acquisition_date": acq_date,
            "purchase_price": float(price), "current_value": float(value), "valuation_date": VALUATION_DATE,
            "occupancy": fin_rows[-1]["occupancy"],
        })

        equity = price * 1.02 - principal
        flows.append({"property_id": pid, "period": 0, "year": acq_year, "operating": 0.0,
                      "capital": _r(-equity), "amount": _r(-equity)})
        for k, row in enumerate(fin_rows, start=1):
            capital = _r(value * 0.98 - (loan["outstanding_balance"] if loan else 0.0)) if k == len(fin_rows) else 0.0
            flows.append({"property_id": pid, "period": k, "year": row["year"], "operating": row["cash_flow"],
                          "capital": capital, "amount": _r(row["cash_flow"] + capital)})

    info = {"seed": str(seed), "properties": str(n_properties), "as_of_year": str(AS_OF_YEAR),
            "valuation_date": VALUATION_DATE.isoformat(), "generator": "meta_agent.portfolio.seed v1"}
    return Portfolio(props, loans, fins, flows, info)
