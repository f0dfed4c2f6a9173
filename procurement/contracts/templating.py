"""Rendering .docx templates in a sandbox, and checking an uploaded template first.

Templates are docxtpl (Jinja in Word). They render in Jinja's SandboxedEnvironment with
autoescaping, so a template can never call code or read files, and ``<`` or ``&`` in a
name cannot corrupt the document. Only the fields documented in FIELDS exist.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from docxtpl import DocxTemplate
from flask_babel import gettext as _
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from procurement import PROJECT_ROOT
from procurement.core.errors import ValidationError

DEFAULT_TEMPLATE = PROJECT_ROOT / "contract_templates" / "home_care_contract.docx"

# Every field a contract template may use, with what it holds (shown in the app and README).
FIELDS: dict[str, dict[str, str]] = {
    "contract": {
        "number": "合同编号",
        "signed_date": "签订日期（草稿为空）",
        "version": "文本版本号",
    },
    "buyer": {"name": "购买主体名称（县民政局）", "region": "所在行政区划全称"},
    "provider": {
        "name": "承接主体名称",
        "credit_code": "统一社会信用代码",
        "address": "住所",
        "legal_representative": "法定代表人",
        "contact_name": "联系人",
        "contact_phone": "联系电话",
    },
    "plan": {
        "title": "项目名称",
        "year": "年度",
        "purchase_method": "采购方式",
        "policy_document": "政策依据文件",
    },
    "zone": {
        "name": "片区名称",
        "townships_text": "所含乡镇（顿号分隔）",
        "township_count": "乡镇数",
    },
    "service": {
        "recipients": "服务对象人数",
        "items_text": "服务项目",
        "standard": "服务标准",
        "quality_standard": "质量要求",
    },
    "period": {"start": "服务开始日期", "end": "服务结束日期", "months": "服务月数"},
    "price": {
        "unit": "计价单位（小时/次）",
        "unit_price": "单价（元）",
        "amount": "合同总价（元，千分位）",
        "amount_in_capitals": "合同总价大写",
    },
    "settlement": {"": "结算方式（文本）"},
    "dispute_resolution": {"": "争议解决（文本）"},
    "clauses": {
        "sanctions": "约谈、整改、暂停结算情形（列表）",
        "termination": "终止合同情形（列表）",
    },
}


def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


def sample_context() -> dict:
    """A context with every documented field, for checking an uploaded template."""
    context: dict = {}
    for name, keys in FIELDS.items():
        if "" in keys:
            context[name] = "示例文本"
        elif name == "clauses":
            context[name] = {"sanctions": ["示例一"], "termination": ["示例二"]}
        else:
            context[name] = {key: "示例" for key in keys}
    return context


def render(template_bytes: bytes, context: dict) -> bytes:
    """Render a template to .docx bytes in the sandbox."""
    template = DocxTemplate(BytesIO(template_bytes))
    template.render(context, environment(), autoescape=True)
    output = BytesIO()
    template.save(output)
    return output.getvalue()


def check_template(data: bytes) -> list[str]:
    """The fields an uploaded template uses; refuse broken Jinja, unknown fields, escapes."""
    try:
        template = DocxTemplate(BytesIO(data))
        used = sorted(template.get_undeclared_template_variables(environment()))
    except TemplateError as error:
        raise ValidationError(
            _(
                "The template's fields are broken: %(error)s",
                error=getattr(error, "message", str(error)),
            ),
            field="file",
        ) from None
    except Exception:  # noqa: BLE001 - anything that is not a readable Word file
        raise ValidationError(
            _("The file is not a readable .docx document."), field="file"
        ) from None
    unknown = [name for name in used if name not in FIELDS]
    if unknown:
        raise ValidationError(
            _("The template uses unknown fields: %(names)s.", names="、".join(unknown)),
            field="file",
        )
    try:
        render(data, sample_context())
    except SecurityError:
        raise ValidationError(
            _("The template tries to reach code or files, which is not allowed."), field="file"
        ) from None
    except TemplateError as error:
        raise ValidationError(
            _(
                "The template cannot be filled in: %(error)s",
                error=getattr(error, "message", str(error)),
            ),
            field="file",
        ) from None
    return used


def default_template_bytes() -> bytes:
    return Path(DEFAULT_TEMPLATE).read_bytes()
