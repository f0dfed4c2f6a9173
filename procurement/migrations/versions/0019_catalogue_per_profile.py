"""service catalogue per policy profile and year, edited by administrators (issue 18)

Only Yangcheng's catalogue shipped, keyed by region and not editable, so a Xinjiang plan
could not be drafted. An item now belongs to a policy profile (and so to its region and
year) and says its unit, standard, price (only when the source gives one), entitlement
model, source, version and status. Existing items move to the earliest profile of their
region; every later profile of that region gets a copy, as the one catalogue served every
year until now. Existing plans keep pointing at the items they chose (version 1).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 03:05:00
"""

import sqlalchemy as sa
from alembic import op

import procurement.core.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

MODELS = ("hours_per_month", "visits_per_year")
COPY_ITEMS = (
    "INSERT INTO service_items (policy_profile_id, year, code, category, name, description, "
    "position, active, region_code, created_at, updated_at, unit, standard, price, model, "
    "source, version) "
    "SELECT :profile, :year, code, category, name, description, position, active, "
    "region_code, created_at, updated_at, unit, standard, price, model, source, version "
    "FROM service_items WHERE policy_profile_id = :first"
)


def upgrade():
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_profile_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("year", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("unit", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("standard", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column(
                "price", procurement.core.db.Fixed2(precision=14, scale=2), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "model",
                sa.Enum(*MODELS, name="entitlementmodel", native_enum=False, length=24),
                server_default="hours_per_month",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("source", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.drop_constraint("uq_service_items_region_code_code", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_service_items_policy_profile_id_code"), ["policy_profile_id", "code"]
        )
        batch_op.create_index(
            batch_op.f("ix_service_items_policy_profile_id"), ["policy_profile_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_service_items_policy_profile_id_policy_profiles"),
            "policy_profiles",
            ["policy_profile_id"],
            ["id"],
        )
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("item_version", sa.Integer(), server_default="1", nullable=False)
        )

    connection = op.get_bind()
    profiles = connection.execute(
        sa.text(
            "SELECT id, region_code, year, entitlement_model FROM policy_profiles "
            "ORDER BY region_code, year"
        )
    ).all()
    by_region: dict[str, list] = {}
    for profile in profiles:
        by_region.setdefault(profile.region_code, []).append(profile)
    for region_code, found in by_region.items():
        first, later = found[0], found[1:]
        unit = "小时" if first.entitlement_model == "hours_per_month" else "次"
        connection.execute(
            sa.text(
                "UPDATE service_items SET policy_profile_id = :profile, year = :year, "
                "model = :model, unit = :unit "
                "WHERE region_code = :region AND policy_profile_id IS NULL"
            ),
            {
                "profile": first.id,
                "year": first.year,
                "model": first.entitlement_model,
                "unit": unit,
                "region": region_code,
            },
        )
        for profile in later:
            connection.execute(
                sa.text(COPY_ITEMS),
                {"profile": profile.id, "year": profile.year, "first": first.id},
            )


def downgrade():
    connection = op.get_bind()
    # The old key is one item per region and code: plans move to the first item of their
    # code (a plan has one profile, so at most one of its items per code), the rest go.
    connection.execute(
        sa.text(
            "UPDATE plan_items SET service_item_id = (SELECT MIN(s2.id) FROM service_items s1 "
            "JOIN service_items s2 ON s2.region_code = s1.region_code AND s2.code = s1.code "
            "WHERE s1.id = plan_items.service_item_id)"
        )
    )
    connection.execute(
        sa.text(
            "DELETE FROM service_items WHERE id NOT IN "
            "(SELECT first_id FROM (SELECT MIN(id) AS first_id FROM service_items "
            "GROUP BY region_code, code) AS firsts)"
        )
    )
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.drop_column("item_version")
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_service_items_policy_profile_id_policy_profiles"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_service_items_policy_profile_id"))
        batch_op.drop_constraint(
            batch_op.f("uq_service_items_policy_profile_id_code"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_service_items_region_code_code"), ["region_code", "code"]
        )
        for column in (
            "version",
            "source",
            "model",
            "price",
            "standard",
            "unit",
            "year",
            "policy_profile_id",
        ):
            batch_op.drop_column(column)
