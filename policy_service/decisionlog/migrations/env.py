"""Alembic environment: the store hands over a live connection, so no alembic.ini or URL lives here."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
