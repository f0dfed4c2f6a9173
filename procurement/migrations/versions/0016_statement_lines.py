"""statement lines: each person's month on a statement, written with the statement

A statement's page grouped its records per person on every view (a third of a million
records took about a third of a second) and kept the result in each worker for an hour,
showing a corrected name late (issue 17). ``settle`` now writes the lines, and what is
not paid per person and reason, in the transaction that writes the records; existing
statements get theirs from their records here.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PAID_VISITS = "SUM(CASE WHEN r.paid_minutes > 0 THEN 1 ELSE 0 END)"


def backfill_lines(dialect: str) -> str:
    """Each statement's lines from its records; the amount as ``rules.line_amount_fen``:
    hours x rate rounded half up, or visits x price (SQLite keeps the rate in fen)."""
    rate_fen = "s.rate" if dialect == "sqlite" else "CAST(ROUND(s.rate * 100) AS INTEGER)"
    amount_fen = (
        f"CASE WHEN s.unit = 'hour' THEN (SUM(r.paid_minutes) * {rate_fen} * 2 + 60) / 120 "
        f"ELSE {PAID_VISITS} * {rate_fen} END"
    )
    return (
        "INSERT INTO statement_lines (settlement_id, recipient_id, visits, minutes, "
        "paid_minutes, paid_visits, amount_fen) "
        "SELECT s.id, r.recipient_id, COUNT(*), SUM(r.minutes), SUM(r.paid_minutes), "
        f"{PAID_VISITS}, {amount_fen} "
        "FROM service_records r "
        "JOIN settlements s ON s.contract_id = r.contract_id AND s.month = r.month "
        "GROUP BY s.id, r.recipient_id, s.unit, s.rate"
    )


BACKFILL_UNPAID = (
    "INSERT INTO statement_unpaid (settlement_id, recipient_id, reason, records, minutes) "
    "SELECT s.id, r.recipient_id, r.unpaid_reason, COUNT(*), SUM(r.minutes - r.paid_minutes) "
    "FROM service_records r "
    "JOIN settlements s ON s.contract_id = r.contract_id AND s.month = r.month "
    "WHERE r.unpaid_reason IS NOT NULL "
    "GROUP BY s.id, r.recipient_id, r.unpaid_reason"
)


def upgrade():
    op.create_table(
        "statement_lines",
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("paid_minutes", sa.Integer(), nullable=False),
        sa.Column("paid_visits", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["recipients.id"],
            name=op.f("fk_statement_lines_recipient_id_recipients"),
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_statement_lines_settlement_id_settlements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("settlement_id", "recipient_id", name=op.f("pk_statement_lines")),
    )
    op.create_table(
        "statement_unpaid",
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["recipients.id"],
            name=op.f("fk_statement_unpaid_recipient_id_recipients"),
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_statement_unpaid_settlement_id_settlements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "settlement_id", "recipient_id", "reason", name=op.f("pk_statement_unpaid")
        ),
    )
    op.execute(backfill_lines(op.get_bind().dialect.name))
    op.execute(BACKFILL_UNPAID)

def downgrade():
    op.drop_table("statement_unpaid")
    op.drop_table("statement_lines")
