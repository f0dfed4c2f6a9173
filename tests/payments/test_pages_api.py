"""Payments and the finance ledger through the pages, the .xlsx export and the JSON API:
finance records, the officer reads; the ledger shows owed, held and why, confirmed, paid."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from procurement.core.db import db
from procurement.payments.models import Payment
from procurement.providers.models import Provider
from procurement.supervision.models import Sanction, SanctionKind
from tests.conftest import Client
from tests.public.conftest import in_app


def password(app, username):
    from procurement.demo.cli import _logins_file

    with app.app_context():
        return json.loads(_logins_file().read_text())[username]


def login(app, username) -> Client:
    client = Client(app)
    client.login(username, password(app, username))
    return client


def payments() -> int:
    return db.session.scalar(select(func.count(Payment.id)))


def form(amount, paid_on="2026-09-05", voucher="记-0905-01") -> dict:
    return {
        "paid_on": paid_on,
        "amount": amount,
        "voucher_number": voucher,
        "payee_account": "6222 0000 1111 2222",
        "treasury_reference": "",
        "note": "",
    }


def test_finance_pays_on_the_page_and_the_officer_only_reads(app, site):
    sid, amount = site["july"][0], site["july_amounts"][0]
    page = f"/payments/statements/{sid}"
    finance = login(app, "yc_finance")
    body = finance.get(page).get_data(as_text=True)
    assert "登记拨付" in body and f"{amount:,.2f}" in body
    over = finance.post(page, form(str(amount + Decimal("0.01"))))
    assert over.status_code == 422
    assert "超过" in over.get_data(as_text=True)
    early = finance.post(page, form("10.00", paid_on="2026-09-04"))
    assert early.status_code == 422 and "早于结算单确认日期" in early.get_data(as_text=True)
    assert in_app(app, payments) == 0
    done = finance.post(page, form(str(amount)))
    assert done.status_code == 302
    body = finance.get(page).get_data(as_text=True)
    assert "记-0905-01" in body and "冲销" in body

    officer = login(app, "yc_officer")
    body = officer.get(page).get_data(as_text=True)
    assert "记-0905-01" in body and "登记这笔拨付" not in body
    assert officer.post(page, form("1.00")).status_code == 403
    payment_id = in_app(app, lambda: db.session.scalar(select(Payment.id)))
    assert officer.get(f"/payments/{payment_id}/reverse").status_code == 403
    assert officer.get("/payments/").status_code == 200
    assert in_app(app, payments) == 1


def test_a_payment_is_reversed_on_its_own_page(app, site):
    sid, amount = site["july"][1], site["july_amounts"][1]
    finance = login(app, "yc_finance")
    finance.post(f"/payments/statements/{sid}", form(str(amount)))
    payment_id = in_app(app, lambda: db.session.scalar(select(Payment.id)))
    url = f"/payments/{payment_id}/reverse"
    assert finance.post(url, {"paid_on": "2026-09-05", "voucher_number": "红-1"}).status_code == 422
    response = finance.post(
        url, {"paid_on": "2026-09-05", "voucher_number": "红-1", "note": "错付"}
    )
    assert response.status_code == 302
    totals = in_app(app, lambda: db.session.scalar(select(func.sum(Payment.amount))))
    assert totals == 0


def test_the_api_records_refuses_and_reverses(app, api, site, make_token):
    sid, amount = site["july"][0], site["july_amounts"][0]
    finance, officer = make_token("yc_finance"), make_token("yc_officer")
    url = f"/api/v1/settlements/{sid}/payments"
    body = form(str(amount))
    assert api.post(url, json=body, token=officer).status_code == 403
    over = api.post(url, json=form(str(amount + Decimal("0.01"))), token=finance)
    assert over.status_code == 409 and over.json["error"]["code"] == "over_confirmed"
    future = api.post(url, json=form("1.00", paid_on="2026-09-06"), token=finance)
    assert future.status_code == 422 and "paid_on" in future.json["error"]["fields"]
    draft = api.post(f"/api/v1/settlements/{site['draft']}/payments", json=body, token=finance)
    assert draft.status_code == 409 and draft.json["error"]["code"] == "not_confirmed"
    created = api.post(url, json=body, token=finance)
    assert created.status_code == 201 and created.json["amount"] == f"{amount:.2f}"
    listed = api.get(f"/api/v1/payments?settlement_id={sid}", token=officer).json
    assert listed["total"] == 1 and listed["items"][0]["voucher_number"] == "记-0905-01"
    reverse = f"/api/v1/payments/{created.json['id']}/reverse"
    reversal = api.post(
        reverse,
        json={"paid_on": "2026-09-05", "voucher_number": "红-1", "note": "错付"},
        token=finance,
    )
    assert reversal.status_code == 201 and reversal.json["amount"] == f"{-amount:.2f}"
    again = api.post(
        reverse,
        json={"paid_on": "2026-09-05", "voucher_number": "红-2", "note": "x"},
        token=finance,
    )
    assert again.status_code == 409


def suspend_third_contract(site) -> None:
    db.session.add(
        Sanction(
            region_code="140522",
            provider_id=_provider_of(site["contracts"][2]),
            contract_id=site["contracts"][2],
            kind=SanctionKind.SUSPEND_SETTLEMENT,
            ground="3",
            decided_on=date(2026, 9, 1),
            note="三次投诉属实",
        )
    )


def _provider_of(contract_id: int) -> int:
    from procurement.contracts.models import Contract

    return db.session.get(Contract, contract_id).provider_id


def test_the_ledger_shows_owed_held_confirmed_and_paid_with_totals(app, api, site, make_token):
    finance = login(app, "yc_finance")
    first, amount = site["july"][0], site["july_amounts"][0]
    finance.post(f"/payments/statements/{first}", form("1000.00"))
    in_app(app, lambda: suspend_third_contract(site))

    token = make_token("yc_officer")
    book = api.get(f"/api/v1/ledger?plan_id={site['plan']}", token=token).json
    by_number = {c["contract_number"]: c for c in book["contracts"]}
    one, two, three = (by_number[n] for n in site["numbers"])
    july = one["rows"][0]
    assert july["month"] == "2026-07-01"
    assert july["owed"] == july["confirmed"] == f"{amount:.2f}"
    assert july["paid"] == "1000.00" and july["unpaid"] == f"{amount - 1000:.2f}"
    assert one["total"]["confirmed"] == f"{amount + site['august_amount']:.2f}"
    assert all(Decimal(r["held"]) == 0 for r in one["rows"] + two["rows"])
    held = three["rows"][0]
    assert held["held"] == held["owed"] and Decimal(held["owed"]) > 0
    assert "三次投诉属实" in held["hold_reason"] and "2026-09-01" in held["hold_reason"]
    assert held["confirmed"] == "0.00"
    assert book["total"]["paid"] == "1000.00"
    assert Decimal(book["total"]["confirmed"]) == sum(site["july_amounts"], site["august_amount"])
    assert Decimal(book["total"]["held"]) == sum(Decimal(r["held"]) for r in three["rows"])

    page = login(app, "yc_officer").get(f"/payments/ledger?plan={site['plan']}&year=2026")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "资金台账" in text and "三次投诉属实" in text
    assert f"{amount - 1000:,.2f}" in text
    year_2025 = api.get("/api/v1/ledger?year=2025", token=token).json
    assert year_2025["contracts"] == [] and year_2025["total"]["owed"] == "0.00"


def test_the_ledger_workbook_keeps_text_inert(app, api, site, make_token):
    def rename():
        provider = db.session.get(Provider, _provider_of(site["contracts"][0]))
        provider.name = '=HYPERLINK("http://evil.example","点我")'

    in_app(app, rename)
    officer = login(app, "yc_officer")
    response = officer.get("/payments/ledger.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    sheet = load_workbook(BytesIO(response.data)).active
    names = [row[1] for row in sheet.iter_rows(min_row=3) if str(row[1].value).startswith("=")]
    assert names and all(cell.data_type == "s" for cell in names)
    via_api = api.get("/api/v1/ledger.xlsx", token=make_token("yc_finance"))
    assert via_api.status_code == 200 and via_api.data[:2] == b"PK"
    totals = [row for row in sheet.iter_rows(min_row=3, values_only=True) if row[0] == "合计"]
    assert len(totals) == 1


def test_budget_execution_page_and_api_show_confirmed_and_paid(app, api, site, make_token):
    finance = login(app, "yc_finance")
    finance.post(f"/payments/statements/{site['july'][0]}", form("1000.00"))
    rows = api.get(f"/api/v1/plans/{site['plan']}/execution", token=make_token("yc_officer")).json
    first = rows["rows"][0]
    assert first["paid"] == "1000.00"
    assert Decimal(first["confirmed"]) == site["july_amounts"][0] + site["august_amount"]
    body = finance.get(f"/plans/{site['plan']}").get_data(as_text=True)
    assert "已拨付" in body and "1,000.00" in body
