"""payments: disbursements against confirmed statements (资金拨付)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:20:00
"""

import sqlalchemy as sa
from alembic import op

import procurement.core.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", procurement.core.db.Fixed2(precision=14, scale=2), nullable=False),
        sa.Column("voucher_number", sa.String(length=40), nullable=False),
        sa.Column("payee_account", sa.String(length=40), nullable=False),
        sa.Column("treasury_reference", sa.String(length=60), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", procurement.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_payments_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_payments_settlement_id_settlements"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["payments.id"], name=op.f("fk_payments_reverses_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_payments_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_payments_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_payments_reverses_id")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_contract_id"), ["contract_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payments_settlement_id"), ["settlement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payments_region_code"), ["region_code"], unique=False)


def downgrade():
    op.drop_table("payments")
