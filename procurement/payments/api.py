"""Payments (资金拨付) and the finance ledger under /api/v1: the same services as the pages."""

from __future__ import annotations

from datetime import date, datetime

from flask import g, send_file
from pydantic import Field

from procurement.core.api import MoneyString, Page, PageQuery, Schema, api_route, paginate
from procurement.core.db import db
from procurement.jobs.api import JobOut, accepted
from procurement.payments import exports, services
from procurement.payments.ledger import LedgerFilter, ledger
from procurement.settlements.services import get_settlement


class PaymentIn(Schema):
    paid_on: str = Field(max_length=10, examples=["2026-09-10"])
    amount: str = Field(max_length=20, examples=["51800.00"])
    voucher_number: str = Field(max_length=40, description="The payment voucher's number.")
    payee_account: str = Field(max_length=40, description="The provider's bank account.")
    treasury_reference: str = Field(
        "", max_length=60, description="The treasury's payment reference, where there is one."
    )
    note: str = Field("", max_length=500)


class ReversalIn(Schema):
    paid_on: str = Field(max_length=10, examples=["2026-09-12"])
    voucher_number: str = Field(max_length=40, description="The reversing voucher's number.")
    note: str = Field(max_length=500, description="Why the payment is reversed.")


class PaymentOut(Schema):
    id: int
    contract_id: int
    settlement_id: int
    paid_on: date
    amount: MoneyString
    voucher_number: str
    payee_account: str
    treasury_reference: str
    note: str
    reverses_id: int | None = None
    recorded_at: datetime


class PaymentQuery(PageQuery):
    contract_id: int | None = None
    settlement_id: int | None = None


class LedgerQuery(Schema):
    plan_id: int | None = None
    contract_id: int | None = None
    year: int | None = Field(None, ge=2000, le=2100)


class TotalsOut(Schema):
    owed: MoneyString
    held: MoneyString
    confirmed: MoneyString
    paid: MoneyString
    unpaid: MoneyString


class LedgerRowOut(Schema):
    month: date
    settlement_id: int
    status: str
    owed: MoneyString
    held: MoneyString
    hold_reason: str
    confirmed: MoneyString
    paid: MoneyString
    unpaid: MoneyString


class ContractLedgerOut(Schema):
    contract_id: int
    contract_number: str
    provider_name: str
    rows: list[LedgerRowOut]
    total: TotalsOut


class LedgerOut(Schema):
    contracts: list[ContractLedgerOut]
    total: TotalsOut


@api_route(
    "/payments",
    summary="Payments made against confirmed statements, newest first",
    tag="payments",
    permission="payments.view",
    query=PaymentQuery,
    response=Page[PaymentOut],
)
def list_payments(query: PaymentQuery):
    stmt = services.payments_query(contract_id=query.contract_id, settlement_id=query.settlement_id)
    return paginate(stmt, query, PaymentOut)


@api_route(
    "/payments/<int:payment_id>",
    summary="One payment",
    tag="payments",
    permission="payments.view",
    response=PaymentOut,
)
def get_payment(payment_id: int):
    return PaymentOut.model_validate(services.get_payment(payment_id))


@api_route(
    "/settlements/<int:settlement_id>/payments",
    method="POST",
    summary="Record a payment against a confirmed statement",
    tag="payments",
    permission="payments.record",
    body=PaymentIn,
    response=PaymentOut,
    status=201,
)
def record_payment(settlement_id: int, body: PaymentIn):
    """Refused (409) beyond what remains confirmed and unpaid; 422 for a date before the
    confirmation or in the future."""
    payment = services.record_payment(
        get_settlement(settlement_id), actor=g.user, **body.model_dump()
    )
    db.session.commit()
    return PaymentOut.model_validate(payment), 201


@api_route(
    "/payments/<int:payment_id>/reverse",
    method="POST",
    summary="Reverse a payment by a reversing entry",
    tag="payments",
    permission="payments.record",
    body=ReversalIn,
    response=PaymentOut,
    status=201,
)
def reverse_payment(payment_id: int, body: ReversalIn):
    reversal = services.reverse_payment(
        services.get_payment(payment_id), actor=g.user, **body.model_dump()
    )
    db.session.commit()
    return PaymentOut.model_validate(reversal), 201


def _filters(query: LedgerQuery) -> LedgerFilter:
    return LedgerFilter(plan_id=query.plan_id, contract_id=query.contract_id, year=query.year)


@api_route(
    "/ledger",
    summary="Finance ledger: owed, held, confirmed and paid per contract and month",
    tag="payments",
    permission="payments.view",
    query=LedgerQuery,
    response=LedgerOut,
)
def get_ledger(query: LedgerQuery):
    book = ledger(_filters(query))
    return LedgerOut.model_validate(book)


@api_route(
    "/ledger/exports",
    method="POST",
    summary="The finance ledger as .xlsx, made by a job (202, then download)",
    tag="payments",
    permission="payments.view",
    query=LedgerQuery,
    response=JobOut,
    status=202,
)
def export_ledger_job(query: LedgerQuery):
    """The job's ``download_url`` is the file once done; the same ledger asked again while
    it is being made: 409 with that job."""
    region_code = g.user.region_code
    return accepted(*exports.ledger_job(_filters(query), region_code), region_code=region_code)


@api_route(
    "/ledger.xlsx",
    summary="The finance ledger as .xlsx",
    tag="payments",
    permission="payments.view",
    query=LedgerQuery,
    content_type=exports.XLSX,
)
def export_ledger(query: LedgerQuery):
    return send_file(
        exports.ledger_xlsx(ledger(_filters(query))),
        mimetype=exports.XLSX,
        as_attachment=True,
        download_name=exports.filename(),
    )
