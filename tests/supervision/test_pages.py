"""The supervision pages: record and verify a complaint, act on the proposal, lift a
suspension; what a reader and another county's officer cannot see or change."""

from datetime import date

import pytest
from sqlalchemy import func, select

from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.recipients.identity import decrypt
from procurement.supervision.models import Complaint, ComplaintStatus, Sanction
from tests.helpers import in_app
from tests.supervision.conftest import complain, make_recipient, verified


@pytest.fixture
def yc(app, in_force, make_recipient_first, released, make_user, client):
    """A Yangcheng officer logged in; the ids the pages need."""
    make_user("yc_supervisor", role="officer", region_code="140522")
    client.login("yc_supervisor")
    return make_recipient_first


@pytest.fixture
def make_recipient_first(in_force):
    recipient = make_recipient()
    return {
        "contract": in_force[0].id,
        "provider": in_force[0].provider_id,
        "other_provider": in_force[1].provider_id,
        "recipient": recipient.id,
        "masked": recipient.id_masked,
        "number": decrypt(recipient.id_cipher),
    }


def with_complaints(app, contract_id: int, *days: date, **options) -> list[int]:
    """Verified complaints about the contract received on these days; their ids."""

    def work():
        contract = db.session.get(Contract, contract_id)
        return [verified(contract, day, **options).id for day in days]

    return in_app(app, work)


def complaint_form(facts, **changes) -> dict:
    return {
        "provider_id": str(facts["provider"]),
        "contract_id": str(facts["contract"]),
        "recipient_number": facts["number"],
        "received_on": "2026-09-02",
        "channel": "phone",
        "summary": "服务人员未按约定时间上门",
        **changes,
    }


@pytest.mark.parametrize(
    "number",
    ["140522194203150012", "14052219420315002"],  # valid but not on the roster; too short
)
def test_a_complaint_names_its_recipient_by_id_number_on_the_roster(app, client, yc, number):
    before = in_app(app, lambda: db.session.scalar(select(func.count(Complaint.id))))
    refused = client.post(
        "/supervision/complaints/new", complaint_form(yc, recipient_number=number)
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="recipient_number-error"' in text
    assert "名册" in text  # said next to the field, in Chinese
    assert in_app(app, lambda: db.session.scalar(select(func.count(Complaint.id)))) == before


def test_record_and_verify_a_complaint(app, client, yc):
    form = client.get(f"/supervision/complaints/new?provider_id={yc['provider']}")
    assert form.status_code == 200 and 'name="recipient_number"' in form.get_data(as_text=True)
    response = client.post("/supervision/complaints/new", complaint_form(yc))
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    url = response.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "服务人员未按约定时间上门" in page and yc["masked"] in page
    refused = client.post(
        f"{url}/verify",
        {"status": "verified", "verified_on": "2026-09-01", "findings": "属实"},
        page=url,
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="verified_on-error"' in text and 'id="attributable-error"' in text
    done = client.post(
        f"{url}/verify",
        {
            "status": "verified",
            "verified_on": "2026-09-03",
            "findings": "属实",
            "attributable": "yes",
        },
        page=url,
    )
    assert done.status_code == 302
    complaint = in_app(app, lambda: db.session.scalars(select(Complaint)).one().__dict__.copy())
    assert complaint["status"] is ComplaintStatus.VERIFIED and complaint["attributable"] is True
    assert complaint["verified_on"] == date(2026, 9, 3)
    assert 'data-test="attributable"' in client.get(url).get_data(as_text=True)


def test_bad_complaint_input_is_shown_next_to_the_fields(app, client, yc):
    response = client.post(
        "/supervision/complaints/new",
        complaint_form(yc, provider_id=str(yc["other_provider"]), received_on="2026-12-01"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for name in ("contract_id", "received_on"):
        assert f'id="{name}-error"' in page, name
    assert in_app(app, lambda: db.session.scalar(select(func.count(Complaint.id)))) == 0


def test_the_proposal_leads_to_a_suspension_that_is_lifted(app, client, yc):
    contract_id = yc["contract"]
    ids = with_complaints(app, contract_id, *(date(2026, m, 5) for m in (7, 8, 9)))
    listed = ",".join(map(str, ids))
    index = client.get("/supervision/").get_data(as_text=True)
    assert 'data-test="proposal"' in index
    page = f"/supervision/sanctions/new?contract_id={contract_id}&ground=3&complaint_ids={listed}"
    assert page.replace("&", "&amp;") in index
    provider_page = client.get(f"/supervision/providers/{yc['provider']}").get_data(as_text=True)
    assert 'data-test="proposal"' in provider_page and "3 / 3" in provider_page

    prefilled = client.get(page).get_data(as_text=True)
    assert ", ".join(map(str, ids)) in prefilled
    form = {
        "contract_id": str(contract_id),
        "kind": "suspend_settlement",
        "ground": "3",
        "decided_on": "2026-10-12",
        "complaint_ids": ", ".join(map(str, ids)),
    }
    refused = client.post(page, {**form, "complaint_ids": ", ".join(map(str, ids[:2]))})
    assert refused.status_code == 422 and 'id="complaint_ids-error"' in refused.get_data(
        as_text=True
    )
    response = client.post(page, form)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    url = response.headers["Location"]
    assert 'data-test="in-force"' in client.get(url).get_data(as_text=True)
    assert 'data-test="proposal"' not in client.get("/supervision/").get_data(as_text=True)
    contract_page = client.get(f"/contracts/{contract_id}").get_data(as_text=True)
    assert 'data-test="settlement-suspended"' in contract_page

    refused = client.post(f"{url}/lift", {"lifted_on": "2026-10-01"}, page=url)
    assert refused.status_code == 422 and 'id="lifted_on-error"' in refused.get_data(as_text=True)
    assert client.post(f"{url}/lift", {"lifted_on": "2026-10-15"}, page=url).status_code == 302
    sanction = in_app(app, lambda: db.session.scalars(select(Sanction)).one().__dict__.copy())
    assert sanction["lifted_on"] == date(2026, 10, 15) and sanction["complaint_ids"] == ids
    assert 'data-test="in-force"' not in client.get(url).get_data(as_text=True)
    assert 'data-test="settlement-suspended"' not in client.get(
        f"/contracts/{contract_id}"
    ).get_data(as_text=True)


def test_termination_through_the_page_ends_the_contract(app, client, yc):
    page = f"/supervision/sanctions/new?provider_id={yc['provider']}"
    assert client.get(page).status_code == 200
    form = {
        "contract_id": str(yc["contract"]),
        "kind": "terminate",
        "ground": "sold_health_products",
        "decided_on": "2026-10-18",
        "note": "向老年人推销保健品",
    }
    assert client.post(page, {**form, "ground": "3"}).status_code == 422
    assert client.post(page, form).status_code == 302
    contract = in_app(app, lambda: db.session.get(Contract, yc["contract"]).__dict__.copy())
    assert contract["status"].value == "terminated"
    assert (contract["termination_reason"], contract["terminated_on"]) == (
        "sold_health_products",
        date(2026, 10, 18),
    )


def test_the_index_filters_and_readers_cannot_record(app, client, yc, make_user):
    with_complaints(app, yc["contract"], date(2026, 8, 5), status="unfounded")
    with_complaints(app, yc["contract"], date(2026, 8, 6))
    page = client.get("/supervision/?status=unfounded").get_data(as_text=True)
    assert page.count('href="/supervision/complaints/') - page.count("complaints/new") == 1
    page = client.get(f"/supervision/?contract_id={yc['contract']}").get_data(as_text=True)
    assert page.count('href="/supervision/complaints/') - page.count("complaints/new") == 2
    client.logout()
    make_user("sv_reader", role="evaluator", region_code="140522")
    client.login("sv_reader")
    assert client.get("/supervision/").status_code == 200
    assert client.get(f"/supervision/providers/{yc['provider']}").status_code == 200
    assert client.get("/supervision/complaints/new").status_code == 403
    assert client.get("/supervision/sanctions/new").status_code == 403


def test_another_county_cannot_read_or_change_yangcheng_supervision(app, client, yc, make_user):
    def work():
        contract = db.session.get(Contract, yc["contract"])
        checked = verified(contract, date(2026, 8, 5))
        waiting = complain(contract, date(2026, 8, 6))
        suspension = Sanction(
            region_code="140522",
            provider_id=contract.provider_id,
            contract_id=contract.id,
            kind="suspend_settlement",
            ground="1",
            decided_on=date(2026, 9, 1),
            note="",
            complaint_ids=[],
        )
        db.session.add(suspension)
        db.session.flush()
        return checked.id, waiting.id, suspension.id

    checked, waiting, suspension = in_app(app, work)
    client.logout()
    make_user("qinshui_sv", role="officer", region_code="140521")
    client.login("qinshui_sv")
    index = client.get("/supervision/").get_data(as_text=True)
    assert f"/supervision/complaints/{checked}" not in index
    assert f"/supervision/sanctions/{suspension}" not in index
    for url in (
        f"/supervision/complaints/{checked}",
        f"/supervision/sanctions/{suspension}",
        f"/supervision/providers/{yc['provider']}",
    ):
        assert client.get(url).status_code == 404, url
    form_page = "/supervision/complaints/new"
    assert yc["masked"] not in client.get(form_page).get_data(as_text=True)
    verify = client.post(
        f"/supervision/complaints/{waiting}/verify",
        {"status": "unfounded", "verified_on": "2026-10-01", "findings": "x"},
        page=form_page,
    )
    assert verify.status_code == 404
    lift = client.post(
        f"/supervision/sanctions/{suspension}/lift", {"lifted_on": "2026-10-01"}, page=form_page
    )
    assert lift.status_code == 404
    new = client.post(form_page, complaint_form(yc, recipient_number=""))
    assert new.status_code == 422 and 'id="provider_id-error"' in new.get_data(as_text=True)
    sanction = client.post(
        "/supervision/sanctions/new",
        {
            "contract_id": str(yc["contract"]),
            "kind": "interview",
            "ground": "1",
            "decided_on": "2026-10-01",
        },
    )
    assert sanction.status_code == 422

    def unchanged():
        return (
            db.session.get(Complaint, waiting).status,
            db.session.get(Sanction, suspension).lifted_on,
            db.session.scalar(select(func.count(Complaint.id))),
            db.session.scalar(select(func.count(Sanction.id))),
        )

    assert in_app(app, unchanged) == (ComplaintStatus.RECEIVED, None, 2, 1)
