"""Supervision under /api/v1: complaints and their verification, sanction proposals,
sanctions and the lifting of suspensions (seed 001 §8(2))."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import g
from pydantic import Field, model_validator

from procurement.contracts.models import TERMINATION_REASONS
from procurement.contracts.services import get_contract
from procurement.core.api import Page, PageQuery, Schema, api_route, paginate
from procurement.core.clock import today
from procurement.core.db import db
from procurement.supervision import services
from procurement.supervision.models import (
    COMPLAINT_CHANNELS,
    Complaint,
    ComplaintStatus,
    Sanction,
    SanctionKind,
)


class ComplaintRecipient(Schema):
    """The recipient who complained: the ID number only masked."""

    id: int
    name: str
    id_masked: str


class ComplaintIn(Schema):
    provider_id: int
    contract_id: int | None = Field(None, description="A contract of that provider")
    recipient_id: int | None = None
    received_on: date = Field(description="Not in the future")
    channel: Literal[*COMPLAINT_CHANNELS]
    summary: str = Field(max_length=services.SUMMARY_LIMIT)


class VerifyComplaintIn(Schema):
    status: Literal["verified", "unfounded"]
    verified_on: date = Field(description="Not before the complaint was received")
    findings: str = Field(max_length=services.NOTE_LIMIT)
    attributable: bool | None = Field(
        None, description="Required for a verified complaint: the provider is responsible"
    )


class ComplaintOut(Schema):
    id: int
    region_code: str
    provider_id: int
    provider_name: str
    contract_id: int | None
    contract_number: str | None
    recipient: ComplaintRecipient | None
    received_on: date
    channel: str
    summary: str
    status: ComplaintStatus
    verified_on: date | None
    findings: str
    attributable: bool | None
    recorded_by: str | None
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, value):
        if not isinstance(value, Complaint):
            return value
        recipient = value.recipient
        return {
            **{name: getattr(value, name) for name in _COMPLAINT_COLUMNS},
            "provider_name": value.provider.name,
            "contract_number": value.contract.number if value.contract else None,
            "recipient": ComplaintRecipient.model_validate(recipient) if recipient else None,
            "recorded_by": value.recorded_by.username if value.recorded_by else None,
        }


_COMPLAINT_COLUMNS = (
    "id",
    "region_code",
    "provider_id",
    "contract_id",
    "received_on",
    "channel",
    "summary",
    "status",
    "verified_on",
    "findings",
    "attributable",
    "created_at",
)


class ComplaintQuery(PageQuery):
    status: ComplaintStatus | None = None
    provider_id: int | None = None
    contract_id: int | None = None


class SanctionProposalOut(Schema):
    """A sanction the rules call for (computed, never stored): record it as a sanction
    with this ground and these complaint ids."""

    provider_id: int
    provider_name: str
    contract_id: int
    contract_number: str
    ground: str
    clause: str
    complaint_ids: list[int]


class SanctionProposalList(Schema):
    items: list[SanctionProposalOut]


class ProposalQuery(Schema):
    provider_id: int | None = None
    contract_id: int | None = None


class SanctionIn(Schema):
    provider_id: int
    contract_id: int = Field(description="A contract of that provider")
    kind: SanctionKind
    ground: str = Field(
        max_length=40,
        description=(
            "For interview, rectification and suspend_settlement the clause of seed 001 "
            '§8(2)1, "1" to "5" ("3": three verified complaints within the term); for '
            f"terminate a ground of §8(2)2: {', '.join(TERMINATION_REASONS)}."
        ),
    )
    decided_on: date = Field(description="Not in the future")
    deadline: date | None = Field(None, description="Rectification only, and required there")
    note: str = Field("", max_length=services.NOTE_LIMIT)
    complaint_ids: list[int] = Field(default_factory=list)


class SanctionOut(Schema):
    id: int
    region_code: str
    provider_id: int
    provider_name: str
    contract_id: int
    contract_number: str
    kind: SanctionKind
    ground: str
    ground_text: str
    decided_on: date
    deadline: date | None
    lifted_on: date | None
    in_force: bool = Field(description="Still binding today (suspensions, rectifications)")
    note: str
    complaint_ids: list[int]
    decided_by: str | None
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, value):
        if not isinstance(value, Sanction):
            return value
        return {
            **{name: getattr(value, name) for name in _SANCTION_COLUMNS},
            "provider_name": value.provider.name,
            "contract_number": value.contract.number,
            "ground_text": services.ground_label(value.kind, value.ground),
            "in_force": services.in_force(value, today()),
            "complaint_ids": value.complaint_ids or [],
            "decided_by": value.decided_by.username if value.decided_by else None,
        }


_SANCTION_COLUMNS = (
    "id",
    "region_code",
    "provider_id",
    "contract_id",
    "kind",
    "ground",
    "decided_on",
    "deadline",
    "lifted_on",
    "note",
    "created_at",
)


class SanctionQuery(PageQuery):
    provider_id: int | None = None
    contract_id: int | None = None
    kind: SanctionKind | None = None
    in_force: bool = Field(False, description="Only those still binding today")


class LiftSanctionIn(Schema):
    lifted_on: date = Field(description="Settlement resumes from this day")


class SuspensionQuery(Schema):
    on: date | None = Field(None, description="Today when omitted")


class SettlementSuspensionOut(Schema):
    contract_id: int
    on: date
    suspended: bool
    sanction: SanctionOut | None


# ------------------------------------------------------------------ complaints


@api_route(
    "/complaints",
    summary="List complaints",
    tag="supervision",
    permission="supervision.view",
    query=ComplaintQuery,
    response=Page[ComplaintOut],
)
def list_complaints(query: ComplaintQuery):
    stmt = services.complaints_query(
        status=query.status, provider_id=query.provider_id, contract_id=query.contract_id
    )
    return paginate(stmt, query, ComplaintOut)


@api_route(
    "/complaints",
    method="POST",
    summary="Record a complaint (received, to be verified)",
    tag="supervision",
    permission="supervision.manage",
    body=ComplaintIn,
    response=ComplaintOut,
    status=201,
)
def create_complaint(body: ComplaintIn):
    complaint = services.record_complaint(
        services.ComplaintInput(**body.model_dump()), actor=g.user
    )
    db.session.commit()
    return ComplaintOut.model_validate(complaint), 201


@api_route(
    "/complaints/<int:complaint_id>",
    summary="Read a complaint",
    tag="supervision",
    permission="supervision.view",
    response=ComplaintOut,
)
def get_complaint(complaint_id: int):
    return ComplaintOut.model_validate(services.get_complaint(complaint_id))


@api_route(
    "/complaints/<int:complaint_id>/verify",
    method="POST",
    summary="Record the verification: verified (and attributed) or unfounded",
    tag="supervision",
    permission="supervision.manage",
    body=VerifyComplaintIn,
    response=ComplaintOut,
)
def verify_complaint(complaint_id: int, body: VerifyComplaintIn):
    complaint = services.verify_complaint(services.get_complaint(complaint_id), **body.model_dump())
    db.session.commit()
    return ComplaintOut.model_validate(complaint)


# ------------------------------------------------------------------ proposals and sanctions


@api_route(
    "/sanction-proposals",
    summary="Sanctions the rules call for: three verified attributable complaints in the term",
    tag="supervision",
    permission="supervision.view",
    query=ProposalQuery,
    response=SanctionProposalList,
)
def list_sanction_proposals(query: ProposalQuery):
    found = services.proposals(provider_id=query.provider_id, contract_id=query.contract_id)
    return {
        "items": [
            SanctionProposalOut(
                provider_id=p.provider.id,
                provider_name=p.provider.name,
                contract_id=p.contract.id,
                contract_number=p.contract.number,
                ground=p.ground,
                clause=p.clause,
                complaint_ids=p.complaint_ids,
            )
            for p in found
        ]
    }


@api_route(
    "/sanctions",
    summary="List sanctions",
    tag="supervision",
    permission="supervision.view",
    query=SanctionQuery,
    response=Page[SanctionOut],
)
def list_sanctions(query: SanctionQuery):
    stmt = services.sanctions_query(
        provider_id=query.provider_id,
        contract_id=query.contract_id,
        kind=query.kind,
        in_force_on=today() if query.in_force else None,
    )
    return paginate(stmt, query, SanctionOut)


@api_route(
    "/sanctions",
    method="POST",
    summary="Record a sanction (termination also ends the contract)",
    tag="supervision",
    permission="supervision.manage",
    body=SanctionIn,
    response=SanctionOut,
    status=201,
)
def create_sanction(body: SanctionIn):
    sanction = services.record_sanction(services.SanctionInput(**body.model_dump()), actor=g.user)
    db.session.commit()
    return SanctionOut.model_validate(sanction), 201


@api_route(
    "/sanctions/<int:sanction_id>",
    summary="Read a sanction",
    tag="supervision",
    permission="supervision.view",
    response=SanctionOut,
)
def get_sanction(sanction_id: int):
    return SanctionOut.model_validate(services.get_sanction(sanction_id))


@api_route(
    "/sanctions/<int:sanction_id>/lift",
    method="POST",
    summary="Lift a suspension of settlement",
    tag="supervision",
    permission="supervision.manage",
    body=LiftSanctionIn,
    response=SanctionOut,
)
def lift_sanction(sanction_id: int, body: LiftSanctionIn):
    sanction = services.lift_suspension(
        services.get_sanction(sanction_id), lifted_on=body.lifted_on
    )
    db.session.commit()
    return SanctionOut.model_validate(sanction)


@api_route(
    "/contracts/<int:contract_id>/settlement-suspension",
    summary="Whether the contract's settlement is suspended on a date (statements are held)",
    tag="supervision",
    permission="supervision.view",
    query=SuspensionQuery,
    response=SettlementSuspensionOut,
)
def get_settlement_suspension(contract_id: int, query: SuspensionQuery):
    contract = get_contract(contract_id)
    on = query.on or today()
    sanction = services.settlement_suspension(contract.id, on)
    return SettlementSuspensionOut(
        contract_id=contract.id,
        on=on,
        suspended=sanction is not None,
        sanction=SanctionOut.model_validate(sanction) if sanction else None,
    )
