"""The words the offline planner understands about the tool library: metrics, formats and refusals.

Each metric lists the phrasings that name it (regular expressions, matched case-insensitively
on word boundaries) and how it is computed. Adding a metric here and a case in the templates'
``compute`` macro is all it takes to teach the factory a new figure. The words of the data
domain — what the entities are, their ids, the dimensions to filter and group by and their
values — are not here: the domain's ``Vocabulary`` (``meta_agent.domain``) is given to the
planner.

Also here: the words of a scenario (``DRIVER_*``: what a driver is called and which way it
moves), the words that ask for one figure over the selection (``AGGREGATE_WORDS``), and what
the planner may ignore without saying so (``FILLER_WORDS``, ``UNDERSTOOD``): every other word
of a request is either used by the plan or named in it as not handled.
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

# -------------------------------------------------------------------------- scenario drivers
# What people call each driver of ``meta_agent.portfolio.drivers`` (market_growth has its own
# phrasings in extract.py). Order matters: the exit value before value, NOI before income.
DRIVER_SUBJECTS: dict[str, str] = {
    "exit_value_multiplier": r"(?:exit|sale|sales|disposition|terminal|reversion(?:ary)?|residual)\s+"
                             r"(?:values?|prices?|proceeds|valuations?)|sales?\s+proceeds|exit",
    "noi_multiplier": r"noi|net\s+operating\s+income|operating\s+income",
    "income_multiplier": r"(?:effective\s+gross\s+|gross\s+|rental\s+|total\s+)?(?:income|revenues?)|rents?|egi",
    "expense_multiplier": r"(?:operating\s+)?(?:expenses?|costs?)(?!\s+ratio)|opex(?!\s+ratio)",
    "value_multiplier": r"(?:property\s+|asset\s+|market\s+|current\s+|real[\s-]+estate\s+|building\s+)?"
                        r"(?:values?|valuations?|prices?)",
    # not "cap rate(s)", "discount rate", "growth rate", "vacancy rate"...: those are other things
    "interest_rate_shift_bps": r"(?<!cap\s)(?<!capitalization\s)(?<!discount\s)(?<!hurdle\s)(?<!growth\s)"
                               r"(?<!vacancy\s)(?<!occupancy\s)(?<!internal\s)(?<!return\s)"
                               r"(?:(?:floating|variable|interest|borrowing|loan|base|policy|mortgage)\s+)?"
                               r"(?:interest\s+)?rates?|interest|sofr|the\s+fed",
}
DRIVER_DOWN = (r"fall(?:s|ing)?|fell|drop(?:s|ped|ping)?|declin(?:e|es|ed|ing)|decreas(?:e|es|ed|ing)|"
               r"(?:go(?:es)?|went|going|move[sd]?|moving)\s+down|down|lower(?:ed)?|cut|cuts|reduc(?:e|es|ed|ing)|"
               r"shrink(?:s|ing)?|shrank|contract(?:s|ed|ing)?|slump(?:s|ed)?|slide(?:s)?|slid|slip(?:s|ped)?|"
               r"soften(?:s|ed)?|haircut")
DRIVER_UP = (r"ris(?:e|es|ing)|rose|increas(?:e|es|ed|ing)|(?:go(?:es)?|went|going|move[sd]?|moving)\s+up|up|"
             r"higher|grow(?:s|ing)?|grew|climb(?:s|ed|ing)?|jump(?:s|ed)?|spike(?:s|d)?|inflat(?:e|es|ed)|"
             r"hike(?:s|d)?|widen(?:s|ed)?|expand(?:s|ed)?|raised?")
DRIVER_DOWN_NOUNS = r"haircut|cut|drop|decline|decrease|fall|reduction|markdown|write[\s-]*down|shrinkage|contraction"
DRIVER_UP_NOUNS = r"rise|increase|hike|jump|spike|uplift|markup|expansion|bump"
# words that move a driver the way its number's sign says ("a -10 % shock to NOI")
DRIVER_SIGNED = r"shock(?:s|ed)?|change(?:s|d)?|shift(?:s|ed)?|move(?:s|d)?|stress(?:es|ed)?"

# ---------------------------------------------------------------- one figure over the selection
# "average occupancy of retail properties": the aggregate of each figure over the selected
# entities. The superlatives are an aggregate only where no ranking took them ("top 5",
# "which property has the highest ...").
AGGREGATE_WORDS: dict[str, str] = {
    "mean": r"average|avg\.?|mean|typical",
    "sum": r"total|sum|combined|aggregate|cumulative",
    "median": r"median",
    "min": r"minimum|min\.?|lowest|smallest",
    "max": r"maximum|max\.?|highest|largest|biggest|peak",
}
AGGREGATE_AFTER: dict[str, str] = {  # after the figure: "NOI in total", "DSCR averaged across ..."
    "mean": r"on\s+average|averaged",
    "sum": r"in\s+total|summed(?:\s+up)?|totall?ed|combined|added\s+up",
}

# ---------------------------------------------------------------- what a plan may ignore
# Words that carry nothing a plan must act on: articles, pronouns, prepositions, conjunctions,
# question words and auxiliaries, the verbs of asking, politeness, and the words for the
# entities, files and figures in general. A word of a request that no extractor used and that
# is not here is named in the plan as not handled ("weighted by square footage").
FILLER_WORDS = frozenset("""
a an the this that these those each every all any some both either it its their them they we our us i me my you
your he she his her one ones there here such same other
of for in on at to from by with within after across over per into onto among via as than then also plus and or nor but
so & / vs versus
what which who whom whose where when how why whether if is are was were be been being am do does did done have has
had having will would could should can may might shall must let lets let's i'd i'm i'll we'd we're you're it's
that's there's here's
calculate calculated calculating calculation calculations compute computed computing computation work out
determine estimate show showing shown see view list listing give giving get getting fetch find tell display
displayed produce generate create make run pull return returns bring put provide prepare want need needs like
wish know check look looking compare comparing comparison analyse analyze analysis review summarize summarise
export exported exporting save saved write output download send using use used based derived divided dividing
me please pls kindly thanks thank just quickly
now again too really also only
report reports file files table tables sheet sheets document documents summary overview details detail info
information breakdown result results chart list
property property's properties properties' asset assets building buildings portfolio portfolio's holdings deal
deals
equity figure figures number numbers metric metrics data current latest most recent year years year's period
yearly annual
assume assuming assumed assumption assumptions scenario scenarios case suppose supposing given what-if stressed
side
""".split())
# Phrases that restate what a plan does anyway (matched case-insensitively, used as handled).
UNDERSTOOD: list[str] = [
    r"(?:over|across|during|for)\s+(?:the|its|their|each\s+property's)?\s*(?:whole\s+|entire\s+|full\s+)?"
    r"hold(?:ing)?\s+periods?",
    r"(?:the\s+)?(?:latest|most\s+recent|current)\s+(?:financial\s+|fiscal\s+)?(?:year|period|financials|figures|"
    r"numbers|data)",
    r"(?:the\s+)?(?:whole|entire|full)\s+portfolio",
    r"side\s+by\s+side",
    r"under\s+(?:a|the|this|that)\s+(?:scenario|assumption|case)",
    r"(?:the\s+)?base\s+case",
    r"what\s+if",
    r"how\s+many|(?:the\s+)?(?:count|number)\s+of",  # the count of the selection is a key figure of every run
    r"portfolio[\s-]+wide",
    r"since\s+(?:the\s+|its\s+|their\s+)?(?:acquisition|purchase)",  # what ROI is measured over
]
# Columns the tables hold, by what people call them: used when the plan's rows have the column
# (a listing has every property column; a DSCR table has NOI and debt service but no square feet).
COLUMN_PHRASES: dict[str, str] = {
    "name": r"names?",
    "property_type": r"(?:property\s+)?types?",
    "city": r"cit(?:y|ies)|locations?",
    "state": r"states?",
    "units": r"units?|unit\s+counts?",
    "square_feet": r"square\s+f(?:ee|oo)t(?:age)?|sq\.?\s*ft|sf",
    "year_built": r"years?\s+built|construction\s+years?",
    "purchase_price": r"purchase\s+prices?|acquisition\s+prices?|prices?\s+paid",
    "current_value": r"current\s+values?|market\s+values?|appraised\s+values?|valuations?",
    "acquisition_date": r"acquisition\s+dates?",
    "valuation_date": r"valuation\s+dates?",
    "lender": r"lenders?",
    "loan_type": r"loan\s+types?",
    "interest_rate": r"interest\s+rates?|loan\s+rates?",
    "maturity_date": r"(?:loan\s+)?maturit(?:y|ies)(?:\s+dates?)?",
    "outstanding_balance": r"(?:outstanding\s+)?(?:loan\s+)?balances?|loan\s+amounts?",
    "effective_gross_income": r"effective\s+gross\s+income|egi",
    "potential_gross_income": r"potential\s+gross\s+income|pgi",
    "operating_expenses": r"operating\s+expenses|opex|expenses",
    "year": r"years?",
}
LISTING_COLUMNS = ("name", "property_type", "city", "state", "units", "square_feet", "year_built", "purchase_price",
                   "current_value", "acquisition_date", "valuation_date", "lender", "loan_type", "interest_rate",
                   "maturity_date", "outstanding_balance")

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
UNDERSTOOD_RX = rx(UNDERSTOOD)
COLUMN_RX = {k: rx([v]) for k, v in COLUMN_PHRASES.items()}
