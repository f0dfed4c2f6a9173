"""Builds the default 居家养老服务购买合同 template
(procurement/contract_templates/home_care_contract.docx).

The template is a real Word document with docxtpl fields; this module is how it was
made, so that a change to the wording is reviewed as code:
``python -m procurement.contracts.default_template`` (writes
procurement/contract_templates/home_care_contract.docx, or the path given).
Contents follow 财政部令第102号 art. 23 and seed 001 §6, §8(2).
"""

from __future__ import annotations

import sys

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt


def _paragraph(document, text: str, *, bold=False, size=None, center=False):
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return paragraph


def build(path: str) -> None:
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = "宋体"
    normal.font.size = Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")

    _paragraph(document, "政府购买居家养老服务合同", bold=True, size=18, center=True)
    _paragraph(document, "合同编号：{{ contract.number }}", center=True)
    _paragraph(document, "{{ plan.title }}（{{ zone.name }}）", center=True)

    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in [
        ("甲方（购买主体）", "{{ buyer.name }}"),
        ("乙方（承接主体）", "{{ provider.name }}"),
        ("统一社会信用代码", "{{ provider.credit_code }}"),
        ("乙方住所", "{{ provider.address }}"),
        ("乙方法定代表人", "{{ provider.legal_representative }}"),
        ("乙方联系人及电话", "{{ provider.contact_name }} {{ provider.contact_phone }}"),
    ]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value

    _paragraph(document, "")
    _paragraph(
        document,
        "根据《中华人民共和国民法典》《政府购买服务管理办法》（财政部令第102号）及"
        "{{ plan.policy_document }}，甲乙双方经{{ plan.purchase_method }}确定乙方为"
        "{{ zone.name }}承接主体，就政府购买居家养老服务事宜，订立本合同。",
    )

    _paragraph(document, "第一条 服务范围", bold=True)
    _paragraph(
        document,
        "服务区域为{{ zone.name }}：{{ zone.townships_text }}"
        "（共{{ zone.township_count }}个乡镇）。服务对象为甲方核定并提供台账的符合条件的老年人，"
        "预计{{ service.recipients }}人。甲方每月将新增及退出的服务对象名单书面告知乙方。",
    )

    _paragraph(document, "第二条 服务内容和标准", bold=True)
    _paragraph(document, "服务项目：{{ service.items_text }}。")
    _paragraph(document, "服务标准：{{ service.standard }}")
    _paragraph(document, "质量要求：{{ service.quality_standard }}")

    _paragraph(document, "第三条 服务期限", bold=True)
    _paragraph(document, "自{{ period.start }}起至{{ period.end }}止，共{{ period.months }}个月。")

    _paragraph(document, "第四条 合同价款", bold=True)
    _paragraph(
        document,
        "服务单价每{{ price.unit }}人民币{{ price.unit_price }}元，"
        "合同总价人民币{{ price.amount }}元（大写：{{ price.amount_in_capitals }}）。"
        "合同价款为购买服务的全部费用，补助资金不得用于发放现金、购置实物和支付医疗费用。",
    )

    _paragraph(document, "第五条 结算方式", bold=True)
    _paragraph(document, "{{ settlement }}")

    _paragraph(document, "第六条 甲方的权利和义务", bold=True)
    for text in (
        "1. 按照本合同约定及时足额结算服务费用；",
        "2. 提供并动态更新服务对象台账，每月告知乙方新增和退出的服务对象；",
        "3. 依托智慧养老服务平台对乙方的服务开展线上监管，"
        "并通过日常巡查、实地核查等方式评估服务质量；",
        "4. 受理服务对象的投诉并将意见反馈乙方，组织履约验收和绩效评价，验收结果向社会公开。",
    ):
        _paragraph(document, text)

    _paragraph(document, "第七条 乙方的权利和义务", bold=True)
    for text in (
        "1. 按照服务对象意见签订服务协议，按约定的项目、标准和频次分次入户提供服务；",
        "2. 将全部服务记录如实录入智慧养老服务平台，服务记录与平台保持一致；",
        "3. 配备与服务相适应的养老护理员及理发师、足疗师、水电工、家电维修等专业人员，"
        "定期开展培训；",
        "4. 及时处理服务对象投诉，接受甲方及有关部门的监督检查；",
        "5. 妥善保护服务对象个人信息，不得向服务对象推销任何商品。",
    ):
        _paragraph(document, text)

    _paragraph(document, "第八条 监督管理和违约责任", bold=True)
    _paragraph(document, "乙方有下列情形之一的，甲方可以采取约谈、督促整改、暂停资金结算等措施：")
    _paragraph(document, "{%p for clause in clauses.sanctions %}")
    _paragraph(document, "{{ clause }}")
    _paragraph(document, "{%p endfor %}")
    _paragraph(document, "乙方有下列情形之一的，甲方有权终止合同，并按照相关规定严肃处理：")
    _paragraph(document, "{%p for clause in clauses.termination %}")
    _paragraph(document, "{{ clause }}")
    _paragraph(document, "{%p endfor %}")

    _paragraph(document, "第九条 争议解决", bold=True)
    _paragraph(document, "{{ dispute_resolution }}")

    _paragraph(document, "第十条 其他", bold=True)
    _paragraph(
        document,
        "本合同一式四份，甲乙双方各执两份，自双方签字盖章之日起生效。本合同依法向社会公开"
        "（涉及个人信息的内容除外）。",
    )

    _paragraph(document, "")
    signatures = document.add_table(rows=4, cols=2)
    for row, (left, right) in enumerate(
        [
            ("甲方（盖章）：{{ buyer.name }}", "乙方（盖章）：{{ provider.name }}"),
            ("法定代表人或授权代表（签字）：", "法定代表人或授权代表（签字）："),
            ("签订日期：{{ contract.signed_date }}", "签订日期：{{ contract.signed_date }}"),
            ("", "文本版本：第{{ contract.version }}版"),
        ]
    ):
        signatures.rows[row].cells[0].text = left
        signatures.rows[row].cells[1].text = right
    document.save(path)


if __name__ == "__main__":
    build(
        sys.argv[1]
        if len(sys.argv) > 1
        else "procurement/contract_templates/home_care_contract.docx"
    )
