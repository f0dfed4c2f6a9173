"""Long work as jobs: the request answers at once with the job, a worker does the work
once, in one transaction, and the job's page and API show its progress and outcome."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from procurement import create_app
from procurement.accounts.models import User
from procurement.contracts import services as contract_services
from procurement.contracts.models import Contract
from procurement.core.audit import Actor, set_actor
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.errors import ValidationError
from procurement.demo.providers import load_demo_awards
from procurement.jobs import runner
from procurement.jobs.models import Job, JobStatus
from procurement.jobs.queue import job_queue
from procurement.plans.models import PurchasePlan
from tests.conftest import BASE_CONFIG, SNAPSHOTS
from tests.contracts.conftest import _build_world, bid_season  # noqa: F401 - fixture

APP = {}

# Workers are other threads with connections of their own: they see only committed data.
pytestmark = pytest.mark.real_commits


@pytest.fixture
def awarded(app, monkeypatch):
    """The demo plan's three zones awarded, no contract made yet (committed, and no
    application context left open: the web client's requests have their own)."""
    APP["app"] = app
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        SNAPSHOTS.restore_or_build("world", _build_world)
        officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
        plan = db.session.scalar(select(PurchasePlan))
        with monkeypatch.context() as patch:
            patch.setattr(contract_services, "generate_all", lambda plan, actor: [])
            load_demo_awards(officer, plan)
        db.session.commit()
        plan_id = plan.id
        db.session.remove()
    return plan_id


def _contracts() -> int:
    with APP["app"].app_context():
        return db.session.scalar(select(func.count()).select_from(Contract))


@pytest.fixture
def officer(make_user, make_token):
    make_user("job_officer")
    return make_token("job_officer")


def test_the_plans_contracts_are_made_by_a_job_shown_on_its_page(client, awarded, officer):
    client.login("job_officer")
    response = client.post(f"/plans/{awarded}/contracts", page=f"/plans/{awarded}/selection/")
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    assert "/jobs/" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "已完成" in page and "已生成 3 份合同。" in page
    assert _contracts() == 3
    with APP["app"].app_context():
        job = db.session.scalar(select(Job))
        assert (job.status, job.kind, job.attempts) == (JobStatus.DONE, "contracts.generate", 1)
        assert len(job.result["links"]) == 3
    listing = client.get("/jobs").get_data(as_text=True)
    assert f'href="/jobs/{job.id}"' in listing


def test_the_api_answers_202_with_the_job_and_its_url(api, awarded, officer):
    made = api.post(f"/api/v1/plans/{awarded}/contracts", token=officer)
    assert made.status_code == 202, made.json
    assert made.headers["Location"] == made.json["url"] == f"/api/v1/jobs/{made.json['id']}"
    job = api.get(made.json["url"], token=officer).json
    assert (job["status"], len(job["links"])) == ("done", 3)

    archive = api.post(f"/api/v1/plans/{awarded}/contracts/archive", token=officer)
    assert archive.status_code == 202
    body = api.get(archive.json["url"], token=officer).json
    assert body["status"] == "done" and body["download_url"]
    data = api.get(body["download_url"], token=officer).data
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sum(name.endswith(".docx") for name in names) == 3

    mine = api.get("/api/v1/jobs?mine=true", token=officer).json
    assert [item["kind"] for item in mine["items"]] == ["contracts.archive", "contracts.generate"]


def test_the_same_work_twice_at_once_is_one_job_and_a_clear_409(app, api, awarded, officer):
    with app.app_context():
        from procurement.accounts.services import find_user

        running = Job(
            kind="contracts.generate",
            key=f"contracts.generate:{awarded}",
            params={"plan_id": awarded},
            status=JobStatus.RUNNING,
            created_by=find_user("job_officer"),
            region_code="140522",
            started_at=utcnow(),
        )
        db.session.add(running)
        db.session.commit()
        running_id = running.id
    again = api.post(f"/api/v1/plans/{awarded}/contracts", token=officer)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "job_already_running"
    assert again.json["error"]["fields"]["job"] == [f"/api/v1/jobs/{running_id}"]
    assert _contracts() == 0


def test_a_job_that_fails_half_way_writes_nothing_and_says_why(api, awarded, officer, monkeypatch):
    real = contract_services.generate_contract
    calls = []

    def second_fails(zone, **kwargs):
        calls.append(zone.id)
        if len(calls) == 2:
            raise ValidationError("第二个片区的模板字段无法填写")
        return real(zone, **kwargs)

    monkeypatch.setattr(contract_services, "generate_contract", second_fails)
    made = api.post(f"/api/v1/plans/{awarded}/contracts", token=officer)
    job = api.get(made.json["url"], token=officer).json
    assert (job["status"], job["error"]) == ("failed", "第二个片区的模板字段无法填写")
    assert _contracts() == 0, "the first zone's contract was rolled back with the job"

    monkeypatch.setattr(contract_services, "generate_contract", real)
    retried = api.post(f"/api/v1/jobs/{made.json['id']}/retry", token=officer)
    assert retried.status_code == 202 and retried.json["status"] == "done"
    assert _contracts() == 3


def test_a_job_runs_once_even_if_two_workers_take_it(app, awarded, officer):
    with app.app_context():
        from procurement.accounts.services import find_user

        job = Job(
            kind="contracts.generate",
            key=f"contracts.generate:{awarded}",
            params={"plan_id": awarded},
            created_by=find_user("job_officer"),
            region_code="140522",
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        runner.run(job_id)
        runner.run(job_id)  # the second worker finds it no longer queued
        assert db.session.get(Job, job_id).attempts == 1
    assert _contracts() == 3


def test_a_job_whose_worker_stopped_is_shown_failed_and_can_run_again(
    client, app, awarded, officer
):
    with app.app_context():
        from procurement.accounts.services import find_user

        job = Job(
            kind="contracts.generate",
            key=f"contracts.generate:{awarded}",
            params={"plan_id": awarded},
            created_by=find_user("job_officer"),
            region_code="140522",
            status=JobStatus.RUNNING,
            started_at=utcnow() - timedelta(hours=1),
            attempts=1,
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    client.login("job_officer")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "失败" in page and "未保存任何结果" in page, page[page.find("<main") :]
    retried = client.post(f"/jobs/{job_id}/retry")
    assert retried.status_code == 302
    assert _contracts() == 3


def test_another_countys_officer_sees_no_job(api, awarded, officer, make_user, make_token):
    made = api.post(f"/api/v1/plans/{awarded}/contracts", token=officer)
    make_user("qs_officer2", region_code="140521")
    other = make_token("qs_officer2")
    assert api.get(made.json["url"], token=other).status_code == 404
    assert api.get("/api/v1/jobs", token=other).json["total"] == 0


# ----------------------------------------------------------------- real queues


@pytest.fixture
def real_app(app):
    """Make an app whose jobs go through a real queue; its connections are closed after."""
    made = []

    def make(**settings):
        real = create_app(
            {
                **BASE_CONFIG,
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "INSTANCE_PATH": app.instance_path,
                "JOBS_IMMEDIATE": False,
                **settings,
            }
        )
        made.append(real)
        return real

    yield make
    for real in made:
        with real.app_context():
            job_queue().stop()
            db.session.remove()
            db.engine.dispose()


def _wait_until_finished(real, job_id: int, seconds: float = 60) -> Job:
    deadline = time.monotonic() + seconds
    with real.app_context():
        while time.monotonic() < deadline:
            job = db.session.get(Job, job_id)
            if job.status.finished:
                return job
            db.session.rollback()
            time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish within {seconds} s")


def _run_through(real, awarded, officer) -> None:
    api = real.test_client()
    headers = {"Authorization": f"Bearer {officer}", "Accept": "application/json"}
    made = api.post(f"/api/v1/plans/{awarded}/contracts", headers=headers)
    assert made.status_code == 202 and made.json["status"] in ("queued", "running", "done")
    job = _wait_until_finished(real, made.json["id"])
    assert job.status is JobStatus.DONE, job.error
    state = api.get(made.json["url"], headers=headers).json
    assert state["status"] == "done" and len(state["links"]) == 3
    assert _contracts() == 3


def test_the_embedded_sqlite_queue_runs_jobs_with_no_other_process(real_app, awarded, officer):
    real = real_app(JOBS_BACKEND="sqlite", JOBS_EMBEDDED_WORKERS=1)
    _run_through(real, awarded, officer)


def _redis_or_skip(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"no Redis at {url}: the production queue is tested where Redis runs")


def test_the_redis_queue_runs_jobs_in_a_separate_worker(real_app, awarded, officer):
    url = "redis://127.0.0.1:6379/15"
    _redis_or_skip(url)
    real = real_app(
        JOBS_BACKEND="redis", JOBS_REDIS_URL=url, JOBS_QUEUE_NAME=f"test-{time.time_ns()}"
    )
    with real.app_context():
        from procurement.jobs.queue import consumer_for

        worker = consumer_for(real, 1, embedded=True)
        worker.start()
    try:
        _run_through(real, awarded, officer)
    finally:
        worker.stop(graceful=True)
        with real.app_context():
            job_queue().huey.flush()


def test_redis_unavailable_is_a_clear_error_at_submission_not_a_lost_job(
    real_app, awarded, officer
):
    real = real_app(JOBS_BACKEND="redis", JOBS_REDIS_URL="redis://127.0.0.1:1/0")
    api = real.test_client()
    headers = {"Authorization": f"Bearer {officer}", "Accept": "application/json"}
    refused = api.post(f"/api/v1/plans/{awarded}/contracts", headers=headers)
    assert refused.status_code == 503
    assert refused.json["error"]["code"] == "queue_unavailable"
    assert "队列" in refused.json["error"]["message"]
    with real.app_context():
        job = db.session.scalar(select(Job))
        assert job.status is JobStatus.FAILED and "队列" in job.error
    assert _contracts() == 0


def test_progress_reports_at_most_four_times_a_second_but_always_a_stages_end(app, monkeypatch):
    reported = []
    with app.app_context():
        monkeypatch.setattr(type(job_queue()), "report", lambda self, *a: reported.append(a))
        progress = runner.Progress(7)
        for done in range(1, 101):
            progress("checked", done, 100)
        progress("stored", 0, 1)
    assert reported == [(7, "checked", 1, 100), (7, "checked", 100, 100), (7, "stored", 0, 1)]
