"""Occupancy by state with SQL text in constants and bound parameters."""

from meta_agent.tools import call_tool, run_script, step

SQL = """
SELECT p.state AS state, AVG(f.occupancy) AS occupancy, COUNT(*) AS n
FROM financials f JOIN properties p ON p.property_id = f.property_id
WHERE f.year = :year
GROUP BY p.state
ORDER BY occupancy DESC
"""


def run(params, result):
    step(1, "occupancy by state")
    rows = call_tool("query_database", query=SQL, params={"year": params.get("year", 2024)})
    for row in rows:
        row["occupancy_pct"] = "%.1f%%" % (row["occupancy"] * 100)
    return rows, None


run_script(run, steps=1)
