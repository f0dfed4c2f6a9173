"""Registering providers and their records: bad input is refused, nothing half-written."""

from io import BytesIO

import pytest
import sqlalchemy as sa

from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.demo.providers import _pdf
from procurement.providers import services
from procurement.providers.models import EvidenceDocument, Provider
from tests.providers.conftest import GOOD_CODE, make_provider


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count(model.id)))


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350100M000100Y4Z", "Z"),
        ("91350100M000100Y4", "17"),
        ("91140522MA0K3L4M59", "8"),  # wrong check character: the expected one (8) is named
    ],
)
def test_an_invalid_credit_code_is_refused_with_the_reason(officer, code, fragment):
    with pytest.raises(ValidationError) as refused:
        make_provider(officer, credit_code=code)
    message = refused.value.fields["credit_code"][0]
    assert fragment in message
    assert _count(Provider) == 0


def test_an_early_code_is_kept_only_when_the_officer_confirms_it(officer):
    with pytest.raises(ValidationError):
        make_provider(officer, credit_code="91350211M0000XUF46")
    provider = make_provider(
        officer,
        credit_code="91350211M0000XUF46",
        acknowledge_check_failure=True,
        acknowledgement_reason="试点期间赋码，证书原件已核验",
    )
    assert provider.credit_code_warning and "R" in provider.credit_code_warning


def test_a_duplicate_credit_code_is_refused(officer):
    make_provider(officer)
    with pytest.raises(Conflict) as refused:
        make_provider(officer, name="另一家")
    assert "credit_code" in refused.value.fields


def test_future_dates_and_expiry_before_issue_are_refused(officer):
    with pytest.raises(ValidationError) as refused:
        make_provider(officer, registration_date="2030-01-01")
    assert "registration_date" in refused.value.fields
    provider = make_provider(officer)
    with pytest.raises(ValidationError) as refused:
        services.add_qualification(
            provider, {"name": "许可证", "issued_on": "2024-01-01", "expires_on": "2023-12-31"}
        )
    assert "expires_on" in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        services.add_record(
            provider,
            "violation",
            {"decision_date": "2031-05-05", "violation_kind": "fine", "fine_amount": "100"},
        )
    assert "decision_date" in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        services.add_record(
            provider, "tax", {"period_start": "2025-05-01", "period_end": "2025-04-01"}
        )
    assert "period_end" in refused.value.fields


def test_a_township_outside_the_county_is_refused(officer):
    with pytest.raises(ValidationError) as refused:
        make_provider(officer, township_code="140522")
    assert "township_code" in refused.value.fields


def test_uploads_are_checked_by_content_and_size(officer, app):
    provider = make_provider(officer, declaration=False)
    app.config["EVIDENCE_MAX_BYTES"] = 2048
    for filename, data, field_text in [
        ("x.pdf", b"MZ\x90\x00 not a pdf", "PDF"),
        ("x.png", _pdf("a pdf named png"), ".png"),
        ("big.pdf", _pdf("x") + b"0" * 4096, "MB"),
        ("empty.pdf", b"", ""),
    ]:
        with pytest.raises(ValidationError) as refused:
            services.store_document(
                provider,
                actor=officer,
                kind="declaration",
                title="t",
                filename=filename,
                stream=BytesIO(data),
            )
        assert "file" in refused.value.fields and field_text in refused.value.fields["file"][0]
    assert _count(EvidenceDocument) == 0
    stored = services.store_document(
        provider,
        actor=officer,
        kind="declaration",
        title="声明",
        filename="d.pdf",
        stream=BytesIO(_pdf("ok")),
    )
    again = services.store_document(
        provider,
        actor=officer,
        kind="other",
        title="同一文件",
        filename="same.pdf",
        stream=BytesIO(_pdf("ok")),
    )
    assert stored.sha256 == again.sha256
    from procurement.core.files import blob_path

    path = blob_path(stored.sha256)
    assert path.exists() and path.read_bytes().startswith(b"%PDF-")


def test_expiring_qualifications_are_warned_within_60_days(officer):
    from datetime import timedelta

    from procurement.core.clock import today

    provider = make_provider(officer)
    soon = services.add_qualification(
        provider,
        {
            "name": "食品经营许可证",
            "issued_on": "2024-01-01",
            "expires_on": today() + timedelta(days=60),
        },
    )
    services.add_qualification(
        provider,
        {"name": "远期证书", "issued_on": "2024-01-01", "expires_on": today() + timedelta(days=61)},
    )
    assert services.expiring_qualifications(provider) == [soon]


def test_register_changes_are_audited(officer):
    from procurement.core.audit import AuditEvent

    provider = make_provider(officer)
    data = services.ProviderInput(
        name="阳城县福寿养老服务有限公司（更名）",
        credit_code=GOOD_CODE,
        registration_authority="market_regulation",
        registration_date="2016-08-25",
    )
    services.update_provider(provider, data)
    db.session.flush()
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "providers", AuditEvent.action == "update"
        )
    ).all()
    assert events[-1].after["name"].endswith("（更名）")


def test_records_are_added_through_the_pages(client, app, yangcheng, make_user):
    make_user("officer")
    with app.app_context():
        from procurement.core.audit import Actor, set_actor

        set_actor(Actor(None, "test-setup", "system"))
        provider = services.register_provider(
            region_code="140522",
            data=services.ProviderInput(
                name="阳城县福寿养老服务有限公司",
                credit_code=GOOD_CODE,
                registration_authority="market_regulation",
                registration_date="2016-08-25",
            ),
        )
        db.session.commit()
        provider_id = provider.id
    client.login("officer")
    base = f"/providers/{provider_id}/records"
    for kind, data in [
        (
            "tax",
            {"period_start": "2025-01-01", "period_end": "2025-12-31", "payment_status": "arrears"},
        ),
        (
            "violation",
            {
                "decision_date": "2025-03-01",
                "violation_kind": "fine",
                "fine_amount": "3000",
                "major_override": "",
            },
        ),
        ("annual_report", {"report_year": "2024", "filed_on": "2025-05-01"}),
        ("credit_listing", {"listed_from": "2025-01-01", "listed_until": ""}),
    ]:
        response = client.post(f"{base}/{kind}", data)
        assert response.status_code == 302, (kind, response.get_data(as_text=True)[-1500:])
    refused = client.post(f"{base}/tax", {"period_start": "2025-05-01", "period_end": "2025-04-01"})
    assert refused.status_code == 422 and "所属期止早于所属期起" in refused.get_data(as_text=True)
    with app.app_context():
        assert len(services.get_provider(provider_id).records) == 4


def test_an_early_code_provider_can_be_edited_without_confirming_again(officer):
    provider = make_provider(
        officer,
        credit_code="91350211M0000XUF46",
        acknowledge_check_failure=True,
        acknowledgement_reason="试点赋码",
    )
    data = services.ProviderInput(
        name=provider.name,
        credit_code="91350211M0000XUF46",
        registration_authority="market_regulation",
        registration_date="2016-08-25",
        address="新地址",
    )
    services.update_provider(provider, data)
    assert provider.address == "新地址" and "试点赋码" in provider.credit_code_warning
