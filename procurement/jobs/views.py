"""The jobs' pages: the list (mine, and my county's), one job with its progress bar,
its download, and running a failed one again."""

from __future__ import annotations

from io import BytesIO

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from procurement.accounts.auth import permission_required
from procurement.core.db import db
from procurement.core.errors import DomainError, NotFound, PermissionDenied
from procurement.core.files import read_blob
from procurement.core.forms import ActionForm
from procurement.jobs import runner
from procurement.jobs.kinds import KINDS, STAGES
from procurement.jobs.models import Job
from procurement.jobs.queue import job_queue

bp = Blueprint("jobs", __name__)


def visible_job(job_id: int) -> Job:
    """The job, if it lies in the user's region and the user may see its kind's result."""
    job = db.session.scalars(select(Job).where(Job.id == job_id)).first()
    if job is None:
        raise NotFound()
    if not g.user.can(KINDS[job.kind].permission):
        raise PermissionDenied()
    runner.give_up_stalled(job)
    return job


def visible_jobs(*, mine: bool):
    kinds = [k.name for k in KINDS.values() if g.user.can(k.permission)]
    statement = select(Job).where(Job.kind.in_(kinds)).order_by(Job.id.desc())
    if mine:
        statement = statement.where(Job.created_by_id == g.user.id)
    return statement


def job_state(job: Job) -> dict:
    """What the page and the API show of a job: status, stage and progress, outcome."""
    stage, done, total = None, 0, None
    if job.status.value == "running":
        last = job_queue().progress(job.id)
        if last:
            stage, done, total = last[0], last[1], last[2]
    result = job.result or {}
    return {
        "id": job.id,
        "kind": job.kind,
        "title": str(KINDS[job.kind].title),
        "status": job.status.value,
        "status_label": job.status.label,
        "stage": stage,
        "stage_label": str(STAGES.get(stage, stage or "")),
        "done": done,
        "total": total,
        "summary": result.get("summary"),
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "created_by": job.created_by.display_name,
        "download": bool(result.get("download")),
        "links": [
            {"label": link["label"], "url": url_for(link["endpoint"], **link["values"])}
            for link in result.get("links", [])
        ],
    }


@bp.route("/jobs")
@permission_required("dashboard.view")
def index():
    mine = request.args.get("mine") == "1"
    page = db.paginate(visible_jobs(mine=mine), per_page=50, error_out=False)
    for job in page.items:
        runner.give_up_stalled(job)
    return render_template("jobs/index.html", page=page, kinds=KINDS, mine=mine)


@bp.route("/jobs/<int:job_id>")
@permission_required("dashboard.view")
def show(job_id: int):
    job = visible_job(job_id)
    return render_template("jobs/show.html", job=job, state=job_state(job), form=ActionForm())


@bp.route("/jobs/<int:job_id>/state")
@permission_required("dashboard.view")
def state(job_id: int):
    """The job's state for its page's script (the page's session, not an API token)."""
    current = job_state(visible_job(job_id))
    return jsonify({k: v for k, v in current.items() if k in POLLED})


POLLED = ("status", "status_label", "stage", "stage_label", "done", "total")


@bp.route("/jobs/<int:job_id>/download")
@permission_required("dashboard.view")
def download(job_id: int):
    job = visible_job(job_id)
    file = (job.result or {}).get("download")
    if not file:
        abort(404)
    return send_file(
        BytesIO(read_blob(file["blob"])),
        as_attachment=True,
        mimetype=file["mimetype"],
        download_name=file["filename"],
    )


@bp.post("/jobs/<int:job_id>/retry")
@permission_required("dashboard.view")
def retry(job_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    job = visible_job(job_id)
    if not g.user.can(KINDS[job.kind].permission):
        raise PermissionDenied()
    try:
        again = runner.retry(job)
    except runner.AlreadyRunning as error:
        flash(error.message, "info")
        return redirect(url_for("jobs.show", job_id=error.job.id))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("jobs.show", job_id=job.id))
    return redirect(url_for("jobs.show", job_id=again.id))


def start(kind: str, key: str, params: dict, *, region_code: str):
    """Start a job from a page and show its page (or the one already under way)."""
    try:
        job = runner.submit(kind, key, params, user=g.user, region_code=region_code)
    except runner.AlreadyRunning as error:
        flash(error.message, "info")
        return redirect(url_for("jobs.show", job_id=error.job.id))
    return redirect(url_for("jobs.show", job_id=job.id))
