"""Acceptance: delivered against contracted from confirmed statements, the recipients'
opinions, four-eyes approval, the certificate (验收书) and its publication."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from docx import Document
from sqlalchemy import distinct, func, select

from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.core.errors import Conflict, PermissionDenied, ValidationError
from procurement.core.money import amount_in_capitals
from procurement.performance import acceptance as acceptance_rules
from procurement.performance.certificate import render_certificate
from procurement.performance.models import AcceptanceStatus, Conclusion
from procurement.public.models import PublicationKind
from procurement.public.services import is_public, publication_of
from procurement.recipients.models import Recipient
from procurement.settlements.models import ServiceRecord, Settlement, SettlementStatus
from procurement.supervision import services as supervision
from tests.performance.conftest import STAGE, TEAM, stage_input


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def drafted(world, contract=None, **changes):
    contract = contract or world["contracts"][0]
    return acceptance_rules.draft_acceptance(
        contract, stage_input(**changes), actor=world["people"]["drafter"]
    )


def approved(world, **changes):
    acceptance = drafted(world, **changes)
    return acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])


# ------------------------------------------------------------------ the figures


def test_contracted_against_delivered_from_confirmed_statements(world):
    contract = world["contracts"][0]
    figures = acceptance_rules.acceptance_figures(contract, *STAGE)
    statements = db.session.scalars(
        select(Settlement).where(Settlement.contract_id == contract.id)
    ).all()
    assert {s.month for s in statements} == {date(2026, 7, 1), date(2026, 8, 1)}
    assert all(s.status == SettlementStatus.CONFIRMED for s in statements)

    # Yangcheng: people x 4 hours a month x 2 months; the amount is two of the six months.
    assert figures.unit == "hour" and figures.months == 2
    assert figures.contracted_quantity == Decimal(contract.recipients * 4 * 2)
    assert figures.amount_contracted == (contract.amount * 2 / 6).quantize(Decimal("0.01"))
    paid_minutes = sum(s.paid_minutes for s in statements)
    assert figures.delivered_quantity == (Decimal(paid_minutes) / 60).quantize(Decimal("0.01"))
    assert figures.amount_settled == sum(s.amount for s in statements)
    assert figures.amount_settled > 0
    served = db.session.scalar(
        select(func.count(distinct(ServiceRecord.recipient_id))).where(
            ServiceRecord.contract_id == contract.id, ServiceRecord.paid_minutes > 0
        )
    )
    assert figures.recipients_served == served > 0
    assert figures.draft_statements == 0
    assert figures.months_text == "2026-07、2026-08"

    # July alone is half of it; September has no statement, so nothing was delivered.
    july = acceptance_rules.acceptance_figures(contract, date(2026, 7, 1), date(2026, 7, 31))
    assert july.contracted_quantity * 2 == figures.contracted_quantity
    september = acceptance_rules.acceptance_figures(contract, date(2026, 9, 1), date(2026, 9, 30))
    assert september.delivered_quantity == 0 and september.amount_settled == 0


def test_only_confirmed_statements_count(world):
    contract = world["contracts"][0]
    august = db.session.scalar(
        select(Settlement).where(
            Settlement.contract_id == contract.id, Settlement.month == date(2026, 8, 1)
        )
    )
    august.status = SettlementStatus.DRAFT
    db.session.flush()
    figures = acceptance_rules.acceptance_figures(contract, *STAGE)
    assert figures.confirmed_months == (date(2026, 7, 1),)
    assert figures.draft_statements == 1
    acceptance = drafted(world)
    with pytest.raises(Conflict) as refused:
        acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])
    assert "待财政部门确认" in refused.value.message


def test_verified_attributable_complaints_of_the_period_are_counted(world):
    contract = world["contracts"][0]
    for received, attributable in (
        (date(2026, 7, 10), True),
        (date(2026, 8, 2), True),
        (date(2026, 8, 5), False),  # verified, not the provider's fault
        (date(2026, 9, 1), True),  # after the period
    ):
        complaint = supervision.record_complaint(
            supervision.ComplaintInput(
                provider_id=contract.provider_id,
                contract_id=contract.id,
                received_on=received,
                channel="phone",
                summary="服务人员迟到",
            ),
            actor=world["officer"],
        )
        supervision.verify_complaint(
            complaint,
            status="verified",
            verified_on=received,
            findings="属实",
            attributable=attributable,
        )
    assert acceptance_rules.acceptance_figures(contract, *STAGE).verified_complaints == 2
    assert drafted(world).verified_complaints == 2


# ------------------------------------------------------------------ the draft's rules


def test_a_draft_keeps_the_figures_and_the_input(world):
    acceptance = drafted(world)
    assert acceptance.status is AcceptanceStatus.DRAFT
    assert acceptance.drafted_by_id == world["people"]["drafter"].id
    assert acceptance.contracted_quantity == Decimal(world["contracts"][0].recipients * 8)
    assert [m["name"] for m in acceptance.team] == [m["name"] for m in TEAM]
    assert acceptance.findings[0]["date"] == "2026-08-20"
    assert acceptance_rules.approval_problems(acceptance) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipients_answered": 21}, "recipients_answered"),
        ({"recipients_satisfied": 19}, "recipients_satisfied"),
        ({"recipients_invited": "-1"}, "recipients_invited"),
        ({"period_end": date(2026, 8, 30)}, "period_end"),  # not the end of a month
        ({"period_start": date(2026, 6, 1)}, "period_start"),  # before the term
        ({"final": True}, "period_end"),  # a final acceptance runs to 31 December
        ({"accepted_on": date(2026, 8, 30)}, "accepted_on"),  # before the period ended
        ({"conclusion": "maybe"}, "conclusion"),
    ],
)
def test_bad_input_is_refused_by_field(world, changes, field):
    with pytest.raises(ValidationError) as refused:
        drafted(world, **changes)
    assert field in refused.value.fields


def test_a_period_not_over_yet_is_refused(world):
    with pytest.raises(ValidationError) as refused:
        drafted(world, period_start=date(2026, 9, 1), period_end=date(2026, 9, 30))
    assert "period_end" in refused.value.fields


def test_overlapping_stages_and_a_second_final_acceptance_are_refused(world, after_term):
    drafted(world)
    with pytest.raises(ValidationError) as refused:
        drafted(
            world,
            period_start=date(2026, 8, 1),
            period_end=date(2026, 9, 30),
            accepted_on=date(2026, 10, 8),
        )
    assert refused.value.fields == {"period_start": [refused.value.message]}
    assert "重叠" in refused.value.message
    final = {"final": True, "period_end": date(2026, 12, 31), "accepted_on": date(2027, 1, 8)}
    drafted(world, **final)
    with pytest.raises(ValidationError) as again:
        drafted(world, **final)
    assert "final" in again.value.fields


def test_the_certificate_is_public_so_names_and_id_numbers_are_refused(world):
    contract = world["contracts"][0]
    person = db.session.scalar(
        select(Recipient)
        .where(Recipient.township_code.in_(contract.township_codes))
        .order_by(Recipient.id)
    )
    with pytest.raises(ValidationError) as named:
        drafted(world, opinion_summary=f"{person.name}反映服务很好。")
    assert person.name in named.value.fields["opinion_summary"][0]
    with pytest.raises(ValidationError) as numbered:
        drafted(world, conclusion_text="抽查对象140522194506150028，合格。")
    assert "conclusion_text" in numbered.value.fields


def test_stale_form_is_refused(world):
    acceptance = drafted(world)
    acceptance_rules.update_acceptance(
        acceptance, stage_input(opinion_summary="更新"), actor=world["officer"]
    )
    with pytest.raises(Conflict):
        acceptance_rules.update_acceptance(
            acceptance, stage_input(), actor=world["officer"], lock_version=1
        )


# ------------------------------------------------------------------ approval


def test_four_eyes_the_drafter_cannot_approve(world):
    acceptance = drafted(world)
    with pytest.raises(PermissionDenied) as refused:
        acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["drafter"])
    assert refused.value.code == "own_acceptance"
    acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])
    assert acceptance.status is AcceptanceStatus.APPROVED
    assert acceptance.approved_by_id == world["people"]["approver"].id
    assert acceptance.certificate_sha256
    with pytest.raises(Conflict):
        acceptance_rules.update_acceptance(acceptance, stage_input(), actor=world["officer"])


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"recipients_invited": 0, "recipients_answered": 0, "recipients_satisfied": 0}, "邀请"),
        ({"opinion_summary": ""}, "意见摘要"),
        ({"conclusion": None}, "验收结论"),
        ({"team": TEAM[:2]}, "至少 3 人"),
    ],
)
def test_approval_needs_the_recipients_a_conclusion_and_the_team(world, changes, words):
    acceptance = drafted(world, **changes)
    with pytest.raises(Conflict) as refused:
        acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])
    assert refused.value.code == "incomplete"
    assert words in refused.value.message
    assert acceptance.status is AcceptanceStatus.DRAFT


def test_figures_that_changed_since_the_draft_must_be_saved_again(world):
    contract = world["contracts"][0]
    august = db.session.scalar(
        select(Settlement).where(
            Settlement.contract_id == contract.id, Settlement.month == date(2026, 8, 1)
        )
    )
    august.status = SettlementStatus.DRAFT
    db.session.flush()
    acceptance = drafted(world)
    august.status = SettlementStatus.CONFIRMED
    db.session.flush()
    with pytest.raises(Conflict) as refused:
        acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])
    assert "已发生变化" in refused.value.message
    acceptance_rules.update_acceptance(acceptance, stage_input(), actor=world["officer"])
    acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])


# ------------------------------------------------------------------ publication


def test_publishing_needs_approval(world):
    acceptance = drafted(world)
    with pytest.raises(Conflict) as refused:
        acceptance_rules.publish_acceptance(acceptance, actor=world["officer"])
    assert refused.value.code == "invalid_state"
    assert publication_of(PublicationKind.ACCEPTANCE, acceptance.id) is None

    acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])
    acceptance_rules.publish_acceptance(acceptance, actor=world["officer"])
    assert acceptance.status is AcceptanceStatus.PUBLISHED and acceptance.published_at
    publication = publication_of(PublicationKind.ACCEPTANCE, acceptance.id)
    assert is_public(PublicationKind.ACCEPTANCE, acceptance.id)
    assert publication.title == (
        "阳城县2026年政府购买居家养老服务第一片区履约验收结果公告（2026年07月至2026年08月阶段）"
    )
    assert publication.plan_id == world["plan"].id and publication.year == 2026
    assert publication.provider_id == world["contracts"][0].provider_id
    with pytest.raises(Conflict):
        acceptance_rules.publish_acceptance(acceptance, actor=world["officer"])


def test_final_acceptance_title(world, after_term):
    acceptance = drafted(
        world, final=True, period_end=date(2026, 12, 31), accepted_on=date(2027, 1, 8)
    )
    assert acceptance_rules.acceptance_title(acceptance) == (
        "阳城县2026年政府购买居家养老服务第一片区履约验收结果公告"
    )


# ------------------------------------------------------------------ the certificate


def test_certificate_states_the_figures_and_no_personal_data(world):
    acceptance = approved(world)
    text = docx_text(acceptance_rules.certificate_bytes(acceptance))
    contract = acceptance.contract
    assert "政府购买居家养老服务履约验收书" in text
    assert contract.number in text and contract.provider.name in text
    assert f"{acceptance.contracted_quantity:,.2f}" in text
    assert f"{acceptance.delivered_quantity:,.2f}" in text
    assert f"{acceptance.amount_settled:,.2f}" in text
    assert amount_in_capitals(acceptance.amount_settled) in text
    assert amount_in_capitals(acceptance.amount_contracted) in text
    assert "2026年07月、2026年08月" in text
    assert "查阅服务记录与平台数据" in text and "入户回访10户" in text
    assert "邀请服务对象20人参与验收，18人发表意见" in text and "满意率94.4%" in text
    assert "验收结论：合格。" in text and "阶段验收" in text
    for member in TEAM:
        assert member["name"] in text and member["role"] in text
    assert "{{" not in text and "{%" not in text
    names = db.session.scalars(select(Recipient.name)).all()
    assert names and not [name for name in names if name in text]
    assert not re.search(r"\d{15,}|\d{6}\*{4,}", text)


def test_the_certificate_is_kept_as_generated(world):
    acceptance = approved(world, conclusion="fail", conclusion_text="服务量不足合同约定的八成。")
    assert acceptance.conclusion is Conclusion.FAIL
    kept = acceptance_rules.certificate_bytes(acceptance)
    assert "验收结论：不合格。" in docx_text(kept)
    assert "服务量不足合同约定的八成。" in docx_text(render_certificate(acceptance))


def test_no_certificate_before_approval(world):
    acceptance = drafted(world)
    with pytest.raises(Exception, match="批准后"):
        acceptance_rules.certificate_bytes(acceptance)


def test_whoever_changed_the_draft_cannot_approve_it(world):
    acceptance = drafted(world)
    editor = world["people"]["approver"]
    set_actor(Actor(editor.id, editor.username, "web", editor.region_code))
    member = {"name": "李明", "role": "服务对象代表"}
    acceptance_rules.update_acceptance(acceptance, stage_input(team=[*TEAM, member]), actor=editor)
    assert len(acceptance.team) == 4
    with pytest.raises(PermissionDenied):
        acceptance_rules.approve_acceptance(acceptance, actor=editor)
    acceptance_rules.approve_acceptance(acceptance, actor=world["officer"])
    assert "李明" in docx_text(acceptance_rules.certificate_bytes(acceptance))


def test_visits_model_counts_visits(world):
    """Xinjiang's model (seed 000 §2(3)): people x visits a year x months / 12."""
    from procurement.policies.models import EntitlementModel

    contract = world["contracts"][0]
    profile = world["plan"].policy_profile
    profile.entitlement_model = EntitlementModel.VISITS_PER_YEAR
    profile.visits_per_year = 36
    db.session.flush()
    figures = acceptance_rules.acceptance_figures(contract, *STAGE)
    statements = db.session.scalars(
        select(Settlement).where(Settlement.contract_id == contract.id)
    ).all()
    assert figures.unit == "visit"
    assert figures.contracted_quantity == Decimal(contract.recipients * 36 * 2 / 12)
    assert figures.delivered_quantity == sum(s.paid_visits for s in statements) > 0
