"""Issue 14: the entitlement is the person's, whatever the number of contracts; the zone
is the roster's township; visits after the present are refused (import to statement)."""

from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from procurement.contracts.models import Contract
from procurement.core import clock
from procurement.core.db import db
from procurement.settlements import exports, services
from procurement.settlements.models import Flag, ServiceRecord, Settlement, Unpaid
from tests.settlements.conftest import at
from tests.settlements.test_import import csv_bytes, row, run_import, someone

JULY = date(2026, 7, 1)


def _other_contract(contract: Contract) -> Contract:
    return next(c for c in db.session.scalars(select(Contract)) if c.id != contract.id)


def _paid(contract: Contract) -> dict[str, tuple[int, str | None, int]]:
    return {
        r.record_id: (r.paid_minutes, r.unpaid_reason, r.flags)
        for r in db.session.scalars(
            select(ServiceRecord).where(ServiceRecord.contract_id == contract.id)
        )
    }


def _statement(contract: Contract) -> Settlement:
    return db.session.scalar(
        select(Settlement).where(Settlement.contract_id == contract.id, Settlement.month == JULY)
    )


def test_another_zones_provider_writing_its_own_township_is_not_paid(care):
    person, number, contract = someone(care)
    other = _other_contract(contract)
    data = csv_bytes(
        [
            row("own-1", number, contract, township=person.township_code),
            row(
                "foreign-1",
                number,
                other,
                start="2026-07-05 09:00:00",
                end="2026-07-05 10:00:00",
                township=other.township_codes[0],
            ),
        ]
    )
    batch = run_import(care, data)
    assert batch.accepted == 2
    assert _paid(contract)["own-1"] == (60, None, int(Flag.OTHER_CONTRACT))
    paid, reason, flags = _paid(other)["foreign-1"]
    assert (paid, reason) == (0, Unpaid.OUTSIDE_ZONE.value)
    assert flags & Flag.OUTSIDE_ZONE and flags & Flag.TOWNSHIP_MISMATCH
    assert flags & Flag.OTHER_CONTRACT


def test_two_contracts_share_one_month_earliest_visit_first(care):
    """A second contract whose zone also holds the township (a replacement signed within
    the month): 4 hours in all, and a later import of an earlier visit moves the pay."""
    person, number, contract = someone(care)
    other = _other_contract(contract)
    other.township_codes = [*other.township_codes, person.township_code]
    db.session.flush()
    three_hours = {"end": "2026-07-03 12:00:00"}
    run_import(
        care,
        csv_bytes(
            [
                row("a-3", number, contract, **three_hours),
                row(
                    "b-5",
                    number,
                    other,
                    start="2026-07-05 09:00:00",
                    end="2026-07-05 12:00:00",
                    worker="W9",
                ),
            ]
        ),
    )
    assert _paid(contract)["a-3"][:2] == (180, None)
    assert _paid(other)["b-5"][:2] == (60, Unpaid.USED_ELSEWHERE.value)
    first, second = _statement(contract), _statement(other)
    assert (first.paid_minutes, second.paid_minutes) == (180, 60)
    # the statement names the contract that took the entitlement, in the page's lines
    # and in the workbook finance receives
    (line,) = [x for x in services.lines(second) if x.recipient_id == person.id]
    assert line.unpaid == {Unpaid.USED_ELSEWHERE.value: 120}
    assert line.also_under == (contract.number,)
    book = load_workbook(exports.statement_xlsx(second))
    cells = [str(c.value) for row in book.active.iter_rows() for c in row if c.value]
    assert any("其他合同" in c and contract.number in c for c in cells), cells

    # the second contract's earlier visit arrives in a later file: it comes first now
    run_import(
        care,
        csv_bytes(
            [
                row(
                    "b-1",
                    number,
                    other,
                    start="2026-07-01 09:00:00",
                    end="2026-07-01 11:00:00",
                    worker="W9",
                )
            ]
        ),
    )
    db.session.expire_all()
    assert _paid(other)["b-1"][:2] == (120, None)
    assert _paid(contract)["a-3"][:2] == (120, Unpaid.USED_ELSEWHERE.value)
    assert _paid(other)["b-5"][:2] == (0, Unpaid.OVER_ENTITLEMENT.value)  # its own pass 4 h
    assert _statement(contract).paid_minutes + _statement(other).paid_minutes == 240


def test_a_confirmed_statement_keeps_its_pay_and_is_taken_first(care):
    from procurement.accounts.models import User

    person, number, contract = someone(care)
    other = _other_contract(contract)
    other.township_codes = [*other.township_codes, person.township_code]
    db.session.flush()
    run_import(care, csv_bytes([row("a-3", number, contract, end="2026-07-03 12:00:00")]))
    statement = _statement(contract)
    finance = db.session.scalar(select(User).where(User.role == "finance"))
    services.confirm(statement, actor=finance, amount_seen=str(statement.amount))
    batch = run_import(
        care,
        csv_bytes(
            [row("b-1", number, other, start="2026-07-01 09:00:00", end="2026-07-01 11:00:00")]
        ),
    )
    assert batch.accepted == 1
    assert _paid(contract)["a-3"][:2] == (180, None)  # confirmed: never taken back
    assert _paid(other)["b-1"][:2] == (60, Unpaid.USED_ELSEWHERE.value)


def test_visits_after_the_present_are_refused_with_the_reason(care):
    _person, number, contract = someone(care)
    at(2026, 7, 3)  # 02:00 in China
    assert clock.today() == date(2026, 7, 3)
    batch = run_import(
        care,
        csv_bytes(
            [
                row("past", number, contract, start="2026-07-03 01:00", end="2026-07-03 01:59"),
                row("later", number, contract, start="2026-07-03 01:30", end="2026-07-03 02:01"),
                row(
                    "next-year", number, contract, start="2027-01-05 09:00", end="2027-01-05 10:00"
                ),
            ]
        ),
    )
    assert (batch.accepted, batch.rejected) == (1, 2), batch.reasons
    assert batch.reasons == {"future_visit": 2}


def test_a_move_keeps_the_months_before_it_with_the_old_zone(care):
    """Seed 000 §3(1): an elder who moved in July to another zone's township is served
    there from August; July's visits stay with the old zone's contract, August's go to
    the new one, whatever the roster now says."""
    from procurement.recipients import services as recipients

    person, number, contract = someone(care)
    other = _other_contract(contract)
    at(2026, 9, 5)
    recipients.record_move(
        person, township_code=other.township_codes[0], moved_on="2026-07-20", note="迁居"
    )
    batch = run_import(
        care,
        csv_bytes(
            [
                row(
                    "old-jul",
                    number,
                    contract,
                    start="2026-07-25 09:00:00",
                    end="2026-07-25 10:00:00",
                ),
                row(
                    "new-jul", number, other, start="2026-07-26 09:00:00", end="2026-07-26 10:00:00"
                ),
                row(
                    "old-aug",
                    number,
                    contract,
                    start="2026-08-03 09:00:00",
                    end="2026-08-03 10:00:00",
                ),
                row(
                    "new-aug", number, other, start="2026-08-04 09:00:00", end="2026-08-04 10:00:00"
                ),
            ]
        ),
    )
    assert batch.accepted == 4
    assert _paid(contract)["old-jul"][:2] == (60, None)
    assert _paid(other)["new-jul"][:2] == (0, Unpaid.OUTSIDE_ZONE.value)
    assert _paid(contract)["old-aug"][:2] == (0, Unpaid.OUTSIDE_ZONE.value)
    assert _paid(other)["new-aug"][:2] == (60, None)
