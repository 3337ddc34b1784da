"""Bar chart colours by property type (hex colours), NOI as a PDF."""

from meta_agent.tools import call_tool, run_script, step

COLOURS = {"office": "#1f77b4", "retail": "#ff7f0e", "industrial": "#2ca02c", "multifamily": "#d62728",
           "hotel": "#9467bd", "self_storage": "#8c564b"}


def run(params, result):
    step(1, "NOI by type")
    summary = call_tool("aggregate_data", table="financials", metrics={"noi": "sum"}, group_by=["property_type"])
    for row in summary:
        row["colour"] = COLOURS.get(row["property_type"], "#7f7f7f")
    step(2, "PDF")
    call_tool("export_to_pdf", data=summary, path="noi_by_type.pdf", title="NOI by property type",
              chart={"kind": "bar", "x": "property_type", "y": ["noi_sum"]})
    result["outputs"].append("noi_by_type.pdf")
    return summary, None


run_script(run, steps=2)
