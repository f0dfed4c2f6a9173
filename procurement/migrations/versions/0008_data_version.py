"""data version: one counter moved on by every writing transaction

Pages a logged-in user opened are kept while the data behind them has not changed
(procurement.core.pages); the counter tells that in one read (procurement.core.changes).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 23:36:56.447034
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.bulk_insert(table, [{"id": 1, "counter": 0}])


def downgrade():
    op.drop_table("data_version")
