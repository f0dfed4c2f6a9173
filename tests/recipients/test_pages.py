"""The roster pages as an officer, a finance reviewer and an auditor use them."""

import re
from datetime import date
from io import BytesIO

import sqlalchemy as sa
from openpyxl import Workbook

from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.recipients.models import Recipient, WorkdayOverride
from tests.helpers import in_app
from tests.recipients.conftest import FACTS_ID, FENGCHENG, id_number, pin

MASKED = "140522**********28"


def events(app, action):
    return in_app(
        app,
        lambda: [
            (e.actor_name, e.entity_id, e.after, e.note)
            for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
        ],
    )


def test_the_list_searches_by_name_and_whole_id_number_and_filters(client, seeded):
    client.login("yc-finance")
    page = client.get("/recipients/").get_data(as_text=True)
    assert "李桂兰" in page and "王秀英" in page and MASKED in page and FACTS_ID not in page
    found = client.get(f"/recipients/?q={FACTS_ID}").get_data(as_text=True)
    assert "李桂兰" in found and "王秀英" not in found
    assert "王秀英" in client.get("/recipients/?q=秀英").get_data(as_text=True)
    bad = client.get("/recipients/?q=140522194506150027").get_data(as_text=True)
    assert "李桂兰" not in bad and 'class="error"' in bad
    serving = client.get("/recipients/?status=in_service").get_data(as_text=True)
    assert "王秀英" in serving and "李桂兰" not in serving
    township = client.get(f"/recipients/?township={FENGCHENG}").get_data(as_text=True)
    assert "李桂兰" in township and "王秀英" not in township
    assert "李桂兰" not in client.get("/recipients/?category=low_income").get_data(as_text=True)
    assert client.get("/recipients/?status=nonsense&page=9").status_code == 200


def test_adding_and_correcting_a_recipient(client, seeded, app):
    client.login("yc-officer")
    number = id_number(date(1944, 8, 8), 5)
    form = {
        "id_number": number,
        "name": "赵大爷",
        "township_code": FENGCHENG,
        "category": "minimum_living",
        "capability_level": "3",
        "assessed_on": "2026-05-06",
        "registered_in_county": "y",
        "lives_in_county": "y",
    }
    bad = client.post("/recipients/new", {**form, "id_number": number[:-1] + "0"})
    assert bad.status_code == 422 and "id_number-error" in bad.get_data(as_text=True)
    created = client.post("/recipients/new", form)
    assert created.status_code == 302
    show = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "赵大爷" in show and number not in show and "1944-08-08" in show
    recipient_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    duplicate = client.post("/recipients/new", {**form, "name": "又一个"})
    assert duplicate.status_code == 422 and "赵大爷" in duplicate.get_data(as_text=True)

    edit = f"/recipients/{recipient_id}/edit"
    assert number not in client.get(edit).get_data(as_text=True)  # the form keeps it masked
    saved = client.post(edit, {**form, "id_number": "", "village": "南关村"})
    assert saved.status_code == 302

    def stored():
        recipient = db.session.get(Recipient, recipient_id)
        return recipient.village, recipient.birth_date

    assert in_app(app, stored) == ("南关村", date(1944, 8, 8))


def test_the_full_number_is_shown_on_request_and_audited(client, seeded, app):
    url = f"/recipients/{seeded['registered']}"
    client.login("yc-officer")
    page = client.get(url).get_data(as_text=True)
    assert MASKED in page and FACTS_ID not in page and 'data-test="reveal-id"' in page
    revealed = client.post(f"{url}/reveal-id", page=url)
    assert revealed.status_code == 200 and FACTS_ID in revealed.get_data(as_text=True)
    assert events(app, "reveal_id") == [("yc-officer", str(seeded["registered"]), None, None)]
    client.logout()

    for role in ("finance", "auditor", "admin", "evaluator"):
        client.login(f"yc-{role}")
        page = client.get(url).get_data(as_text=True)
        assert FACTS_ID not in page and 'data-test="reveal-id"' not in page
        assert client.post(f"{url}/reveal-id", page=url).status_code == 403
        client.logout()
    assert len(events(app, "reveal_id")) == 1


def test_an_application_through_the_pages(client, seeded, app):
    url = f"/recipients/{seeded['registered']}"
    pin(date(2026, 11, 2))
    client.login("yc-officer")
    assert client.post(f"{url}/applications", {"applied_on": "2026-11-02"}).status_code == 302
    application = in_app(
        app, lambda: db.session.get(Recipient, seeded["registered"]).applications[0].id
    )
    step = f"{url}/applications/{application}"
    pin(date(2026, 11, 20))
    client.login("yc-officer")  # the session expired in between
    page = client.get("/recipients/applications").get_data(as_text=True)
    assert "李桂兰" in page and 'data-test="overdue"' in page  # due 16 November
    refused = client.post(f"{step}/village", {"on": "2026-11-05", "passed": "no"}, page=url)
    assert refused.status_code == 422 and "note-error" in refused.get_data(as_text=True)
    assert (
        client.post(f"{step}/village", {"on": "2026-11-05", "passed": "yes"}, page=url).status_code
        == 302
    )
    assert (
        client.post(f"{step}/township", {"on": "2026-11-06", "passed": "yes"}, page=url).status_code
        == 302
    )
    rejected = client.post(f"{step}/county", {"on": "2026-11-20", "decision": "reject"}, page=url)
    assert rejected.status_code == 422 and "reason-error" in rejected.get_data(as_text=True)
    approved = client.post(f"{step}/county", {"on": "2026-11-20", "decision": "approve"}, page=url)
    assert approved.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert '<dd data-test="service-start">2026-12-01</dd>' in page
    assert 'data-test="exit-form"' in page and 'data-test="step-form"' not in page
    wrong = client.post(f"{step}/village", {"on": "2026-11-05", "passed": "yes"}, page=url)
    assert wrong.status_code == 422


def test_an_exit_through_the_page(client, seeded, app):
    url = f"/recipients/{seeded['serving']}"
    client.login("yc-officer")
    assert 'data-test="exit-form"' in client.get(url).get_data(as_text=True)
    refused = client.post(f"{url}/exit", {"exit_reason": "abuse", "exit_date": "2026-12-10"})
    assert refused.status_code == 422 and "exit_note-error" in refused.get_data(as_text=True)
    done = client.post(
        f"{url}/exit", {"exit_reason": "death", "exit_date": "2026-12-10", "exit_note": "病故"}
    )
    assert done.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="exit"' in page and "2026-12-10" in page


def test_a_deadline_in_an_uncovered_year_points_to_the_holiday_table(client, seeded, app):
    url = f"/recipients/{seeded['registered']}"
    pin(date(2026, 12, 28))
    client.login("yc-officer")
    client.post(f"{url}/applications", {"applied_on": "2026-12-28"})
    page = client.get("/recipients/applications").get_data(as_text=True)
    assert 'data-test="calendar-unknown"' in page and "/recipients/calendar?year=2027" in page
    show = client.get(url).get_data(as_text=True)
    assert 'data-test="calendar-unknown"' in show

    calendar = client.get("/recipients/calendar?year=2027").get_data(as_text=True)
    assert 'data-test="calendar-missing"' in calendar
    # a county reads the shared table; the province keeps it
    assert 'data-test="calendar-province-only"' in calendar and 'name="day"' not in calendar
    refused = client.post(
        "/recipients/calendar?year=2027", {"day": "2027-01-01", "is_workday": "off"}
    )
    assert refused.status_code == 403
    client.logout()
    client.login("sx-admin")
    assert 'name="day"' in client.get("/recipients/calendar?year=2027").get_data(as_text=True)
    added = client.post(
        "/recipients/calendar?year=2027", {"day": "2027-01-01", "is_workday": "off", "note": "元旦"}
    )
    assert added.status_code == 302 and added.headers["Location"].endswith("year=2027")
    again = client.post(
        "/recipients/calendar?year=2027", {"day": "2027-01-01", "is_workday": "off"}
    )
    assert again.status_code == 422
    day = in_app(app, lambda: db.session.scalar(sa.select(WorkdayOverride.id)))
    client.logout()
    client.login("yc-officer")
    page = client.get("/recipients/applications").get_data(as_text=True)
    assert 'data-test="calendar-unknown"' not in page and "2027-01-12" in page
    assert (
        client.post(
            f"/recipients/calendar/{day}/delete", page="/recipients/calendar?year=2027"
        ).status_code
        == 403
    )
    client.logout()
    client.login("sx-admin")
    removed = client.post(
        f"/recipients/calendar/{day}/delete", page="/recipients/calendar?year=2027"
    )
    assert removed.status_code == 302
    assert in_app(app, lambda: db.session.scalar(sa.select(sa.func.count(WorkdayOverride.id)))) == 0
    assert 'data-test="calendar-known"' in client.get("/recipients/calendar?year=2026").get_data(
        as_text=True
    )


def test_importing_through_the_pages(client, seeded, app):
    book = Workbook()
    sheet = book.active
    sheet.title = "服务对象"
    sheet.append(["姓名", "身份证号码", "乡镇", "类别"])
    sheet.append(["孙奶奶", "11010519491231002X", "凤城镇", "特困"])
    sheet.append(["坏号", "11010519491231002Y", "凤城镇", "特困"])
    data = BytesIO()
    book.save(data)
    client.login("yc-officer")
    assert client.get("/recipients/import/template.xlsx").data.startswith(b"PK")
    token = client.csrf("/recipients/import")
    staged = client.http.post(
        "/recipients/import",
        data={"csrf_token": token, "file": (BytesIO(data.getvalue()), "roster.xlsx")},
        content_type="multipart/form-data",
    )
    page = staged.get_data(as_text=True)
    assert staged.status_code == 200 and 'data-test="import-report"' in page
    assert "11010519491231002X" not in page and "110105**********2X" in page
    confirm_token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    done = client.post(
        "/recipients/import/confirm", {"token": confirm_token}, page="/recipients/import"
    )
    assert done.status_code == 302 and "/jobs/" in done.location  # the import's job
    names = in_app(app, lambda: db.session.scalars(sa.select(Recipient.name)).all())
    assert "孙奶奶" in names and "坏号" not in names
    empty = client.http.post(
        "/recipients/import",
        data={"csrf_token": token, "file": (BytesIO(b""), "empty.xlsx")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422


def test_monthly_changes_page_and_exports(client, app, seeded):
    from procurement.contracts.models import Contract

    def contracts():
        from tests.recipients.conftest import TODAY

        pin(date(2026, 6, 20))
        from procurement.accounts.models import User
        from procurement.contracts.models import ContractStatus
        from procurement.demo.cli import load_demo_plan, load_demo_users
        from procurement.demo.providers import load_demo_awards, load_demo_providers
        from procurement.plans.models import PurchasePlan

        load_demo_users()
        load_demo_plan()
        officer = db.session.scalar(sa.select(User).where(User.username == "yc_officer"))
        plan = db.session.scalar(sa.select(PurchasePlan))
        load_demo_providers(officer, plan)
        load_demo_awards(officer, plan)
        for contract in db.session.scalars(sa.select(Contract)):
            contract.status = ContractStatus.IN_FORCE
        pin(TODAY)
        zone = next(
            c for c in db.session.scalars(sa.select(Contract)) if "140522108" in c.township_codes
        )
        return zone.id

    contract_id = in_app(app, contracts)
    client.login("yc-finance")
    page = client.get("/recipients/changes?month=2026-12").get_data(as_text=True)
    assert "王秀英" in page and 'data-test="contract-changes"' in page
    assert "Download with full" not in page and "完整" not in page
    masked = client.get(f"/recipients/changes/{contract_id}.xlsx?month=2026-12")
    assert masked.status_code == 200 and masked.data.startswith(b"PK")
    assert client.get(f"/recipients/changes/{contract_id}.xlsx?month=13").status_code == 422
    assert client.get("/recipients/changes?month=garbage").status_code == 200
    refused = client.post(
        f"/recipients/changes/{contract_id}/full.xlsx",
        {"month": "2026-12"},
        page="/recipients/changes",
    )
    assert refused.status_code == 403
    client.logout()
    client.login("yc-officer")
    full = client.post(
        f"/recipients/changes/{contract_id}/full.xlsx",
        {"month": "2026-12"},
        page="/recipients/changes",
    )
    assert full.status_code == 200 and full.data.startswith(b"PK")
    assert [e[0] for e in events(app, "export_full_ids")] == ["yc-officer"]


def test_another_county_cannot_see_or_change_yangcheng_recipients(client, seeded, app):
    client.login("qs-officer")
    assert "李桂兰" not in client.get("/recipients/").get_data(as_text=True)
    assert "李桂兰" not in client.get(f"/recipients/?q={FACTS_ID}").get_data(as_text=True)
    url = f"/recipients/{seeded['registered']}"
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/edit").status_code == 404
    assert client.post(f"{url}/reveal-id", page="/recipients/").status_code == 404
    assert (
        client.post(
            f"{url}/applications", {"applied_on": "2026-12-01"}, page="/recipients/"
        ).status_code
        == 404
    )
    assert events(app, "reveal_id") == []
    # Registering in Yangcheng from 沁水县 is refused outright.
    assert client.get("/recipients/new?region_code=140522").status_code == 400


def test_a_move_through_the_page(client, seeded, app):
    url = f"/recipients/{seeded['serving']}"
    client.login("yc-officer")
    assert 'data-test="move-form"' in client.get(url).get_data(as_text=True)
    refused = client.post(f"{url}/move", {"township_code": "", "moved_on": "2026-12-01"})
    assert refused.status_code == 422 and "township_code-error" in refused.get_data(as_text=True)
    done = client.post(
        f"{url}/move", {"township_code": "140522101", "moved_on": "2026-12-01", "note": "随子女"}
    )
    assert done.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="move"' in page and "2027-01-01" in page and "北留镇" in page


def test_the_roster_pages_on_after_the_last_person_without_counting(client, seeded, app, make_user):
    """Issue 17: keyset pages (each after the last person shown), no count of the roster."""
    from procurement.core.audit import Actor, set_actor
    from procurement.recipients import services
    from tests.recipients.conftest import recipient_input

    def add_many():
        set_actor(Actor(None, "test-setup", "system"))
        for n in range(55):
            services.register_recipient(
                region_code="140522",
                data=recipient_input(
                    id_number=id_number(date(1942, 2, 2), 100 + n), name=f"页测{n:02d}"
                ),
            )

    in_app(app, add_many)
    client.login("yc-officer")
    first = client.get("/recipients/?q=页测").get_data(as_text=True)
    names = sorted(set(re.findall(r"页测\d\d", first)))
    assert len(names) == 50 and 'data-test="next-page"' in first
    after = re.search(r'href="([^"]*after=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    second = client.get(after).get_data(as_text=True)
    rest = sorted(set(re.findall(r"页测\d\d", second)))
    assert len(rest) == 5 and not set(rest) & set(names)
    assert sorted(names + rest) == [f"页测{n:02d}" for n in range(55)]
    assert 'data-test="next-page"' not in second and "第一页" in second
    # an unknown or foreign "after" starts from the beginning rather than failing
    assert client.get("/recipients/?after=999999").status_code == 200


def test_above_a_county_the_townships_to_filter_by_are_the_chosen_countys(client, seeded):
    client.login("sx-admin")
    page = client.get("/recipients/").get_data(as_text=True)
    assert 'name="county"' in page and 'name="township"' not in page
    chosen = client.get("/recipients/?county=140522").get_data(as_text=True)
    assert 'name="township"' in chosen and "凤城镇" in chosen
    township = client.get(f"/recipients/?county=140522&township={FENGCHENG}")
    assert "李桂兰" in township.get_data(as_text=True)
    client.logout()
    client.login("yc-officer")
    county = client.get("/recipients/").get_data(as_text=True)
    assert 'name="county"' not in county and 'name="township"' in county
