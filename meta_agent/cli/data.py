"""``meta-agent data``: the business data the tools work on (a seeded real-estate portfolio)."""

from __future__ import annotations

import typer

from meta_agent.cli.output import JSON_OPTION, emit, stderr, stdout, table
from meta_agent.portfolio import seed_database, summary

app = typer.Typer(help="The portfolio database the tools read (META_AGENT_DATA_URL).", no_args_is_help=True)


@app.command()
def seed(
    properties: int = typer.Option(25, "--properties", min=1, max=999, help="Number of properties."),
    seed_: int = typer.Option(42, "--seed", help="Same seed and size, same portfolio."),
    url: str = typer.Option(None, help="Database URL (default META_AGENT_DATA_URL or SQLite under DAGSTER_HOME)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """(Re)create the portfolio: properties, loans, yearly financials and equity cash flows."""
    if not as_json:
        stderr.print(f"seeding {properties} properties (seed {seed_})...")
    report = seed_database(url, properties, seed_)

    def human() -> None:
        stdout.print(table("portfolio seeded", ["database", "seed", "properties", "loans", "financial rows",
                                                "cash-flow rows", "as of"],
                           [(report["url"], report["seed"], report["properties"], report["loans"],
                             report["financial_rows"], report["cash_flow_rows"], report["as_of_year"])]))

    emit(report, as_json, human)


@app.command()
def show(
    url: str = typer.Option(None, help="Database URL (default META_AGENT_DATA_URL or SQLite under DAGSTER_HOME)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """What the portfolio holds: totals, cap rates and DSCR in the latest year, one row per property."""
    s = summary(url)

    def human() -> None:
        stdout.print(f"[bold]{s['url']}[/] — {s['properties']} properties, latest year {s['latest_year']}, "
                     f"value ${s['total_value']:,.0f}, NOI ${s['total_noi']:,.0f}, debt ${s['total_debt']:,.0f}")
        d = s["dscr"]
        stdout.print(f"cap rate {s['cap_rate']['min']:.2%}–{s['cap_rate']['max']:.2%} (median "
                     f"{s['cap_rate']['median']:.2%}); DSCR {d['min']}–{d['max']} (median {d['median']}), "
                     f"{d['below_1_25']} of {d['levered_properties']} levered below 1.25")
        stdout.print(table(None, ["id", "name", "type", "city", "value", "NOI", "debt service", "DSCR", "cap rate"],
                           [(r["property_id"], r["name"], r["property_type"], r["city"], f"{r['current_value']:,.0f}",
                             f"{r['noi']:,.0f}", f"{r['debt_service']:,.0f}",
                             "n/a (no debt)" if r["dscr"] is None else f"{r['dscr']:.2f}", f"{r['cap_rate']:.2%}")
                            for r in s["rows"]]))

    emit(s, as_json, human)
