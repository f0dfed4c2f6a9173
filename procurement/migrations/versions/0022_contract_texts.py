"""Contract texts per policy profile: settlement parts and clause lists, with sources

Issue 18 part 5: the settlement clause named Yangcheng's platform and an invented
deadline, and seed 001 §8's sanction and termination lists were printed for every
profile. A profile now holds the platform, the settlement period and the deadline for
the provider's records, and both clause lists, each with where it comes from. Existing
Yangcheng (140522) profiles get the texts their contracts carried until now, so those
contracts stay the same; other profiles start empty (the contract says "to be agreed").

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 04:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

YANGCHENG = "140522"
LOCAL_DEFAULT = "local default, not from policy"
# The texts of contracts generated until now (contracts.models, contracts.services)
SANCTIONS = [
    "（一）不按承诺提供服务或者经考核评价服务质量低于规定标准的；",
    "（二）接到服务对象投诉拒绝处理的；",
    "（三）服务期限内三次被服务对象投诉，经核实责任在服务机构的；",
    "（四）发布虚假广告，造成不良影响的；",
    "（五）合同约定的其他情形。",
]
TERMINATION = [
    "（一）不再具备相应资质的；",
    "（二）以各种方式记录虚假服务并以此作为政府补贴依据的；",
    "（三）承接主体或联合其他单位向老年人推销、销售保健品的；",
    "（四）承接主体或联合其他单位诈骗老人钱财的；",
    "（五）使用本机构自行发行卡让老人充值的；",
    "（六）承接主体的上级单位（或母公司）开展涉嫌诈骗或非法集资活动的；",
    "（七）多次被服务对象投诉，甲方采取约谈、督促整改、暂停资金结算等措施处理，仍不整改的；",
    "（八）有其他严重违背公益性养老服务方向或违法违纪行为的。",
]
TEXTS = (
    ("settlement_platform", 120),
    ("settlement_period", 10),
    ("records_deadline", 120),
)
LISTS = ("sanction_clauses", "termination_clauses")


def upgrade():
    with op.batch_alter_table("policy_profiles", schema=None) as batch_op:
        for name, length in TEXTS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
            batch_op.add_column(sa.Column(f"{name}_source", sa.String(length=200), nullable=True))
        for name in LISTS:
            batch_op.add_column(
                sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
            )
            batch_op.add_column(sa.Column(f"{name}_source", sa.String(length=200), nullable=True))

    op.get_bind().execute(
        sa.text(
            "UPDATE policy_profiles SET settlement_platform = :platform, "
            "settlement_platform_source = :platform_source, settlement_period = :period, "
            "settlement_period_source = :local, records_deadline = :deadline, "
            "records_deadline_source = :local, sanction_clauses = :sanctions, "
            "sanction_clauses_source = :sanctions_source, termination_clauses = :termination, "
            "termination_clauses_source = :termination_source WHERE region_code = :region"
        ).bindparams(
            sa.bindparam("sanctions", type_=sa.JSON()),
            sa.bindparam("termination", type_=sa.JSON()),
        ),
        {
            "region": YANGCHENG,
            "platform": "晋城市智慧养老服务平台",
            "platform_source": "seed 001 §7(2)-(3)",
            "period": "月",
            "deadline": "次月5个工作日内",
            "local": LOCAL_DEFAULT,
            "sanctions": SANCTIONS,
            "sanctions_source": "seed 001 §8(二)1",
            "termination": TERMINATION,
            "termination_source": "seed 001 §8(二)2",
        },
    )


def downgrade():
    with op.batch_alter_table("policy_profiles", schema=None) as batch_op:
        for name in reversed(LISTS):
            batch_op.drop_column(f"{name}_source")
            batch_op.drop_column(name)
        for name, _length in reversed(TEXTS):
            batch_op.drop_column(f"{name}_source")
            batch_op.drop_column(name)
