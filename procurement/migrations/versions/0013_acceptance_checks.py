"""acceptance checks: the profile's delivery threshold, flags and sanctions on acceptances

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import procurement.core.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COUNTS = (
    "pending_flags",
    "confirmed_flags",
    "visits_after_death",
    "visits_after_exit",
    "sanctions",
)


def upgrade():
    with op.batch_alter_table("policy_profiles") as batch_op:
        batch_op.add_column(
            sa.Column(
                "acceptance_threshold",
                procurement.core.db.Fixed2(precision=14, scale=2),
                nullable=False,
                server_default="90.00",
            )
        )
    with op.batch_alter_table("acceptances") as batch_op:
        for name in COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("explanation", sa.Text(), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("acceptances") as batch_op:
        batch_op.drop_column("explanation")
        for name in reversed(COUNTS):
            batch_op.drop_column(name)
    with op.batch_alter_table("policy_profiles") as batch_op:
        batch_op.drop_column("acceptance_threshold")
