"""Jobs under /api/v1: a request that starts long work answers 202 with the job's URL;
the job is then read here until it is done, and its file downloaded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import g, url_for
from pydantic import Field, model_validator

from procurement.core.api import Page, PageQuery, Schema, api_route, paginate
from procurement.jobs import runner
from procurement.jobs.models import Job
from procurement.jobs.views import download, job_state, visible_job, visible_jobs


class JobLink(Schema):
    label: str
    url: str


class JobOut(Schema):
    id: int
    kind: str
    title: str
    status: str
    status_label: str
    stage: str | None
    stage_label: str
    done: int
    total: int | None
    summary: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str
    url: str
    download_url: str | None
    result_url: str | None = Field(
        None, description="What the job made, as JSON (an import's report), once done."
    )
    links: list[JobLink]

    @model_validator(mode="before")
    @classmethod
    def _from_job(cls, value: Any) -> Any:
        return _job_fields(value) if isinstance(value, Job) else value


class JobQuery(PageQuery):
    mine: bool = False


def _job_fields(job: Job) -> dict:
    state = job_state(job)
    state["url"] = url_for("api.get_job", job_id=job.id)
    state["download_url"] = (
        url_for("api.download_job_result", job_id=job.id) if state.pop("download") else None
    )
    made = (job.result or {}).get("api")
    state["result_url"] = url_for(made["endpoint"], **made["values"]) if made else None
    return state


def accepted(kind: str, key: str, params: dict, *, region_code: str):
    """Start a job from the API: 202 with the job and its URL in ``Location``."""
    return started(lambda: runner.submit(kind, key, params, user=g.user, region_code=region_code))


def started(submit: Callable[[], Job]):
    """202 with the job ``submit()`` made; the same work under way is 409 with its URL."""
    try:
        job = submit()
    except runner.AlreadyRunning as error:
        error.fields = {"job": [url_for("api.get_job", job_id=error.job.id)]}
        raise
    return _accepted(job)


def _accepted(job: Job):
    body = JobOut.model_validate(job)
    return body, 202, {"Location": body.url}


@api_route(
    "/jobs",
    summary="My jobs and my region's",
    tag="jobs",
    permission="dashboard.view",
    query=JobQuery,
    response=Page[JobOut],
)
def list_jobs(query: JobQuery):
    return paginate(visible_jobs(mine=query.mine), query, JobOut)


@api_route(
    "/jobs/<int:job_id>",
    summary="A job: status, progress, result",
    tag="jobs",
    permission="dashboard.view",
    response=JobOut,
)
def get_job(job_id: int):
    return visible_job(job_id)


@api_route(
    "/jobs/<int:job_id>/download",
    summary="The file a job made",
    tag="jobs",
    permission="dashboard.view",
    content_type="application/octet-stream",
)
def download_job_result(job_id: int):
    return download(job_id)


@api_route(
    "/jobs/<int:job_id>/retry",
    method="POST",
    summary="Run a failed job again (a new job: 202)",
    tag="jobs",
    permission="dashboard.view",
    response=JobOut,
    status=202,
)
def retry_job(job_id: int):
    return _accepted(runner.retry(visible_job(job_id)))
