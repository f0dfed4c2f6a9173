"""signing exceptions: the stated reason for a contract signed out of order

A contract signed after its service started, or before its award notice was published,
keeps the reason the officer gave (procurement.contracts.services.signing_exceptions).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.add_column(sa.Column("signing_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.drop_column("signing_reason")
