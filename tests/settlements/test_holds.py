"""Holds on a statement: the month must have ended (China time), and the contract's
amount may not be passed; the contract position on every statement; confirmations of two
statements of one contract at once (issue 14 item 3, item 4)."""

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core import clock
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.core.errors import Conflict
from procurement.demo.care import load_demo_records
from procurement.settlements import ceilings, holds, services
from procurement.settlements.models import Settlement, SettlementStatus
from tests.settlements.conftest import at
from tests.settlements.test_statements import _password, clear_all

JULY, AUGUST = date(2026, 7, 1), date(2026, 8, 1)


@pytest.fixture
def months(care):
    load_demo_records(care["officer"], care["plan"])
    db.session.flush()
    return care


def statement_of(number: int, month: date) -> Settlement:
    return db.session.scalar(
        select(Settlement)
        .join(Contract, Contract.id == Settlement.contract_id)
        .where(Contract.number == f"140522-2026-0{number}", Settlement.month == month)
    )


def china(*parts) -> None:
    clock.pin(datetime(*parts, tzinfo=clock.CHINA).astimezone(clock.UTC))


def reasons(settlement) -> list[str]:
    return [h.reason.value for h in services.statement_holds(settlement)]


def test_a_month_is_confirmed_only_once_it_has_ended_in_china(months):
    july = statement_of(1, JULY)
    clear_all(july, months)
    china(2026, 7, 31, 23, 59)  # 15:59 UTC: still July in China
    assert reasons(july) == ["month_not_ended"]
    with pytest.raises(Conflict) as caught:
        services.confirm(july, actor=months["finance"], amount_seen=str(july.amount))
    assert caught.value.code == "month_not_ended"
    assert "2026-08-01" in caught.value.message
    china(2026, 8, 1, 0, 0)  # 16:00 UTC on 31 July: August has begun in China
    assert reasons(july) == []
    services.confirm(july, actor=months["finance"], amount_seen=str(july.amount))
    assert july.status == SettlementStatus.CONFIRMED


def test_the_position_counts_the_contracts_other_confirmed_statements(months):
    july, august = statement_of(1, JULY), statement_of(1, AUGUST)
    other = statement_of(3, JULY)
    clear_all(other, months)
    services.confirm(july, actor=months["finance"], amount_seen=str(july.amount))
    services.confirm(other, actor=months["finance"], amount_seen=str(other.amount))
    position = ceilings.contract_position(august)
    assert position.contract_amount == Decimal("158400.00")
    assert position.settled_before == july.amount  # not the other contract's statement
    assert position.this_statement == august.amount
    assert position.settled_after == july.amount + august.amount
    assert position.remaining == Decimal("158400.00") - july.amount - august.amount
    assert not position.over_amount and position.overrun == 0
    assert position.recipients_contracted == 200 and 0 < position.recipients_served <= 200
    # a confirmed statement's own amount is not "before" it
    assert ceilings.contract_position(july).settled_before == 0


@pytest.mark.parametrize("spare, held", [(Decimal("0.00"), False), (Decimal("-0.01"), True)])
def test_a_statement_beyond_the_contract_amount_is_held(months, spare, held):
    july, august = statement_of(1, JULY), statement_of(1, AUGUST)
    contract = july.contract
    contract.amount = july.amount + august.amount + spare
    services.confirm(july, actor=months["finance"], amount_seen=str(july.amount))
    position = ceilings.contract_position(august)
    assert position.over_amount is held
    assert position.overrun == (Decimal("0.01") if held else 0)
    if held:
        assert reasons(august) == ["over_contract"]
        with pytest.raises(Conflict) as caught:
            services.confirm(august, actor=months["finance"], amount_seen=str(august.amount))
        assert caught.value.code == "over_contract"
        assert "0.01" in caught.value.message
        assert august.status == SettlementStatus.DRAFT
    else:
        services.confirm(august, actor=months["finance"], amount_seen=str(august.amount))
        assert august.status == SettlementStatus.CONFIRMED


def test_one_statement_alone_beyond_the_amount_is_held_and_other_contracts_are_not(months):
    july = statement_of(1, JULY)
    july.contract.amount = july.amount - Decimal("0.01")
    other = statement_of(3, JULY)
    clear_all(other, months)
    assert reasons(july) == ["over_contract"]
    assert reasons(other) == []
    services.confirm(other, actor=months["finance"], amount_seen=str(other.amount))


def test_more_people_served_than_contracted_is_shown_but_does_not_hold(months):
    july = statement_of(1, JULY)
    served = ceilings.contract_position(july).recipients_served
    july.contract.recipients = served
    assert not ceilings.contract_position(july).over_recipients
    july.contract.recipients = served - 1
    assert ceilings.contract_position(july).over_recipients
    assert reasons(july) == []


def test_holds_of_a_list_agree_with_each_statements_holds(months):
    statements = db.session.scalars(select(Settlement).order_by(Settlement.id)).all()
    statements[0].contract.amount = Decimal("1.00")
    positions = ceilings.positions_for(statements)
    listed = holds.holds_for(
        statements, positions=positions, pending=services.pending_reviews_for(statements)
    )
    for s in statements:
        assert [h.reason for h in listed[s.id]] == [
            h.reason for h in services.statement_holds(s)
        ], s.id


def test_pages_show_the_overrun_and_refuse_to_confirm(care_site, app, client):
    from tests.conftest import Client

    with app.app_context():
        july = statement_of(1, JULY)
        july.contract.amount = july.amount - Decimal("100.00")
        db.session.commit()
        sid, amount = july.id, str(july.amount)
    finance = Client(app)
    finance.login("yc_finance", _password(app, "yc_finance"))
    listed = finance.get("/settlements/?month=2026-07").get_data(as_text=True)
    assert 'data-hold="over_contract"' in listed and "超出" in listed
    page = finance.get(f"/settlements/{sid}").get_data(as_text=True)
    assert 'data-test="overrun"' in page and "100.00" in page
    assert 'data-hold="over_contract"' in page
    assert 'data-test="confirm" disabled' in page
    answer = finance.post(f"/settlements/{sid}/confirm", {"amount_seen": amount})
    assert answer.status_code == 302
    after = finance.get(f"/settlements/{sid}").get_data(as_text=True)
    assert "请先变更合同" in after
    with app.app_context():
        assert db.session.get(Settlement, sid).status == SettlementStatus.DRAFT


def test_api_shows_holds_and_position_and_refuses_with_409(care_site, app, api, make_token):
    with app.app_context():
        july = statement_of(1, JULY)
        july.contract.amount = july.amount - Decimal("0.01")
        db.session.commit()
        sid = july.id
    token = make_token("yc_finance")
    detail = api.get(f"/api/v1/settlements/{sid}", token=token).get_json()
    assert detail["held"] is True
    assert [h["reason"] for h in detail["holds"]] == ["over_contract"]
    assert detail["position"]["overrun"] == "0.01" and detail["position"]["over_amount"] is True
    refused = api.post(
        f"/api/v1/settlements/{sid}/confirm", {"amount_seen": detail["amount"]}, token=token
    )
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "over_contract"
    at(2026, 7, 20)
    early = api.get(f"/api/v1/settlements/{sid}", token=token).get_json()
    assert [h["reason"] for h in early["holds"]] == ["month_not_ended", "over_contract"]


def test_two_confirmations_at_once_cannot_together_pass_the_amount(care_site, app):
    """On PostgreSQL the second confirmation waits for the contract's row and then sees
    the first: one of the two is confirmed, the other held beyond the amount."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: there are no row locks to wait for")
    with app.app_context():
        july, august = statement_of(1, JULY), statement_of(1, AUGUST)
        july.contract.amount = july.amount + august.amount - Decimal("0.01")
        db.session.commit()
        statements = {
            "first": (july.id, str(july.amount)),
            "second": (august.id, str(august.amount)),
        }
        finance_id = db.session.scalar(select(User.id).where(User.username == "yc_finance"))
    flushed, second_done, outcome = threading.Event(), threading.Event(), {}

    def run(name: str, wait_before_commit: bool) -> None:
        with app.app_context():
            set_actor(Actor(None, "test", "system"))
            settlement_id, amount = statements[name]
            try:
                services.confirm(
                    db.session.get(Settlement, settlement_id),
                    actor=db.session.get(User, finance_id),
                    amount_seen=amount,
                )
                db.session.flush()
                if wait_before_commit:
                    flushed.set()
                    # Without the lock the other one would confirm meanwhile; with it, it
                    # waits for the contract's row until this one commits.
                    second_done.wait(5)
                db.session.commit()
                outcome[name] = "confirmed"
            except Conflict as error:
                db.session.rollback()
                outcome[name] = error.code
            finally:
                flushed.set()
                if not wait_before_commit:
                    second_done.set()

    first = threading.Thread(target=run, args=("first", True))
    first.start()
    flushed.wait(30)
    second = threading.Thread(target=run, args=("second", False))
    second.start()
    first.join(30)
    second.join(30)
    assert outcome == {"first": "confirmed", "second": "over_contract"}
    with app.app_context():
        contract = db.session.scalar(select(Contract).where(Contract.number == "140522-2026-01"))
        confirmed = db.session.scalars(
            select(Settlement.amount).where(
                Settlement.contract_id == contract.id,
                Settlement.status == SettlementStatus.CONFIRMED,
            )
        ).all()
        assert len(confirmed) == 1 and sum(confirmed) <= contract.amount
