"""Under-delivery: entitled elders who got less than the month's entitlement, or nothing,
per provider and contract (issue 14 item 6)."""

from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select, update

from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.demo.care import load_demo_records
from procurement.recipients.identity import decrypt
from procurement.recipients.models import Recipient
from procurement.settlements import delivery, exports, services
from procurement.settlements.models import ServiceRecord, Settlement
from tests.settlements.test_statements import _password

JULY = date(2026, 7, 1)
FOUR_HOURS = 240


@pytest.fixture
def months(care):
    load_demo_records(care["officer"], care["plan"])
    db.session.flush()
    return care


def contract(number: int) -> Contract:
    return db.session.scalar(select(Contract).where(Contract.number == f"140522-2026-0{number}"))


def fully_paid(contract_id: int, month: date) -> list[int]:
    """People paid exactly the month's four hours, from records totalling four hours."""
    record = ServiceRecord
    return list(
        db.session.scalars(
            select(record.recipient_id)
            .where(record.contract_id == contract_id, record.month == month)
            .group_by(record.recipient_id)
            .having(
                func.sum(record.paid_minutes) == FOUR_HOURS,
                func.sum(record.minutes) == FOUR_HOURS,
            )
            .order_by(record.recipient_id)
        )
    )


def take_minutes(recipient_id: int, contract_id: int, minutes: int) -> None:
    """Shorten one of the person's visits by ``minutes`` (what the platform recorded)."""
    first = db.session.scalar(
        select(ServiceRecord.id)
        .where(
            ServiceRecord.recipient_id == recipient_id,
            ServiceRecord.contract_id == contract_id,
            ServiceRecord.month == JULY,
        )
        .order_by(ServiceRecord.id)
    )
    db.session.execute(
        update(ServiceRecord)
        .where(ServiceRecord.id == first)
        .values(minutes=ServiceRecord.minutes - minutes)
    )


def recompute(contract_id: int) -> None:
    of_july = (Settlement.contract_id == contract_id, Settlement.month == JULY)
    services.recompute(db.session.scalar(select(Settlement).where(*of_july)))


def test_one_minute_short_is_under_delivery_and_the_whole_entitlement_is_not(months):
    first, third = contract(1), contract(3)
    before = delivery.contract_shortfall(first, JULY)
    other_before = delivery.contract_shortfall(third, JULY)
    assert before.entitled > 0 and before.not_fully_served == 0
    whole, short = fully_paid(first.id, JULY)[:2]
    take_minutes(short, first.id, 1)
    recompute(first.id)
    after = delivery.contract_shortfall(first, JULY)
    assert [p.recipient_id for p in after.people] == [short]
    person = after.people[0]
    assert (person.owed, person.delivered, person.missing) == (240, 239, 1)
    assert not person.unserved and "*" * 10 in person.id_masked
    assert (after.short, after.unserved, after.missing) == (1, 0, 1)
    assert whole not in [p.recipient_id for p in after.people]
    # the other contract is untouched
    assert delivery.contract_shortfall(third, JULY) == other_before


def test_an_entitled_person_without_any_visit_got_nothing(months):
    first = contract(1)
    gone = fully_paid(first.id, JULY)[0]
    db.session.execute(
        delete(ServiceRecord).where(
            ServiceRecord.recipient_id == gone, ServiceRecord.contract_id == first.id
        )
    )
    recompute(first.id)
    found = delivery.contract_shortfall(first, JULY)
    assert found.unserved == 1 and found.people[0].recipient_id == gone
    assert found.people[0].unserved and found.people[0].delivered == 0


def test_people_not_entitled_that_month_are_not_owed(months):
    first = contract(1)
    entitled = delivery.contract_shortfall(first, JULY).entitled
    person = db.session.get(Recipient, fully_paid(first.id, JULY)[0])
    person.service_start = date(2026, 8, 1)  # starts the month after: not owed in July
    db.session.flush()
    assert delivery.contract_shortfall(first, JULY).entitled == entitled - 1
    person.service_start = JULY  # starts on the first of July: owed
    db.session.flush()
    assert delivery.contract_shortfall(first, JULY).entitled == entitled


def test_months_outside_the_contracts_term_owe_nothing(months):
    first = contract(1)
    assert delivery.contract_shortfall(first, date(2026, 6, 1)).entitled == 0
    assert delivery.contract_shortfall(first, date(2027, 1, 1)).entitled == 0
    assert delivery.contract_shortfall(first, date(2026, 12, 1)).entitled > 0
    assert {s.contract_number for s in delivery.month_shortfalls(date(2026, 6, 1))} == set()


def test_the_month_lists_every_contract_by_provider_and_the_export(months):
    found = delivery.month_shortfalls(JULY, people=True)
    assert len(found) == 3
    assert sum(s.entitled for s in found) > 0
    one = delivery.month_shortfalls(JULY, provider_id=contract(2).provider_id)
    assert [s.contract_number for s in one] == ["140522-2026-02"]
    book = load_workbook(exports.shortfall_xlsx(JULY, found))
    text = " ".join(str(c.value) for row in book.active.iter_rows() for c in row if c.value)
    assert "140522-2026-01" in text and "140522-2026-03" in text
    numbers = [decrypt(c) for c in db.session.scalars(select(Recipient.id_cipher))]
    assert not any(number in text for number in numbers)


def test_pages_dashboard_and_api(care_site, app, client, api, make_token):
    with app.app_context():
        first = contract(1)
        gone = fully_paid(first.id, JULY)[0]
        db.session.execute(
            delete(ServiceRecord).where(
                ServiceRecord.recipient_id == gone, ServiceRecord.contract_id == first.id
            )
        )
        recompute(first.id)
        db.session.commit()
        cid, number = first.id, first.number
        masked = db.session.get(Recipient, gone).id_masked
        full = decrypt(db.session.get(Recipient, gone).id_cipher)
        sid = db.session.scalar(
            select(Settlement.id).where(Settlement.contract_id == cid, Settlement.month == JULY)
        )
    client.login("yc_finance", _password(app, "yc_finance"))
    listed = client.get("/settlements/under-delivery?month=2026-07").get_data(as_text=True)
    assert number in listed and 'data-test="unserved-total">1<' in listed
    people = client.get(f"/settlements/under-delivery/{cid}/2026-07").get_data(as_text=True)
    assert masked in people and full not in people and "未获服务" in people
    xlsx = client.get(f"/settlements/under-delivery/{cid}/2026-07?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/settlements/under-delivery.xlsx?month=2026-07").data[:2] == b"PK"
    assert client.get("/settlements/under-delivery?month=2026-13").status_code == 404
    statement = client.get(f"/settlements/{sid}").get_data(as_text=True)
    assert 'data-test="shortfall"' in statement and "其中 1 人未获任何服务" in statement
    changes = client.get("/recipients/changes?month=2026-07").get_data(as_text=True)
    assert 'data-test="contract-shortfall"' in changes and "其中 1 人未获任何服务" in changes
    # the current month has not ended: no under-delivery on its list yet
    current = client.get("/recipients/changes?month=2026-09").get_data(as_text=True)
    assert 'data-test="contract-shortfall"' not in current
    # the dashboard speaks of August, the last month ended on 5 September
    dashboard = client.get("/").get_data(as_text=True)
    assert 'data-test="under-delivery"' in dashboard and "2026-08" in dashboard

    token = make_token("yc_finance")
    summary = api.get("/api/v1/under-delivery?month=2026-07", token=token).get_json()
    assert summary["unserved"] == 1 and len(summary["items"]) == 3
    detail = api.get(f"/api/v1/under-delivery/{cid}/2026-07", token=token).get_json()
    assert detail["people"][0]["id_masked"] == masked and detail["people"][0]["unserved"]
    assert api.get("/api/v1/under-delivery", token=token).status_code == 422
    assert api.get("/api/v1/under-delivery/99999/2026-07", token=token).status_code == 404
    assert detail["year_to_date"] is None  # the hours model: nothing carries over
    with app.app_context():
        _visits_model({"plan": db.session.get(Contract, cid).plan})
        db.session.commit()
    detail = api.get(f"/api/v1/under-delivery/{cid}/2026-08", token=token).get_json()
    assert detail["year_to_date"]["month"] == "2026-07-01"
    owed = {p["recipient_id"]: p["owed"] for p in detail["year_to_date"]["people"]}
    assert owed[gone] == 6
    people = client.get(f"/settlements/under-delivery/{cid}/2026-08").get_data(as_text=True)
    assert 'data-test="year-people"' in people and masked in people


def _visits_model(care) -> None:
    from procurement.policies.models import EntitlementModel

    profile = care["plan"].policy_profile
    profile.entitlement_model = EntitlementModel.VISITS_PER_YEAR
    profile.visits_per_year = 36
    profile.unit_price_per_visit = profile.hourly_rate_cap
    db.session.flush()


def test_visits_model_shows_the_years_floor_owed_so_far(months):
    """Issue 14 item 5: 36 visits a year are owed to each person, prorated by the months
    the person was entitled (July and August: 6); fewer delivered is listed."""
    first = contract(1)
    assert delivery.visits_year_to_date(first, date(2026, 8, 1)) is None  # hours model
    _visits_model(months)
    gone = fully_paid(first.id, JULY)[0]
    db.session.execute(
        delete(ServiceRecord).where(
            ServiceRecord.recipient_id == gone, ServiceRecord.contract_id == first.id
        )
    )
    year = delivery.visits_year_to_date(first, date(2026, 8, 1))
    assert year.month == JULY and year.unit == "visit" and year.entitled > 0
    by_person = {p.recipient_id: p for p in year.people}
    assert (by_person[gone].owed, by_person[gone].delivered) == (6, 0)
    assert by_person[gone].unserved
    july_only = delivery.visits_year_to_date(first, JULY)
    assert {p.recipient_id: p.owed for p in july_only.people}[gone] == 3
    assert all(p.delivered < p.owed for p in year.people)
    assert year.delivered < year.owed <= 6 * year.entitled
    person = db.session.get(Recipient, gone)
    person.service_start = date(2026, 8, 1)  # entitled in August only: owed 3
    db.session.flush()
    year = delivery.visits_year_to_date(first, date(2026, 8, 1))
    assert {p.recipient_id: p.owed for p in year.people}[gone] == 3


def test_a_mover_is_owed_by_the_zone_they_lived_in_that_month(months):
    """Seed 000 §3(1): moved in July to another zone's township, an elder is owed by the
    old zone's contract in July and by the new one from August."""
    from procurement.recipients import services as recipients
    from tests.settlements.conftest import at

    first, second = contract(1), contract(2)
    mover = db.session.get(Recipient, fully_paid(first.id, JULY)[0])
    august = date(2026, 8, 1)
    before = {
        (c.id, m): delivery.contract_shortfall(c, m).entitled
        for c in (first, second)
        for m in (JULY, august)
    }
    at(2026, 9, 5)
    recipients.record_move(mover, township_code=second.township_codes[0], moved_on="2026-07-20")

    def people(c, month):
        return {p.recipient_id: p for p in delivery.contract_shortfall(c, month).people}

    assert delivery.contract_shortfall(first, JULY).entitled == before[(first.id, JULY)]
    assert mover.id not in people(first, JULY)  # July: the old zone, served in full
    assert delivery.contract_shortfall(first, august).entitled == before[(first.id, august)] - 1
    assert delivery.contract_shortfall(second, august).entitled == before[(second.id, august)] + 1
    assert people(second, august)[mover.id].unserved  # the new zone owes August
    assert delivery.contract_shortfall(second, JULY).entitled == before[(second.id, JULY)]


def test_the_dashboards_brief_is_the_statements_kept_figures(months):
    """Issue 17: the dashboard reads the figures kept with the statements, never a roster;
    they agree with the full computation, and a month with no records names its
    contracts."""
    first = contract(1)
    short = fully_paid(first.id, JULY)[0]
    take_minutes(short, first.id, 30)
    recompute(first.id)
    brief = delivery.month_in_brief(JULY)
    assert brief.not_fully_served == delivery.not_fully_served(delivery.month_shortfalls(JULY))
    assert brief.not_fully_served >= 1 and brief.without_statement == 0
    august = delivery.month_in_brief(date(2026, 8, 1))
    owing = delivery.month_shortfalls(date(2026, 8, 1))
    with_records = db.session.scalar(
        select(func.count()).where(Settlement.month == date(2026, 8, 1))
    )
    assert august.without_statement == len(owing) - with_records
    october = delivery.month_in_brief(date(2026, 10, 1))  # nothing imported yet
    assert october.without_statement == len(delivery.month_shortfalls(date(2026, 10, 1))) > 0
    db.session.execute(update(Settlement).values(shortfall=None))  # as before migration 0018
    db.session.expire_all()
    assert delivery.month_in_brief(JULY) == brief
