"""Selection, awards and contracts under /api/v1."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from io import BytesIO
from typing import Literal

from flask import g, send_file
from flask_babel import gettext as _
from pydantic import Field

from procurement.awards import services as awards
from procurement.awards.models import Award
from procurement.contracts import services
from procurement.contracts.models import ContractStatus
from procurement.core.api import MoneyString, Schema, api_route
from procurement.core.db import db
from procurement.core.errors import NotFound, ValidationError
from procurement.core.money import amount_in_capitals
from procurement.jobs.api import JobOut, accepted
from procurement.plans.exports import DOCX
from procurement.plans.services import get_plan
from procurement.providers.services import get_provider
from procurement.public import services as publishing
from procurement.public.api import PublicationOut, publication_out


class ScoringIn(Schema):
    bid_deadline: date
    price_weight: int
    technical_weight: int
    performance_weight: int


class ScoringOut(ScoringIn):
    plan_id: int


class BidIn(Schema):
    provider_id: int
    unit_price: str = Field(description='Yuan per hour or per visit, e.g. "33.00"')
    technical_score: str | None = Field(None, description="0-100, at most two decimals")
    note: str = Field("", max_length=2000)


class CandidateOut(Schema):
    rank: int | None
    provider_id: int
    provider: str
    unit_price: str
    qualified: bool
    check_id: int | None
    near: bool
    price_score: str | None
    technical_score: str | None
    performance_score: str | None
    total: str | None
    caution: str | None = Field(
        None, description="Last year's failed grade or acceptance, or a termination."
    )
    excluded: bool = False


class CandidateList(Schema):
    zone_id: int
    items: list[CandidateOut]


class AwardIn(Schema):
    provider_id: int
    rationale: str = Field(max_length=4000)


class AwardOut(Schema):
    id: int
    zone_id: int
    provider_id: int
    total_score: str
    rank: int
    rationale: str
    notice_title: str
    notice_text: str


class ContractOut(Schema):
    id: int
    number: str
    status: ContractStatus
    plan_id: int
    zone_id: int
    provider_id: int
    unit_price: MoneyString
    recipients: int
    township_codes: list[str]
    service_start: date
    service_end: date
    amount: MoneyString
    amount_in_capitals: str
    signed_on: date | None
    signing_reason: str | None = Field(
        description="Why it was signed after the service started or before the award notice"
    )
    version: int


class ContractList(Schema):
    items: list[ContractOut]


class SignIn(Schema):
    signed_on: date
    scan_filename: str = Field(max_length=200)
    scan_base64: str = Field(description="The signed scan (PDF, PNG or JPEG), base64-encoded")
    signing_reason: str | None = Field(
        None,
        max_length=2000,
        description="Required when signed after the service start or before the award notice",
    )


class AmendIn(Schema):
    reason: str = Field(max_length=2000)
    recipients: int | None = None
    service_end: date | None = None
    township_codes: list[str] | None = None
    amount: str | None = Field(None, description="Computed from the terms when omitted")


class TerminateIn(Schema):
    reason: Literal[
        "lost_qualification",
        "false_records",
        "sold_health_products",
        "defrauded_elders",
        "prepaid_cards",
        "parent_fraud",
        "ignored_complaints",
        "other_serious",
    ]
    on: date
    note: str = Field("", max_length=2000)


def _contract_out(contract) -> ContractOut:
    return ContractOut(
        id=contract.id,
        number=contract.number,
        status=contract.status,
        plan_id=contract.plan_id,
        zone_id=contract.zone_id,
        provider_id=contract.provider_id,
        unit_price=contract.unit_price,
        recipients=contract.recipients,
        township_codes=contract.township_codes,
        service_start=contract.service_start,
        service_end=contract.service_end,
        amount=contract.amount,
        amount_in_capitals=amount_in_capitals(contract.amount),
        signed_on=contract.signed_on,
        signing_reason=contract.signing_reason,
        version=len(contract.versions),
    )


def _award_out(award) -> AwardOut:
    return AwardOut(
        id=award.id,
        zone_id=award.zone_id,
        provider_id=award.provider_id,
        total_score=f"{award.total_score:.2f}",
        rank=award.rank,
        rationale=award.rationale,
        notice_title=award.notice_title,
        notice_text=award.notice_text,
    )


@api_route(
    "/plans/<int:plan_id>/selection",
    method="PUT",
    summary="Set the scoring rules",
    tag="selection",
    permission="awards.manage",
    body=ScoringIn,
    response=ScoringOut,
)
def set_scoring(plan_id: int, body: ScoringIn):
    selection = awards.selection_for(get_plan(plan_id))
    awards.set_scoring(selection, **body.model_dump())
    db.session.commit()
    return ScoringOut(
        plan_id=plan_id,
        bid_deadline=selection.bid_deadline,
        price_weight=selection.price_weight,
        technical_weight=selection.technical_weight,
        performance_weight=selection.performance_weight,
    )


@api_route(
    "/plans/<int:plan_id>/zones/<int:zone_id>/bids",
    method="POST",
    summary="Record a provider's offer for a zone",
    tag="selection",
    permission="awards.manage",
    body=BidIn,
    response=CandidateList,
    status=201,
)
def save_bid(plan_id: int, zone_id: int, body: BidIn):
    zone = awards.get_zone(get_plan(plan_id), zone_id)
    awards.save_bid(
        zone,
        get_provider(body.provider_id),
        unit_price=body.unit_price,
        technical_score=body.technical_score,
        note=body.note,
    )
    db.session.commit()
    return {"zone_id": zone.id, "items": [r.as_dict() for r in awards.candidates(zone)]}, 201


@api_route(
    "/plans/<int:plan_id>/zones/<int:zone_id>/candidates",
    summary="The zone's candidates, scored and ranked",
    tag="selection",
    permission="plans.view",
    response=CandidateList,
    errors=(409,),
)
def list_candidates(plan_id: int, zone_id: int):
    """Bidders are scored only once finance has approved the plan: before that, 409
    ``plan_not_approved``."""
    zone = awards.get_zone(get_plan(plan_id), zone_id)
    rows = awards.candidates(zone)
    db.session.commit()  # the selection row, created on first use
    return {"zone_id": zone.id, "items": [r.as_dict() for r in rows]}


@api_route(
    "/plans/<int:plan_id>/zones/<int:zone_id>/award",
    method="POST",
    summary="Award a zone (refused unless the provider's check for this plan passed)",
    tag="selection",
    permission="awards.manage",
    body=AwardIn,
    response=AwardOut,
    status=201,
)
def award_zone(plan_id: int, zone_id: int, body: AwardIn):
    zone = awards.get_zone(get_plan(plan_id), zone_id)
    award = awards.award_zone(
        zone, get_provider(body.provider_id), actor=g.user, rationale=body.rationale
    )
    db.session.commit()
    return _award_out(award), 201


@api_route(
    "/plans/<int:plan_id>/zones/<int:zone_id>/contract",
    method="POST",
    summary="Generate the zone's contract from its award",
    tag="contracts",
    permission="contracts.manage",
    response=ContractOut,
    status=201,
)
def generate_contract(plan_id: int, zone_id: int):
    zone = awards.get_zone(get_plan(plan_id), zone_id)
    contract = services.generate_contract(zone, actor=g.user)
    db.session.commit()
    return _contract_out(contract), 201


@api_route(
    "/plans/<int:plan_id>/contracts",
    method="POST",
    summary="Generate the contracts of every awarded zone (a job: 202, then GET its URL)",
    tag="contracts",
    permission="contracts.manage",
    response=JobOut,
    status=202,
)
def generate_all_contracts(plan_id: int):
    plan = get_plan(plan_id)
    return accepted(
        "contracts.generate",
        f"contracts.generate:{plan.id}",
        {"plan_id": plan.id},
        region_code=plan.region_code,
    )


@api_route(
    "/plans/<int:plan_id>/contracts/archive",
    method="POST",
    summary="Every contract of the plan as one zip with PDFs (a job: 202, then download)",
    tag="contracts",
    permission="plans.view",
    response=JobOut,
    status=202,
)
def archive_plan_contracts(plan_id: int):
    plan = get_plan(plan_id)
    if not services.contracts_of(plan):
        raise ValidationError(_("The plan has no contracts yet."))
    return accepted(
        "contracts.archive",
        f"contracts.archive:{plan.id}",
        {"plan_id": plan.id},
        region_code=plan.region_code,
    )


@api_route(
    "/contracts/<int:contract_id>",
    summary="Read a contract",
    tag="contracts",
    permission="plans.view",
    response=ContractOut,
)
def get_contract(contract_id: int):
    return _contract_out(services.get_contract(contract_id))


@api_route(
    "/contracts/<int:contract_id>/document.docx",
    summary="The contract's .docx",
    tag="contracts",
    permission="plans.view",
    content_type=DOCX,
)
def contract_document(contract_id: int):
    contract = services.get_contract(contract_id)
    return send_file(
        BytesIO(services.document_bytes(contract)),
        mimetype=DOCX,
        as_attachment=True,
        download_name=f"{contract.number}.docx",
    )


@api_route(
    "/contracts/<int:contract_id>/sign",
    method="POST",
    summary="Record the signature with the signed scan",
    tag="contracts",
    permission="contracts.manage",
    body=SignIn,
    response=ContractOut,
)
def sign_contract(contract_id: int, body: SignIn):
    try:
        scan = base64.b64decode(body.scan_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(_("The scan is not valid base64."), field="scan_base64") from None
    contract = services.sign_contract(
        services.get_contract(contract_id),
        signed_on=body.signed_on,
        filename=body.scan_filename,
        stream=BytesIO(scan),
        actor=g.user,
        signing_reason=body.signing_reason,
    )
    db.session.commit()
    return _contract_out(contract)


@api_route(
    "/contracts/<int:contract_id>/amend",
    method="POST",
    summary="Amend with a reason (a new document version)",
    tag="contracts",
    permission="contracts.manage",
    body=AmendIn,
    response=ContractOut,
)
def amend_contract(contract_id: int, body: AmendIn):
    contract = services.get_contract(contract_id)
    services.amend_contract(contract, actor=g.user, **body.model_dump())
    db.session.commit()
    return _contract_out(contract)


@api_route(
    "/contracts/<int:contract_id>/terminate",
    method="POST",
    summary="Terminate for a ground of seed 001 §8(2)2",
    tag="contracts",
    permission="contracts.manage",
    body=TerminateIn,
    response=ContractOut,
)
def terminate_contract(contract_id: int, body: TerminateIn):
    contract = services.terminate_contract(
        services.get_contract(contract_id), reason=body.reason, note=body.note, on=body.on
    )
    db.session.commit()
    return _contract_out(contract)


@api_route(
    "/plans/<int:plan_id>/contracts",
    summary="The contracts of a plan",
    tag="contracts",
    permission="plans.view",
    response=ContractList,
)
def list_plan_contracts(plan_id: int):
    return {"items": [_contract_out(c) for c in services.contracts_of(get_plan(plan_id))]}


@api_route(
    "/contracts/<int:contract_id>/start",
    method="POST",
    summary="Put in force",
    tag="contracts",
    permission="contracts.manage",
    response=ContractOut,
)
def start_contract(contract_id: int):
    contract = services.start_contract(services.get_contract(contract_id))
    db.session.commit()
    return _contract_out(contract)


@api_route(
    "/contracts/<int:contract_id>/complete",
    method="POST",
    summary="Mark completed",
    tag="contracts",
    permission="contracts.manage",
    response=ContractOut,
)
def complete_contract(contract_id: int):
    contract = services.complete_contract(services.get_contract(contract_id))
    db.session.commit()
    return _contract_out(contract)


@api_route(
    "/awards/<int:award_id>/publish",
    method="POST",
    summary="Publish the award notice (政府采购法实施条例 art. 43)",
    tag="publications",
    permission="publications.publish",
    response=PublicationOut,
    status=201,
)
def publish_award(award_id: int):
    award = db.session.get(Award, award_id)
    if award is None:
        raise NotFound(_("Award %(id)s was not found.", id=award_id))
    publication = publishing.publish_award(award, actor=g.user)
    db.session.commit()
    return publication_out(publication), 201


@api_route(
    "/contracts/<int:contract_id>/publish",
    method="POST",
    summary="Publish a signed contract, after its award notice (实施条例 art. 50)",
    tag="publications",
    permission="publications.publish",
    response=PublicationOut,
    status=201,
)
def publish_contract(contract_id: int):
    publication = publishing.publish_contract(services.get_contract(contract_id), actor=g.user)
    db.session.commit()
    return publication_out(publication), 201
