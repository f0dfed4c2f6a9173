"""regions: a retired township keeps its row, with the day it was retired (issue 18)

Townships merge and are abolished; recipients, zones and providers that named one must
still show it, so a township is retired, never deleted.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 02:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.drop_column("retired_on")
