"""Publishing from the pages and the API: officers only, in their own region; the public
site follows at once."""

from __future__ import annotations

from sqlalchemy import select

from procurement.awards.models import Award
from procurement.contracts.models import Contract
from procurement.core.db import db
from tests.conftest import Client
from tests.helpers import in_app


def demo_ids(app) -> dict:
    def work():
        awards = db.session.scalars(select(Award).order_by(Award.zone_id)).all()
        contracts = db.session.scalars(select(Contract).order_by(Contract.zone_id)).all()
        return {
            "plan": awards[0].plan_id,
            "zones": [a.zone_id for a in awards],
            "awards": [a.id for a in awards],
            "contracts": [c.id for c in contracts],
        }

    return in_app(app, work)


def test_an_officer_publishes_and_withdraws_from_the_pages(app, care_site, make_user):
    ids = demo_ids(app)
    make_user("officer-1", role="officer", region_code="140522")
    officer = Client(app)
    officer.login("officer-1")
    zone_page = f"/plans/{ids['plan']}/selection/zones/{ids['zones'][0]}"
    assert 'data-test="publish-award"' in officer.get(zone_page).get_data(as_text=True)
    public = app.test_client()
    award_url = f"/public/awards/{ids['awards'][0]}"
    assert public.get(award_url).status_code == 404

    contract_page = f"/contracts/{ids['contracts'][0]}"
    refused = officer.post(f"{contract_page}/publish", page=contract_page)
    assert refused.status_code == 302  # back to the page with the reason: award first
    assert public.get(f"/public/contracts/{ids['contracts'][0]}").status_code == 404

    assert officer.post(f"{zone_page}/publish", page=zone_page).status_code == 302
    assert public.get(award_url).status_code == 200
    assert 'data-test="withdraw-award"' in officer.get(zone_page).get_data(as_text=True)
    assert officer.post(f"{contract_page}/publish", page=contract_page).status_code == 302
    assert public.get(f"/public/contracts/{ids['contracts'][0]}").status_code == 200
    page = officer.get(contract_page).get_data(as_text=True)
    assert 'data-test="withdraw-contract"' in page
    assert f'href="/public/contracts/{ids["contracts"][0]}"' in page

    assert officer.post(f"{zone_page}/withdraw", page=zone_page).status_code == 302
    assert public.get(award_url).status_code == 404


def test_other_roles_cannot_publish_from_the_pages(app, care_site, make_user):
    ids = demo_ids(app)
    make_user("finance-1", role="finance", region_code="140522")
    finance = Client(app)
    finance.login("finance-1")
    zone_page = f"/plans/{ids['plan']}/selection/zones/{ids['zones'][0]}"
    page = finance.get(zone_page).get_data(as_text=True)
    assert "publish-award" not in page
    assert finance.post(f"{zone_page}/publish", page=zone_page).status_code == 403
    contract_page = f"/contracts/{ids['contracts'][0]}"
    assert finance.post(f"{contract_page}/publish", page=contract_page).status_code == 403
    assert app.test_client().get(f"/public/awards/{ids['awards'][0]}").status_code == 404


def test_publishing_through_the_api(app, api, care_site, make_user, make_token):
    ids = demo_ids(app)
    make_user("officer-1", role="officer", region_code="140522")
    make_user("finance-1", role="finance", region_code="140522")
    officer, finance = make_token("officer-1"), make_token("finance-1")
    award, contract = ids["awards"][0], ids["contracts"][0]

    assert api.post(f"/api/v1/awards/{award}/publish").status_code == 401
    assert api.post(f"/api/v1/awards/{award}/publish", token=finance).status_code == 403
    early = api.post(f"/api/v1/contracts/{contract}/publish", token=officer)
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "award_not_published"

    created = api.post(f"/api/v1/awards/{award}/publish", token=officer)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["kind"] == "award" and body["object_id"] == award
    assert body["url"] == f"http://localhost/public/awards/{award}"
    assert api.post(f"/api/v1/awards/{award}/publish", token=officer).status_code == 409
    published = api.post(f"/api/v1/contracts/{contract}/publish", token=officer)
    assert published.status_code == 201

    listed = api.get("/api/v1/publications", token=finance).get_json()
    assert listed["total"] == 2
    assert {item["kind"] for item in listed["items"]} == {"award", "contract"}
    assert api.get("/api/v1/publications?kind=award", token=finance).get_json()["total"] == 1

    pid = body["id"]
    assert api.post(f"/api/v1/publications/{pid}/withdraw", token=finance).status_code == 403
    withdrawn = api.post(f"/api/v1/publications/{pid}/withdraw", token=officer)
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["withdrawn_at"] and withdrawn.get_json()["url"] is None
    assert api.post(f"/api/v1/publications/{pid}/withdraw", token=officer).status_code == 409
    live = api.get("/api/v1/publications?withdrawn=false", token=officer).get_json()
    assert [item["kind"] for item in live["items"]] == ["contract"]
    assert app.test_client().get(f"/public/awards/{award}").status_code == 404


def test_another_county_cannot_publish_or_withdraw_yangcheng_records(
    app, api, care_site, make_user, make_token
):
    ids = demo_ids(app)
    make_user("officer-1", role="officer", region_code="140522")
    make_user("qinshui", role="officer", region_code="140521")
    qinshui = make_token("qinshui")
    award = ids["awards"][0]
    assert api.post(f"/api/v1/awards/{award}/publish", token=qinshui).status_code == 404
    created = api.post(f"/api/v1/awards/{award}/publish", token=make_token("officer-1"))
    pid = created.get_json()["id"]
    assert api.post(f"/api/v1/publications/{pid}/withdraw", token=qinshui).status_code == 404
    assert api.get("/api/v1/publications", token=qinshui).get_json()["total"] == 0
    assert app.test_client().get(f"/public/awards/{award}").status_code == 200
