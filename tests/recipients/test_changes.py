"""The monthly lists of new and departing recipients per contract, for the providers."""

from datetime import date
from io import BytesIO

import sqlalchemy as sa
from openpyxl import load_workbook

from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.recipients import io as roster_io
from procurement.recipients import services
from tests.recipients.conftest import BEILIU, FACTS_ID, FENGCHENG, MANGHE, id_number


def test_new_and_departing_recipients_of_a_zone(contracts, make_recipient, admitted):
    first = contracts[0]  # 第一片区: 凤城镇, 蟒河镇 and others, not 北留镇
    assert {FENGCHENG, MANGHE} <= set(first.township_codes)
    assert BEILIU not in first.township_codes
    admitted(
        make_recipient(name="新来", id_number=FACTS_ID, category="extreme_poverty"),
        applied_on=date(2026, 11, 2),
        approved_on=date(2026, 11, 20),
    )
    elsewhere = admitted(
        make_recipient(name="北留的", id_number=id_number(date(1950, 1, 6)), township_code=BEILIU),
        applied_on=date(2026, 11, 2),
        approved_on=date(2026, 11, 20),
    )
    moving = admitted(make_recipient(name="搬走", id_number=id_number(date(1950, 1, 7))))
    services.record_exit(moving, exit_reason="moved_away", exit_date="2026-11-28")
    dying = admitted(
        make_recipient(name="去世", id_number=id_number(date(1950, 1, 8), 3), township_code=MANGHE)
    )
    services.record_exit(dying, exit_reason="death", exit_date="2026-12-03")
    early = admitted(make_recipient(name="十月走", id_number=id_number(date(1950, 1, 9))))
    services.record_exit(early, exit_reason="moved_away", exit_date="2026-10-30")

    december = services.monthly_changes(first, date(2026, 12, 1))
    assert [r.name for r in december.started] == ["新来"]
    assert [(r.name, day) for r, day in december.exited] == [
        ("搬走", date(2026, 12, 1)),
        ("去世", date(2026, 12, 3)),
    ]
    november = services.monthly_changes(first, date(2026, 11, 1))
    # 十月走 was approved in October and left in October: service never started.
    assert [r.name for r in november.started] == ["搬走", "去世"]
    assert november.exited == []
    second = next(c for c in contracts if BEILIU in c.township_codes)
    assert [r.name for r in services.monthly_changes(second, date(2026, 12, 1)).started] == [
        "北留的"
    ]
    assert elsewhere.service_start == date(2026, 12, 1)
    assert [c.number for c in services.contracts_in_month(date(2026, 12, 1))] == [
        c.number for c in contracts
    ]
    assert services.contracts_in_month(date(2027, 1, 1)) == []


def test_the_export_masks_id_numbers_unless_full_ones_are_asked_for(
    contracts, make_recipient, admitted
):
    admitted(
        make_recipient(name="新来", id_number=FACTS_ID),
        applied_on=date(2026, 11, 2),
        approved_on=date(2026, 11, 20),
    )
    changes = services.monthly_changes(contracts[0], date(2026, 12, 1))

    def cells(data: BytesIO) -> list:
        book = load_workbook(data)
        return [c for sheet in book for row in sheet.iter_rows(values_only=True) for c in row]

    masked = cells(roster_io.changes_workbook(changes))
    assert "新来" in masked and "140522**********28" in masked and FACTS_ID not in masked
    assert "2026-12-01" in masked
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    full = cells(roster_io.changes_workbook(changes, full_ids=services.full_id_numbers(changes)))
    assert FACTS_ID in full
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before + 1
    assert event.action == "export_full_ids" and event.entity_id == str(contracts[0].id)
    assert FACTS_ID not in str(event.after)
    name = roster_io.changes_filename(changes, full_ids=True)
    assert name.startswith(contracts[0].number) and "2026-12" in name
