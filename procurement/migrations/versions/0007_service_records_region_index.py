"""service records: drop the region index

Scoping filters service records by a region-code prefix (LIKE 'prefix%'), which the
index never answered; it only slowed each import of a province's month.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:20:21.319849
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_service_records_region_code", table_name="service_records")


def downgrade():
    op.create_index("ix_service_records_region_code", "service_records", ["region_code"])
