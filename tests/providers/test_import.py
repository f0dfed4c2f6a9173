"""Importing providers from .xlsx: a row report, then the good rows only on confirmation."""

import io
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from procurement.core.db import db
from procurement.core.errors import ValidationError
from procurement.core.staging import AlreadyConfirmed
from procurement.jobs.models import Job, JobStatus
from procurement.providers import io as provider_io
from procurement.providers.models import ComplianceRecord, Provider

HEADERS = ["名称", "统一社会信用代码", "登记机关", "登记日期", "所在乡镇", "护理人员"]


def confirm(token: str, officer) -> Job:
    """Confirm a checked file: its job runs at once here (JOBS_IMMEDIATE)."""
    job = provider_io.STAGED.confirm(token, region_code="140522", user=officer)
    db.session.refresh(job)
    return job


def workbook(providers, records=()):
    book = Workbook()
    sheet = book.active
    sheet.title = "承接主体"
    sheet.append(HEADERS)
    for row in providers:
        sheet.append(row)
    if records:
        second = book.create_sheet("合规记录")
        second.append(["统一社会信用代码", "类型", "开始日期", "结束日期", "缴纳状态"])
        for row in records:
            second.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


ROWS = [
    ["阳城县福寿养老服务有限公司", "91140522MA0K3L4M58", "市场监管", "2016-08-25", "北留镇", 31],
    ["坏代码养老服务部", "91350100M000100Y4Z", "市场监管", "2018-01-01", "凤城镇", 3],
    ["阳城县康乐居家养老服务中心", "52140522MJ0A1B2C37", "民政", "2031-01-01", "凤城镇", 26],
]
RECORDS = [
    ["91140522MA0K3L4M58", "纳税", "2025-01-01", "2025-12-31", "正常"],
    ["52140522MJ0A1B2C37", "社保", "2025-01-01", "2025-12-31", "正常"],
]


def _count(model):
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def test_the_report_names_rows_and_nothing_is_written_before_confirmation(officer):
    report = provider_io.stage_import(
        workbook(ROWS, RECORDS), "providers.xlsx", region_code="140522", actor=officer
    )
    assert [(r.sheet, r.row, r.ok) for r in report.rows] == [
        ("承接主体", 2, True),
        ("承接主体", 3, False),
        ("承接主体", 4, False),
        ("合规记录", 2, True),
        ("合规记录", 3, False),
    ]
    assert report.rows[1].messages[0].startswith("统一社会信用代码：")  # the column, not the field
    assert report.rows[2].messages[0].startswith("登记日期：")
    assert _count(Provider) == 0 and _count(ComplianceRecord) == 0

    job = confirm(report.token, officer)
    assert job.status is JobStatus.DONE and job.result["summary"].startswith("已导入 2 行")
    assert db.session.scalars(sa.select(Provider.name)).all() == ["阳城县福寿养老服务有限公司"]
    provider = db.session.scalar(sa.select(Provider))
    assert provider.township.name == "北留镇" and provider.staff["nursing"] == 31
    assert _count(ComplianceRecord) == 1
    with pytest.raises(AlreadyConfirmed):  # a staged file is applied once
        confirm(report.token, officer)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "空"),
        (b"not a zip at all", ".xlsx"),
    ],
)
def test_unreadable_files_change_nothing(officer, data, fragment):
    with pytest.raises(ValidationError) as refused:
        provider_io.stage_import(io.BytesIO(data), "x.xlsx", region_code="140522", actor=officer)
    assert fragment in refused.value.message
    assert _count(Provider) == 0


def test_missing_columns_are_named(officer):
    book = Workbook()
    book.active.title = "承接主体"
    book.active.append(["名称", "地址"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    with pytest.raises(ValidationError) as refused:
        provider_io.stage_import(out, "x.xlsx", region_code="140522", actor=officer)
    assert "统一社会信用代码" in refused.value.message


def test_a_zip_bomb_is_refused_before_parsing(officer, monkeypatch):
    monkeypatch.setattr("procurement.core.spreadsheets.MAX_UNCOMPRESSED", 10_000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 50_000)
    out.seek(0)
    with pytest.raises(ValidationError) as refused:
        provider_io.stage_import(out, "bomb.xlsx", region_code="140522", actor=officer)
    assert "refused" in refused.value.message or "拒绝" in refused.value.message


def test_a_corrupted_workbook_is_refused(officer):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<broken")
    out.seek(0)
    with pytest.raises(ValidationError):
        provider_io.stage_import(out, "broken.xlsx", region_code="140522", actor=officer)


def test_importing_the_same_records_again_adds_nothing(officer):
    first = provider_io.stage_import(
        workbook(ROWS[:1], RECORDS[:1]), "a.xlsx", region_code="140522", actor=officer
    )
    assert confirm(first.token, officer).status is JobStatus.DONE
    again = provider_io.stage_import(
        workbook([], RECORDS[:1]), "b.xlsx", region_code="140522", actor=officer
    )
    assert [r.ok for r in again.rows] == [False]
    assert _count(ComplianceRecord) == 1


def test_the_confirmation_must_say_yes_or_no(officer):
    row = ["早期代码养老服务部", "91350211M0000XUF46", "市场监管", "2015-01-01", "凤城镇", 3]
    book = Workbook()
    sheet = book.active
    sheet.title = "承接主体"
    sheet.append([*HEADERS, "确认早期代码", "确认理由"])
    sheet.append([*row, "不确认", "试点赋码"])
    sheet.append([*row[:1], "91350211M0000XUF46", *row[2:], "是", "试点赋码，原件已核验"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    report = provider_io.stage_import(out, "c.xlsx", region_code="140522", actor=officer)
    assert [r.ok for r in report.rows] == [False, True]
    assert "是" in report.rows[0].messages[0]


def test_a_confirmation_is_refused_when_the_register_changed_meanwhile(officer):
    from procurement.providers import services

    report = provider_io.stage_import(
        workbook(ROWS[:1]), "a.xlsx", region_code="140522", actor=officer
    )
    services.register_provider(
        region_code="140522",
        data=services.ProviderInput(
            name="抢先登记",
            credit_code="91140522MA0K3L4M58",
            registration_authority="market_regulation",
            registration_date="2016-08-25",
        ),
    )
    job = confirm(report.token, officer)
    assert job.status is JobStatus.FAILED and _count(Provider) == 1
