"""Example requests in many phrasings (used by the tests, the benchmark and the docs)."""

TWENTY_REQUESTS = [
    "Calculate DSCR for all properties and export to Excel",
    "What's the debt service coverage ratio for P-007?",
    "Show properties with DSCR below 1.25 as a CSV",
    "List every asset whose debt-service coverage is under 1.2x in 2023",
    "cap rates for the office and retail properties, as an Excel workbook",
    "Which properties have a capitalization rate above 6.5%?",
    "Total NOI by property type",
    "Top 5 properties by net operating income in 2022",
    "IRR over the hold period for each property",
    "NPV of P-001, P-002 and P-003 at an 8% discount rate",
    "Discount the equity cash flows at 10 percent and give me the NPV for the hotels",
    "ROI for all multifamily properties",
    "annualized return on investment for properties P-010 through P-015",
    "LTV and debt yield for every property, PDF report",
    "Loan-to-value above 60% — which properties? Excel please",
    "operating expense ratio by city",
    "break-even occupancy for the industrial portfolio in 2024 as json",
    "the 3 weakest properties by DSCR",
    "Compare occupancy and cash flow across the Portland and Tampa properties",
    "List the properties in Houston with their purchase price and current value",
]

# Same shapes, other parameters: the second of each pair should reuse the first one's script.
REPEATED_SHAPES = [
    ("Calculate DSCR for all properties and export to Excel",
     "Compute the debt service coverage for P-003 and P-007 as an Excel file"),
    ("Show properties with DSCR below 1.25 as a CSV",
     "Which assets have a DSCR under 1.4 in 2022? CSV"),
    ("Which properties have a capitalization rate above 6.5%?",
     "cap rate over 7% for the industrial properties"),
    ("NPV of P-001, P-002 and P-003 at an 8% discount rate",
     "net present value of the hotels at a 12% discount rate"),
    ("Top 5 properties by net operating income in 2022",
     "the 10 largest properties by NOI"),
]

REFUSED = [
    "Delete the loans table",
    "Email the DSCR report to the CFO",
    "Forecast next year's NOI with machine learning",
    "What is the weather in Austin?",
    "Compute the NPV of every property",
    "Calculate the frobnication index for P-001",
    "Show me the rent roll for P-003",
    "List properties below 1.25",
    "Install pandas and run my notebook",
    "Rank the properties",
]
