"""The two shipped policy profiles, each traced to its seed document."""

from __future__ import annotations

from sqlalchemy import select

from procurement.contracts.models import SANCTION_CLAUSES, TERMINATION_CLAUSES
from procurement.core.db import db
from procurement.policies.models import PolicyProfile
from procurement.policies.services import create_profile

# Recipients' satisfaction carries the largest weight (seed 000 §4 allows raising it).
DEFAULT_WEIGHTS = [
    {"party": "buyer", "weight": 25},
    {"party": "finance", "weight": 15},
    {"party": "recipients", "weight": 40},
    {"party": "third_party", "weight": 20},
]
DEFAULT_GRADES = {"excellent": 90, "good": 80, "pass": 60}
# Each party's indicators add up to 100 points; the recipients' party is their
# satisfaction survey (one indicator computed from the answers).
DEFAULT_INDICATORS = [
    {"code": "buyer-coverage", "party": "buyer", "name": "服务对象覆盖与台账管理", "max": 20},
    {"code": "buyer-delivery", "party": "buyer", "name": "服务计划执行情况", "max": 30},
    {"code": "buyer-quality", "party": "buyer", "name": "服务质量与规范", "max": 30},
    {"code": "buyer-complaints", "party": "buyer", "name": "投诉处理与整改", "max": 20},
    {"code": "finance-compliance", "party": "finance", "name": "资金使用合规性", "max": 40},
    {"code": "finance-records", "party": "finance", "name": "结算资料真实完整", "max": 30},
    {"code": "finance-budget", "party": "finance", "name": "预算执行情况", "max": 30},
    {
        "code": "recipients-satisfaction",
        "party": "recipients",
        "name": "服务对象满意度",
        "max": 100,
    },
    {"code": "third-quantity", "party": "third_party", "name": "服务数量完成情况", "max": 25},
    {"code": "third-quality", "party": "third_party", "name": "服务质量抽查", "max": 35},
    {"code": "third-staff", "party": "third_party", "name": "人员配备与管理制度", "max": 20},
    {"code": "third-records", "party": "third_party", "name": "服务记录信息化", "max": 20},
]

LOCAL_DEFAULT = "local default, not from policy"
# seed 001 §8(二): the provider's sanctions and termination grounds go into the contract
# (the texts stand once, beside the contract: supervision numbers its grounds from them)
YANGCHENG_SANCTIONS = list(SANCTION_CLAUSES)
YANGCHENG_TERMINATION = list(TERMINATION_CLAUSES)

PRESETS = [
    {
        "region_code": "140522",
        "year": 2026,
        "values": {
            "name": "阳城县2026年政府购买居家养老服务",
            "source_document": "阳民字〔2026〕11号",
            # seed 001 §3(3): 4 h/person/month, split into visits, <= 35 yuan/h, no carry-over
            "entitlement_model": "hours_per_month",
            "hours_per_month": "4.00",
            "hourly_rate_cap": "35.00",
            "visits_must_be_split": True,
            # seed 001 §3(2): 60+ dispersed extreme poverty; 低保 60+ disabled; 低保 80+
            "eligibility_rules": [
                {"category": "extreme_poverty", "min_age": 60, "min_capability_level": None},
                {"category": "minimum_living", "min_age": 60, "min_capability_level": 1},
                {"category": "minimum_living", "min_age": 80, "min_capability_level": None},
            ],
            "exclude_long_term_care": True,  # seed 001 §3(3)
            "requires_residence": True,  # seed 001 §3(2): registered and living in the county
            "requires_assessment": False,  # seed 001 §7(1): 80+ and 特困 come from the database
            "qualification_lookback_years": 3,
            "major_fine_threshold": "2000000.00",  # 财库〔2022〕3号
            "evaluation_weights": DEFAULT_WEIGHTS,
            "grade_thresholds": DEFAULT_GRADES,
            "acceptance_threshold": "90.00",
            "evaluation_indicators": DEFAULT_INDICATORS,
            "min_visit_minutes": 15,
            "max_visit_minutes": 480,
            # seed 001 §7(2)-(3): records go into this platform, settled from them
            # "定期"; the month and the deadline are ours, not the policy's
            "settlement_platform": "晋城市智慧养老服务平台",
            "settlement_platform_source": "seed 001 §7(2)-(3)",
            "settlement_period": "月",
            "settlement_period_source": LOCAL_DEFAULT,
            "records_deadline": "次月5个工作日内",
            "records_deadline_source": LOCAL_DEFAULT,
            "sanction_clauses": YANGCHENG_SANCTIONS,
            "sanction_clauses_source": "seed 001 §8(二)1",
            "termination_clauses": YANGCHENG_TERMINATION,
            "termination_clauses_source": "seed 001 §8(二)2",
        },
    },
    {
        "region_code": "650000",
        "year": 2025,
        "values": {
            "name": "新疆维吾尔自治区2025年政府购买居家养老服务",
            "source_document": "新民规〔2025〕3号",
            # seed 000 §2(3): at least 36 home visits per person per year
            "entitlement_model": "visits_per_year",
            "visits_per_year": 36,
            # seed 000 §2(4): the subsidy standard is set locally; a default to adjust
            "unit_price_per_visit": "50.00",
            "visits_must_be_split": False,
            # seed 000 §2(1): economically difficult elders (income at the 低保 or 低保边缘
            # standard, so 特困 too), at least mildly disabled (GB/T 42195 >= 1). A county
            # that extends it to the low-income group adds a "low_income" rule.
            "eligibility_rules": [
                {"category": "extreme_poverty", "min_age": 60, "min_capability_level": 1},
                {"category": "minimum_living", "min_age": 60, "min_capability_level": 1},
                {"category": "near_minimum", "min_age": 60, "min_capability_level": 1},
            ],
            # seed 000 §2(3): no paying twice for the same service content; the catalogue's
            # items say what long-term-care insurance covers (ServiceItem.ltc_covered)
            "exclude_long_term_care": False,
            # seed 000 §2(1): 户籍 in the region; §3(1): moving out of the county ends service
            "requires_residence": True,
            # seed 000 §2(1): the disability is assessed by a third party (GB/T 42195-2022)
            "requires_assessment": True,
            "qualification_lookback_years": 3,  # seed 000 §3(2)
            "major_fine_threshold": "2000000.00",
            "evaluation_weights": DEFAULT_WEIGHTS,
            "grade_thresholds": DEFAULT_GRADES,
            "acceptance_threshold": "90.00",
            "evaluation_indicators": DEFAULT_INDICATORS,
            "min_visit_minutes": 15,
            "max_visit_minutes": 480,
            # seed 000 §3(3) leaves the payment terms and liabilities to the contract: no
            # platform, period, deadline or clause lists here; the contract says they are
            # to be agreed
            "notes": "补助标准由各地根据经济社会发展水平和财政承受能力确定，单价请按本地标准调整。",
        },
    },
]


def load_presets() -> int:
    """Create the shipped profiles that do not exist yet (idempotent); returns how many."""
    added = 0
    for preset in PRESETS:
        exists = db.session.scalar(
            select(PolicyProfile.id).where(
                PolicyProfile.region_code == preset["region_code"],
                PolicyProfile.year == preset["year"],
            )
        )
        if not exists:
            create_profile(
                region_code=preset["region_code"], year=preset["year"], values=preset["values"]
            )
            added += 1
    return added
