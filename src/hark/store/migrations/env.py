"""Alembic environment: the connection is handed in by `hark.store.db.migrate`."""

from alembic import context

from hark.store.models import Base, managed_by_models

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=managed_by_models,  # full-text search is the migrations' own
)
with context.begin_transaction():
    context.run_migrations()
