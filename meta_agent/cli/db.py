"""``meta-agent db``: migrate and inspect the ops database; ``ops_engine`` for the other groups."""

from __future__ import annotations

import sqlalchemy as sa
import typer

from meta_agent import config
from meta_agent.cli.output import JSON_OPTION, emit, stdout
from meta_agent.store import migrate
from meta_agent.store.engine import engine_for

app = typer.Typer(help="The ops database: migrations and status.", no_args_is_help=True)


def ops_engine() -> sa.Engine:
    """The configured ops DB (``META_AGENT_DB_URL``), refusing an unmigrated one with the fix."""
    url = config.db_url()
    migrate.require_current(url)
    return engine_for(url)


@app.command()
def upgrade(as_json: bool = JSON_OPTION) -> None:
    """Apply every pending migration (safe to run again)."""
    st = migrate.upgrade()
    payload = {"url": st.url, "current": st.current, "heads": st.heads, "up_to_date": st.up_to_date}
    emit(payload, as_json, lambda: stdout.print(f"ops database {st.url} is at {', '.join(st.current)}"))


@app.command()
def status(as_json: bool = JSON_OPTION) -> None:
    """Show the database URL (password hidden) and its migration state; exit 1 if behind."""
    st = migrate.status()
    payload = {"url": st.url, "current": st.current, "heads": st.heads, "up_to_date": st.up_to_date}

    def human() -> None:
        state = "[green]up to date[/]" if st.up_to_date else "[yellow]behind: run `meta-agent db upgrade`[/]"
        stdout.print(f"{st.url}: {', '.join(st.current) or 'empty'} ({state})")

    emit(payload, as_json, human)
    if not st.up_to_date:
        raise typer.Exit(1)
