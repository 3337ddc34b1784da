"""Names normalized with string methods for a mailing-list style export."""

from meta_agent.tools import call_tool, run_script, step


def slug(text):
    return "-".join(part for part in text.lower().replace("&", "and").split() if part.isalnum())


def run(params, result):
    step(1, "properties")
    props = call_tool("fetch_property_data")
    rows = []
    for prop in props:
        name = prop["name"].strip()
        rows.append({"property_id": prop["property_id"], "slug": slug(name), "upper": name.upper(),
                     "initials": "".join(word[0] for word in name.split() if word[:1].isalpha()),
                     "suite": name.endswith("Center") or name.startswith("The")})
    call_tool("export_to_csv", data=rows, path="property_slugs.csv")
    result["outputs"].append("property_slugs.csv")
    return rows, None


run_script(run, steps=1)
