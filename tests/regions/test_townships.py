"""Townships added, renamed and retired by the province's administrator (issue 18), and
what a retired township means for recipients and zones."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from procurement.core.audit import AuditEvent
from procurement.core.clock import today
from procurement.core.db import db
from procurement.core.errors import DomainError, ValidationError
from procurement.plans import services as plans
from procurement.recipients import services as recipients
from procurement.regions import services
from procurement.regions.models import Region
from tests.plans.conftest import plan_input
from tests.recipients.conftest import recipient_input

FENGCHENG, HEBEI = "140522100", "140522107"


@pytest.fixture
def english(ctx):
    with force_locale("en"):
        yield ctx


def county() -> Region:
    return db.session.get(Region, "140522")


def test_add_a_township_to_a_county(english):
    township = services.add_township(county(), code="140522112000", name="新镇")
    assert (township.code, township.parent_code, township.level.value) == (
        "140522112",
        "140522",
        "township",
    )
    assert township in services.townships_of(county())


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("140521100", "starting with 140522"),
        (FENGCHENG, "already registered"),
        ("14052210", "9-digit"),
        ("140522112123", "9-digit"),
    ],
)
def test_a_wrong_township_code_is_refused(english, code, words):
    with pytest.raises(ValidationError) as refused:
        services.add_township(county(), code=code, name="新镇")
    assert words in refused.value.fields["code"][0]


def test_rename_is_audited_with_the_old_name(english):
    township = db.session.get(Region, FENGCHENG)
    services.rename_township(township, name="凤城新镇")
    db.session.commit()
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == FENGCHENG, AuditEvent.action == "rename")
    ).one()
    assert (event.before["name"], event.after["name"]) == ("凤城镇", "凤城新镇")


def test_retire_keeps_the_row_and_hides_it_from_new_choices(english):
    township = db.session.get(Region, HEBEI)
    services.retire_township(township, retired_on=date(2026, 1, 1))
    db.session.commit()
    assert db.session.get(Region, HEBEI).retired_on == date(2026, 1, 1)
    assert HEBEI not in [t.code for t in services.townships_of(county())]
    assert HEBEI in [t.code for t in services.townships_of(county(), include_retired=True)]
    with pytest.raises(ValidationError, match="already retired"):
        services.retire_township(township)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == HEBEI, AuditEvent.action == "retire")
    ).one()
    assert event.after["retired_on"] == "2026-01-01"


def test_retire_refuses_a_date_in_the_future_and_a_county(english):
    with pytest.raises(ValidationError):
        services.retire_township(
            db.session.get(Region, HEBEI), retired_on=today() + timedelta(days=1)
        )
    with pytest.raises(ValidationError):
        services.retire_township(county())


def test_a_new_recipient_cannot_live_in_a_retired_township(officer):
    with force_locale("en"):
        services.retire_township(db.session.get(Region, FENGCHENG))
        with pytest.raises(DomainError) as refused:
            recipients.register_recipient(
                region_code="140522", data=recipient_input(township_code=FENGCHENG)
            )
    assert "retired" in refused.value.fields["township_code"][0]


def test_a_recipient_already_in_a_retired_township_can_still_be_corrected(officer):
    person = recipients.register_recipient(
        region_code="140522", data=recipient_input(township_code=FENGCHENG)
    )
    services.retire_township(db.session.get(Region, FENGCHENG))
    recipients.update_recipient(
        person, recipient_input(id_number="", name="王秀兰", township_code=FENGCHENG)
    )
    assert (person.name, person.township_code) == ("王秀兰", FENGCHENG)


def test_a_new_zone_cannot_hold_a_retired_township(officer):
    with force_locale("en"):
        services.retire_township(db.session.get(Region, HEBEI))
        with pytest.raises(DomainError) as refused:
            plans.create_plan(actor=officer, region_code="140522", data=plan_input())
    assert any("retired" in m for m in refused.value.fields["zones.0.township_codes"])


def test_the_zone_pages_say_a_township_was_retired(app, client, make_user, yangcheng):
    officer_id, finance_id = make_user("officer"), make_user("finance", role="finance")
    with app.app_context():
        from procurement.accounts.models import User
        from procurement.core.audit import Actor, set_actor

        set_actor(Actor(None, "test-setup", "system"))
        officer, finance = db.session.get(User, officer_id), db.session.get(User, finance_id)
        plan = plans.create_plan(actor=officer, region_code="140522", data=plan_input())
        version = plans.submit_plan(plan, actor=officer, note=None, lock_version=None)
        plans.approve_plan(plan, actor=finance, version_number=version.number)
        zone = next(z for z in plan.zones if HEBEI in z.township_codes)
        plan_id, zone_id = plan.id, zone.id
        services.retire_township(db.session.get(Region, HEBEI), retired_on=date(2026, 3, 1))
        db.session.commit()
    client.login("officer")
    html = client.get(f"/plans/{plan_id}/selection/zones/{zone_id}").get_data(as_text=True)
    assert 'data-test="retired-township"' in html and "2026-03-01" in html
    shown = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert 'data-test="retired-township"' in shown


# Pages and API --------------------------------------------------------------------------


@pytest.fixture
def sx_admin(make_user):
    make_user("sx-admin", role="admin", region_code="140000")
    return "sx-admin"


def test_the_townships_page_adds_renames_and_retires(app, client, sx_admin):
    client.login(sx_admin)
    page = "/regions/140522/townships"
    assert client.get(page).status_code == 200
    added = client.post(page, {"code": "140522112", "name": "新镇"})
    assert added.status_code == 302
    renamed = client.post("/regions/townships/140522112/rename", {"name": "新新镇"}, page=page)
    assert renamed.status_code == 302
    retired = client.post(
        "/regions/townships/140522112/retire", {"retired_on": "2026-02-01"}, page=page
    )
    assert retired.status_code == 302
    with app.app_context():
        township = db.session.get(Region, "140522112")
        assert (township.name, township.retired_on) == ("新新镇", date(2026, 2, 1))
    html = client.get(page).get_data(as_text=True)
    assert "新新镇" in html and "2026-02-01" in html


def test_the_townships_page_refuses_a_bad_code_with_422(app, client, sx_admin):
    client.login(sx_admin)
    response = client.post("/regions/140522/townships", {"code": FENGCHENG, "name": "重复"})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Region, FENGCHENG).name == "凤城镇"


def test_the_townships_api(app, api, sx_admin, make_token):
    token = make_token(sx_admin)
    added = api.post(
        "/api/v1/regions/140522/townships", {"code": "140522112", "name": "新镇"}, token=token
    )
    assert added.status_code == 201, added.get_json()
    renamed = api.patch("/api/v1/regions/140522112", {"name": "新新镇"}, token=token)
    assert renamed.get_json()["name"] == "新新镇"
    retired = api.post(
        "/api/v1/regions/140522112/retire", {"retired_on": "2026-02-01"}, token=token
    )
    assert retired.status_code == 200 and retired.get_json()["retired_on"] == "2026-02-01"
    again = api.post("/api/v1/regions/140522112/retire", {}, token=token)
    assert again.status_code == 422


def test_county_officer_and_other_province_are_refused(app, client, api, make_user, make_token):
    make_user("officer", role="officer", region_code="140522")
    client.login("officer")
    assert client.get("/regions/140522/townships").status_code == 403
    token = make_token("officer")
    body = {"code": "140522112", "name": "新镇"}
    assert api.post("/api/v1/regions/140522/townships", body, token=token).status_code == 403
    assert api.patch("/api/v1/regions/140522100", {"name": "x"}, token=token).status_code == 403
    assert api.post("/api/v1/regions/140522100/retire", {}, token=token).status_code == 403
    make_user("xj-admin", role="admin", region_code="650000")
    xj = make_token("xj-admin")
    assert api.post("/api/v1/regions/140522/townships", body, token=xj).status_code == 403
    assert api.post("/api/v1/regions/140522100/retire", {}, token=xj).status_code == 403
    with app.app_context():
        assert db.session.get(Region, "140522112") is None
        assert db.session.get(Region, "140522100").retired_on is None
