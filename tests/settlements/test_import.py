"""Importing the platform's service records: reasons per row, bad files, idempotence."""

import csv
import io
import zipfile
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from flask_babel import gettext
from openpyxl import Workbook
from sqlalchemy import func, select

from procurement.core.db import db
from procurement.core.errors import ValidationError
from procurement.demo.care import demo_records_csv, load_demo_records
from procurement.recipients.identity import decrypt
from procurement.recipients.models import Recipient
from procurement.settlements import importer, reading, services, settling
from procurement.settlements.models import (
    Flag,
    ImportRejection,
    RecordImport,
    ServiceRecord,
    Settlement,
)

HEADER = list(reading.COLUMNS)


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def run_import(care, data: bytes, filename="records.csv"):
    return services.import_upload(
        io.BytesIO(data), filename, region_code="140522", actor=care["officer"]
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def someone(care, township=None):
    """A recipient in service from July, with the contract of their township."""
    query = select(Recipient).where(
        Recipient.service_start == date(2026, 7, 1),
        Recipient.exit_date.is_(None),
        Recipient.long_term_care.is_(False),
    )
    if township:
        query = query.where(Recipient.township_code == township)
    person = db.session.scalars(query.order_by(Recipient.id)).first()
    from procurement.contracts.models import Contract

    contract = next(
        c for c in db.session.scalars(select(Contract)) if person.township_code in c.township_codes
    )
    return person, decrypt(person.id_cipher), contract


def row(
    record_id,
    number,
    contract,
    start="2026-07-03 09:00:00",
    end="2026-07-03 10:00:00",
    township=None,
    item="life-meal",
    worker="W1",
    code=None,
):
    return [
        record_id,
        number,
        code or contract.provider.credit_code,
        worker,
        item,
        start,
        end,
        township or contract.township_codes[0],
    ]


def test_demo_months_import_with_every_flag_and_reimport_counts_nothing_twice(care):
    imported = load_demo_records(care["officer"], care["plan"])
    assert imported > 500
    flags = 0
    for (value,) in db.session.execute(select(ServiceRecord.flags).where(ServiceRecord.flags != 0)):
        flags |= value
    for flag in (
        Flag.WORKER_OVERLAP,
        Flag.AFTER_DEATH,
        Flag.AFTER_EXIT,
        Flag.DUPLICATE,
        Flag.TOO_SHORT,
        Flag.TOO_LONG,
        Flag.WHOLE_ENTITLEMENT,
        Flag.OUTSIDE_ZONE,
        Flag.TOWNSHIP_MISMATCH,
        Flag.OTHER_CONTRACT,
    ):
        assert flags & flag, flag
    before = count(ServiceRecord)
    amounts = {s.id: s.amount for s in db.session.scalars(select(Settlement))}

    data = demo_records_csv(care["plan"], date(2026, 7, 1))
    again = run_import(care, data)
    assert (again.accepted, again.rejected) == (0, 0)
    assert again.already_imported == again.rows
    assert count(ServiceRecord) == before
    assert {s.id: s.amount for s in db.session.scalars(select(Settlement))} == amounts


def test_each_row_gets_a_reason(care):
    person, number, contract = someone(care)
    bad_check = number[:17] + ("0" if number[17] != "0" else "1")
    stranger = "11010519491231002X"  # valid, but not on the roster
    rows = [
        row("ok-1", number, contract),
        row("", number, contract),
        row("bad-id", bad_check, contract),
        row("stranger", stranger, contract),
        row("no-provider", number, contract, code="91350100M000100Y43"),
        row("bad-date", number, contract, start="2026-02-30 09:00:00"),
        row("backwards", number, contract, start="2026-07-03 10:00:00", end="2026-07-03 09:00:00"),
        row(
            "no-contract", number, contract, start="2026-05-03 09:00:00", end="2026-05-03 10:00:00"
        ),
        row("nowhere", number, contract, township="999999999"),
        row("no-item", number, contract, item="飞行服务"),
        row("ok-1", number, contract, start="2026-07-04 09:00:00", end="2026-07-04 10:00:00"),
        row("x" * 65, number, contract),
        row("long-worker", number, contract, worker="W" * 65),
        row("", number, contract, start="2026-07-05 09:00:00", end="2026-07-05 10:00:00"),
    ]
    batch = run_import(care, csv_bytes(rows))
    reasons = {
        r.row: r.reason
        for r in db.session.scalars(
            select(ImportRejection).where(ImportRejection.import_id == batch.id)
        )
    }
    assert reasons == {
        3: "missing_field",
        4: "bad_id_number",
        5: "unknown_recipient",
        6: "unknown_provider",
        7: "bad_start",
        8: "end_before_start",
        9: "no_contract",
        10: "unknown_township",
        11: "unknown_item",
        12: "duplicate_in_file",
        13: "bad_record_id",
        14: "bad_worker_id",
        15: "missing_field",
    }
    assert (batch.rows, batch.accepted, batch.rejected) == (14, 1, 13)
    detail = db.session.scalar(select(ImportRejection.detail).where(ImportRejection.row == 3))
    assert detail == "记录编号"


def test_a_file_whose_every_row_lacks_a_field_is_reported(care):
    """Found by the API fuzzer: with no row left to look up, the ID-number masks were
    all null and the import failed with a 500."""
    _person, number, contract = someone(care)
    batch = run_import(care, csv_bytes([row("", number, contract), row("no-id", "", contract)]))
    assert (batch.rows, batch.accepted, batch.rejected) == (2, 0, 2)
    assert batch.reasons == {"missing_field": 2}


def test_names_are_accepted_for_townships_and_items(care):
    person, number, contract = someone(care)
    township_name = "凤城镇" if "140522100" in contract.township_codes else None
    if township_name is None:
        pytest.skip("the first zone holds 凤城镇")
    batch = run_import(
        care, csv_bytes([row("n1", number, contract, township="凤城镇", item="助餐服务")])
    )
    assert batch.accepted == 1
    record = db.session.scalar(select(ServiceRecord))
    assert (record.township_code, record.item_code) == ("140522100", "life-meal")


@pytest.mark.parametrize(
    ("data", "msgid"),
    [
        (b"", "The file is empty."),
        (
            csv_bytes([], header=["记录编号", "开始时间"]),
            "The file lacks the columns: %(columns)s.",
        ),
        (csv_bytes([]), "The file has no rows."),
        ("\ufeff记录编号\n".encode("utf-16"), "The file is neither UTF-8 nor GB18030 text."),
        # fuzzing: a body neither UTF-8 nor GB18030 under a readable header was a 500
        (
            csv_bytes([]) + b"\xff\xfe,1,2,3,4,5,6,7\n",
            "The file is neither UTF-8 nor GB18030 text.",
        ),
    ],
)
def test_unreadable_files_change_nothing(care, data, msgid):
    with pytest.raises(ValidationError) as caught:
        run_import(care, data)
    assert caught.value.fields == {"file": [caught.value.message]}
    expected = gettext(
        msgid,
        columns="服务对象身份证号、服务机构统一社会信用代码、服务人员编号、服务项目、结束时间、服务乡镇",
    )
    assert caught.value.message == expected
    db.session.rollback()
    assert count(RecordImport) == 0 and count(ServiceRecord) == 0


@pytest.mark.parametrize("data", [b"\r\n--part--\r\n", b"\nabc\n", b"\r\n1,2\n"])
def test_a_blank_header_line_is_refused_naming_the_file(care, data):
    """Found by the API fuzzer: a CSV whose first line is blank failed with a 500."""
    with pytest.raises(ValidationError) as caught:
        run_import(care, data)
    assert caught.value.fields == {"file": [caught.value.message]}
    db.session.rollback()
    assert count(RecordImport) == 0


def test_a_file_over_the_limit_is_refused(care, app):
    app.config["RECORD_IMPORT_MAX_BYTES"] = 100
    person, number, contract = someone(care)
    with pytest.raises(ValidationError) as caught:
        run_import(care, csv_bytes([row("a", number, contract)] * 3))
    assert caught.value.message == gettext("The file is larger than %(mb)d MB.", mb=0)


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_export_is_read_like_csv(care):
    person, number, contract = someone(care)
    batch = run_import(care, xlsx_bytes([row("x1", number, contract)]), "records.xlsx")
    assert (batch.source, batch.accepted) == ("xlsx", 1)


def test_xlsx_cells_are_read_as_the_text_they_show(ctx):
    book = Workbook()
    sheet = book.active
    sheet.append(["记录编号", "数量", "开始时间", "备注"])
    sheet.append(["r1", 123, datetime(2026, 7, 3, 9, 0), "text"])
    sheet.append(["r2", 1.5, "2026-07-03 10:00:00", None])
    out = io.BytesIO()
    book.save(out)
    frame = reading.read_xlsx(out.getvalue())
    assert frame.to_dict("list") == {
        "记录编号": ["r1", "r2"],
        "数量": ["123", "1.5"],
        "开始时间": ["2026-07-03 09:00:00", "2026-07-03 10:00:00"],
        "备注": ["text", ""],
    }


def test_corrupted_and_bomb_workbooks_are_refused(care):
    with pytest.raises(ValidationError) as caught:
        run_import(care, b"PK\x03\x04 broken", "records.xlsx")
    assert caught.value.message == gettext("The file is not an .xlsx workbook.")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (reading.MAX_UNCOMPRESSED + 1))
    with pytest.raises(ValidationError) as caught:
        run_import(care, bomb.getvalue(), "records.xlsx")
    expected = gettext("The workbook inflates to an implausible size and was refused.")
    assert caught.value.message == expected
    db.session.rollback()
    assert count(RecordImport) == 0


def test_a_later_file_recomputes_the_month(care):
    person, number, contract = someone(care)
    run_import(
        care, csv_bytes([row("a", number, contract, "2026-07-20 09:00:00", "2026-07-20 12:00:00")])
    )
    first = db.session.scalar(select(ServiceRecord).where(ServiceRecord.record_id == "a"))
    assert first.paid_minutes == 180
    # an earlier visit arrives later: it uses the entitlement first
    run_import(
        care, csv_bytes([row("b", number, contract, "2026-07-03 09:00:00", "2026-07-03 11:00:00")])
    )
    db.session.refresh(first)
    assert (first.paid_minutes, first.unpaid_reason) == (120, "over_entitlement")
    statement = db.session.scalar(select(Settlement).where(Settlement.contract_id == contract.id))
    assert statement.paid_minutes == 240


def test_the_roster_read_for_an_import_keeps_to_the_scope(care):
    """The import reads the roster outside the ORM (for speed): the scope must hold there too."""
    from procurement.core.scoping import RegionScope, activate_scope

    activate_scope(RegionScope("140522"))
    yangcheng = importer._lookups()
    assert len(yangcheng.recipients) == count(Recipient) > 0
    assert set(yangcheng.roster) == set(yangcheng.recipients.values())
    activate_scope(RegionScope("140521"))  # 沁水县 sees none of Yangcheng's people
    assert importer._lookups().recipients == {}
    activate_scope(None)


def test_a_file_partly_imported_before_adds_only_its_new_rows(care):
    person, number, contract = someone(care)
    first = row("a", number, contract)
    run_import(care, csv_bytes([first]))
    later = row("b", number, contract, "2026-07-04 09:00:00", "2026-07-04 10:00:00")
    batch = run_import(care, csv_bytes([first, later]))
    assert (batch.rows, batch.accepted, batch.already_imported) == (2, 1, 1)
    stored = db.session.scalars(select(ServiceRecord.record_id).order_by(ServiceRecord.record_id))
    assert stored.all() == ["a", "b"]


def test_the_check_of_stored_record_ids_keeps_to_the_scope(care):
    """Stored record ids are looked up outside the ORM (for speed): the scope holds there."""
    from procurement.core.scoping import RegionScope, activate_scope

    person, number, contract = someone(care)
    run_import(care, csv_bytes([row("a", number, contract)]))
    key = pd.DataFrame({"provider_id": [contract.provider_id] * 2, "record_id": ["a", "b"]})
    assert importer._existing(key, np.array([True, True])).tolist() == [True, False]
    assert importer._existing(key, np.array([False, True])).tolist() == [False, False]
    activate_scope(RegionScope("140521"))  # 沁水县 sees none of Yangcheng's records
    assert importer._existing(key, np.array([True, True])).tolist() == [False, False]
    activate_scope(None)


def test_visits_paid_earlier_in_the_year_are_counted_per_person(care):
    """The visits model caps visits a year: earlier months' paid visits of each person,
    under any contract of the county, count; the months being evaluated do not."""
    import dataclasses

    load_demo_records(care["officer"], care["plan"])
    august = date(2026, 8, 1)
    terms = {
        cid: dataclasses.replace(t, hourly=False)
        for cid, t in services.terms_for(
            db.session.scalars(select(ServiceRecord.contract_id).distinct())
        ).items()
    }
    keys = [(cid, august) for cid in terms]
    people = list(db.session.scalars(select(ServiceRecord.recipient_id).distinct()))
    counted = settling._prior_visits(keys, terms, people[: len(people) // 2])
    expected = {}
    for rid, cid, month in db.session.execute(
        select(ServiceRecord.recipient_id, ServiceRecord.contract_id, ServiceRecord.month).where(
            ServiceRecord.paid_minutes > 0,
            ServiceRecord.month != august,
            ServiceRecord.recipient_id.in_(people[: len(people) // 2]),
        )
    ):
        expected[(rid, month.year, cid)] = expected.get((rid, month.year, cid), 0) + 1
    assert counted == expected and sum(counted.values()) > 0
