"""Alembic environment: always run on a connection handed over by ids_app.migrations.schema."""

from alembic import context
from sqlalchemy import Connection

from ids_app.models import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through `ids-app migrate`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
