"""no data version: pages are no longer kept by the application

The data_version counter (0008) told the page keep whether anything had been written
since a page was rendered. Every writing transaction updated its one row, so on
PostgreSQL every writer queued behind a long import for that row, and the keep was hit
only while nobody anywhere wrote (issue 17). Pages are now fast through their queries;
public pages are cached by a reverse proxy on their Cache-Control and ETag.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 03:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table("data_version")


def downgrade():
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
