"""Plan inputs shared by the plan tests and the browser tests."""

from datetime import date

from procurement.plans import services

ZONES = [
    ("第一片区", ["140522100", "140522107", "140522108", "140522109"], 200),
    (
        "第二片区",
        ["140522101", "140522102", "140522103", "140522201", "140522104", "140522111"],
        240,
    ),
    ("第三片区", ["140522202", "140522105", "140522205", "140522106", "140522110"], 160),
]


def plan_input(**overrides) -> services.PlanInput:
    values = {
        "title": "阳城县2026年政府购买居家养老服务项目",
        "year": 2026,
        "purchase_method": "competitive_consultation",
        "service_start": date(2026, 7, 1),
        "service_end": date(2026, 12, 31),
        "quality_standard": "每人每月4小时，分次进行",
        "zones": [services.ZoneInput(name, list(codes), people) for name, codes, people in ZONES],
        "item_codes": ["life-meal", "life-clean", "spirit-comfort"],
    }
    values.update(overrides)
    return services.PlanInput(**values)


def api_body(**overrides) -> dict:
    body = {
        "title": "阳城县2026年政府购买居家养老服务项目",
        "year": 2026,
        "purchase_method": "competitive_consultation",
        "service_start": "2026-07-01",
        "service_end": "2026-12-31",
        "zones": [
            {"name": name, "township_codes": list(codes), "recipients": people}
            for name, codes, people in ZONES
        ],
    }
    body.update(overrides)
    return body
