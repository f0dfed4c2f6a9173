"""The roster as .xlsx: bulk import with a row report, the template, and the monthly
change lists sent to providers. Knows nothing of HTTP.

An import is staged first, as for providers (``procurement.core.staging``): every row is
tried in its own savepoint and everything is rolled back, giving the report; the officer
confirms and the good rows are written, never a silent half. The staged file holds ID
numbers, so it waits encrypted with the roster's key, and a day at most.
"""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from openpyxl.styles import Font

from procurement.core import spreadsheets
from procurement.core.errors import DomainError, FieldErrors, ValidationError
from procurement.core.identifiers import InvalidIdentifier, mask_id_number, parse_id_number
from procurement.core.office import saved, workbook
from procurement.core.staging import RowReport, RowsTried, StagedImports, try_row
from procurement.policies.models import RecipientCategory
from procurement.recipients import identity, services
from procurement.recipients.models import CAPABILITY_LEVELS, ExitReason, Recipient
from procurement.regions.services import get_region, townships_of

SHEET = "服务对象"
COLUMNS = {
    "姓名": "name",
    "身份证号码": "id_number",
    "乡镇": "township_code",
    "村（社区）": "village",
    "住址": "address",
    "联系电话": "phone",
    "类别": "category",
    "能力等级": "capability_level",
    "评估日期": "assessed_on",
    "评估机构": "assessor",
    "评估有效期至": "assessment_valid_until",
    "长期护理保险": "long_term_care",
    "户籍在本县": "registered_in_county",
    "居住在本县": "lives_in_county",
    "服务开始月份": "service_start",
    "备注": "notes",
}
REQUIRED = ("姓名", "身份证号码", "乡镇", "类别")
COLUMN_OF = {name: column for column, name in COLUMNS.items()}
CATEGORY_NAMES = {
    "分散供养特困人员": RecipientCategory.EXTREME_POVERTY,
    "分散供养特困": RecipientCategory.EXTREME_POVERTY,
    "特困": RecipientCategory.EXTREME_POVERTY,
    "低保": RecipientCategory.MINIMUM_LIVING,
    "低保边缘": RecipientCategory.NEAR_MINIMUM,
    "低收入": RecipientCategory.LOW_INCOME,
}
LEVEL_NAMES = {"能力完好": 0, "轻度失能": 1, "中度失能": 2, "重度失能": 3, "完全失能": 4}
FLAGS = {"long_term_care": False, "registered_in_county": True, "lives_in_county": True}
HELP = [
    (
        "身份证号码",
        "18位，末位为校验码；请将该列设为文本格式，否则Excel会丢失末尾数字。性别、出生日期由号码得出。",
    ),
    ("乡镇", "本县乡镇名称或9位区划代码。"),
    ("类别", "分散供养特困、低保、低保边缘、低收入。"),
    (
        "能力等级",
        "0-4 或 能力完好、轻度失能、中度失能、重度失能、完全失能（GB/T 42195-2022）；"
        "填写时须有评估日期。",
    ),
    (
        "评估日期 / 评估机构 / 评估有效期至",
        "第三方能力评估的日期、评估机构和有效期截止日期，如 2026-05-10；"
        "政策要求第三方评估的地区（如新疆）四项均须填写，评估过期后不再符合条件。",
    ),
    ("长期护理保险 / 户籍在本县 / 居住在本县", "是 或 否；空白分别视为 否 / 是 / 是。"),
    ("服务开始月份", "仅用于建档时已在服务的老人，如 2026-01；新申请的老人留空，审批后自动设置。"),
]


def _lost_digits(value: str) -> bool:
    """Excel keeps 15 significant digits, so a number typed as a number ends in zeros
    (or shows as 1.40522E+17) and no longer passes its check."""
    if re.fullmatch(r"\d+\.\d+|\d+(\.\d+)?[eE]\+?\d+", value):
        return True
    if not (len(value) == 18 and value.isdigit() and value.endswith("000")):
        return False
    try:
        parse_id_number(value)
    except InvalidIdentifier:
        return True
    return False


def _number_cell(value: str | None, problems: FieldErrors) -> str | None:
    if value and _lost_digits(value):
        problems.add(
            "id_number",
            _(
                "The number was stored as a number and lost its last digits: format the "
                "column as text and type it again."
            ),
        )
        return None
    return value


def _flag(name: str, value: str | None, problems: FieldErrors) -> bool:
    if value in ("是", "否"):
        return value == "是"
    if value is not None:
        problems.add(name, _("Write 是 or 否."))
    return FLAGS[name]


def _level(value: str | None) -> Any:
    if value is None:
        return None
    return LEVEL_NAMES.get(value, value.removesuffix(".0"))


def _row_input(
    values: dict[str, Any], townships: dict[str, str], problems: FieldErrors
) -> services.RecipientInput:
    """One row as the service's input; Chinese names become codes. Cells that cannot be
    read are noted in ``problems`` and the rest is still checked by the service."""
    values["id_number"] = _number_cell(values.get("id_number"), problems)
    township = values.get("township_code")
    values["township_code"] = townships.get(township, township)
    category = values.get("category")
    values["category"] = CATEGORY_NAMES.get(category, category) or ""
    values["capability_level"] = _level(values.get("capability_level"))
    for name in FLAGS:
        values[name] = _flag(name, values.get(name), problems)
    return services.RecipientInput(**{k: v for k, v in values.items() if v is not None})


def _register(values: dict[str, Any], townships: dict[str, str], region_code: str) -> None:
    """Put one row on the roster, or refuse it naming every problem of the row."""
    problems = FieldErrors()
    data = _row_input(values, townships, problems)
    try:
        services.register_recipient(region_code=region_code, data=data)
    except DomainError as error:
        for name, messages in (error.fields or {"": [error.message]}).items():
            if name not in problems.fields:  # an unreadable cell is reported once
                for message in messages:
                    problems.add(name, message)
    problems.raise_if_any()


def _label(values: dict[str, Any]) -> str:
    number = values.get("id_number") or ""
    masked = mask_id_number(number) if len(number) == 18 else ""
    return " ".join(part for part in (values.get("name") or "", masked) if part)


def _apply(sheets: dict[str, pd.DataFrame], region_code: str, tried: RowsTried) -> list[RowReport]:
    """Try every row in its own savepoint; return the report (the caller commits or not)."""
    if SHEET not in sheets:
        raise ValidationError(_("The workbook needs a sheet named %(a)s.", a=SHEET), field="file")
    frame = sheets[SHEET]
    spreadsheets.require_columns(frame, SHEET, REQUIRED)
    # by name; a retired township is named too, so that its row is refused as retired
    # (issue 18), and a current township of the same name wins
    everyone = townships_of(get_region(region_code), include_retired=True)
    townships = {t.name: t.code for t in sorted(everyone, key=lambda t: not t.retired)}
    rows = []
    for index, raw in enumerate(frame.to_dict("records")):
        values = {COLUMNS[k]: spreadsheets.cell(v) for k, v in raw.items() if k in COLUMNS}
        if not any(values.values()):
            continue
        label = _label(values)
        rows.append(
            try_row(
                SHEET,
                index,
                label,
                lambda values=values: _register(values, townships, region_code),
                COLUMN_OF,
            )
        )
        tried(index + 1, len(frame))
    return rows


STAGED = StagedImports(  # the file holds ID numbers: it waits encrypted
    kind="recipient_imports",
    job="recipients.import",
    try_rows=_apply,
    changed_meanwhile=lambda: _(
        "The roster changed since the file was checked: check it again before importing."
    ),
    seal=identity.seal_file,
    unseal=identity.open_file,
)
stage_import = STAGED.stage


def _bold_header(sheet, width: int = 16) -> None:
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = width


def template_workbook() -> BytesIO:
    """An empty roster sheet (the ID column formatted as text) and a sheet of guidance."""
    book = workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(list(COLUMNS))
    _bold_header(sheet)
    id_column = sheet.cell(row=1, column=list(COLUMNS).index("身份证号码") + 1).column_letter
    sheet.column_dimensions[id_column].width = 22
    for row in range(2, 2002):
        sheet[f"{id_column}{row}"].number_format = "@"
    guide = book.create_sheet("填写说明")
    guide.append(["列", "说明"])
    for row in HELP:
        guide.append(list(row))
    _bold_header(guide, 40)
    return saved(book)


def changes_filename(changes: services.MonthlyChanges, *, full_ids: bool) -> str:
    suffix = "-完整身份证号" if full_ids else ""
    return f"{changes.contract.number}-{changes.month:%Y-%m}-服务对象变动{suffix}.xlsx"


def changes_workbook(changes: services.MonthlyChanges, *, full_ids: dict[int, str] | None = None):
    """The month's new and departing recipients of one contract's zone, for its provider.

    ID numbers are masked unless ``full_ids`` (from ``services.full_id_numbers``, which
    audits the export) is given."""
    book = workbook()
    summary = book.active
    summary.title = "说明"
    contract = changes.contract
    for label, value in (
        (_("Contract"), contract.number),
        (_("Provider"), contract.provider.name),
        (_("Month"), changes.month.strftime("%Y-%m")),
        (_("New recipients"), len(changes.started)),
        (_("Recipients leaving"), len(changes.exited)),
    ):
        summary.append([label, value])
    summary.column_dimensions["A"].width = 16
    summary.column_dimensions["B"].width = 40
    headers = [
        _("Name"),
        _("Sex"),
        _("Birth date"),
        _("ID number"),
        _("Township"),
        _("Village"),
        _("Address"),
        _("Phone"),
        _("Category"),
        _("Capability level"),
    ]

    def person(recipient: Recipient) -> list:
        number = (full_ids or {}).get(recipient.id, recipient.id_masked)
        level = recipient.capability_level
        return [
            recipient.name,
            str(services.SEX_LABELS.get(recipient.sex, recipient.sex)),
            recipient.birth_date.isoformat(),
            number,
            recipient.township.name,
            recipient.village,
            recipient.address,
            recipient.phone,
            RecipientCategory(recipient.category).label,
            str(CAPABILITY_LEVELS[level]) if level is not None else "",
        ]

    started = book.create_sheet(_("New recipients"))
    started.append([*headers, _("Service starts")])
    for recipient in changes.started:
        started.append([*person(recipient), recipient.service_start.isoformat()])
    exited = book.create_sheet(_("Recipients leaving"))
    exited.append([*headers, _("Reason"), _("Date"), _("No service from")])
    for recipient, effective in changes.exited:
        exited.append(
            [
                *person(recipient),
                ExitReason(recipient.exit_reason).label,
                recipient.exit_date.isoformat(),
                effective.isoformat(),
            ]
        )
    for sheet in (started, exited):
        _bold_header(sheet, 14)
    return saved(book)
