"""statement unpaid kept: what a statement does not pay, per reason, kept with it

A statement's page summed its unpaid time per reason from its lines on every view (tens
of thousands of rows for a large statement, issue 17); ``settle`` now keeps the summary
with the statement. A statement computed before reads it from its lines until it is
computed again.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 04:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("unpaid", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("unpaid")
