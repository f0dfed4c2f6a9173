"""The demo pays what finance confirmed, dated after the confirmation and never after
today; the last month is paid in a first instalment only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from procurement.core.clock import today
from procurement.core.db import db
from procurement.demo.payments import pay_demo_statements
from procurement.payments import services
from procurement.payments.models import Payment
from procurement.plans.models import PurchasePlan
from procurement.settlements.models import Settlement
from tests.payments.conftest import as_finance
from tests.settlements.conftest import at


def test_demo_payments_are_dated_between_confirmation_and_today(app, site):
    with app.app_context():
        finance = as_finance()
        plan = db.session.get(PurchasePlan, site["plan"])
        at(2026, 9, 8)  # three days after confirmation: the week is not over yet
        assert pay_demo_statements(plan, finance) == 3
        assert pay_demo_statements(plan, finance) == 0  # idempotent
        for payment in db.session.scalars(select(Payment)):
            statement = db.session.get(Settlement, payment.settlement_id)
            assert services.confirmed_on(statement) <= payment.paid_on <= today()
            assert payment.paid_on == date(2026, 9, 8)
        july = [services.paid_on_statement(sid) for sid in site["july"]]
        assert july == site["july_amounts"]
        august = services.paid_on_statement(site["august"])
        assert august == (site["august_amount"] * Decimal("0.70")).quantize(Decimal("0.01"))
        db.session.rollback()
