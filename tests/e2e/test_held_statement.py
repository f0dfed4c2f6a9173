"""Finance meets a statement held beyond its contract's amount and cannot confirm it
(issue 14: contract ceilings)."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.settlements.models import Settlement, SettlementStatus
from tests.e2e.browsing import demo_password, log_in
from tests.settlements.conftest import care_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def test_finance_sees_the_overrun_and_cannot_confirm(page, live_server, app, care_site):  # noqa: F811
    password = demo_password(app, "yc_finance")
    with app.app_context():
        july = db.session.scalar(
            select(Settlement)
            .join(Contract, Contract.id == Settlement.contract_id)
            .where(Contract.number == "140522-2026-01")
            .order_by(Settlement.month)
        )
        july.contract.amount = july.amount - Decimal("50.00")
        db.session.commit()
        sid = july.id
    log_in(page, live_server, "yc_finance", password)

    page.goto(f"{live_server}/settlements/?month=2026-07")
    row = page.locator("[data-test=statements] tr", has=page.locator("[data-test=overrun]"))
    assert row.count() == 1
    assert "超出" in row.inner_text() and "50.00" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_url(re.compile(rf".*/settlements/{sid}$"))

    held = page.locator("[data-test=held]").inner_text()
    assert "请先变更合同" in held and "50.00" in held
    assert "50.00" in page.locator("[data-test=overrun]").inner_text()
    button = page.locator("[data-test=confirm]")
    assert button.is_disabled()
    # Even a forced submission is refused by the server.
    button.evaluate("b => { b.disabled = false; b.form.submit(); }")
    page.wait_for_load_state()
    assert "请先变更合同" in page.locator(".flash-error").inner_text()
    page.screenshot(path="test-artifacts/held-statement.png", full_page=True)
    with app.app_context():
        assert db.session.get(Settlement, sid).status == SettlementStatus.DRAFT
