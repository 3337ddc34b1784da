"""Read properties in pages of five with a bounded while loop."""

from meta_agent.tools import call_tool, log, run_script, step

PAGE = 5


def run(params, result):
    step(1, "page through the properties")
    rows = []
    offset = 0
    while offset < 100:
        page = call_tool("query_database",
                         query="SELECT property_id, name FROM properties ORDER BY property_id LIMIT :n OFFSET :o",
                         params={"n": PAGE, "o": offset})
        if not page:
            break
        rows.extend(page)
        offset += PAGE
    log("%d pages", (len(rows) + PAGE - 1) // PAGE)
    return rows, None


run_script(run, steps=1)
