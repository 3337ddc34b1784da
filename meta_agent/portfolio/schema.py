"""Portfolio (business data) schema: its own MetaData, its own database (``META_AGENT_DATA_URL``).

Not the ops database: the tools read this one through a read-only connection. Money is in
USD (float), rates are fractions (0.055 = 5.5 %), years are calendar years.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

PROPERTY_TYPES = ("multifamily", "office", "retail", "industrial", "hotel", "self_storage")

properties = sa.Table(
    "properties",
    metadata,
    sa.Column("property_id", sa.String(16), primary_key=True, comment="P-001, P-002, ..."),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("property_type", sa.String(32), nullable=False),
    sa.Column("city", sa.String(64), nullable=False),
    sa.Column("state", sa.String(2), nullable=False),
    sa.Column("units", sa.Integer, nullable=False, comment="apartments, suites, rooms, tenant spaces or storage units"),
    sa.Column("square_feet", sa.Integer, nullable=False),
    sa.Column("year_built", sa.Integer, nullable=False),
    sa.Column("acquisition_date", sa.Date, nullable=False),
    sa.Column("purchase_price", sa.Float, nullable=False),
    sa.Column("current_value", sa.Float, nullable=False),
    sa.Column("valuation_date", sa.Date, nullable=False),
    sa.Column("occupancy", sa.Float, nullable=False, comment="latest year's physical occupancy, 0..1"),
    sa.Index("ix_properties_property_type", "property_type"),
    sa.Index("ix_properties_city", "city"),
)

loans = sa.Table(
    "loans",
    metadata,
    sa.Column("loan_id", sa.String(16), primary_key=True, comment="L-001, ..."),
    sa.Column("property_id", sa.String(16), sa.ForeignKey("properties.property_id"), nullable=False),
    sa.Column("lender", sa.String(64), nullable=False),
    sa.Column("loan_type", sa.String(16), nullable=False, comment="fixed | floating"),
    sa.Column("principal", sa.Float, nullable=False),
    sa.Column("interest_rate", sa.Float, nullable=False),
    sa.Column("term_years", sa.Integer, nullable=False),
    sa.Column("amortization_years", sa.Integer, nullable=False),
    sa.Column("origination_date", sa.Date, nullable=False),
    sa.Column("maturity_date", sa.Date, nullable=False),
    sa.Column("annual_debt_service", sa.Float, nullable=False),
    sa.Column("outstanding_balance", sa.Float, nullable=False, comment="as of the valuation date"),
    sa.Index("ix_loans_property_id", "property_id"),
)

financials = sa.Table(
    "financials",
    metadata,
    sa.Column("property_id", sa.String(16), sa.ForeignKey("properties.property_id"), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("potential_gross_income", sa.Float, nullable=False),
    sa.Column("vacancy_loss", sa.Float, nullable=False),
    sa.Column("other_income", sa.Float, nullable=False),
    sa.Column("effective_gross_income", sa.Float, nullable=False),
    sa.Column("operating_expenses", sa.Float, nullable=False),
    sa.Column("noi", sa.Float, nullable=False),
    sa.Column("debt_service", sa.Float, nullable=False),
    sa.Column("capital_expenditures", sa.Float, nullable=False),
    sa.Column("cash_flow", sa.Float, nullable=False, comment="noi - debt_service - capital_expenditures"),
    sa.Column("occupancy", sa.Float, nullable=False),
    sa.Index("ix_financials_year", "year"),
)

cash_flows = sa.Table(
    "cash_flows",
    metadata,
    sa.Column("property_id", sa.String(16), sa.ForeignKey("properties.property_id"), primary_key=True),
    sa.Column("period", sa.Integer, primary_key=True, comment="0 = acquisition"),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("operating", sa.Float, nullable=False, comment="levered operating cash flow"),
    sa.Column("capital", sa.Float, nullable=False, comment="-equity at acquisition; net sale proceeds at the end"),
    sa.Column("amount", sa.Float, nullable=False, comment="operating + capital: the equity cash flow for IRR"),
)

dataset_info = sa.Table(
    "dataset_info",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

TABLES = {t.name: t for t in (properties, loans, financials, cash_flows)}
