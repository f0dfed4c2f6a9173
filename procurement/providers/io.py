"""Bulk import of providers and their compliance records from .xlsx, with a row report.

An import is staged first (``procurement.core.staging``): every row is tried inside a
savepoint and the whole transaction is rolled back, giving a report without writing
anything. The officer then confirms, and the same file is applied for real: the good rows
only, never a silent half. Knows nothing of HTTP.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from openpyxl.styles import Font
from sqlalchemy import select

from procurement.core import spreadsheets
from procurement.core.db import db
from procurement.core.errors import NotFound, ValidationError
from procurement.core.office import XLSX, saved, workbook  # noqa: F401 - XLSX: the views
from procurement.core.staging import RowReport, RowsTried, StagedImports, try_row
from procurement.providers import services
from procurement.providers.models import Provider
from procurement.regions.services import get_region, townships_of

PROVIDER_SHEET, RECORD_SHEET = "承接主体", "合规记录"

PROVIDER_COLUMNS = {
    "名称": "name",
    "统一社会信用代码": "credit_code",
    "登记机关": "registration_authority",
    "登记日期": "registration_date",
    "状态": "status",
    "状态变更日期": "status_date",
    "法定代表人": "legal_representative",
    "地址": "address",
    "所在乡镇": "township",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
    "护理人员": "staff.nursing",
    "理发师": "staff.barber",
    "足疗师": "staff.foot_care",
    "水电工": "staff.plumber_electrician",
    "家电维修": "staff.appliance_repair",
    "确认早期代码": "acknowledge_check_failure",
    "确认理由": "acknowledgement_reason",
}
PROVIDER_REQUIRED = ("名称", "统一社会信用代码", "登记机关", "登记日期")
RECORD_COLUMNS = {
    "统一社会信用代码": "credit_code",
    "类型": "kind",
    "开始日期": "period_start",
    "结束日期": "period_end",
    "缴纳状态": "payment_status",
    "结清日期": "settled_on",
    "决定日期": "decision_date",
    "机关": "authority",
    "违法类型": "violation_kind",
    "罚款金额": "fine_amount",
    "报告年度": "report_year",
    "报送日期": "filed_on",
    "列入日期": "listed_from",
    "移出日期": "listed_until",
    "说明": "description",
}
RECORD_REQUIRED = ("统一社会信用代码", "类型")
VALUE_NAMES = {
    "registration_authority": {
        "民政": "civil_affairs",
        "市场监管": "market_regulation",
        "行政审批局": "administrative_approval",
        "行政审批": "administrative_approval",
        "民政局": "civil_affairs",
        "市场监督管理局": "market_regulation",
        "行政审批服务管理局": "administrative_approval",
    },
    "status": {"存续": "active", "在业": "active", "注销": "deregistered", "吊销": "revoked"},
    "kind": {
        "纳税": "tax",
        "社保": "social_security",
        "违法": "violation",
        "年报": "annual_report",
        "失信": "credit_listing",
    },
    "payment_status": {"正常": "normal", "正常缴纳": "normal", "欠缴": "arrears"},
    "violation_kind": {
        "刑事处罚": "criminal_penalty",
        "责令停产停业": "suspension",
        "吊销许可证": "licence_revocation",
        "罚款": "fine",
        "其他": "other",
    },
    "acknowledge_check_failure": {"是": True, "否": False},
}


def _translate(name: str, value: Any) -> Any:
    names = VALUE_NAMES.get(name)
    if names is None or value is None:
        return value
    return names.get(value, value)


def _apply(sheets: dict[str, pd.DataFrame], region_code: str, tried: RowsTried) -> list[RowReport]:
    """Try every row in its own savepoint; return the report (the caller commits or not)."""
    if PROVIDER_SHEET not in sheets and RECORD_SHEET not in sheets:
        raise ValidationError(
            _("The workbook needs a sheet named %(a)s or %(b)s.", a=PROVIDER_SHEET, b=RECORD_SHEET),
            field="file",
        )
    townships = {t.name: t.code for t in townships_of(get_region(region_code))}
    rows: list[RowReport] = []
    total = sum(len(sheets[name]) for name in (PROVIDER_SHEET, RECORD_SHEET) if name in sheets)
    if PROVIDER_SHEET in sheets:
        frame = sheets[PROVIDER_SHEET]
        spreadsheets.require_columns(frame, PROVIDER_SHEET, PROVIDER_REQUIRED)
        for index, raw in enumerate(frame.to_dict("records")):
            values = {
                PROVIDER_COLUMNS[k]: _translate(PROVIDER_COLUMNS[k], spreadsheets.cell(v))
                for k, v in raw.items()
                if k in PROVIDER_COLUMNS
            }
            if not any(values.values()):
                continue
            staff = {
                k.split(".", 1)[1]: values.pop(k) for k in list(values) if k.startswith("staff.")
            }
            township = values.pop("township", None)

            def register(values=values, staff=staff, township=township) -> None:
                values["acknowledge_check_failure"] = _confirmation(
                    values.get("acknowledge_check_failure")
                )
                data = services.ProviderInput(
                    **{k: v for k, v in values.items() if v is not None},
                    staff=staff,
                    township_code=townships.get(township, township),
                )
                services.register_provider(region_code=region_code, data=data)

            rows.append(
                try_row(PROVIDER_SHEET, index, values.get("name") or "", register, COLUMN_OF)
            )
            tried(index + 1, total)
    if RECORD_SHEET in sheets:
        before = total - len(sheets[RECORD_SHEET])  # the provider sheet's rows
        frame = sheets[RECORD_SHEET]
        spreadsheets.require_columns(frame, RECORD_SHEET, RECORD_REQUIRED)
        for index, raw in enumerate(frame.to_dict("records")):
            values = {
                RECORD_COLUMNS[k]: _translate(RECORD_COLUMNS[k], spreadsheets.cell(v))
                for k, v in raw.items()
                if k in RECORD_COLUMNS
            }
            if not any(values.values()):
                continue
            code = (values.pop("credit_code") or "").upper()
            kind = values.pop("kind")
            rows.append(
                try_row(
                    RECORD_SHEET,
                    index,
                    code,
                    lambda code=code, kind=kind, values=values: _add_record(
                        region_code, code, kind, values
                    ),
                    COLUMN_OF,
                )
            )
            tried(before + index + 1, total)
    return rows


def _add_record(region_code: str, code: str, kind: Any, values: dict) -> None:
    provider = db.session.scalar(
        select(Provider).where(Provider.region_code == region_code, Provider.credit_code == code)
    )
    if provider is None:
        raise NotFound(
            _(
                "No provider with credit code %(code)s in the register or this file.",
                code=code or "—",
            )
        )
    services.add_record(provider, kind or "", values)


COLUMN_OF = {  # field -> the column that holds it, naming a row's messages
    **{field: column for column, field in {**RECORD_COLUMNS, **PROVIDER_COLUMNS}.items()},
    "township_code": "所在乡镇",
}


def _confirmation(value: Any) -> bool:
    """确认早期代码 must say 是 or 否 (or be empty)."""
    if value in (None, True, False):
        return bool(value)
    raise ValidationError(_("Write 是 or 否."), field="acknowledge_check_failure")


STAGED = StagedImports(
    kind="provider_imports",
    job="providers.import",
    try_rows=_apply,
    changed_meanwhile=lambda: _(
        "The register changed since the file was checked: check it again before importing."
    ),
)
stage_import = STAGED.stage


def template_workbook() -> BytesIO:
    """An empty workbook with the two sheets and their column headers."""
    book = workbook()
    first = book.active
    first.title = PROVIDER_SHEET
    first.append(list(PROVIDER_COLUMNS))
    second = book.create_sheet(RECORD_SHEET)
    second.append(list(RECORD_COLUMNS))
    for sheet in (first, second):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            sheet.column_dimensions[cell.column_letter].width = 16
    return saved(book)
