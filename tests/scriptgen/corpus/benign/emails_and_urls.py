"""Contact emails and documentation URLs (no credentials) in the notes."""

from meta_agent.tools import call_tool, run_script, step

OWNER = "analyst@example.com"
DOCS = "https://docs.example.com/portfolio/metrics?section=dscr#covenants"
DASHBOARD = "http://dashboards.internal.example:8080/d/portfolio"


def run(params, result):
    step(1, "properties")
    rows = call_tool("fetch_property_data", property_type="office")
    result["notes"].append(f"questions to {OWNER}; definitions at {DOCS}")
    result["notes"].append("live view: " + DASHBOARD)
    domain = OWNER.partition("@")[2]
    return rows, {"owner_domain": domain}


run_script(run, steps=1)
