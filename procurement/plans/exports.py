"""The plan as a workbook (.xlsx) and as a document for finance (.docx)."""

from __future__ import annotations

from io import BytesIO

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font

from procurement.core.clock import today
from procurement.core.money import amount_in_capitals, format_amount
from procurement.core.office import DOCX, MONEY_FORMAT, XLSX, cjk_document, saved, workbook  # noqa: F401
from procurement.plans.budget import months_in_period
from procurement.plans.models import PurchasePlan


def filename(plan: PurchasePlan, extension: str) -> str:
    return f"{plan.region.name}{plan.year}年购买计划-{plan.id}.{extension}"


def _header_rows(plan: PurchasePlan) -> list[tuple[str, str]]:
    version = plan.approved_version
    return [
        (_("Title"), plan.title),
        (_("County"), plan.region.full_name),
        (_("Year"), str(plan.year)),
        (_("Procurement method"), plan.purchase_method.label),
        (
            _("Service period"),
            _(
                "%(start)s to %(end)s (%(months)d months)",
                start=plan.service_start.isoformat(),
                end=plan.service_end.isoformat(),
                months=months_in_period(plan.service_start, plan.service_end),
            ),
        ),
        (_("Policy profile"), plan.policy_profile.name),
        (_("Status"), plan.status.label),
        (_("Version in force"), f"v{version.number}" if version else "—"),
        (_("Service items"), "、".join(link.service_item.name for link in plan.items)),
        (_("Quality standard"), plan.quality_standard or "—"),
    ]


def _line_rows(plan: PurchasePlan) -> list[tuple]:
    return [
        (
            line.kind.label,
            line.zone.name if line.zone else "—",
            line.description,
            line.funding_source.label,
            line.computed_amount,
            line.amount,
            line.override_reason or "",
        )
        for line in plan.budget_lines
    ]


def plan_workbook(plan: PurchasePlan) -> BytesIO:
    """Two sheets: the plan with its zones, and the budget breakdown with totals."""
    book = workbook()
    sheet = book.active
    sheet.title = _("Plan")
    bold = Font(bold=True)
    for row in _header_rows(plan):
        sheet.append(list(row))
        sheet.cell(sheet.max_row, 1).font = bold
    sheet.append([])
    sheet.append([_("Zone"), _("Townships"), _("Expected recipients")])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for zone in plan.zones:
        sheet.append([zone.name, "、".join(zone.township_names), zone.expected_recipients])
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 70
    for row in sheet.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    budget = book.create_sheet(_("Budget"))
    budget.append(
        [
            _("Kind"),
            _("Zone"),
            _("Description"),
            _("Funding source"),
            _("Computed (yuan)"),
            _("Amount (yuan)"),
            _("Reason for override"),
        ]
    )
    for cell in budget[1]:
        cell.font = bold
    for row in _line_rows(plan):
        budget.append(list(row))
        for column in (5, 6):
            budget.cell(budget.max_row, column).number_format = MONEY_FORMAT
    budget.append([_("Total"), "", "", "", None, plan.total, amount_in_capitals(plan.total)])
    last = budget.max_row
    budget.cell(last, 1).font = bold
    budget.cell(last, 6).font = bold
    budget.cell(last, 6).number_format = MONEY_FORMAT
    for column, width in zip("ABCDEFG", (14, 14, 50, 14, 16, 16, 40), strict=True):
        budget.column_dimensions[column].width = width
    return saved(book)


def plan_document(plan: PurchasePlan) -> BytesIO:
    """A plan document fit to hand to finance: plan, zones, budget, total in capitals."""
    document = cjk_document()
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(plan.title)
    run.bold = True
    run.font.size = Pt(16)

    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in _header_rows(plan):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value

    document.add_paragraph()
    document.add_paragraph(_("Zones")).runs[0].bold = True
    zones = document.add_table(rows=1, cols=3)
    zones.style = "Table Grid"
    for cell, text in zip(
        zones.rows[0].cells, (_("Zone"), _("Townships"), _("Expected recipients")), strict=True
    ):
        cell.text = text
    for zone in plan.zones:
        cells = zones.add_row().cells
        cells[0].text, cells[1].text = zone.name, "、".join(zone.township_names)
        cells[2].text = str(zone.expected_recipients)

    document.add_paragraph()
    document.add_paragraph(_("Budget")).runs[0].bold = True
    lines = document.add_table(rows=1, cols=5)
    lines.style = "Table Grid"
    for cell, text in zip(
        lines.rows[0].cells,
        (
            _("Kind"),
            _("Description"),
            _("Funding source"),
            _("Amount (yuan)"),
            _("Reason for override"),
        ),
        strict=True,
    ):
        cell.text = text
    for kind, _zone, description, funding, _computed, amount, reason in _line_rows(plan):
        cells = lines.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = kind, description, funding
        cells[3].text, cells[4].text = format_amount(amount), reason
        cells[3].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    document.add_paragraph()
    total = document.add_paragraph()
    total.add_run(
        _(
            "Total budget: %(amount)s yuan (RMB %(capitals)s)",
            amount=format_amount(plan.total),
            capitals=amount_in_capitals(plan.total),
        )
    ).bold = True

    document.add_paragraph()
    document.add_paragraph(_("Prepared by (civil affairs): ____________    Date: ____________"))
    document.add_paragraph(_("Reviewed by (finance): ____________    Date: ____________"))
    document.add_paragraph(_("Printed on %(date)s", date=today().isoformat()))
    output = BytesIO()
    document.save(output)
    output.seek(0)
    return output
