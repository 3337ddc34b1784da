"""The words the offline planner understands about the tool library: metrics, formats and refusals.

Each metric lists the phrasings that name it (regular expressions, matched case-insensitively
on word boundaries) and how it is computed. Adding a metric here and a case in the templates'
``compute`` macro is all it takes to teach the factory a new figure. The words of the data
domain — what the entities are, their ids, the dimensions to filter and group by and their
values — are not here: the domain's ``Vocabulary`` (``meta_agent.domain``) is given to the
planner.
"""

from __future__ import annotations

import re

from meta_agent.scriptgen.requirements import Metric

METRICS: dict[str, Metric] = {m.id: m for m in [
    Metric(id="dscr", label="DSCR", unit="x", tool="calculate_dscr", sources=("financials",),
           description="debt service coverage ratio = NOI / annual debt service"),
    Metric(id="cap_rate", label="cap rate", unit="%", tool="calculate_cap_rate",
           sources=("financials", "properties"), description="capitalization rate = NOI / current value"),
    Metric(id="noi", label="NOI", unit="$", tool=None, sources=("financials",),
           description="net operating income for the year"),
    Metric(id="irr", label="IRR", unit="%", tool="calculate_irr", sources=("cash_flows",),
           description="internal rate of return of the equity cash flows over the hold period"),
    Metric(id="npv", label="NPV", unit="$", tool="calculate_npv", sources=("cash_flows",),
           description="net present value of the equity cash flows at the discount rate"),
    Metric(id="roi", label="ROI", unit="%", tool="calculate_roi", sources=("properties",),
           description="return on investment = (current value + cash flow received - price) / price"),
    Metric(id="ltv", label="LTV", unit="%", tool="financial_ratios", sources=("properties", "loans"),
           description="loan-to-value = outstanding loan balance / current value", higher_is_better=False),
    Metric(id="debt_yield", label="debt yield", unit="%", tool="financial_ratios",
           sources=("financials", "loans"), description="debt yield = NOI / outstanding loan balance"),
    Metric(id="operating_expense_ratio", label="operating expense ratio", unit="%", tool="financial_ratios",
           sources=("financials",), description="operating expenses / effective gross income",
           higher_is_better=False),
    Metric(id="break_even_occupancy", label="break-even occupancy", unit="%", tool="financial_ratios",
           sources=("financials",),
           description="(operating expenses + debt service) / potential gross income", higher_is_better=False),
    Metric(id="occupancy", label="occupancy", unit="%", tool=None, sources=("financials",),
           description="physical occupancy for the year"),
    Metric(id="debt_service", label="debt service", unit="$", tool=None, sources=("financials",),
           description="annual debt service (principal + interest)", higher_is_better=False),
    Metric(id="cash_flow", label="cash flow", unit="$", tool=None, sources=("financials",),
           description="levered cash flow for the year (NOI - debt service - capex)"),
]}

# Phrasings per metric. Order matters only for overlapping phrases (longest first is safest).
METRIC_PATTERNS: dict[str, list[str]] = {
    "dscr": [r"dscrs?", r"debt[\s-]*service[\s-]*coverage(?:\s+ratios?)?", r"coverage\s+ratios?",
             r"debt\s+coverage", r"dscr\s+covenants?"],
    "cap_rate": [r"cap(?:italization)?[\s-]*rates?", r"going[\s-]*in\s+yields?", r"cap\s+yields?"],
    "noi": [r"noi", r"net\s+operating\s+income", r"operating\s+income"],
    "irr": [r"irrs?", r"internal\s+rates?\s+of\s+return", r"levered\s+returns?", r"equity\s+returns?"],
    "npv": [r"npvs?", r"net\s+present\s+values?", r"present\s+values?", r"discounted\s+cash[\s-]*flows?",
            r"dcf"],
    "roi": [r"rois?", r"returns?\s+on\s+investment", r"total\s+returns?", r"investment\s+returns?"],
    "ltv": [r"ltvs?", r"loan[\s-]*to[\s-]*values?", r"leverage(?:\s+ratios?)?"],
    "debt_yield": [r"debt[\s-]*yields?"],
    "operating_expense_ratio": [r"operating[\s-]*expense\s+ratios?", r"opex\s+ratios?", r"expense\s+ratios?",
                                r"oers?"],
    "break_even_occupancy": [r"break[\s-]*even(?:\s+occupancy)?", r"breakeven(?:\s+occupancy)?"],
    "occupancy": [r"occupancy(?:\s+rates?)?", r"vacancy"],
    "cash_flow": [r"(?:levered\s+|annual\s+|operating\s+)?cash[\s-]*flows?(?!\s+series)"],
    "debt_service": [r"debt\s+service(?!\s*coverage)", r"debt\s+payments?", r"loan\s+payments?",
                     r"mortgage\s+payments?"],
}
# Words that name several metrics at once.
METRIC_GROUPS: dict[str, list[str]] = {
    r"(?:lending|loan|underwriting|credit|debt|financial|key)\s+(?:ratios|metrics)": [
        "ltv", "debt_yield", "operating_expense_ratio", "break_even_occupancy"],
    r"(?:return|returns)\s+metrics": ["irr", "roi"],
}
# Figures that are columns of the data rather than computations; when a computed metric is
# asked for too, a mention of these is usually an input ("DSCR from NOI and debt service").
DATA_METRICS = ("noi", "occupancy", "debt_service", "cash_flow")

PERCENT_METRICS = {m.id for m in METRICS.values() if m.unit == "%"}

FORMAT_PATTERNS: dict[str, list[str]] = {
    "xlsx": [r"excel", r"xlsx", r"xls", r"spreadsheets?", r"workbooks?"],
    "csv": [r"csv", r"comma[\s-]*separated"],
    "pdf": [r"pdf", r"printable", r"pdf\s+reports?"],
    "json": [r"json"],
}

# Requests a script must never do: it reads the portfolio and writes files, nothing else.
SIDE_EFFECTS: dict[str, str] = {
    r"\b(?:delete|drop|truncate|remove|erase|wipe|purge)\b": "change or delete data",
    r"\b(?:update|insert|modify|alter|overwrite|write\s+(?:back\s+)?to\s+the\s+database)\b\s+(?!a\b)":
        "change data in the database",
    r"\b(?:e-?mail|send|post|upload|tweet|slack|notify|text\s+message|sms|webhook|http|url|ftp)\b":
        "contact people or services outside the sandbox",
    r"\b(?:install|pip|shell|bash|terminal|command\s+line|sudo|ssh)\b": "run commands on the machine",
}
# Things the tool library cannot do (no tool for them); a plan would be confidently wrong.
UNSUPPORTED: dict[str, str] = {
    r"\b(?:predict|forecast|projection|machine\s+learning|train|regression|neural)\w*": "forecasting or machine learning",
    r"\b(?:weather|stock\s+price|crypto|bitcoin|news)\b": "data outside the portfolio",
    r"\b(?:tenant|lease|rent\s+roll|leases)\b": "tenant- or lease-level data (the portfolio holds property-level figures)",
}

# Verbs that show the person wants figures or a listing (used for data-only requests).
LIST_INTENT = re.compile(
    r"\b(?:list|show|export|give|get|fetch|pull|dump|display|table|overview|details|info(?:rmation)?)\b", re.I)
# Words that ask for a figure: with none recognized, a "listing" would answer the wrong question.
FIGURE_WORDS = re.compile(
    r"\b(?:calculat\w*|comput\w*|ratios?|rates?|index|indices|scores?|metrics?|returns?|yields?|margins?|"
    r"growth|averages?|totals?|sums?|median|volatility|beta|value\s+at\s+risk)\b", re.I)


def rx(alternatives: list[str]) -> re.Pattern:
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.I)


METRIC_RX = {k: rx(v) for k, v in METRIC_PATTERNS.items()}
FORMAT_RX = {k: rx(v) for k, v in FORMAT_PATTERNS.items()}
METRIC_GROUP_RX = {re.compile(r"\b" + k + r"\b", re.I): v for k, v in METRIC_GROUPS.items()}
