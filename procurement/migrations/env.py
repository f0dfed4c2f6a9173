"""Alembic environment: the app's engine and metadata, batch mode for SQLite."""

import logging

from alembic import context
from flask import current_app

# The models register their tables on this metadata when the app is created.
from procurement.core.db import db

config = context.config
logger = logging.getLogger("alembic.env")


def run_migrations_offline() -> None:
    context.configure(
        url=str(db.engine.url),
        target_metadata=db.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
