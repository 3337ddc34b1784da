"""Annual debt service recomputed from each loan's terms, compared with the recorded one."""

from meta_agent.tools import call_tool, column, log, run_script, step


def run(params, result):
    step(1, "loans")
    loans = call_tool("query_database", query="SELECT loan_id, property_id, principal, interest_rate, "
                                              "amortization_years, annual_debt_service FROM loans")
    step(2, "payments")
    payments = call_tool("calculate_loan_payment", principal=column(loans, "principal"),
                         annual_rate=column(loans, "interest_rate"),
                         amortization_years=column(loans, "amortization_years"))
    rows = []
    for loan, payment in zip(loans, payments, strict=True):
        diff = payment - loan["annual_debt_service"]
        rows.append({"loan_id": loan["loan_id"], "property_id": loan["property_id"],
                     "computed": round(payment, 2), "recorded": loan["annual_debt_service"],
                     "difference": round(diff, 2)})
    log("max difference %.2f", max(abs(row["difference"]) for row in rows))
    return rows, None


run_script(run, steps=2)
