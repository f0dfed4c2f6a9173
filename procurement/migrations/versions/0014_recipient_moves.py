"""recipient moves: a township change that takes effect the month after (seed 000 §3(1))

Settlement reads the zone of a visit from the township the person lived in on its date
(issue 14): a move is dated, a correction of the roster is not.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 12:39:28.038430
"""

import sqlalchemy as sa
from alembic import op

import procurement.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recipient_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("from_township", sa.String(length=12), nullable=False),
        sa.Column("to_township", sa.String(length=12), nullable=False),
        sa.Column("moved_on", sa.Date(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column(
            "created_at",
            procurement.core.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            procurement.core.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["from_township"],
            ["regions.code"],
            name=op.f("fk_recipient_moves_from_township_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["recipients.id"],
            name=op.f("fk_recipient_moves_recipient_id_recipients"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_recipient_moves_region_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["to_township"], ["regions.code"], name=op.f("fk_recipient_moves_to_township_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipient_moves")),
    )
    with op.batch_alter_table("recipient_moves", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recipient_moves_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recipient_moves_region_code"), ["region_code"], unique=False
        )


def downgrade():
    with op.batch_alter_table("recipient_moves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recipient_moves_region_code"))
        batch_op.drop_index(batch_op.f("ix_recipient_moves_recipient_id"))

    op.drop_table("recipient_moves")
