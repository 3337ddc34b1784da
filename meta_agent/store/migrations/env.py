"""Alembic environment: run by ``meta_agent.store.migrate`` with a live connection."""

from alembic import context

from meta_agent.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs copy-and-move ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
