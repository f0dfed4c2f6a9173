"""Roster and provider imports as jobs (issue 16): the upload gives the check report and
writes nothing; the confirmation queues a job that writes the good rows, once, and then
removes the staged file. The same on the pages and through the API; another county's
officer can neither confirm the file nor see the job."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.jobs import runner
from procurement.jobs.models import Job, JobStatus
from procurement.jobs.queue import job_queue
from procurement.providers.models import Provider
from procurement.recipients.models import Recipient
from tests.helpers import in_app

ROSTER = (
    "服务对象",
    ["姓名", "身份证号码", "乡镇", "类别"],
    [
        ["孙奶奶", "11010519491231002X", "凤城镇", "特困"],
        ["坏号", "11010519491231002Y", "凤城镇", "特困"],
    ],
)
PROVIDERS = (
    "承接主体",
    ["名称", "统一社会信用代码", "登记机关", "登记日期", "所在乡镇", "护理人员"],
    [
        ["福寿养老服务有限公司", "91140522MA0K3L4M58", "市场监管", "2016-08-25", "北留镇", 31],
        ["坏代码养老服务部", "91350100M000100Y4Z", "市场监管", "2018-01-01", "凤城镇", 3],
    ],
)
REGISTERS = {
    # path, the file, the model, the name written, the name refused, the job's kind
    "recipients": ("/recipients", ROSTER, Recipient, "孙奶奶", "坏号", "recipients.import"),
    "providers": (
        "/providers",
        PROVIDERS,
        Provider,
        "福寿养老服务有限公司",
        "坏代码养老服务部",
        "providers.import",
    ),
}


@pytest.fixture(params=sorted(REGISTERS))
def register(request):
    return REGISTERS[request.param]


@pytest.fixture
def users(app, yangcheng, make_user):
    make_user("yc-officer")
    make_user("yc-finance", role="finance")
    make_user("qs-officer", region_code="140521")


def _xlsx(sheet: str, headers: list, rows: list) -> bytes:
    book = Workbook()
    first = book.active
    first.title = sheet
    first.append(headers)
    for row in rows:
        first.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _names(app, model) -> list[str]:
    return in_app(app, lambda: sorted(db.session.scalars(sa.select(model.name))))


def _staged_files(app) -> list[Path]:
    folder = Path(app.instance_path) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def _check(api, path, token, data: bytes, filename="file.xlsx"):
    return api.http.post(
        f"/api/v1{path}/imports",
        data={"file": (BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def test_the_api_checks_then_a_job_writes_once_and_removes_the_file(
    app, api, make_token, users, register
):
    path, (sheet, headers, rows), model, good, bad, kind = register
    token = make_token("yc-officer")
    checked = _check(api, path, token, _xlsx(sheet, headers, rows))
    assert checked.status_code == 201, checked.json
    report = checked.json
    assert (report["good"], report["bad"]) == (1, 1)
    assert [(r["row"], r["ok"]) for r in report["rows"]] == [(2, True), (3, False)]
    assert report["rows"][1]["messages"]  # the refused row says why
    assert _names(app, model) == [] and _staged_files(app)

    made = api.post(f"/api/v1{path}/imports/{report['token']}/confirm", token=token)
    assert made.status_code == 202, made.json
    assert made.headers["Location"] == made.json["url"]
    job = api.get(made.headers["Location"], token=token).json
    assert (job["kind"], job["status"]) == (kind, "done")
    assert job["summary"].startswith("已导入 1 行") and "1 行未导入" in job["summary"]
    assert job["links"] and job["links"][0]["url"].startswith(path)
    assert _names(app, model) == [good]
    assert _staged_files(app) == []  # removed once the job committed
    audited = in_app(
        app,
        lambda: db.session.scalars(
            sa.select(AuditEvent.after).where(
                AuditEvent.action == "import", AuditEvent.entity_id == report["token"]
            )
        ).all(),
    )
    assert [(a["imported_rows"], a["refused_rows"]) for a in audited] == [(1, 1)]

    again = api.post(f"/api/v1{path}/imports/{report['token']}/confirm", token=token)
    assert again.status_code == 409
    assert again.json["error"]["fields"]["job"] == [job["url"]]
    assert in_app(app, lambda: db.session.scalar(sa.select(sa.func.count(Job.id)))) == 1
    assert _names(app, model) == [good]


def test_the_job_reports_each_row_as_it_is_checked(
    app, api, make_token, users, register, monkeypatch
):
    path, (sheet, headers, rows), *_ = register
    reported = []
    queue = type(in_app(app, job_queue))
    monkeypatch.setattr(queue, "report", lambda self, job, *stage: reported.append(stage))
    monkeypatch.setattr(runner.Progress, "EVERY", 0)  # every report, however close
    token = make_token("yc-officer")
    checked = _check(api, path, token, _xlsx(sheet, headers, rows))
    made = api.post(f"/api/v1{path}/imports/{checked.json['token']}/confirm", token=token)
    assert made.status_code == 202, made.json
    assert reported == [
        ("start", 0, None),
        ("read", 1, 1),
        ("checked", 1, 2),
        ("checked", 2, 2),
        ("checked", 2, 2),
    ]


def test_a_file_that_cannot_be_read_is_refused_and_nothing_is_kept(
    app, api, make_token, users, register
):
    path, _file, model, *_ = register
    token = make_token("yc-officer")
    refused = _check(api, path, token, b"not a workbook")
    assert refused.status_code == 422 and refused.json["error"]["message"]
    missing = api.post(f"/api/v1{path}/imports", token=token)
    assert missing.status_code == 422 and "file" in missing.json["error"]["fields"]
    unknown = api.post(f"/api/v1{path}/imports/AAAAAAAAAAAAAAAAAAAAAA/confirm", token=token)
    assert unknown.status_code == 422
    assert _staged_files(app) == [] and _names(app, model) == []
    assert in_app(app, lambda: db.session.scalar(sa.select(sa.func.count(Job.id)))) == 0


def test_a_register_changed_meanwhile_fails_the_job_and_writes_nothing(app, api, make_token, users):
    path, (sheet, headers, rows), model, good, *_ = REGISTERS["providers"]
    token = make_token("yc-officer")
    first = _check(api, path, token, _xlsx(sheet, headers, rows)).json
    second = _check(api, path, token, _xlsx(sheet, headers, rows[:1])).json
    confirmed = api.post(f"/api/v1{path}/imports/{second['token']}/confirm", token=token)
    assert confirmed.status_code == 202
    failed = api.post(f"/api/v1{path}/imports/{first['token']}/confirm", token=token)
    job = api.get(failed.headers["Location"], token=token).json
    assert job["status"] == "failed" and "重新检查" in job["error"]
    assert _names(app, model) == [good]  # from the second file only
    assert len(_staged_files(app)) == 2  # the failed job's file waits, to be run again


def test_another_county_or_role_can_neither_confirm_nor_see(app, api, make_token, users, register):
    path, (sheet, headers, rows), model, *_ = register
    officer, other, finance = (make_token(u) for u in ("yc-officer", "qs-officer", "yc-finance"))
    report = _check(api, path, officer, _xlsx(sheet, headers, rows)).json
    url = f"/api/v1{path}/imports/{report['token']}/confirm"
    assert api.post(url, token=other).status_code == 422  # not their file
    assert api.post(url, token=finance).status_code == 403
    assert _check(api, path, finance, _xlsx(sheet, headers, rows)).status_code == 403
    assert _names(app, model) == []
    made = api.post(url, token=officer)
    assert made.status_code == 202
    assert api.get(made.headers["Location"], token=other).status_code == 404
    assert api.get(made.headers["Location"], token=finance).status_code == 403
    listed = api.get("/api/v1/jobs", token=other).json
    assert listed["items"] == []


def test_the_page_confirmation_shows_the_job_and_its_result(app, client, users, register):
    path, (sheet, headers, rows), model, good, bad, _kind = register
    client.login("yc-officer")
    csrf = client.csrf(f"{path}/import")
    staged = client.http.post(
        f"{path}/import",
        data={"csrf_token": csrf, "file": (BytesIO(_xlsx(sheet, headers, rows)), "f.xlsx")},
        content_type="multipart/form-data",
    )
    page = staged.get_data(as_text=True)
    assert staged.status_code == 200 and bad in page and _names(app, model) == []
    token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    done = client.post(f"{path}/import/confirm", {"token": token}, page=f"{path}/import")
    assert done.status_code == 302 and re.search(r"/jobs/\d+$", done.location)
    shown = client.get(done.location).get_data(as_text=True)
    assert "已完成" in shown and "已导入 1 行" in shown and f'href="{path}' in shown
    assert _names(app, model) == [good]
    again = client.post(f"{path}/import/confirm", {"token": token}, page=f"{path}/import")
    assert again.location == done.location  # the same job, not a second one
    job = in_app(app, lambda: db.session.scalars(sa.select(Job.status)).all())
    assert job == [JobStatus.DONE]
