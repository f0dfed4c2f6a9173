"""A provider that passes every criterion, and helpers to break one criterion at a time."""

from datetime import date
from io import BytesIO

from procurement.demo.providers import _pdf
from procurement.providers import services

CHECK_DATE = date(2026, 6, 15)
GOOD_CODE = "91140522MA0K3L4M58"


def make_provider(officer, *, records=True, declaration=True, prices=True, **overrides):
    values = {
        "name": "阳城县福寿养老服务有限公司",
        "credit_code": GOOD_CODE,
        "registration_authority": "market_regulation",
        "registration_date": "2016-08-25",
        "township_code": "140522101",
    }
    values.update(overrides)
    provider = services.register_provider(
        region_code="140522", data=services.ProviderInput(**values)
    )
    if declaration:
        services.store_document(
            provider,
            actor=officer,
            kind="declaration",
            title="声明",
            filename="d.pdf",
            stream=BytesIO(_pdf("declaration")),
        )
    services.add_qualification(provider, {"name": "营业执照", "issued_on": "2016-08-25"})
    if records:
        for kind in ("tax", "social_security"):
            services.add_record(
                provider,
                kind,
                {
                    "period_start": "2023-01-01",
                    "period_end": "2026-05-31",
                    "payment_status": "normal",
                },
            )
        for year in (2022, 2023, 2024, 2025):
            services.add_record(
                provider, "annual_report", {"report_year": year, "filed_on": f"{year + 1}-05-20"}
            )
    if prices:
        services.add_price(provider, {"service": "助洁服务", "unit": "小时", "price": "35"})
    return provider


def results(check) -> dict[str, str]:
    return {c["code"]: c["result"] for c in check.criteria}
