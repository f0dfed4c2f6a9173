"""Xinjiang eligibility: third-party assessment, and long-term care per service item

seed 000 §2(1): the capability level counts only from a third-party assessment, so a
recipient keeps how long it holds (``assessment_valid_until``) and a profile says whether
it asks for one (``requires_assessment``). seed 000 §2(3): long-term-care insurance
excludes only the service content it pays for, so a catalogue item says whether that
insurance covers it and where that is stated (``ltc_covered``, ``ltc_source``).

The shipped Xinjiang profile (新民规〔2025〕3号) is corrected where it still holds the
values first shipped: household registration and residence required, no blanket
long-term-care exclusion, assessment required, 特困 elders eligible. Its catalogue marks
the items long-term-care insurance pays for: basic life care and the nursing closely tied
to it (医保发〔2020〕37号).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 03:50:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

XINJIANG = "新民规〔2025〕3号"
OLD_RULES = [
    {"category": "minimum_living", "min_age": 60, "min_capability_level": 1},
    {"category": "near_minimum", "min_age": 60, "min_capability_level": 1},
]
NEW_RULES = [
    {"category": "extreme_poverty", "min_age": 60, "min_capability_level": 1},
    *OLD_RULES,
]
LTC_SOURCE = "医保发〔2020〕37号：长期护理保险保障基本生活照料和与之密切相关的医疗护理"
LTC_ITEMS = ("xj-home-01", "xj-home-03")  # 生活照料服务, 健康护理服务


def upgrade():
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment_valid_until", sa.Date(), nullable=True))
    with op.batch_alter_table("policy_profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "requires_assessment", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ltc_covered", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("ltc_source", sa.String(length=200), server_default="", nullable=False)
        )

    connection = op.get_bind()
    profiles = connection.execute(
        sa.text(
            "SELECT id, eligibility_rules FROM policy_profiles WHERE source_document = :doc "
            "AND requires_residence = :no AND exclude_long_term_care = :yes"
        ),
        {"doc": XINJIANG, "no": False, "yes": True},
    ).all()
    for profile in profiles:
        rules = profile.eligibility_rules
        if isinstance(rules, str):
            rules = json.loads(rules)
        values = {"id": profile.id, "yes": True, "no": False}
        if rules == OLD_RULES:
            connection.execute(
                sa.text(
                    "UPDATE policy_profiles SET eligibility_rules = :rules WHERE id = :id"
                ).bindparams(sa.bindparam("rules", type_=sa.JSON())),
                {"id": profile.id, "rules": NEW_RULES},
            )
        connection.execute(
            sa.text(
                "UPDATE policy_profiles SET requires_residence = :yes, "
                "exclude_long_term_care = :no, requires_assessment = :yes WHERE id = :id"
            ),
            values,
        )
        connection.execute(
            sa.text(
                "UPDATE service_items SET ltc_covered = :yes, ltc_source = :source "
                "WHERE policy_profile_id = :id AND code IN :codes"
            ).bindparams(sa.bindparam("codes", expanding=True)),
            {**values, "source": LTC_SOURCE, "codes": list(LTC_ITEMS)},
        )


def downgrade():
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.drop_column("ltc_source")
        batch_op.drop_column("ltc_covered")
    with op.batch_alter_table("policy_profiles", schema=None) as batch_op:
        batch_op.drop_column("requires_assessment")
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("assessment_valid_until")
