"""The demo year played to its end: the rest of 2026's service records, statements
confirmed and paid, award notices and contracts published, each contract accepted and evaluated
by the four parties and the results published, then the 2027 plan drafted from them.

These steps happen "in January 2027" (the clock is set there while they run), because
an evaluation opens only after the service period.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core import clock
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.demo.care import load_demo_records
from procurement.demo.payments import pay_demo_statements
from procurement.performance import acceptance as acceptance_rules
from procurement.performance import evaluation as evaluation_rules
from procurement.performance.models import Conclusion
from procurement.plans.models import PurchasePlan
from procurement.policies.models import PolicyProfile
from procurement.policies.services import copy_profile, profile_for
from procurement.public import services as publishing
from procurement.public.models import PublicationKind
from procurement.renewal import services as renewal
from procurement.settlements import services as settlements
from procurement.settlements.models import ServiceRecord, Settlement, SettlementStatus, Unpaid

YEAR_END = datetime(2027, 1, 12, 2, 0, tzinfo=clock.CHINA).astimezone(clock.UTC)
SERVICE_MONTHS = tuple(date(2026, month, 1) for month in range(7, 13))
TEAM = [
    {"name": "王建国", "role": "阳城县民政局 养老服务股股长（组长）"},
    {"name": "李秀英", "role": "阳城县财政局 社会保障股科员"},
    {"name": "赵志强", "role": "晋城市养老服务评估中心 评估员（第三方）"},
]
# (buyer scores, finance scores, survey counts, third-party scores) per zone position:
# the first two zones do well; the third is graded 不合格, so its provider is flagged or
# excluded next year as the profile says.
EVALUATIONS = [
    (
        {"buyer-coverage": 19, "buyer-delivery": 28, "buyer-quality": 27, "buyer-complaints": 19},
        {"finance-compliance": 38, "finance-records": 28, "finance-budget": 27},
        {"very_satisfied": 46, "satisfied": 12, "basic": 2, "unsatisfied": 0},
        {"third-quantity": 23, "third-quality": 32, "third-staff": 18, "third-records": 19},
    ),
    (
        {"buyer-coverage": 17, "buyer-delivery": 25, "buyer-quality": 24, "buyer-complaints": 17},
        {"finance-compliance": 36, "finance-records": 25, "finance-budget": 26},
        {"very_satisfied": 30, "satisfied": 22, "basic": 8, "unsatisfied": 2},
        {"third-quantity": 21, "third-quality": 28, "third-staff": 16, "third-records": 17},
    ),
    (
        {"buyer-coverage": 12, "buyer-delivery": 15, "buyer-quality": 16, "buyer-complaints": 10},
        {"finance-compliance": 28, "finance-records": 14, "finance-budget": 20},
        {"very_satisfied": 8, "satisfied": 14, "basic": 20, "unsatisfied": 18},
        {"third-quantity": 14, "third-quality": 17, "third-staff": 12, "third-records": 10},
    ),
]


# The acceptance's conclusion per zone position, like the evaluations above: the third
# zone's provider uploaded records it could not prove and visits after deaths, and fails.
CONCLUSIONS = ("pass", "pass", "fail")


def _as(user: User) -> None:
    set_actor(Actor(user.id, user.username, "cli", user.region_code))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def load_demo_year_end(plan: PurchasePlan | None) -> bool:
    """Play the demo plan's year to its end (idempotent); returns whether it ran."""
    if plan is None or db.session.scalar(
        select(PurchasePlan.id).where(
            PurchasePlan.region_code == plan.region_code, PurchasePlan.year == plan.year + 1
        )
    ):
        return False
    officer, leader = _user("yc_officer"), _user("yc_leader")
    finance, evaluator, admin = _user("yc_finance"), _user("yc_evaluator"), _user("admin")
    with clock.pinned(YEAR_END):
        _as(officer)
        load_demo_records(officer, plan, SERVICE_MONTHS)
        settle_demo_statements(plan, officer, finance)
        _as(finance)
        pay_demo_statements(plan, finance)
        contracts = db.session.scalars(
            select(Contract).where(Contract.plan_id == plan.id).order_by(Contract.id)
        ).all()
        for contract in contracts:
            _as(officer)
            if not publishing.is_public(PublicationKind.AWARD, contract.award_id):
                publishing.publish_award(contract.award, actor=officer)
            if not publishing.is_public(PublicationKind.CONTRACT, contract.id):
                publishing.publish_contract(contract, actor=officer)
        for position, contract in enumerate(contracts):
            _accept(contract, CONCLUSIONS[position % len(CONCLUSIONS)], officer, leader)
            _evaluate(
                contract, EVALUATIONS[position % len(EVALUATIONS)], officer, finance, evaluator
            )
        _as(admin)
        if profile_for(plan.region_code, plan.year + 1) is None:
            copy_profile(db.session.get(PolicyProfile, plan.policy_profile_id), plan.year + 1)
        _as(officer)
        renewal.start_next_year(plan, actor=officer)
    return True


def settle_demo_statements(
    plan: PurchasePlan, officer: User, finance: User, month: date | None = None
) -> None:
    """Review the flagged records (not paid: the provider could not prove them) and have
    finance confirm the draft statements (of ``month``, or all of them)."""
    query = (
        select(Settlement)
        .join(Contract, Contract.id == Settlement.contract_id)
        .where(Contract.plan_id == plan.id, Settlement.status == SettlementStatus.DRAFT)
        .order_by(Settlement.month, Settlement.id)
    )
    if month is not None:
        query = query.where(Settlement.month == month)
    statements = db.session.scalars(query).all()
    for statement in statements:
        pending = db.session.scalars(
            select(ServiceRecord.id).where(
                ServiceRecord.contract_id == statement.contract_id,
                ServiceRecord.month == statement.month,
                ServiceRecord.unpaid_reason == Unpaid.FLAG_PENDING.value,
            )
        ).all()
        if pending:
            _as(officer)
            settlements.review(
                list(pending),
                decision="confirmed",
                note="经电话回访和入户核查，服务机构不能提供服务凭证，不予结算。",
                actor=officer,
            )
        _as(finance)
        settlements.confirm(
            statement, actor=finance, amount_seen=str(statement.amount), note="同意结算。"
        )


def _accept(contract: Contract, conclusion: str, officer: User, leader: User) -> None:
    """Accept the contract with findings and a conclusion written from its figures; a
    合格 the figures question (delivery under the threshold) is explained."""
    _as(officer)
    start, end = acceptance_rules.default_period(contract)
    figures = acceptance_rules.acceptance_figures(contract, start, end)
    refused = figures.confirmed_flags
    spot_check = (
        f"{refused}条服务记录经电话回访和入户核查无法证实，已不予结算。"
        if refused
        else "服务记录与回访情况一致。"
    )
    after_life = figures.visits_after_death + figures.visits_after_exit
    rate = acceptance_rules.percent(figures.delivered_quantity, figures.contracted_quantity)
    if conclusion == "pass":
        text = (
            f"本期完成率{rate}，"
            f"实际服务{figures.recipients_served}人；未完成和不能证实的服务量均未予结算。"
            "服务质量检查和服务对象意见未发现重大问题，同意验收。"
        )
    else:
        text = (
            f"经复核不予结算的服务记录{refused}条，服务对象去世或退出后仍上传的服务记录"
            f"{after_life}条，承接主体不能说明原因，属虚报服务记录；验收不合格，"
            "依合同约定处理。"
        )
    explanation = ""
    if acceptance_rules.explanation_reasons(figures, Conclusion(conclusion), contract):
        explanation = (
            "未完成部分主要因部分服务对象年内入住养老机构、住院或随子女外出居住而暂停上门服务，"
            "经乡镇民政办逐户核实，非承接主体原因；服务对象去世或退出后上传的服务记录均未结算，"
            "已要求承接主体整改并在下一年度合同中明确按月核减。"
        )
    acceptance = acceptance_rules.draft_acceptance(
        contract,
        acceptance_rules.AcceptanceInput(
            final=True,
            period_start=start,
            period_end=end,
            accepted_on=date(2027, 1, 10),
            findings=[
                {
                    "kind": "inspection",
                    "date": "2026-10-15",
                    "description": "县民政局对服务台账、人员资质和服务记录进行了检查。",
                    "result": "台账完整，服务人员持证上岗。",
                },
                {
                    "kind": "spot_check",
                    "date": "2026-12-08",
                    "description": "随机入户回访20户服务对象，核对服务内容和时长。",
                    "result": spot_check,
                },
            ],
            recipients_invited=20,
            recipients_answered=18,
            recipients_satisfied=16 if conclusion == "pass" else 9,
            opinion_summary="受邀服务对象代表认为上门服务及时、态度好，希望增加助浴服务频次。"
            if conclusion == "pass"
            else "部分服务对象反映服务人员未按约定时间上门，记录的服务次数多于实际。",
            conclusion=conclusion,
            conclusion_text=text,
            explanation=explanation,
            team=TEAM,
        ),
        actor=officer,
    )
    _as(leader)
    acceptance_rules.approve_acceptance(acceptance, actor=leader)
    _as(officer)
    acceptance_rules.publish_acceptance(acceptance, actor=officer)


def _evaluate(contract: Contract, scores, officer: User, finance: User, evaluator: User) -> None:
    buyer, finance_scores, survey, third = scores
    _as(officer)
    evaluation = evaluation_rules.open_evaluation(contract, actor=officer)
    entries = [
        (officer, "buyer", "阳城县民政局", {"scores": buyer}),
        (finance, "finance", "阳城县财政局", {"scores": finance_scores}),
        (evaluator, "recipients", "晋城市养老服务评估中心", {"survey": survey}),
        (evaluator, "third_party", "晋城市养老服务评估中心", {"scores": third}),
    ]
    for user, party, organisation, values in entries:
        _as(user)
        evaluation_rules.enter_scores(
            evaluation,
            evaluation_rules.ScoreInput(
                party=party,
                evaluator_name=user.display_name,
                evaluator_organisation=organisation,
                conflict_of_interest=False,
                declaration="本人与被评价服务机构无利害关系。",
                **values,
            ),
            actor=user,
        )
    _as(officer)
    evaluation_rules.complete_evaluation(evaluation, actor=officer)
    evaluation_rules.publish_evaluation(evaluation, actor=officer)
