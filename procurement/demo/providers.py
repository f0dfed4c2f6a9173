"""Demonstration providers for Yangcheng: some qualified, some failing for different reasons."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from sqlalchemy import select

from procurement.accounts.models import User
from procurement.core.db import db
from procurement.plans.models import PurchasePlan
from procurement.providers import services
from procurement.providers.models import Provider

CHECK_DATE = date(2026, 6, 15)  # the bid deadline of the demo plan


def _pdf(text: str) -> bytes:
    """A tiny but well-formed PDF standing in for a scanned certificate."""
    body = f"BT /F1 12 Tf 40 750 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def _clean_history(civil_affairs: bool) -> list[tuple[str, dict]]:
    """Three years of normal tax and social security, and the annual reports due."""
    deadline_month = 4 if civil_affairs else 5
    records = [
        (
            "tax",
            {
                "period_start": "2023-01-01",
                "period_end": "2026-05-31",
                "payment_status": "normal",
                "authority": "国家税务总局阳城县税务局",
            },
        ),
        (
            "social_security",
            {
                "period_start": "2023-01-01",
                "period_end": "2026-05-31",
                "payment_status": "normal",
                "authority": "阳城县社会保险中心",
            },
        ),
    ]
    for year in (2022, 2023, 2024, 2025):
        records.append(
            ("annual_report", {"report_year": year, "filed_on": f"{year + 1}-0{deadline_month}-20"})
        )
    return records


PRICES = [("助餐服务", "次", "15.00"), ("助洁服务", "小时", "35.00"), ("助浴服务", "次", "60.00")]

PROVIDERS = [
    {
        "name": "阳城县康乐居家养老服务中心",
        "credit_code": "52140522MJ0A1B2C37",
        "registration_authority": "civil_affairs",
        "registration_date": "2018-03-12",
        "township_code": "140522100",
        "legal_representative": "张建国",
        "address": "阳城县凤城镇新建路18号",
        "contact_name": "李丽",
        "contact_phone": "0356-4221001",
        "staff": {
            "nursing": 26,
            "barber": 3,
            "foot_care": 2,
            "plumber_electrician": 2,
            "appliance_repair": 1,
        },
        "premises": "凤城镇新建路18号，服务用房420平方米，配备助浴车1辆。",
        "records": _clean_history(True),
        "prices": PRICES,
        "qualifications": [
            ("养老机构备案回执", "2019-01-10", None),
            ("食品经营许可证", "2022-05-01", "2027-04-30"),
        ],
    },
    {
        "name": "阳城县福寿养老服务有限公司",
        "credit_code": "91140522MA0K3L4M58",
        "registration_authority": "market_regulation",
        "registration_date": "2016-08-25",
        "township_code": "140522101",
        "legal_representative": "王福生",
        "address": "阳城县北留镇北留村",
        "contact_name": "赵敏",
        "contact_phone": "0356-4560288",
        "staff": {
            "nursing": 31,
            "barber": 2,
            "foot_care": 2,
            "plumber_electrician": 3,
            "appliance_repair": 2,
        },
        "premises": "北留镇服务站两处，合计360平方米。",
        "records": _clean_history(False),
        "prices": PRICES,
        "qualifications": [
            ("营业执照（养老服务）", "2016-08-25", None),
            ("护理员职业技能等级证书（集体）", "2021-03-01", "2026-12-31"),
        ],
    },
    {
        "name": "山西晋善养老服务有限公司",
        "credit_code": "91140500MA0P6Q7R89",
        "registration_authority": "administrative_approval",
        "registration_date": "2019-11-02",
        "township_code": "140522202",
        "legal_representative": "刘善",
        "address": "阳城县西河乡西河村",
        "staff": {"nursing": 12},
        "records": [
            *_clean_history(False),
            (
                "tax",
                {
                    "period_start": "2025-10-01",
                    "period_end": "2025-12-31",
                    "payment_status": "arrears",
                    "authority": "国家税务总局阳城县税务局",
                    "description": "欠缴增值税及附加",
                },
            ),
        ],
        "prices": PRICES,
        "qualifications": [("营业执照（养老服务）", "2019-11-02", None)],
    },
    {
        "name": "阳城县夕阳红家政服务部",
        "credit_code": "92140522MA0T8U9W1P",
        "registration_authority": "market_regulation",
        "registration_date": "2015-04-18",
        "township_code": "140522105",
        "legal_representative": "陈红",
        "staff": {"nursing": 8},
        "records": [
            *_clean_history(False),
            (
                "violation",
                {
                    "decision_date": "2024-09-03",
                    "authority": "阳城县市场监督管理局",
                    "violation_kind": "fine",
                    "fine_amount": "2500000.00",
                    "description": "虚假宣传保健品，罚款250万元",
                },
            ),
        ],
        "prices": PRICES,
        "qualifications": [("营业执照（家政服务）", "2015-04-18", None)],
    },
    {
        "name": "阳城县安康护理服务有限公司",
        "credit_code": "91140522MA0X2Y3D4H",
        "registration_authority": "market_regulation",
        "registration_date": "2020-06-30",
        "township_code": "140522106",
        "legal_representative": "杨安康",
        "staff": {"nursing": 15},
        "records": [
            (
                "tax",
                {
                    "period_start": "2023-01-01",
                    "period_end": "2026-05-31",
                    "payment_status": "normal",
                },
            ),
            (
                "social_security",
                {
                    "period_start": "2023-01-01",
                    "period_end": "2026-05-31",
                    "payment_status": "normal",
                },
            ),
            ("annual_report", {"report_year": 2023, "filed_on": "2024-06-20"}),
            ("annual_report", {"report_year": 2025, "filed_on": "2026-06-01"}),
            (
                "credit_listing",
                {
                    "listed_from": "2026-03-01",
                    "listed_until": "2027-02-28",
                    "authority": "信用中国（山西）",
                    "description": "列入严重失信主体名单",
                },
            ),
        ],
        "prices": PRICES,
        "qualifications": [("营业执照（护理服务）", "2020-06-30", None)],
    },
    {
        "name": "阳城县颐养居家养老服务中心",
        "credit_code": "52140522MJ0C3D4E5X",
        "registration_authority": "civil_affairs",
        "registration_date": "2017-05-09",
        "township_code": "140522106",
        "legal_representative": "冯颐",
        "address": "阳城县横河镇横河村",
        "contact_name": "冯芳",
        "contact_phone": "0356-4870112",
        "staff": {
            "nursing": 18,
            "barber": 2,
            "foot_care": 1,
            "plumber_electrician": 2,
            "appliance_repair": 1,
        },
        "premises": "横河镇服务中心，服务用房260平方米。",
        "records": _clean_history(True),
        "prices": PRICES,
        "qualifications": [("养老机构备案回执", "2017-08-01", None)],
    },
    {
        "name": "阳城县润泽居家养老服务中心",
        "credit_code": "52140522MJ00XUF41X",
        "acknowledge_check_failure": True,
        "acknowledgement_reason": "2015年试点期间赋码，登记证书原件已核验",
        "registration_authority": "civil_affairs",
        "registration_date": "2015-09-01",
        "township_code": "140522110",
        "legal_representative": "郭润泽",
        "staff": {"nursing": 9},
        "records": _clean_history(True),
        "prices": [],
        "qualifications": [("养老机构备案回执", "2016-02-01", None)],
    },
]


def load_demo_providers(officer: User, plan: PurchasePlan | None) -> int:
    """Register the demo providers with their records, then check them for the demo plan."""
    added = 0
    for spec in PROVIDERS:
        exists = select(Provider.id).where(
            Provider.region_code == "140522", Provider.credit_code == spec["credit_code"]
        )
        if db.session.scalar(exists):
            continue
        fields = {k: v for k, v in spec.items() if k not in {"records", "prices", "qualifications"}}
        provider = services.register_provider(
            region_code="140522", data=services.ProviderInput(**fields)
        )
        licence = services.store_document(
            provider,
            actor=officer,
            kind="business_licence",
            title="登记证书",
            filename="licence.pdf",
            stream=BytesIO(_pdf(f"licence {spec['credit_code']}")),
        )
        services.store_document(
            provider,
            actor=officer,
            kind="declaration",
            title="无重大违法记录声明",
            filename="declaration.pdf",
            stream=BytesIO(_pdf(f"declaration {spec['credit_code']}")),
        )
        for name, issued, expires in spec["qualifications"]:
            services.add_qualification(
                provider,
                {
                    "name": name,
                    "issued_on": issued,
                    "expires_on": expires,
                    "evidence_id": licence.id,
                },
            )
        for kind, values in spec["records"]:
            services.add_record(provider, kind, values)
        for service, unit, price in spec["prices"]:
            services.add_price(provider, {"service": service, "unit": unit, "price": price})
        services.run_check(provider, actor=officer, as_of=CHECK_DATE, plan=plan)
        added += 1
    return added


# (zone position, provider credit code, unit price, technical score)
BIDS = [
    (0, "52140522MJ0A1B2C37", "33.00", "88"),
    (0, "91140522MA0K3L4M58", "34.50", "85"),
    (0, "92140522MA0T8U9W1P", "30.00", "70"),
    (1, "91140522MA0K3L4M58", "33.50", "90"),
    (1, "52140522MJ0A1B2C37", "34.00", "82"),
    (1, "91140500MA0P6Q7R89", "31.00", "75"),
    (2, "52140522MJ0C3D4E5X", "33.00", "86"),
    (2, "91140522MA0X2Y3D4H", "32.00", "78"),
    (2, "91140522MA0K3L4M58", "35.00", "80"),
]


def load_demo_awards(officer: User, plan: PurchasePlan | None) -> int:
    """Offers for the three zones, the award of each to its first-ranked qualified
    provider, and the three contracts (idempotent); returns how many zones were awarded."""
    from procurement.awards import services as awards
    from procurement.contracts import services as contracts

    if plan is None:
        return 0
    selection = awards.selection_for(plan)
    awards.set_scoring(
        selection,
        bid_deadline=CHECK_DATE,
        price_weight=30,
        technical_weight=50,
        performance_weight=20,
    )
    providers = {
        p.credit_code: p
        for p in db.session.scalars(
            select(Provider).where(Provider.region_code == plan.region_code)
        )
    }
    awarded = 0
    for zone in plan.zones:
        if awards.award_of(zone) is not None:
            continue
        for position, code, price, score in BIDS:
            if position == zone.position:
                awards.save_bid(zone, providers[code], unit_price=price, technical_score=score)
        best = next(row for row in awards.candidates(zone) if row.rank == 1)
        awards.award_zone(
            zone,
            best.provider,
            actor=officer,
            rationale="综合得分第一，办公场所位于本片区，资格审查合格。",
        )
        awarded += 1
    contracts.generate_all(plan, actor=officer)
    return awarded
