"""policy profiles: no carry_over setting

Settlement never carried unused entitlement over (Yangcheng: "当月使用，不能滚存",
seed 001 §3(3); Xinjiang's visits are a yearly floor), so the setting changed only the
contract's wording. It goes, rather than promise what is not paid (issue 14).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("policy_profiles") as batch:
        batch.drop_column("carry_over")


def downgrade():
    with op.batch_alter_table("policy_profiles") as batch:
        batch.add_column(
            sa.Column("carry_over", sa.Boolean(), nullable=False, server_default=sa.false())
        )
