"""statement shortfall: the month's under-delivery kept with the statement

A statement's page read its zone's whole roster on every view to count who was owed and
who got less (about a second for a zone of 40,000 people, issue 17). ``settle`` now
keeps the five figures with the statement; a statement computed before shows them
computed on view until it is computed again.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 03:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("shortfall", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("shortfall")
