"""The OCDS bulk package of a year as a job (issue 16): every plan of the year in the
user's region with something published, as one release package that validates against
OCDS 1.1 with the extensions, made off the request and downloaded from the job."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from procurement.core.db import db
from procurement.jobs import runner
from procurement.jobs.models import Job, JobStatus
from tests.helpers import in_app
from tests.public.conftest import site  # noqa: F401 (a fixture)
from tests.public.test_ocds import package_of, validate
from tests.settlements.conftest import care_site  # noqa: F401 (a fixture)
from tests.settlements.test_import_jobs import queued_app  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("site")  # the demo plan, its awards and two contracts


def _jobs(app) -> int:
    return in_app(app, lambda: db.session.scalar(sa.select(sa.func.count(Job.id))))


def test_the_years_package_is_a_job_whose_download_validates(app, api, make_token):
    token = make_token("yc_officer")
    made = api.post("/api/v1/ocds/packages?year=2026", token=token)
    assert made.status_code == 202, made.json
    assert made.headers["Location"] == made.json["url"]
    job = api.get(made.headers["Location"], token=token).json
    assert (job["kind"], job["status"]) == ("ocds.package", "done"), job
    downloaded = api.get(job["download_url"], token=token)
    assert downloaded.status_code == 200 and downloaded.mimetype == "application/json"
    package = json.loads(downloaded.data)
    validate(package)
    plan = in_app(app, lambda: db.session.scalar(sa.text("SELECT id FROM purchase_plans")))
    single = package_of(app, plan)
    assert package["releases"] == single["releases"]  # the plan's release, as published
    assert package["uri"].endswith("/api/v1/ocds/packages?year=2026")
    assert job["summary"] == "此发布包包含 1 个计划。"
    assert package["publisher"] == {"name": "阳城县民政局"}


def test_a_province_package_is_published_by_the_province_department(
    app, api, make_token, make_user
):
    make_user("sx-officer", region_code="140000")
    token = make_token("sx-officer")
    made = api.post("/api/v1/ocds/packages?year=2026", token=token)
    assert made.status_code == 202, made.json
    job = api.get(made.headers["Location"], token=token).json
    package = json.loads(api.get(job["download_url"], token=token).data)
    validate(package)
    assert package["publisher"] == {"name": "山西省民政厅"}  # not the first plan's county
    assert [r["buyer"]["name"] for r in package["releases"]] == ["阳城县民政局"]


def test_a_year_with_nothing_published_is_refused_without_a_job(app, api, make_token):
    token = make_token("yc_officer")
    refused = api.post("/api/v1/ocds/packages?year=2025", token=token)
    assert refused.status_code == 422 and "year" in refused.json["error"]["fields"]
    assert api.post("/api/v1/ocds/packages", token=token).status_code == 422
    assert api.post("/api/v1/ocds/packages?year=2026").status_code == 401
    assert _jobs(app) == 0


def test_another_county_neither_sees_the_job_nor_gets_our_plans(app, api, make_token, make_user):
    make_user("qs-officer", region_code="140521")
    made = api.post("/api/v1/ocds/packages?year=2026", token=make_token("yc_officer"))
    other = make_token("qs-officer")
    assert api.get(made.headers["Location"], token=other).status_code == 404
    assert api.get(made.json["download_url"], token=other).status_code == 404
    theirs = api.post("/api/v1/ocds/packages?year=2026", token=other)
    assert theirs.status_code == 422  # nothing of 沁水县 is published
    assert _jobs(app) == 1


@pytest.mark.real_commits  # a second engine on the database: it sees committed rows only
def test_a_worker_builds_the_package_outside_any_request(app, queued_app, make_token):  # noqa: F811
    token = make_token("yc_officer")
    http = queued_app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    made = http.post("/api/v1/ocds/packages?year=2026", headers=headers)
    assert made.status_code == 202 and made.json["status"] == "queued"
    again = http.post("/api/v1/ocds/packages?year=2026", headers=headers)
    assert again.status_code == 409  # the same package while it waits
    with queued_app.app_context():
        runner.run(made.json["id"])  # what a worker does: no request around it
        assert db.session.get(Job, made.json["id"]).status is JobStatus.DONE
    job = http.get(made.json["url"], headers=headers).json
    package = json.loads(http.get(job["download_url"], headers=headers).data)
    validate(package)
    assert package["uri"].startswith("http://localhost/")
