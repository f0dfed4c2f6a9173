"""Builds the acceptance certificate template
(procurement/contract_templates/acceptance_certificate.docx).

A real Word document with docxtpl fields; this module is how it was made, so that a change
to the wording is reviewed as code: ``python -m procurement.performance.certificate_template
contract_templates/acceptance_certificate.docx``.
Contents follow seed 000 §3(3) (验收书应当包括服务履约情况), 实施条例 art. 45 (the result
against every standard; the recipients' opinions) and 政府采购法 art. 41 (the team signs).
The fields are listed in ``procurement.performance.certificate.FIELDS``. The certificate is
published: it never names a service recipient.
"""

from __future__ import annotations

import sys

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from procurement.core.office import cjk_document


def _paragraph(document, text: str, *, bold=False, size=None, center=False):
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return paragraph


def _table(document, rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None):
    table = document.add_table(rows=0, cols=len(rows[0] if rows else header))
    table.style = "Table Grid"
    for values in ([header] if header else []) + rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            cell.text = value
    return table


def _loop_rows(table, opening: str, fields: tuple[str, ...], closing: str) -> None:
    """Rows repeated by docxtpl: ``{%tr for ... %}``, the row of fields, ``{%tr endfor %}``."""
    for values in (
        (opening,) + ("",) * (len(fields) - 1),
        fields,
        (closing,) + ("",) * (len(fields) - 1),
    ):
        cells = table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            cell.text = value


def build(path: str) -> None:
    document = cjk_document()

    _paragraph(document, "政府购买居家养老服务履约验收书", bold=True, size=18, center=True)
    _paragraph(document, "验收书编号：{{ acceptance.number }}", center=True)
    _paragraph(document, "{{ plan.title }}（{{ zone.name }}）{{ acceptance.kind }}", center=True)

    _paragraph(document, "一、项目和合同基本情况", bold=True)
    _table(
        document,
        [
            ("购买主体", "{{ buyer.name }}"),
            ("承接主体", "{{ provider.name }}"),
            ("统一社会信用代码", "{{ provider.credit_code }}"),
            ("合同编号", "{{ contract.number }}（签订日期：{{ contract.signed_date }}）"),
            ("服务区域", "{{ zone.name }}：{{ zone.townships_text }}"),
            ("合同服务期限", "{{ contract.service_start }}至{{ contract.service_end }}"),
            (
                "本次验收期间",
                "{{ acceptance.period_start }}至{{ acceptance.period_end }}"
                "（{{ acceptance.months }}个月，{{ acceptance.kind }}）",
            ),
            ("验收日期", "{{ acceptance.accepted_on }}"),
        ],
    )

    _paragraph(document, "")
    _paragraph(document, "二、服务履约情况（依据财政部门确认的月度结算单）", bold=True)
    _table(
        document,
        [
            (
                "服务量（{{ delivery.unit }}）",
                "{{ delivery.contracted }}",
                "{{ delivery.delivered }}",
                "{{ delivery.rate }}",
            ),
            (
                "服务对象（人）",
                "{{ delivery.recipients_contracted }}",
                "{{ delivery.recipients_served }}",
                "{{ delivery.recipients_rate }}",
            ),
            (
                "金额（元）",
                "{{ amounts.contracted }}",
                "{{ amounts.settled }}",
                "{{ amounts.rate }}",
            ),
        ],
        header=("项目", "合同约定", "实际完成（已结算）", "完成率"),
    )
    _paragraph(
        document,
        "合同约定金额（本期）：人民币{{ amounts.contracted }}元"
        "（大写：{{ amounts.contracted_capitals }}）。",
    )
    _paragraph(
        document,
        "已结算金额：人民币{{ amounts.settled }}元（大写：{{ amounts.settled_capitals }}）。",
    )
    _paragraph(document, "已确认结算月份：{{ delivery.months_text }}。")

    _paragraph(document, "三、服务质量检查情况", bold=True)
    findings = _table(document, [], header=("检查方式", "日期", "检查内容及发现", "处理结果"))
    _loop_rows(
        findings,
        "{%tr for finding in findings %}",
        (
            "{{ finding.kind }}",
            "{{ finding.date }}",
            "{{ finding.description }}",
            "{{ finding.result }}",
        ),
        "{%tr endfor %}",
    )
    _paragraph(document, "{{ findings_note }}")
    _paragraph(
        document,
        "本期经核实、责任在承接主体的服务对象投诉：{{ verified_complaints }}件。",
    )

    _paragraph(document, "四、服务对象意见", bold=True)
    _paragraph(
        document,
        "邀请服务对象{{ opinions.invited }}人参与验收，{{ opinions.answered }}人发表意见，"
        "其中表示满意{{ opinions.satisfied }}人，满意率{{ opinions.rate }}。",
    )
    _paragraph(document, "意见摘要：{{ opinions.summary }}")

    _paragraph(
        document,
        "服务记录核查：标记待复核{{ records.pending_flags }}条，经复核不予结算"
        "{{ records.confirmed_flags }}条，服务对象死亡后的服务记录{{ records.after_death }}条，"
        "退出后的服务记录{{ records.after_exit }}条；本期处理措施{{ records.sanctions }}项。",
    )

    _paragraph(document, "五、验收结论", bold=True)
    _paragraph(document, "验收意见：{{ verdict }}")
    _paragraph(document, "验收结论：{{ conclusion.result }}。", bold=True)
    _paragraph(document, "{{ conclusion.text }}")
    _paragraph(document, "{{ conclusion.explanation }}")

    _paragraph(document, "六、验收小组成员签字", bold=True)
    team = _table(document, [], header=("姓名", "单位及职务", "签字", "日期"))
    _loop_rows(
        team,
        "{%tr for member in team %}",
        ("{{ member.name }}", "{{ member.role }}", "", ""),
        "{%tr endfor %}",
    )

    _paragraph(document, "")
    _paragraph(document, "购买主体（盖章）：{{ buyer.name }}")
    _paragraph(document, "审核：{{ approval.by }}    {{ approval.date }}")
    _paragraph(
        document,
        "本验收书依法向社会公开（不含服务对象个人信息）。",
    )
    document.save(path)


if __name__ == "__main__":
    default = "procurement/contract_templates/acceptance_certificate.docx"
    build(sys.argv[1] if len(sys.argv) > 1 else default)
