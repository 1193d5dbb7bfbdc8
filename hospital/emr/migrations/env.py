"""Alembic environment for the EMR tables; run through `hospital.emr.store.migrate`."""

from __future__ import annotations

from alembic import context

from hospital.emr.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table="emr_alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
