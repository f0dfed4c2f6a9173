"""The finance ledger as a workbook (.xlsx); every text cell stays text (never a formula)."""

from __future__ import annotations

import json
from dataclasses import asdict
from io import BytesIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.styles import Font

from procurement.core.clock import today
from procurement.core.office import MONEY_FORMAT, XLSX, saved, workbook
from procurement.payments.ledger import Ledger, LedgerFilter, Totals

__all__ = ["LEDGER_JOB", "XLSX", "filename", "ledger_job", "ledger_xlsx"]

LEDGER_JOB = "payments.ledger_export"

COLUMNS = (
    _l("Contract"),
    _l("Provider"),
    _l("Month"),
    _l("Status"),
    _l("Owed (yuan)"),
    _l("Held (yuan)"),
    _l("Why held"),
    _l("Confirmed (yuan)"),
    _l("Paid (yuan)"),
    _l("Confirmed, not paid (yuan)"),
)
MONEY_COLUMNS = (5, 6, 8, 9, 10)


def ledger_job(filters: LedgerFilter, region_code: str) -> tuple[str, str, dict]:
    """The kind, key and parameters of the job that makes the ledger's file (issue 16):
    the same ledger asked again while it is being made is that job."""
    params = {"filters": asdict(filters)}
    key = f"{LEDGER_JOB}:{region_code}:{json.dumps(params, sort_keys=True)}"
    return LEDGER_JOB, key, params


def filename() -> str:
    return f"资金台账-{today():%Y%m%d}.xlsx"


def _total_row(sheet, label: str, total: Totals) -> None:
    sheet.append(
        [label, "", "", "", total.owed, total.held, "", total.confirmed, total.paid, total.unpaid],
    )
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def ledger_xlsx(ledger: Ledger) -> BytesIO:
    book = workbook()
    sheet = book.active
    sheet.title = _("Ledger")
    sheet.append([_("Finance ledger"), today().isoformat()])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([str(c) for c in COLUMNS])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for contract in ledger.contracts:
        for row in contract.rows:
            sheet.append(
                [
                    row.contract_number,
                    row.provider_name,
                    f"{row.month:%Y-%m}",
                    row.status_label,
                    row.owed,
                    row.held,
                    row.hold_reason,
                    row.confirmed,
                    row.paid,
                    row.unpaid,
                ],
            )
        _total_row(sheet, _("Subtotal %(number)s", number=contract.contract_number), contract.total)
    _total_row(sheet, _("Total"), ledger.total)
    for line in sheet.iter_rows(min_row=3):
        for index in MONEY_COLUMNS:
            line[index - 1].number_format = MONEY_FORMAT
    for column, width in zip("ABCDEFGHIJ", (22, 30, 10, 14, 14, 14, 40, 14, 14, 16), strict=True):
        sheet.column_dimensions[column].width = width
    return saved(book)
