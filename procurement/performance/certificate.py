"""The acceptance certificate (验收书): its fields and its rendering.

It is rendered from ``procurement/contract_templates/acceptance_certificate.docx`` (built by
``certificate_template``) through the contracts' sandboxed docxtpl rendering, when the
acceptance is approved, and kept in the content-addressed store (``certificate_sha256``).
It states every figure and the team's signature lines, and is published: the context
below holds no recipient's name or ID number, only counts.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flask_babel import gettext as _

from procurement import PACKAGE_ROOT
from procurement.awards.services import buyer_name
from procurement.contracts import templating
from procurement.contracts.services import township_names
from procurement.core.clock import CHINA
from procurement.core.errors import Conflict
from procurement.core.money import amount_in_capitals, format_amount
from procurement.performance.acceptance import figures_of, satisfaction_rate, threshold_text
from procurement.performance.common import percent
from procurement.performance.models import Acceptance, Conclusion

CERTIFICATE_TEMPLATE = PACKAGE_ROOT / "contract_templates" / "acceptance_certificate.docx"
UNIT_WORDS = {"hour": "小时", "visit": "次"}
# The certificate is a Chinese document: its terms are fixed here, not translated.
CONCLUSION_WORDS = {Conclusion.PASS: "合格", Conclusion.FAIL: "不合格"}
FINDING_WORDS = {
    "inspection": "日常巡查",
    "spot_check": "入户抽查",
    "complaints": "投诉核查",
    "other": "其他检查",
}

# Every field the certificate template uses, with what it holds.
FIELDS: dict[str, dict[str, str]] = {
    "acceptance": {
        "number": "验收书编号",
        "kind": "最终验收或阶段验收",
        "period_start": "验收期间开始",
        "period_end": "验收期间结束",
        "months": "期间月数",
        "accepted_on": "验收日期",
    },
    "buyer": {"name": "购买主体"},
    "provider": {"name": "承接主体", "credit_code": "统一社会信用代码"},
    "contract": {
        "number": "合同编号",
        "signed_date": "签订日期",
        "service_start": "服务开始",
        "service_end": "服务结束",
    },
    "plan": {"title": "项目名称", "year": "年度"},
    "zone": {"name": "片区", "townships_text": "所含乡镇"},
    "delivery": {
        "unit": "计量单位（小时/次）",
        "contracted": "合同约定服务量",
        "delivered": "已结算服务量",
        "rate": "服务量完成率",
        "recipients_contracted": "合同约定服务对象人数",
        "recipients_served": "实际服务人数（有已结算服务记录）",
        "recipients_rate": "人数完成率",
        "months_text": "已确认结算月份",
    },
    "amounts": {
        "contracted": "本期合同金额（千分位）",
        "contracted_capitals": "本期合同金额大写",
        "settled": "已结算金额（千分位）",
        "settled_capitals": "已结算金额大写",
        "rate": "结算率",
    },
    "findings": {"kind": "检查方式", "date": "日期", "description": "内容", "result": "结果"},
    "findings_note": {"": "未记录检查时的说明"},
    "verified_complaints": {"": "经核实责任在承接主体的投诉件数"},
    "opinions": {
        "invited": "邀请人数",
        "answered": "发表意见人数",
        "satisfied": "满意人数",
        "rate": "满意率",
        "summary": "意见摘要",
    },
    "records": {
        "pending_flags": "标记待复核的服务记录条数",
        "confirmed_flags": "经复核不予结算的服务记录条数",
        "after_death": "服务对象死亡后的服务记录条数",
        "after_exit": "服务对象退出后的服务记录条数",
        "sanctions": "本期对承接主体采取的处理措施项数",
    },
    "verdict": {"": "验收意见：由以上数据生成的履约情况段落"},
    "conclusion": {
        "result": "合格/不合格",
        "text": "结论说明",
        "explanation": "合格结论的书面说明（完成率低于阈值或有未复核标记时必填），无则为空",
    },
    "team": {"name": "成员姓名", "role": "单位及职务"},
    "approval": {"by": "审核人", "date": "审核日期"},
}


def context(acceptance: Acceptance) -> dict:
    """The certificate's fields (documented in FIELDS) for an acceptance."""
    contract = acceptance.contract
    plan = contract.plan
    figures = figures_of(acceptance)
    unit = UNIT_WORDS.get(acceptance.unit, acceptance.unit)
    approved_on = (
        acceptance.approved_at.astimezone(CHINA).date() if acceptance.approved_at else None
    )
    return {
        "acceptance": {
            "number": f"{contract.number}-YS{acceptance.id:03d}",
            "kind": "最终验收" if acceptance.final else "阶段验收",
            "period_start": acceptance.period_start.isoformat(),
            "period_end": acceptance.period_end.isoformat(),
            "months": figures.months,
            "accepted_on": acceptance.accepted_on.isoformat(),
        },
        "buyer": {"name": buyer_name(plan)},
        "provider": {"name": contract.provider.name, "credit_code": contract.provider.credit_code},
        "contract": {
            "number": contract.number,
            "signed_date": contract.signed_on.isoformat() if contract.signed_on else "",
            "service_start": contract.service_start.isoformat(),
            "service_end": contract.service_end.isoformat(),
        },
        "plan": {"title": plan.title, "year": plan.year},
        "zone": {"name": contract.zone.name, "townships_text": "、".join(township_names(contract))},
        "delivery": {
            "unit": unit,
            "contracted": f"{acceptance.contracted_quantity:,.2f}",
            "delivered": f"{acceptance.delivered_quantity:,.2f}",
            "rate": percent(acceptance.delivered_quantity, acceptance.contracted_quantity),
            "recipients_contracted": acceptance.contracted_recipients,
            "recipients_served": acceptance.recipients_served,
            "recipients_rate": percent(
                acceptance.recipients_served, acceptance.contracted_recipients
            ),
            "months_text": "、".join(f"{m:%Y年%m月}" for m in figures.confirmed_months) or "无",
        },
        "amounts": {
            "contracted": format_amount(acceptance.amount_contracted),
            "contracted_capitals": amount_in_capitals(acceptance.amount_contracted),
            "settled": format_amount(acceptance.amount_settled),
            "settled_capitals": amount_in_capitals(acceptance.amount_settled),
            "rate": percent(acceptance.amount_settled, acceptance.amount_contracted),
        },
        "findings": [
            {
                "kind": FINDING_WORDS.get(row["kind"], row["kind"]),
                "date": row["date"],
                "description": row["description"],
                "result": row["result"],
            }
            for row in acceptance.findings
        ],
        "findings_note": "" if acceptance.findings else "本期未记录专项检查。",
        "verified_complaints": acceptance.verified_complaints,
        "opinions": {
            "invited": acceptance.recipients_invited,
            "answered": acceptance.recipients_answered,
            "satisfied": acceptance.recipients_satisfied,
            "rate": satisfaction_rate(acceptance),
            "summary": acceptance.opinion_summary,
        },
        "records": {
            "pending_flags": acceptance.pending_flags,
            "confirmed_flags": acceptance.confirmed_flags,
            "after_death": acceptance.visits_after_death,
            "after_exit": acceptance.visits_after_exit,
            "sanctions": acceptance.sanctions,
        },
        "verdict": verdict(acceptance, figures.threshold),
        "conclusion": {
            "result": CONCLUSION_WORDS.get(acceptance.conclusion, ""),
            "text": acceptance.conclusion_text,
            "explanation": (
                f"合格结论的说明：{acceptance.explanation}" if acceptance.explanation else ""
            ),
        },
        "team": [{"name": m["name"], "role": m["role"]} for m in acceptance.team],
        "approval": {
            "by": acceptance.approved_by.display_name if acceptance.approved_by else "",
            "date": approved_on.isoformat() if approved_on else "",
        },
    }


def verdict(acceptance: Acceptance, threshold: Decimal) -> str:
    """The findings paragraph, written from the acceptance's figures (issue 14 item 7): what
    was delivered against the contract and to how many people, against the profile's
    threshold, and what the records and supervision found; never a fixed sentence."""
    unit = UNIT_WORDS.get(acceptance.unit, acceptance.unit)
    contracted, delivered = acceptance.contracted_quantity, acceptance.delivered_quantity
    rate = percent(delivered, contracted)
    parts = [f"本期合同约定服务{contracted:,.2f}{unit}，已结算{delivered:,.2f}{unit}，完成率{rate}"]
    if contracted:
        share = delivered * 100 / contracted
        limit = threshold_text(threshold)
        parts[0] += (
            f"，低于{limit}%的验收标准" if share < threshold else f"，达到{limit}%的验收标准"
        )
    served, owed = acceptance.recipients_served, acceptance.contracted_recipients
    parts.append(
        f"合同约定服务对象{owed}人，实际服务{served}人（{percent(served, owed)}）"
        + (f"，{owed - served}人未获服务" if served < owed else "")
    )
    records = []
    if acceptance.pending_flags:
        records.append(f"{acceptance.pending_flags}条标记记录尚待复核")
    if acceptance.confirmed_flags:
        records.append(f"{acceptance.confirmed_flags}条标记记录经复核不予结算")
    if acceptance.visits_after_death:
        records.append(f"服务对象死亡后的服务记录{acceptance.visits_after_death}条")
    if acceptance.visits_after_exit:
        records.append(f"服务对象退出后的服务记录{acceptance.visits_after_exit}条")
    parts.append(
        "服务记录中" + "、".join(records) if records else "服务记录未发现待复核或不予结算的标记"
    )
    parts.append(
        f"经核实、责任在承接主体的投诉{acceptance.verified_complaints}件"
        if acceptance.verified_complaints
        else "无经核实、责任在承接主体的投诉"
    )
    parts.append(
        f"对承接主体采取处理措施{acceptance.sanctions}项"
        if acceptance.sanctions
        else "未对承接主体采取处理措施"
    )
    return "经核查，" + "；".join(parts) + "。"


def render_certificate(acceptance: Acceptance) -> bytes:
    """The certificate as .docx bytes, rendered in the sandbox from the shipped template."""
    try:
        return templating.render(Path(CERTIFICATE_TEMPLATE).read_bytes(), context(acceptance))
    except (templating.RenderFailed, templating.SecurityError) as failure:
        raise Conflict(
            _("The certificate template cannot be filled in (%(error)s).", error=str(failure)),
            code="template_failed",
        ) from None
