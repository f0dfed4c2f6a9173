"""A monthly statement as a workbook (.xlsx) and as a document for finance (.docx).

Recipients appear by name and masked ID number only.
"""

from __future__ import annotations

from io import BytesIO

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.styles import Font
from sqlalchemy import select

from procurement.core.clock import today
from procurement.core.db import db
from procurement.core.money import amount_in_capitals, format_amount
from procurement.core.office import DOCX, MONEY_FORMAT, XLSX, cjk_document, saved, workbook
from procurement.regions.models import Region
from procurement.settlements import services
from procurement.settlements.models import UNPAID_LABELS, Settlement, Unpaid

__all__ = [
    "DOCX",
    "XLSX",
    "filename",
    "shortfall_filename",
    "shortfall_xlsx",
    "statement_docx",
    "statement_xlsx",
]


def filename(settlement: Settlement, extension: str) -> str:
    return f"结算单-{settlement.contract.number}-{settlement.month:%Y%m}.{extension}"


def _title(settlement: Settlement) -> str:
    return _(
        "Settlement statement %(month)s, %(zone)s",
        month=f"{settlement.month:%Y-%m}",
        zone=settlement.contract.zone.name,
    )


def _header(settlement: Settlement) -> list[tuple[str, str]]:
    contract = settlement.contract
    unit = _("hour") if settlement.unit == "hour" else _("visit")
    return [
        (_("Contract"), contract.number),
        (_("Provider"), contract.provider.name),
        (_("Zone"), contract.zone.name),
        (_("Month"), f"{settlement.month:%Y-%m}"),
        (
            _("Rate"),
            _("%(rate)s yuan per %(unit)s", rate=format_amount(settlement.rate), unit=unit),
        ),
        (_("Status"), settlement.status.label),
        (_("Records"), str(settlement.records)),
        (_("Recipients"), str(settlement.recipients)),
        (_("Paid hours"), f"{settlement.paid_minutes / 60:.2f}"),
        (_("Paid visits"), str(settlement.paid_visits)),
        (
            _("Amount"),
            _(
                "%(amount)s yuan (RMB %(capitals)s)",
                amount=format_amount(settlement.amount),
                capitals=amount_in_capitals(settlement.amount),
            ),
        ),
    ]


def _reasons(line: services.Line) -> str:
    return "；".join(
        f"{UNPAID_LABELS.get(reason, reason)}{_also_under(line, reason)} {minutes / 60:.2f}h"
        for reason, minutes in sorted(line.unpaid.items())
    )


def _also_under(line: services.Line, reason: str) -> str:
    if reason != Unpaid.USED_ELSEWHERE or not line.also_under:
        return ""
    return "（" + "、".join(line.also_under) + "）"


COLUMNS = (
    _l("Name"),
    _l("ID number (masked)"),
    _l("Township"),
    _l("Visits"),
    _l("Hours"),
    _l("Paid hours"),
    _l("Amount (yuan)"),
    _l("Not paid, and why"),
)


def statement_xlsx(settlement: Settlement) -> BytesIO:
    book = workbook()
    sheet = book.active
    sheet.title = _("Statement")
    sheet.append([_title(settlement)])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in _header(settlement):
        sheet.append([label, value])
    sheet.append([])
    sheet.append([str(c) for c in COLUMNS])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    townships = _township_names(settlement)
    for line in services.lines(settlement):
        sheet.append(
            [
                line.name,
                line.id_masked,
                townships.get(line.township_code, line.township_code),
                line.visits,
                round(line.minutes / 60, 2),
                round(line.paid_minutes / 60, 2),
                line.amount,
                _reasons(line),
            ],
        )
        sheet.cell(sheet.max_row, 7).number_format = MONEY_FORMAT
    for column, width in zip("ABCDEFGH", (14, 22, 12, 8, 10, 10, 14, 60), strict=True):
        sheet.column_dimensions[column].width = width
    return saved(book)


def _township_names(settlement: Settlement) -> dict[str, str]:
    codes = settlement.contract.township_codes
    query = select(Region.code, Region.name).where(Region.code.in_(codes))
    return dict(db.session.execute(query).all())


def statement_docx(settlement: Settlement) -> BytesIO:
    document = cjk_document()
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(_title(settlement))
    run.bold, run.font.size = True, Pt(16)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in _header(settlement):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value

    document.add_paragraph()
    unpaid = services.unpaid_summary(settlement)
    if unpaid:
        document.add_paragraph(_("Time not paid, by reason")).runs[0].bold = True
        reasons = document.add_table(rows=1, cols=3)
        reasons.style = "Table Grid"
        for cell, text in zip(
            reasons.rows[0].cells, (_("Reason"), _("Records"), _("Hours")), strict=True
        ):
            cell.text = text
        for reason, count, minutes in unpaid:
            cells = reasons.add_row().cells
            cells[0].text = str(UNPAID_LABELS.get(reason, reason))
            cells[1].text, cells[2].text = str(count), f"{minutes / 60:.2f}"
        document.add_paragraph()

    document.add_paragraph(_("Recipients")).runs[0].bold = True
    lines = document.add_table(rows=1, cols=7)
    lines.style = "Table Grid"
    for cell, text in zip(lines.rows[0].cells, [str(c) for c in COLUMNS[:7]], strict=True):
        cell.text = text
    townships = _township_names(settlement)
    for line in services.lines(settlement):
        cells = lines.add_row().cells
        cells[0].text, cells[1].text = line.name, line.id_masked
        cells[2].text = townships.get(line.township_code, line.township_code)
        cells[3].text, cells[4].text = str(line.visits), f"{line.minutes / 60:.2f}"
        cells[5].text, cells[6].text = f"{line.paid_minutes / 60:.2f}", format_amount(line.amount)
    document.add_paragraph()
    document.add_paragraph(
        _(
            "Total payable: %(amount)s yuan (RMB %(capitals)s)",
            amount=format_amount(settlement.amount),
            capitals=amount_in_capitals(settlement.amount),
        )
    ).runs[0].bold = True
    document.add_paragraph(_("Prepared by (civil affairs): ____________    Date: ____________"))
    document.add_paragraph(_("Confirmed by (finance): ____________    Date: ____________"))
    document.add_paragraph(_("Printed on %(date)s", date=today().isoformat()))
    return saved(document)


SHORTFALL_COLUMNS = (
    _l("Provider"),
    _l("Contract"),
    _l("Name"),
    _l("ID number (masked)"),
    _l("Township"),
    _l("Owed"),
    _l("Delivered"),
    _l("Missing"),
    _l("Got nothing"),
)


SHORTFALL_JOB = "settlements.shortfall_export"


def shortfall_job(month, provider_id: int | None, region_code: str) -> tuple[str, str, dict]:
    """The kind, key and parameters of the job that makes a month's under-delivery file
    (issue 16): the same file asked again while it is being made is that job."""
    params = {"month": f"{month:%Y-%m}", "provider_id": provider_id}
    return SHORTFALL_JOB, f"{SHORTFALL_JOB}:{region_code}:{month:%Y-%m}:{provider_id}", params


def shortfall_filename(month, contract_number: str | None = None) -> str:
    return f"未足额服务-{contract_number + '-' if contract_number else ''}{month:%Y%m}.xlsx"


def _quantity(value: int, unit: str) -> float | int:
    return round(value / 60, 2) if unit == "hour" else value


def shortfall_xlsx(month, shortfalls) -> BytesIO:
    """Who got less than the month's entitlement, per contract, with the totals first."""
    book = workbook()
    sheet = book.active
    sheet.title = _("Under-delivery")
    sheet.append([_("Under-delivery %(month)s", month=f"{month:%Y-%m}")])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(
        [
            str(c)
            for c in (
                _l("Provider"),
                _l("Contract"),
                _l("Unit"),
                _l("Entitled"),
                _l("Got less"),
                _l("Got nothing"),
                _l("Owed"),
                _l("Delivered"),
                _l("Missing"),
            )
        ],
    )
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for s in shortfalls:
        unit = _("hours") if s.unit == "hour" else _("visits")
        sheet.append(
            [
                s.provider_name,
                s.contract_number,
                unit,
                s.entitled,
                s.short,
                s.unserved,
                _quantity(s.owed, s.unit),
                _quantity(s.delivered, s.unit),
                _quantity(s.missing, s.unit),
            ],
        )
    sheet.append([])
    sheet.append([str(c) for c in SHORTFALL_COLUMNS])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for s in shortfalls:
        for person in s.people:
            sheet.append(
                [
                    s.provider_name,
                    s.contract_number,
                    person.name,
                    person.id_masked,
                    person.township,
                    _quantity(person.owed, s.unit),
                    _quantity(person.delivered, s.unit),
                    _quantity(person.missing, s.unit),
                    _("yes") if person.unserved else "",
                ],
            )
    for column, width in zip("ABCDEFGHI", (24, 18, 14, 22, 12, 8, 10, 10, 10), strict=True):
        sheet.column_dimensions[column].width = width
    return saved(book)
