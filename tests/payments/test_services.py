"""Recording payments: only what was confirmed, dated between confirmation and today,
corrected by reversing entries; each rule on both sides of its boundary."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.payments import services
from procurement.payments.models import Payment
from procurement.plans.execution import execution, totals
from procurement.plans.models import PurchasePlan
from procurement.settlements.models import Settlement
from tests.payments.conftest import as_finance
from tests.settlements.conftest import at

CENT = Decimal("0.01")


@pytest.fixture
def work(app, site):
    """An application context acting as finance, on 20 September 2026."""
    with app.app_context():
        actor = as_finance()
        at(2026, 9, 20)
        yield {**site, "actor": actor}
        db.session.rollback()


def pay(work, settlement_id, amount, paid_on="2026-09-10", voucher="记-0901"):
    return services.record_payment(
        db.session.get(Settlement, settlement_id),
        actor=work["actor"],
        paid_on=paid_on,
        amount=str(amount),
        voucher_number=voucher,
        payee_account="6222 0000 1111 2222",
        treasury_reference="GK-2026-0910-01",
    )


def payment_count() -> int:
    return db.session.scalar(select(func.count(Payment.id)))


def test_the_confirmed_amount_can_be_paid_in_parts_and_not_a_cent_more(work):
    sid, amount = work["july"][0], work["july_amounts"][0]
    first = pay(work, sid, (amount / 2).quantize(CENT))
    pay(work, sid, amount - first.amount, voucher="记-0902")
    statement = db.session.get(Settlement, sid)
    assert services.balance(statement).statement_paid == amount  # paid = confirmed: allowed
    with pytest.raises(Conflict, match="2026-07") as caught:
        pay(work, sid, CENT, voucher="记-0903")
    assert caught.value.code == "over_confirmed"
    assert payment_count() == 2


def test_one_payment_above_the_confirmed_amount_is_refused(work):
    sid, amount = work["july"][1], work["july_amounts"][1]
    with pytest.raises(Conflict, match="2026-07"):
        pay(work, sid, amount + CENT)
    assert pay(work, sid, amount).amount == amount


def test_a_contract_is_never_paid_beyond_its_confirmed_total(work):
    contract = work["contracts"][0]
    pay(work, work["july"][0], work["july_amounts"][0])
    pay(work, work["august"], work["august_amount"], voucher="记-0902")
    assert services.paid_total(contract) == services.confirmed_total(contract)
    assert services.confirmed_total(contract) == work["july_amounts"][0] + work["august_amount"]
    for sid in (work["july"][0], work["august"]):
        with pytest.raises(Conflict):
            pay(work, sid, CENT, voucher="记-0903")
    # the other provider's contract is untouched by the first one's payments
    assert services.paid_total(work["contracts"][1]) == 0


def test_a_draft_statement_cannot_be_paid(work):
    with pytest.raises(Conflict) as caught:
        pay(work, work["draft"], "100.00")
    assert caught.value.code == "not_confirmed"


def test_the_payment_date_lies_between_confirmation_and_today(work):
    sid = work["july"][0]
    with pytest.raises(ValidationError) as caught:
        pay(work, sid, "10.00", paid_on="2026-09-04")  # the day before confirmation
    assert "2026-09-05" in caught.value.fields["paid_on"][0]
    assert pay(work, sid, "10.00", paid_on="2026-09-05").paid_on == date(2026, 9, 5)
    assert pay(work, sid, "10.00", paid_on="2026-09-20", voucher="b").paid_on == date(2026, 9, 20)
    with pytest.raises(ValidationError) as caught:
        pay(work, sid, "10.00", paid_on="2026-09-21")  # tomorrow
    assert "2026-09-21" in caught.value.fields["paid_on"][0]
    assert payment_count() == 2


def test_bad_input_names_every_field_and_writes_nothing(work):
    statement = db.session.get(Settlement, work["july"][0])
    for amount in ("abc", "10.001", "0", "-5.00", "1e999999", "1000000000000.00", "NaN"):
        with pytest.raises(ValidationError) as caught:
            services.record_payment(
                statement,
                actor=work["actor"],
                paid_on="2026-09-10",
                amount=amount,
                voucher_number="v",
                payee_account="a",
            )
        assert list(caught.value.fields) == ["amount"]
    with pytest.raises(ValidationError) as caught:
        services.record_payment(
            statement,
            actor=work["actor"],
            paid_on="",
            amount="1.00",
            voucher_number=" ",
            payee_account="",
            treasury_reference="x" * 61,
        )
    assert set(caught.value.fields) == {
        "paid_on",
        "voucher_number",
        "payee_account",
        "treasury_reference",
    }
    assert payment_count() == 0


def test_a_wrong_payment_is_corrected_by_a_reversing_entry(work):
    sid, amount = work["july"][0], work["july_amounts"][0]
    wrong = pay(work, sid, amount)
    with pytest.raises(ValidationError):  # a reversal cannot precede its payment
        services.reverse_payment(
            wrong, actor=work["actor"], paid_on="2026-09-09", voucher_number="红-1", note="错付"
        )
    with pytest.raises(ValidationError) as caught:  # the reason is required
        services.reverse_payment(
            wrong, actor=work["actor"], paid_on="2026-09-11", voucher_number="红-1", note=""
        )
    assert "note" in caught.value.fields
    reversal = services.reverse_payment(
        wrong, actor=work["actor"], paid_on="2026-09-11", voucher_number="红-1", note="账号错误"
    )
    assert reversal.amount == -amount and reversal.reverses_id == wrong.id
    assert wrong.amount == amount  # the wrong payment is kept as it was
    assert services.paid_total(work["contracts"][0]) == 0
    with pytest.raises(Conflict) as caught:
        services.reverse_payment(
            wrong, actor=work["actor"], paid_on="2026-09-12", voucher_number="红-2", note="again"
        )
    assert caught.value.code == "reversed"
    with pytest.raises(Conflict):
        services.reverse_payment(
            reversal, actor=work["actor"], paid_on="2026-09-12", voucher_number="红-3", note="x"
        )
    assert pay(work, sid, amount, paid_on="2026-09-12", voucher="记-0912").amount == amount


def test_payments_and_reversals_are_audited(work):
    payment = pay(work, work["july"][0], "100.00")
    services.reverse_payment(
        payment, actor=work["actor"], paid_on="2026-09-11", voucher_number="红-1", note="错付"
    )
    db.session.flush()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "payments").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["pay", "reverse"]
    assert events[0].after["amount"] == "100.00" and events[0].actor_name == "yc_finance"
    assert events[1].after["amount"] == "-100.00"


def test_budget_execution_shows_confirmed_and_paid_apart(work):
    plan = db.session.get(PurchasePlan, work["plan"])
    pay(work, work["july"][0], "1000.00")
    rows = execution(plan, "片区外")
    total = totals(rows, "合计")
    confirmed = sum(work["july_amounts"], work["august_amount"])
    assert total.confirmed == confirmed
    assert total.paid == Decimal("1000.00")
    first = rows[0]
    assert first.confirmed == work["july_amounts"][0] + work["august_amount"]
    assert first.paid == Decimal("1000.00")
    assert rows[1].paid == 0 and rows[1].confirmed == work["july_amounts"][1]
    assert total.committed >= total.confirmed >= total.paid


@pytest.mark.skipif(
    "postgresql" not in (__import__("os").environ.get("TEST_DATABASE_URL") or ""),
    reason="row locks are PostgreSQL's; SQLite lets one writer in at a time",
)
@pytest.mark.real_commits  # two connections, each committing its own payment
def test_two_concurrent_payments_cannot_together_exceed_the_confirmed_amount(app, site):
    """Two connections each pay 60% of one statement at the same moment: the row lock makes
    the second wait for the first and then see its payment, so it is refused."""
    sid, amount = site["july"][0], site["july_amounts"][0]
    part = (amount * Decimal("0.6")).quantize(CENT)
    first_flushed = threading.Event()
    outcomes: dict[str, str] = {}

    def attempt(name: str, wait_for: threading.Event | None):
        with app.app_context():
            actor = as_finance()
            try:
                if wait_for is not None:
                    wait_for.wait(10)
                services.record_payment(
                    db.session.get(Settlement, sid),
                    actor=actor,
                    paid_on="2026-09-05",
                    amount=str(part),
                    voucher_number=name,
                    payee_account="6222",
                )
                if wait_for is None:
                    first_flushed.set()
                    threading.Event().wait(1.0)  # hold the lock while the other one tries
                db.session.commit()
                outcomes[name] = "paid"
            except Conflict as error:
                db.session.rollback()
                outcomes[name] = error.code
            finally:
                first_flushed.set()
                db.session.remove()

    threads = [
        threading.Thread(target=attempt, args=("first", None)),
        threading.Thread(target=attempt, args=("second", first_flushed)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {"first": "paid", "second": "over_confirmed"}
    with app.app_context():
        assert services.paid_on_statement(sid) == part <= amount
