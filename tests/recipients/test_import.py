"""Importing the roster from .xlsx: a row report, then the good rows on confirmation."""

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from procurement.core.db import db
from procurement.core.errors import ValidationError
from procurement.core.staging import AlreadyConfirmed
from procurement.jobs.models import Job, JobStatus
from procurement.recipients import io as roster_io
from procurement.recipients.models import Recipient
from tests.recipients.conftest import FACTS_ID, id_number

HEADERS = [
    "姓名",
    "身份证号码",
    "乡镇",
    "村（社区）",
    "类别",
    "能力等级",
    "评估日期",
    "长期护理保险",
]
ROWS = [
    ["李桂兰", FACTS_ID, "凤城镇", "东关村", "低保", "轻度失能", "2026-03-02", "否"],
    ["张坏号", "140522194506150027", "凤城镇", "", "特困", None, None, None],
    ["刘外乡", id_number(date(1948, 2, 2)), "龙港镇", "", "低保边缘", "5", None, "也许"],
    [
        "王秀英",
        id_number(date(1950, 3, 1)),
        "140522108",
        "桑林村",
        "分散供养特困",
        None,
        None,
        None,
    ],
    ["李桂兰", FACTS_ID, "凤城镇", "", "低保", None, None, None],  # twice in the file
]


def confirm(token: str, officer) -> Job:
    """Confirm a checked file: its job runs at once here (JOBS_IMMEDIATE)."""
    job = roster_io.STAGED.confirm(token, region_code="140522", user=officer)
    db.session.refresh(job)
    return job


def workbook(rows, headers=HEADERS, sheet="服务对象") -> io.BytesIO:
    book = Workbook()
    first = book.active
    first.title = sheet
    first.append(headers)
    for row in rows:
        first.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Recipient.id)))


def test_the_report_names_rows_and_columns_and_nothing_is_written_before_confirmation(officer):
    report = roster_io.stage_import(
        workbook(ROWS), "roster.xlsx", region_code="140522", actor=officer
    )
    assert [(r.row, r.ok) for r in report.rows] == [
        (2, True),
        (3, False),
        (4, False),
        (5, True),
        (6, False),
    ]
    assert report.rows[0].label == "李桂兰 140522**********28"  # never the whole number
    assert report.rows[1].messages[0].startswith("身份证号码：")
    assert {m.split("：")[0] for m in report.rows[2].messages} == {
        "乡镇",
        "能力等级",
        "长期护理保险",
    }
    assert "李桂兰" in report.rows[4].messages[0]  # the duplicate names the first row's person
    assert count() == 0

    job = confirm(report.token, officer)
    assert job.status is JobStatus.DONE and job.result["summary"].startswith("已导入 2 行")
    people = {r.name: r for r in db.session.scalars(sa.select(Recipient))}
    assert set(people) == {"李桂兰", "王秀英"}
    assert people["李桂兰"].capability_level == 1 and people["李桂兰"].category == "minimum_living"
    assert people["王秀英"].township.name == "蟒河镇"
    assert people["王秀英"].registered_in_county and not people["王秀英"].long_term_care
    with pytest.raises(AlreadyConfirmed):  # a staged file is applied once
        confirm(report.token, officer)


def test_the_staged_file_waits_encrypted(app, officer):
    report = roster_io.stage_import(
        workbook(ROWS[:1]), "roster.xlsx", region_code="140522", actor=officer
    )
    staged = list((Path(app.instance_path) / "imports").iterdir())
    assert staged and all(report.token in p.name for p in staged)
    assert not any(p.suffix == ".xlsx" for p in staged)
    for path in staged:
        assert FACTS_ID.encode() not in path.read_bytes()
        assert not path.read_bytes().startswith(b"PK")


def test_a_changed_roster_means_checking_again(officer, make_recipient):
    report = roster_io.stage_import(
        workbook(ROWS[:1]), "roster.xlsx", region_code="140522", actor=officer
    )
    make_recipient(id_number=FACTS_ID)
    job = confirm(report.token, officer)
    assert job.status is JobStatus.FAILED and "请重新检查" in job.error
    assert count() == 1  # only the one registered meanwhile


def _zip_bomb() -> bytes:
    """A small file that inflates past the limit (lowered here to keep the test quick)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (2 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"not a zip at all", ".xlsx"),
        (b"PK\x03\x04broken", ".xlsx"),
        (workbook([], sheet="Sheet1").getvalue(), "服务对象"),
        (workbook([["张三"]], headers=["姓名"]).getvalue(), "身份证号码"),
    ],
)
def test_bad_files_are_refused_clearly(officer, data, fragment):
    with pytest.raises(ValidationError) as refused:
        roster_io.stage_import(io.BytesIO(data), "bad.xlsx", region_code="140522", actor=officer)
    assert fragment in refused.value.message
    assert refused.value.fields == {"file": [refused.value.message]}
    assert count() == 0


def test_a_zip_bomb_and_an_oversized_file_are_refused(app, officer, monkeypatch):
    monkeypatch.setattr("procurement.core.spreadsheets.MAX_UNCOMPRESSED", 1024 * 1024)
    with pytest.raises(ValidationError) as refused:
        roster_io.stage_import(
            io.BytesIO(_zip_bomb()), "bomb.xlsx", region_code="140522", actor=officer
        )
    assert "implausible size" in refused.value.message
    app.config["IMPORT_MAX_BYTES"] = 1024
    with pytest.raises(ValidationError) as refused:
        roster_io.stage_import(workbook(ROWS), "big.xlsx", region_code="140522", actor=officer)
    assert "MB" in refused.value.message


def test_an_id_number_typed_as_a_number_is_explained(officer):
    rows = [["李桂兰", float(FACTS_ID), "凤城镇", "", "低保", None, None, None]]
    report = roster_io.stage_import(workbook(rows), "r.xlsx", region_code="140522", actor=officer)
    assert not report.rows[0].ok
    assert "as text" in report.rows[0].messages[0]


def test_the_template_has_the_columns_and_a_text_id_column(officer):
    book = load_workbook(roster_io.template_workbook())
    sheet = book["服务对象"]
    headers = [c.value for c in sheet[1]]
    assert headers == list(roster_io.COLUMNS)
    column = headers.index("身份证号码") + 1
    assert sheet.cell(row=2, column=column).number_format == "@"
    assert "填写说明" in book.sheetnames


def test_the_assessment_columns_and_a_profile_that_requires_them(officer):
    from procurement.policies.services import profile_for

    profile_for("140522", 2026).requires_assessment = True
    db.session.commit()  # the import's job reads the profile in its own session
    headers = [
        "姓名",
        "身份证号码",
        "乡镇",
        "类别",
        "能力等级",
        "评估日期",
        "评估机构",
        "评估有效期至",
    ]
    rows = [
        [
            "李桂兰",
            FACTS_ID,
            "凤城镇",
            "低保",
            "中度失能",
            "2026-03-02",
            "阳城县评估中心",
            "2027-03-01",
        ],
        [
            "王秀英",
            id_number(date(1950, 3, 1)),
            "凤城镇",
            "低保",
            "轻度失能",
            "2026-03-02",
            None,
            None,
        ],
    ]
    report = roster_io.stage_import(
        workbook(rows, headers), "roster.xlsx", region_code="140522", actor=officer
    )
    assert [(r.row, r.ok) for r in report.rows] == [(2, True), (3, False)]
    assert {m.split("：")[0] for m in report.rows[1].messages} == {"评估机构", "评估有效期至"}
    assert "third-party capability assessment" in report.rows[1].messages[0]
    job = confirm(report.token, officer)
    assert job.status is JobStatus.DONE, job.error
    stored = db.session.scalar(sa.select(Recipient))
    assert stored.assessor == "阳城县评估中心"
    assert stored.assessment_valid_until == date(2027, 3, 1)


def test_the_template_names_the_assessment_validity(officer):
    assert "评估有效期至" in roster_io.COLUMNS
