"""Complaints: recorded, verified once, attributed; bad input named field by field."""

from datetime import date

import pytest
from sqlalchemy import select

from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.supervision import services
from procurement.supervision.models import ComplaintStatus
from tests.supervision.conftest import AUTUMN, complain, make_recipient


def refused_fields(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.fields


def test_a_complaint_is_recorded_then_verified_and_attributed(world, in_force):
    contract = in_force[0]
    recipient = make_recipient()
    complaint = complain(
        contract, date(2026, 9, 2), officer=world["officer"], recipient_id=recipient.id
    )
    assert complaint.status is ComplaintStatus.RECEIVED
    assert (complaint.provider_id, complaint.region_code) == (contract.provider_id, "140522")
    assert complaint.recorded_by_id == world["officer"].id
    services.verify_complaint(
        complaint,
        status="verified",
        verified_on=date(2026, 9, 5),
        findings="回访属实，服务人员迟到两小时",
        attributable=True,
    )
    assert complaint.status is ComplaintStatus.VERIFIED
    assert (complaint.verified_on, complaint.attributable) == (date(2026, 9, 5), True)
    actions = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.entity_type == "complaints", AuditEvent.entity_id == str(complaint.id)
        )
    ).all()
    assert sorted(actions) == ["create", "verify"]


def test_an_unfounded_complaint_has_no_attribution(in_force):
    complaint = complain(in_force[0], date(2026, 9, 2))
    services.verify_complaint(
        complaint, status="unfounded", verified_on=AUTUMN, findings="查无此事", attributable=True
    )
    assert complaint.status is ComplaintStatus.UNFOUNDED and complaint.attributable is None


def test_a_complaint_is_verified_only_once(in_force):
    complaint = complain(in_force[0], date(2026, 9, 2))
    values = {"status": "verified", "verified_on": AUTUMN, "findings": "属实", "attributable": True}
    services.verify_complaint(complaint, **values)
    with pytest.raises(Conflict):
        services.verify_complaint(complaint, **{**values, "attributable": False})
    assert complaint.attributable is True


def test_bad_complaints_are_refused_naming_each_field(in_force):
    first, second = in_force[0], in_force[1]
    fields = refused_fields(
        lambda: services.record_complaint(
            services.ComplaintInput(
                provider_id=first.provider_id,
                contract_id=second.id,  # another provider's contract
                received_on=date(2026, 10, 21),  # tomorrow
                channel="pigeon",
                summary="  ",
            ),
            actor=None,
        )
    )
    assert set(fields) == {"contract_id", "received_on", "channel", "summary"}
    assert second.number in fields["contract_id"][0]
    assert "2026-10-21" in fields["received_on"][0]

    fields = refused_fields(
        lambda: services.record_complaint(
            services.ComplaintInput(
                provider_id=999, received_on="31/10/2026", channel="phone", summary="x"
            ),
            actor=None,
        )
    )
    assert set(fields) == {"provider_id", "received_on"}
    fields = refused_fields(
        lambda: services.record_complaint(
            services.ComplaintInput(
                provider_id=first.provider_id,
                recipient_id=4242,
                received_on=AUTUMN,
                channel="phone",
                summary="x",
            ),
            actor=None,
        )
    )
    assert set(fields) == {"recipient_id"}


def test_bad_verifications_are_refused(in_force):
    complaint = complain(in_force[0], date(2026, 9, 2))
    fields = refused_fields(
        lambda: services.verify_complaint(
            complaint,
            status="verified",
            verified_on=date(2026, 9, 1),  # before it was received
            findings="",
            attributable=None,
        )
    )
    assert set(fields) == {"verified_on", "findings", "attributable"}
    assert "2026-09-02" in fields["verified_on"][0]
    fields = refused_fields(
        lambda: services.verify_complaint(
            complaint, status="received", verified_on="2026-12-01", findings="x", attributable=None
        )
    )
    assert set(fields) == {"status", "verified_on"}  # not a verdict; the date is in the future
    assert complaint.status is ComplaintStatus.RECEIVED and complaint.verified_on is None
