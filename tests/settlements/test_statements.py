"""Statements: review of flags, finance's confirmation, suspension, exports, pages, API."""

import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.demo.care import demo_records_csv, load_demo_records
from procurement.plans.execution import execution
from procurement.plans.models import PurchasePlan
from procurement.recipients.identity import decrypt
from procurement.recipients.models import Recipient
from procurement.settlements import exports, services
from procurement.settlements.models import (
    ServiceRecord,
    Settlement,
    SettlementStatus,
    Unpaid,
)
from procurement.supervision.models import Sanction, SanctionKind
from tests.conftest import Client
from tests.settlements.conftest import at


@pytest.fixture
def months(care):
    load_demo_records(care["officer"], care["plan"])
    db.session.flush()
    return care


def statement(contract_number_suffix=None, month=date(2026, 7, 1)) -> Settlement:
    rows = db.session.scalars(
        select(Settlement).where(Settlement.month == month).order_by(Settlement.contract_id)
    ).all()
    return rows[0]


def pending_ids(settlement):
    return list(
        db.session.scalars(
            select(ServiceRecord.id).where(
                ServiceRecord.contract_id == settlement.contract_id,
                ServiceRecord.month == settlement.month,
                ServiceRecord.unpaid_reason == Unpaid.FLAG_PENDING.value,
            )
        )
    )


def clear_all(settlement, care, decision="cleared"):
    ids = pending_ids(settlement)
    if ids:
        services.review(ids, decision=decision, note="核实无误", actor=care["officer"])
    return ids


def test_flags_hold_confirmation_until_reviewed(months):
    s = next(s for s in db.session.scalars(select(Settlement)) if pending_ids(s))
    with pytest.raises(Conflict) as caught:
        services.confirm(s, actor=months["finance"], amount_seen=str(s.amount))
    assert caught.value.code == "pending_review"
    before = s.amount
    ids = clear_all(s, months)
    db.session.refresh(s)
    assert s.amount >= before
    reviewed = db.session.scalars(select(ServiceRecord).where(ServiceRecord.id.in_(ids))).all()
    assert all(r.review == "cleared" for r in reviewed)
    services.confirm(s, actor=months["finance"], amount_seen=str(s.amount), note="同意拨付")
    assert s.status == SettlementStatus.CONFIRMED


def test_confirming_refuses_a_stale_amount(months):
    s = statement()
    clear_all(s, months)
    with pytest.raises(Conflict) as caught:
        services.confirm(s, actor=months["finance"], amount_seen="1.00")
    assert caught.value.code == "stale"


def test_review_needs_a_note_and_flagged_records(months):
    s = next(s for s in db.session.scalars(select(Settlement)) if pending_ids(s))
    with pytest.raises(ValidationError):
        services.review(pending_ids(s), decision="cleared", note=" ", actor=months["officer"])
    unflagged = db.session.scalar(select(ServiceRecord.id).where(ServiceRecord.flags == 0))
    with pytest.raises(ValidationError):
        services.review([unflagged], decision="cleared", note="x", actor=months["officer"])


def test_confirmed_settlement_flows_into_budget_execution_and_freezes_the_month(months):
    s = statement()
    clear_all(s, months, "confirmed")
    services.confirm(s, actor=months["finance"], amount_seen=str(s.amount))
    rows = execution(months["plan"], "other")
    zone_row = next(r for r in rows if r.zone_id == s.contract.zone_id)
    assert zone_row.confirmed == s.amount > 0
    # records for the confirmed month are refused from now on
    person = db.session.scalars(
        select(Recipient).where(Recipient.township_code.in_(s.contract.township_codes))
    ).first()
    data = (
        "记录编号,服务对象身份证号,服务机构统一社会信用代码,服务人员编号,服务项目,开始时间,结束时间,服务乡镇\n"
        f"late-1,{decrypt(person.id_cipher)},{s.contract.provider.credit_code},W9,life-meal,"
        f"2026-07-30 09:00:00,2026-07-30 10:00:00,{person.township_code}\n"
    ).encode()
    batch = services.import_upload(
        io.BytesIO(data), "late.csv", region_code="140522", actor=months["officer"]
    )
    assert batch.reasons == {"month_confirmed": 1}
    with pytest.raises(Conflict):
        services.recompute(s)


def test_suspension_holds_the_statement(months):
    s = statement()
    clear_all(s, months)
    sanction = Sanction(
        region_code="140522",
        provider_id=s.contract.provider_id,
        contract_id=s.contract_id,
        kind=SanctionKind.SUSPEND_SETTLEMENT,
        ground="3",
        decided_on=date(2026, 9, 1),
        note="三次投诉属实",
    )
    db.session.add(sanction)
    db.session.flush()
    with pytest.raises(Conflict) as caught:
        services.confirm(s, actor=months["finance"], amount_seen=str(s.amount))
    assert caught.value.code == "suspended"
    sanction.lifted_on = date(2026, 9, 3)
    db.session.flush()
    services.confirm(s, actor=months["finance"], amount_seen=str(s.amount))


def test_statement_lines_match_the_totals(months):
    s = statement()
    lines = services.lines(s)
    assert len(lines) == s.recipients
    assert sum(line.amount for line in lines) == s.amount
    assert sum(line.paid_minutes for line in lines) == s.paid_minutes
    assert all("*" * 10 in line.id_masked for line in lines)


def test_exports_open_and_show_no_full_id_number(months):
    s = statement()
    numbers = [decrypt(c) for c in db.session.scalars(select(Recipient.id_cipher))]
    book = load_workbook(exports.statement_xlsx(s))
    text = " ".join(str(c.value) for row in book.active.iter_rows() for c in row if c.value)
    assert f"{s.amount:,.2f}"[:3] in text or str(s.amount) in text
    document = Document(exports.statement_docx(s))
    body = "\n".join(p.text for p in document.paragraphs) + " ".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    )
    assert "元" in body or "yuan" in body
    for number in numbers:
        assert number not in text and number not in body


def test_settled_amount_is_exact(months):
    s = statement()
    total = db.session.scalar(
        select(func.sum(ServiceRecord.paid_minutes)).where(
            ServiceRecord.contract_id == s.contract_id, ServiceRecord.month == s.month
        )
    )
    assert s.paid_minutes == total
    assert isinstance(s.amount, Decimal)


def test_pages_for_officer_and_finance(care_site, app, client):
    with app.app_context():
        s = statement()
        sid, number, provider_id = s.id, s.contract.number, s.contract.provider_id
    client.login("yc_officer", _password(app, "yc_officer"))
    assert client.get("/settlements/").status_code == 200
    assert number in client.get(f"/settlements/{sid}").get_data(as_text=True)
    assert "flag-summary" in client.get("/settlements/flags").get_data(as_text=True)
    assert client.get(f"/settlements/flags/{provider_id}/2026-07").status_code == 200
    xlsx = client.get(f"/settlements/{sid}/statement.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    docx = client.get(f"/settlements/{sid}/statement.docx")
    assert docx.status_code == 200 and docx.data[:2] == b"PK"
    finance = Client(app)
    finance.login("yc_finance", _password(app, "yc_finance"))
    page = f"/settlements/{sid}"
    assert finance.post(f"{page}/recompute", page=page).status_code == 403
    assert finance.post(f"{page}/confirm", {"amount_seen": "0.01"}, page=page).status_code == 302
    with app.app_context():
        assert db.session.get(Settlement, sid).status == SettlementStatus.DRAFT


def test_a_roster_correction_shows_at_once_on_the_statement(care_site, app, client, api):
    """The lines were kept under the statement's stamp: a corrected name stayed old on
    the page and in the API for up to an hour, while the .xlsx showed the new one."""
    from procurement.accounts import services as accounts

    with app.app_context():
        s = statement()
        sid = s.id
        first = services.lines(s, limit=1)[0]
        old_name, rid = first.name, first.recipient_id
        token = accounts.issue_token(accounts.find_user("yc_officer"))[1]
        db.session.commit()
    client.login("yc_officer", _password(app, "yc_officer"))
    lines_url = f"/api/v1/settlements/{sid}/lines?offset=0&limit=50"
    before = client.get(f"/settlements/{sid}").get_data(as_text=True)
    assert old_name in before
    assert api.get(lines_url, token=token).json["items"][0]["name"] == old_name

    with app.app_context():
        db.session.get(Recipient, rid).name = "更正后姓名"  # a roster correction
        db.session.commit()
    page = client.get(f"/settlements/{sid}").get_data(as_text=True)
    assert "更正后姓名" in page and page.count(old_name) < before.count(old_name)
    names = [line["name"] for line in api.get(lines_url, token=token).json["items"]]
    assert "更正后姓名" in names


def test_upload_page_shows_the_report(care_site, app, client):
    client.login("yc_officer", _password(app, "yc_officer"))
    with app.app_context():
        data = demo_records_csv(db.session.get(PurchasePlan, care_site["plan"]), date(2026, 7, 1))
    response = client.post(
        "/settlements/imports/new",
        {"file": (io.BytesIO(data + b"bad,row\n"), "platform.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "/jobs/" in response.location
    job = client.get(response.location).get_data(as_text=True)
    assert "已完成" in job and "导入报告" in job, job[job.find("<main") :]
    report_url = re.search(r'href="(/settlements/imports/\d+)"', job).group(1)
    report = client.get(report_url).get_data(as_text=True)
    assert "import-summary" in report and "rejections" in report
    empty = client.post(
        "/settlements/imports/new",
        {"file": (io.BytesIO(b""), "empty.csv")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422


def test_api_push_is_idempotent_and_reports(care_site, app, api, make_token):
    token = make_token("yc_officer")
    with app.app_context():
        person = db.session.scalars(
            select(Recipient).where(
                Recipient.service_start.is_not(None), Recipient.exit_date.is_(None)
            )
        ).first()
        contract = next(
            c
            for c in db.session.scalars(select(Contract))
            if person.township_code in c.township_codes
        )
        number, masked, township = decrypt(person.id_cipher), person.id_masked, person.township_code
        credit_code = contract.provider.credit_code
    record = {
        "record_id": "api-1",
        "id_number": number,
        "credit_code": credit_code,
        "worker_id": "W77",
        "item": "life-meal",
        "start": "2026-09-02 09:00:00",
        "end": "2026-09-02 10:00:00",
        "township": township,
    }
    first = api.post("/api/v1/service-records", {"records": [record]}, token=token)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["accepted"] == 1
    again = api.post("/api/v1/service-records", {"records": [record]}, token=token)
    assert again.get_json()["already_imported"] == 1 and again.get_json()["accepted"] == 0
    listed = api.get("/api/v1/service-records?month=2026-09", token=token).get_json()
    assert listed["total"] == 1 and listed["items"][0]["record_id"] == "api-1"
    statements = api.get("/api/v1/settlements?month=2026-09", token=token).get_json()
    assert statements["total"] == 1
    sid = statements["items"][0]["id"]
    detail = api.get(f"/api/v1/settlements/{sid}", token=token).get_json()
    assert detail["paid_minutes"] == 60
    lines = api.get(f"/api/v1/settlements/{sid}/lines", token=token).get_json()
    assert lines["items"][0]["id_masked"] == masked
    assert api.post("/api/v1/service-records", {"records": []}, token=token).status_code == 422
    finance = make_token("yc_finance")
    refused = api.post("/api/v1/service-records", {"records": [record]}, token=finance)
    assert refused.status_code == 403
    early = api.post(
        f"/api/v1/settlements/{sid}/confirm", {"amount_seen": detail["amount"]}, token=finance
    )
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "month_not_ended"
    at(2026, 10, 5)
    confirmed = api.post(
        f"/api/v1/settlements/{sid}/confirm", {"amount_seen": detail["amount"]}, token=finance
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["status"] == "confirmed"
    csv_body = (
        ",".join(
            [
                "记录编号",
                "服务对象身份证号",
                "服务机构统一社会信用代码",
                "服务人员编号",
                "服务项目",
                "开始时间",
                "结束时间",
                "服务乡镇",
            ]
        )
        + "\n"
        + f"api-2,{number},{credit_code},W77,life-meal,2026-10-02 09:00:00,2026-10-02 10:00:00,"
        + f"{township}\n"
    ).encode()
    uploaded = api.http.post(
        "/api/v1/service-records/file?filename=oct.csv",
        data=csv_body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert uploaded.status_code == 202, uploaded.get_json()
    job = api.get(uploaded.headers["Location"], token=token).get_json()
    assert job["status"] == "done", job
    report = api.get(job["result_url"], token=token).get_json()
    assert report["accepted"] == 1 and report["filename"] == "oct.csv"


def test_another_county_sees_nothing(care_site, app, api, make_user, make_token):
    make_user("qs_api", role="officer", region_code="140521")
    token = make_token("qs_api")
    assert api.get("/api/v1/settlements", token=token).get_json()["total"] == 0
    with app.app_context():
        sid = db.session.scalars(select(Settlement)).first().id
    assert api.get(f"/api/v1/settlements/{sid}", token=token).status_code == 404
    assert api.get("/api/v1/service-records", token=token).get_json()["total"] == 0
    assert api.get("/api/v1/record-imports", token=token).get_json()["total"] == 0


def _password(app, username):
    from procurement.demo.cli import _logins_file

    with app.app_context():
        return json.loads(_logins_file().read_text())[username]
