"""Rendering .docx templates in a sandbox, and checking an uploaded template first.

Templates are docxtpl (Jinja in Word). They render in Jinja's SandboxedEnvironment with
autoescaping, so a template can never call code or read files, and ``<`` or ``&`` in a
name cannot corrupt the document. Only the fields documented in FIELDS exist.

An uploaded template is also a program that could loop or allocate without end (nested
loops of 9,000 each): everything done with an uploaded file (reading it at upload, the
trial renders, each contract generated from it) runs in a child process bounded by
CONTRACT_RENDER_SECONDS and CONTRACT_RENDER_MEMORY_MB (``render_uploaded``). The shipped
templates are trusted and render in the worker itself, which keeps the usual path fast.
"""

from __future__ import annotations

import copy
import operator
import re
import xml.etree.ElementTree as ET
import zipfile
from io import BytesIO
from pathlib import Path

from docxtpl import DocxTemplate
from flask import current_app
from flask_babel import gettext as _
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

__all__ = [
    "LimitExceeded",
    "RenderFailed",
    "SecurityError",
    "check_template",
    "environment",
    "limit_problem",
    "render",
    "render_uploaded",
]

from procurement import PACKAGE_ROOT
from procurement.core import bounded
from procurement.core.bounded import LimitExceeded
from procurement.core.errors import ValidationError

DEFAULT_TEMPLATE = PACKAGE_ROOT / "contract_templates" / "home_care_contract.docx"

# Every field a contract template may use, with what it holds (shown in the app and README).
FIELDS: dict[str, dict[str, str]] = {
    "contract": {
        "number": "合同编号",
        "signed_date": "签订日期（草稿为空）",
        "signing_reason": "签订时间特殊情况说明（晚于服务开始或早于中标公告时填写，否则为空）",
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


# Filters a contract needs; none of them can blow a string up to any chosen size.
SAFE_FILTERS = (
    "default",
    "d",
    "e",
    "escape",
    "first",
    "last",
    "join",
    "length",
    "count",
    "lower",
    "upper",
    "title",
    "capitalize",
    "trim",
    "string",
    "int",
    "round",
    "list",
    "sort",
    "unique",
    "reverse",
    "replace",
    "truncate",
    "wordcount",
)
MAX_REPEAT = 10_000  # characters a template may build by '*'


class ContractSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with no globals (no range, lipsum, cycler, namespace...),
    a short list of filters, no str.format, and bounded '*' and '**'."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def wrap_str_format(self, value):
        return None  # str.format is refused below, not wrapped

    def is_safe_attribute(self, obj, attr, value) -> bool:
        if isinstance(obj, str) and attr in {
            "format",
            "format_map",
            "center",
            "ljust",
            "rjust",
            "zfill",
            "expandtabs",
        }:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "%":
            raise SecurityError("the % operator is not available in contract templates")
        if operator_name == "**" and (not isinstance(right, int) or abs(right) > 16):
            raise SecurityError("exponent too large")
        if operator_name == "*":
            for text, times in ((left, right), (right, left)):
                if (
                    isinstance(text, str | list | tuple)
                    and isinstance(times, int)
                    and (len(text) * times > MAX_REPEAT)
                ):
                    raise SecurityError("repetition too large")
        return {"*": operator.mul, "**": operator.pow}[operator_name](left, right)


def environment() -> ContractSandbox:
    env = ContractSandbox(autoescape=True, undefined=StrictUndefined)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in SAFE_FILTERS}
    env.tests = {
        name: env.tests[name]
        for name in (
            "defined",
            "undefined",
            "none",
            "number",
            "string",
            "equalto",
            "eq",
            "ne",
            "in",
        )
    }
    return env


NUMBERS = {
    ("contract", "version"),
    ("plan", "year"),
    ("zone", "township_count"),
    ("service", "recipients"),
    ("period", "months"),
}


def sample_context() -> dict:
    """A context with every documented field (numbers as numbers), to check a template."""
    context: dict = {}
    for name, keys in FIELDS.items():
        if "" in keys:
            context[name] = "示例文本"
        elif name == "clauses":
            context[name] = {"sanctions": ["示例一"], "termination": ["示例二"]}
        else:
            context[name] = {key: (1 if (name, key) in NUMBERS else "示例") for key in keys}
    return context


class RenderFailed(Exception):
    """The template could not be filled in with these data."""


def render(template_bytes: bytes, context: dict) -> bytes:
    """Render a template to .docx bytes in the sandbox, on a copy of the data."""
    try:
        template = DocxTemplate(BytesIO(template_bytes))
        template.render(copy.deepcopy(context), environment(), autoescape=True)
        output = BytesIO()
        template.save(output)
    except (SecurityError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - whatever the template did, it failed
        raise RenderFailed(str(error)) from error
    return output.getvalue()


def render_limits() -> bounded.Limits:
    """The time and memory an uploaded template may take to be filled in (configuration)."""
    return bounded.Limits(
        seconds=float(current_app.config["CONTRACT_RENDER_SECONDS"]),
        memory_mb=int(current_app.config["CONTRACT_RENDER_MEMORY_MB"]),
    )


def render_uploaded(template_bytes: bytes, context: dict) -> bytes:
    """``render`` for an uploaded template: in a child process bounded in time and memory.

    Raises RenderFailed or SecurityError as ``render`` does, and LimitExceeded when the
    template takes longer or more memory than configured (the child is killed)."""
    return bounded.run(render, template_bytes, context, limits=render_limits())


def limit_problem(exceeded: LimitExceeded, name: str) -> str:
    """What went wrong, naming the template, for the upload form and for generation."""
    if exceeded.kind == "time":
        return _(
            "Filling in the template “%(name)s” took longer than %(seconds)s seconds and "
            "was stopped.",
            name=name,
            seconds=f"{exceeded.limits.seconds:g}",
        )
    return _(
        "Filling in the template “%(name)s” needed more than %(mb)s MB of memory and was stopped.",
        name=name,
        mb=exceeded.limits.memory_mb,
    )


RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
# A target that leaves the package: a scheme (http:, file:, mailto:...) or a network path.
OUTSIDE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|\\\\|//)")


def external_targets(data: bytes) -> list[str]:
    """What the document's parts refer to outside the file (an attached template on a
    web server, an image on \\\\host\\share, a hyperlink): Word fetches such targets when the
    document is opened, from every contract generated from the template."""
    found = []
    with zipfile.ZipFile(BytesIO(data)) as archive:
        for name in archive.namelist():
            if not name.endswith(".rels"):
                continue
            root = ET.fromstring(archive.read(name))  # noqa: S314 - parsed, not trusted
            for relation in root.iter(RELATIONSHIP):
                target = relation.get("Target", "")
                if relation.get("TargetMode") == "External" or OUTSIDE.match(target):
                    found.append(target)
    return found


def inspect(data: bytes) -> tuple[str, list[str]]:
    """What an uploaded file is, as plain values (it runs in the bounded child process):
    ("unreadable", []), ("outside", targets), ("broken", [error]) or ("fields", names)."""
    try:
        outside = external_targets(data)
    except (zipfile.BadZipFile, ET.ParseError, KeyError):
        return "unreadable", []
    if outside:
        return "outside", outside
    try:
        template = DocxTemplate(BytesIO(data))
        used = sorted(template.get_undeclared_template_variables(environment()))
    except TemplateError as error:
        return "broken", [str(getattr(error, "message", None) or error)]
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - anything that is not a readable Word file
        return "unreadable", []
    return "fields", used


def _too_costly(exceeded: LimitExceeded, name: str) -> ValidationError:
    return ValidationError(
        _(
            "%(problem)s Simplify its loops and upload it again.",
            problem=limit_problem(exceeded, name),
        ),
        field="file",
    )


def check_template(data: bytes, contexts: list[dict] = (), *, name: str = "") -> list[str]:
    """The fields an uploaded template uses; refuse external relationships, broken Jinja,
    unknown fields, escapes, and templates that take too long or too much memory.

    Besides the sample data, it is tried on ``contexts`` (the region's real contracts),
    so that a template cannot behave differently on real data. Every step runs in the
    bounded child process: the file is not trusted until it has passed."""
    name = name or _("uploaded template")
    try:
        kind, found = bounded.run(inspect, data, limits=render_limits())
    except LimitExceeded as exceeded:
        raise _too_costly(exceeded, name) from None
    if kind == "unreadable":
        raise ValidationError(
            _("The file is not a readable .docx document."), field="file"
        ) from None
    if kind == "outside":
        outside = found
        raise ValidationError(
            _(
                "The template refers to files or addresses outside the document (%(targets)s): "
                "remove the linked template, images or links and upload it again.",
                targets="、".join(sorted(set(outside))[:3]),
            ),
            field="file",
        )
    if kind == "broken":
        raise ValidationError(
            _("The template's fields are broken: %(error)s", error=found[0]), field="file"
        )
    used = found
    unknown = [name for name in used if name not in FIELDS]
    if unknown:
        raise ValidationError(
            _("The template uses unknown fields: %(names)s.", names="、".join(unknown)),
            field="file",
        )
    for context in (sample_context(), *contexts):
        try:
            render_uploaded(data, context)
        except LimitExceeded as exceeded:
            raise _too_costly(exceeded, name) from None
        except SecurityError:
            raise ValidationError(
                _("The template tries to reach code or files, which is not allowed."),
                field="file",
            ) from None
        except RenderFailed as failure:
            raise ValidationError(
                _("The template cannot be filled in: %(error)s", error=str(failure)),
                field="file",
            ) from None
    return used


def default_template_bytes() -> bytes:
    return Path(DEFAULT_TEMPLATE).read_bytes()
