"""Large exports as jobs (issue 16): the finance ledger and a month's under-delivery are
made by a job, from a page's button or a POST to the API (202); the job's download is
the same workbook the direct export gives, audited as the request that asked for it, and
seen only in its county by those who may see the register it comes from."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.jobs.models import Job
from tests.conftest import Client
from tests.helpers import in_app
from tests.settlements.conftest import care_site  # noqa: F401 (a fixture)
from tests.settlements.test_statements import _password

pytestmark = pytest.mark.usefixtures("care_site")  # the demo plan with July and August

EXPORTS = {
    # the API's job endpoint, the page that starts it, the direct export, the kind
    "ledger": (
        "/api/v1/ledger/exports?year=2026",
        "/payments/ledger/export?year=2026",
        "/payments/ledger.xlsx?year=2026",
        "payments.ledger_export",
    ),
    "under_delivery": (
        "/api/v1/under-delivery/exports?month=2026-07",
        "/settlements/under-delivery/export?month=2026-07",
        "/settlements/under-delivery.xlsx?month=2026-07",
        "settlements.shortfall_export",
    ),
}


@pytest.fixture(params=sorted(EXPORTS))
def export(request):
    return request.param, *EXPORTS[request.param]


def _cells(data: bytes) -> list[tuple]:
    assert data[:2] == b"PK"
    book = load_workbook(BytesIO(data))
    return [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]


def _direct(app, url: str) -> bytes:
    """The export made within the request, as before (the same file the job must give)."""
    client = Client(app)
    client.login("yc_finance", _password(app, "yc_finance"))
    return client.get(url).data


def test_the_api_starts_an_export_job_whose_download_is_the_workbook(app, api, make_token, export):
    entity, start, _page, direct, kind = export
    token = make_token("yc_finance")
    made = api.post(start, token=token)
    assert made.status_code == 202, made.json
    assert made.headers["Location"] == made.json["url"]
    job = api.get(made.headers["Location"], token=token).json
    assert (job["kind"], job["status"]) == (kind, "done")
    assert job["summary"] and job["download_url"]
    downloaded = api.get(job["download_url"], token=token)
    assert downloaded.status_code == 200
    assert _cells(downloaded.data) == _cells(_direct(app, direct))

    audited = in_app(
        app,
        lambda: [
            (e.action, e.channel, e.actor_name, e.after["filename"])
            for e in db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.entity_type == entity)
            )
        ],
    )
    assert len(audited) == 1
    action, channel, actor, filename = audited[0]
    assert (action, channel, actor) == ("export", "api", "yc_finance")
    assert filename.endswith(".xlsx")


def test_the_page_button_shows_the_job_with_its_download(app, export):
    _entity, _start, page, direct, kind = export
    client = Client(app)
    client.login("yc_finance", _password(app, "yc_finance"))
    origin = page.replace("/export", "")  # the page with the button
    started = client.post(page, page=origin)
    assert started.status_code == 302 and re.search(r"/jobs/\d+$", started.location)
    shown = client.get(started.location).get_data(as_text=True)
    assert "已完成" in shown
    link = re.search(r'href="(/jobs/\d+/download)"', shown)
    assert link, shown[:2000]
    assert _cells(client.get(link.group(1)).data) == _cells(_direct(app, direct))
    assert client.http.post(page).status_code == 400  # no CSRF token: no job
    assert in_app(app, lambda: db.session.scalar(sa.select(sa.func.count(Job.id)))) == 1


def test_another_county_and_other_roles_do_not_see_the_export(app, api, make_token, make_user):
    make_user("qs-finance", role="finance", region_code="140521")
    make_user("yc-evaluator", role="evaluator")
    start = EXPORTS["ledger"][0]
    mine = make_token("yc_finance")
    made = api.post(start, token=mine)
    ours = _cells(api.get(made.json["download_url"], token=mine).data)
    assert any("140522" in str(cell) for row in ours for cell in row)  # the contracts' numbers
    other = make_token("qs-finance")
    assert api.get(made.headers["Location"], token=other).status_code == 404
    assert api.get(made.json["download_url"], token=other).status_code == 404
    evaluator = make_token("yc-evaluator")
    assert api.post(start, token=evaluator).status_code == 403
    assert api.get(made.headers["Location"], token=evaluator).status_code == 403

    theirs = api.post(start, token=other)  # their own county's ledger: none of Yangcheng's
    assert theirs.status_code == 202
    job = api.get(theirs.headers["Location"], token=other).json
    rows = _cells(api.get(job["download_url"], token=other).data)
    assert not any("140522" in str(cell) for row in rows for cell in row)


def test_a_bad_month_is_refused_without_a_job(app, api, make_token):
    token = make_token("yc_finance")
    refused = api.post("/api/v1/under-delivery/exports?month=2026-13", token=token)
    assert refused.status_code == 422
    missing = api.post("/api/v1/under-delivery/exports", token=token)
    assert missing.status_code == 422 and "month" in missing.json["error"]["fields"]
    assert in_app(app, lambda: db.session.scalar(sa.select(sa.func.count(Job.id)))) == 0
