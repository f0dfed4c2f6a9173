"""The Yangcheng demo with records published: the three award notices, two of the three
contracts, July's confirmed statement of the first contract paid in full, and that contract's
acceptance and evaluation (minimal rows made here: their own feature is built apart)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.awards.models import Award
from procurement.contracts.models import Contract
from procurement.core.audit import Actor, set_actor
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.files import store_blob
from procurement.demo.providers import _pdf
from procurement.payments import services as payments
from procurement.performance.models import (
    Acceptance,
    AcceptanceStatus,
    Conclusion,
    Evaluation,
    EvaluationScore,
    EvaluationStatus,
)
from procurement.policies.presets import DEFAULT_INDICATORS, DEFAULT_WEIGHTS
from procurement.public import services as publishing
from procurement.public.models import PublicationKind
from procurement.settlements import services as settlements
from procurement.settlements.models import ServiceRecord, Settlement, Unpaid
from tests.helpers import in_app
from tests.settlements.conftest import care_site  # noqa: F401 (a fixture)

OCDS = Path("/work/shared/ocds/1__1__5")
EXTENSION = Path(__file__).resolve().parents[2] / "procurement" / "public" / "ocds_extension"
EVALUATOR_NAMES = ("钱评估", "孙财审", "李三方")
TEAM = [
    {"name": "周验收", "role": "阳城县民政局 组长"},
    {"name": "吴核查", "role": "阳城县财政局 成员"},
]
SCORES = {"buyer": "88.00", "finance": "90.00", "recipients": "86.00", "third_party": "88.50"}


def officer() -> User:
    return db.session.scalar(select(User).where(User.username == "yc_officer"))


def make_acceptance(contract: Contract) -> Acceptance:
    acceptance = Acceptance(
        contract_id=contract.id,
        region_code=contract.region_code,
        final=False,
        period_start=date(2026, 7, 1),
        period_end=date(2026, 8, 31),
        accepted_on=date(2026, 9, 3),
        status=AcceptanceStatus.APPROVED,
        unit="hour",
        contracted_quantity=Decimal("1600.00"),
        delivered_quantity=Decimal("1480.00"),
        contracted_recipients=contract.recipients,
        recipients_served=180,
        amount_contracted=Decimal("56000.00"),
        amount_settled=Decimal("51800.00"),
        findings=[],
        verified_complaints=1,
        recipients_invited=40,
        recipients_answered=36,
        recipients_satisfied=33,
        conclusion=Conclusion.PASS,
        conclusion_text="服务按合同约定提供，阶段验收合格。",
        team=TEAM,
        certificate_sha256=store_blob(_pdf("acceptance certificate")),
        approved_at=utcnow(),
    )
    db.session.add(acceptance)
    db.session.flush()
    return acceptance


def make_evaluation(contract: Contract) -> Evaluation:
    evaluation = Evaluation(
        contract_id=contract.id,
        provider_id=contract.provider_id,
        region_code=contract.region_code,
        year=2026,
        status=EvaluationStatus.COMPLETED,
        weights=DEFAULT_WEIGHTS,
        indicators=DEFAULT_INDICATORS,
        total=Decimal("87.60"),
        grade="good",
        completed_at=utcnow(),
    )
    db.session.add(evaluation)
    db.session.flush()
    evaluators = dict(zip(("buyer", "finance", "third_party"), EVALUATOR_NAMES, strict=True))
    for party, total in SCORES.items():
        db.session.add(
            EvaluationScore(
                evaluation_id=evaluation.id,
                region_code=contract.region_code,
                party=party,
                evaluator_name=evaluators.get(party, "问卷汇总"),
                evaluator_organisation={"third_party": "晋城市某评估中心"}.get(party, ""),
                scores={},
                total=Decimal(total),
                no_conflict_declared=True,
            )
        )
    db.session.flush()
    return evaluation


def publish_result(kind: PublicationKind, record, contract: Contract, title: str):
    return publishing.publish(
        kind,
        record.id,
        region_code=contract.region_code,
        plan_id=contract.plan_id,
        provider_id=contract.provider_id,
        year=contract.plan.year,
        title=title,
        actor=officer(),
    )


def pay_in_full(statement: Settlement, paid_on: str = "2026-09-05"):
    """Finance pays what it confirmed (the clock stands on the day of confirmation)."""
    finance = db.session.scalar(select(User).where(User.username == "yc_finance"))
    return payments.record_payment(
        statement,
        actor=finance,
        paid_on=paid_on,
        amount=str(statement.amount),
        voucher_number="记-2026-0905",
        payee_account="6222 0000 1111 2222",
        treasury_reference="GK-0905-01",
    )


def confirm_july(contract: Contract) -> Settlement:
    statement = db.session.scalar(
        select(Settlement).where(
            Settlement.contract_id == contract.id, Settlement.month == date(2026, 7, 1)
        )
    )
    pending = db.session.scalars(
        select(ServiceRecord.id).where(
            ServiceRecord.contract_id == contract.id,
            ServiceRecord.month == statement.month,
            ServiceRecord.unpaid_reason == Unpaid.FLAG_PENDING.value,
        )
    ).all()
    if pending:
        settlements.review(list(pending), decision="cleared", note="核实无误", actor=officer())
    db.session.refresh(statement)
    finance = db.session.scalar(select(User).where(User.username == "yc_finance"))
    return settlements.confirm(statement, actor=finance, amount_seen=str(statement.amount))


@pytest.fixture
def site(app, care_site):  # noqa: F811 (the fixture imported above)
    """Ids of what was published (committed; no application context left open)."""

    def work():
        actor = officer()
        set_actor(Actor(actor.id, actor.username, "web", actor.region_code))
        awards = db.session.scalars(select(Award).order_by(Award.zone_id)).all()
        contracts = db.session.scalars(select(Contract).order_by(Contract.zone_id)).all()
        for award in awards:
            publishing.publish_award(award, actor=actor)
        for contract in contracts[:2]:
            publishing.publish_contract(contract, actor=actor)
        first = contracts[0]
        statement = confirm_july(first)
        payment = pay_in_full(statement)
        acceptance = make_acceptance(first)
        publish_result(PublicationKind.ACCEPTANCE, acceptance, first, "验收结果公告：第一片区")
        evaluation = make_evaluation(first)
        publish_result(PublicationKind.EVALUATION, evaluation, first, "绩效评价结果：第一片区")
        return {
            "plan": first.plan_id,
            "awards": [a.id for a in awards],
            "contracts": [c.id for c in contracts],
            "providers": [c.provider_id for c in contracts],
            "provider_names": [c.provider.name for c in contracts],
            "statement": statement.id,
            "payment": payment.id,
            "acceptance": acceptance.id,
            "evaluation": evaluation.id,
        }

    return in_app(app, work)


# ------------------------------------------------------------------ OCDS validation


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch, as OCDS applies an extension's release-schema.json."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def ocds_registry() -> tuple[dict, Registry]:
    """The release-package schema and a registry that resolves every $ref offline, with
    the Lots extension and this project's extension merged into the release schema."""
    release = _json(OCDS / "release-schema.json")
    for patch in (EXTENSION / "lots" / "release-schema.json", EXTENSION / "release-schema.json"):
        release = merge_patch(release, _json(patch))
    schemas = [release] + [
        _json(OCDS / name)
        for name in (
            "release-package-schema.json",
            "record-package-schema.json",
            "versioned-release-validation-schema.json",
        )
    ]
    registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4))
        for schema in schemas
    )
    return schemas[1], registry


def public_urls(site: dict) -> list[str]:
    """Every public page, download and data file of the published demo."""
    contract, second, _unpublished = site["contracts"]
    return [
        "/public/",
        "/public/?kind=contract",
        "/public/?region=140522&year=2026",
        "/public/publications.json",
        "/public/feed.atom",
        f"/public/plans/{site['plan']}",
        f"/public/plans/{site['plan']}/ocds.json",
        *(f"/public/awards/{award}" for award in site["awards"]),
        f"/public/contracts/{contract}",
        f"/public/contracts/{second}",
        f"/public/contracts/{contract}/document.docx",
        f"/public/contracts/{second}/document.docx",
        f"/public/acceptances/{site['acceptance']}",
        f"/public/acceptances/{site['acceptance']}/certificate",
        f"/public/evaluations/{site['evaluation']}",
        *(f"/public/providers/{provider}" for provider in site["providers"]),
        "/public/ocds/extension/extension.json",
    ]
