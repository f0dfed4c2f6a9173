"""indexes for a province: service records without the region index, flagged records,
statements read from an index, recipients by start and exit date and in roster order

Scoping filters service records by a region-code prefix (LIKE 'prefix%'), which the
index never answered, and the one on recipient ids served only what the contract-month
index now covers; both slowed each import of a province's month. Flagged records,
few among millions, get a partial index per provider and month for their review lists.
The statement's index covers what it groups per person. The monthly changes find the
people starting or leaving in a month among 100,000, and the roster pages in its order.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:20:21.319849
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


FLAGGED = sa.text("flags != 0")
STATEMENT = ["contract_id", "month", "recipient_id", "minutes", "paid_minutes", "unpaid_reason"]


def upgrade():
    op.drop_index("ix_service_records_region_code", table_name="service_records")
    op.drop_index("ix_service_records_recipient_id", table_name="service_records")
    op.create_index(
        "ix_service_records_flagged",
        "service_records",
        ["provider_id", "month"],
        sqlite_where=FLAGGED,
        postgresql_where=FLAGGED,
    )
    op.drop_index("ix_service_records_contract_month", table_name="service_records")
    op.create_index("ix_service_records_contract_month", "service_records", STATEMENT)
    op.create_index("ix_recipients_service_start", "recipients", ["service_start"])
    op.create_index("ix_recipients_exit_date", "recipients", ["exit_date"])
    op.drop_index("ix_recipients_township_code", table_name="recipients")
    op.create_index("ix_recipients_township_name", "recipients", ["township_code", "name"])


def downgrade():
    op.drop_index("ix_recipients_township_name", table_name="recipients")
    op.create_index("ix_recipients_township_code", "recipients", ["township_code"])
    op.drop_index("ix_recipients_exit_date", table_name="recipients")
    op.drop_index("ix_recipients_service_start", table_name="recipients")
    op.drop_index("ix_service_records_contract_month", table_name="service_records")
    op.create_index("ix_service_records_contract_month", "service_records", STATEMENT[:2])
    op.drop_index("ix_service_records_flagged", table_name="service_records")
    op.create_index("ix_service_records_region_code", "service_records", ["region_code"])
    op.create_index("ix_service_records_recipient_id", "service_records", ["recipient_id"])
