"""Submitting a job and running it: once, in one transaction, with its outcome recorded.

A job is claimed by moving it from queued to running in one UPDATE: if two workers see
the same job, one of them moves it and the other finds nothing to do. The handler's
writes and the job's "done" are committed together, so a worker killed mid-way leaves
no trace of the work: the job stays "running" until its progress is older than
``JOBS_STALL_SECONDS``, and is then shown as failed, to be run again.
"""

from __future__ import annotations

import logging
import time

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from procurement.accounts.models import User
from procurement.core.audit import Actor, current_actor, record, set_actor
from procurement.core.clock import utcnow
from procurement.core.db import begin_writing_at_once, db
from procurement.core.errors import (
    DATABASE_UNAVAILABLE,
    UNAVAILABLE,
    Conflict,
    DomainError,
    describe,
    is_write_clash,
)
from procurement.core.scoping import activate_scope
from procurement.jobs.kinds import KINDS
from procurement.jobs.models import ACTIVE, Job, JobStatus
from procurement.jobs.queue import job_queue

log = logging.getLogger(__name__)


class QueueUnavailable(DomainError):
    status = 503
    code = "queue_unavailable"


class AlreadyRunning(Conflict):
    """The same work is waiting or running: ``job`` is that job."""

    code = "job_already_running"

    def __init__(self, job: Job) -> None:
        super().__init__(
            _("This work is already under way (job %(id)s); wait for it to finish.", id=job.id)
        )
        self.job = job


def submit(kind: str, key: str, params: dict, *, user: User, region_code: str) -> Job:
    """Record the job, commit, and put it on the queue. The same ``key`` while an earlier
    job of it is waiting or running raises ``AlreadyRunning``."""
    KINDS[kind]  # an unknown kind is a programming error, found before anything is written
    job = Job(
        kind=kind,
        key=key,
        params=params,
        channel=current_actor().channel,
        created_by=user,
        region_code=region_code,
    )
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        running = db.session.scalars(
            select(Job).where(Job.key == key, Job.status.in_(ACTIVE))
        ).first()
        if running is None:  # it finished in between: the caller may simply try again
            raise Conflict() from None
        raise AlreadyRunning(running) from None
    job_id = job.id
    record(
        "queue",
        entity_type="job",
        entity_id=job_id,
        region_code=region_code,
        after={"kind": kind, "params": params},
    )
    db.session.commit()
    try:
        job_queue().submit(job_id)
    except Exception as error:  # noqa: BLE001 - Redis down, disk full: the job cannot start
        log.error("job %s could not be queued: %s", job_id, describe(error))
        message = _("The job queue is unavailable; the work was not started. Try again later.")
        _finish(job_id, JobStatus.FAILED, error=message)
        raise QueueUnavailable(message) from error
    db.session.rollback()  # a snapshot read before the worker committed would show it queued
    return db.session.get(Job, job_id)


class Progress:
    """What a handler reports as it goes: ``progress("documents", 3, 10)``. A handler may
    report every row: within a stage, a report closer than ``EVERY`` seconds to the last
    one is skipped unless it ends the stage (the page polls once a second)."""

    EVERY = 0.25

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.queue = job_queue()
        self.last: tuple[str, float] | None = None

    def __call__(self, stage: str, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if (
            self.last is not None
            and self.last[0] == stage
            and now - self.last[1] < self.EVERY
            and done != total
        ):
            return
        self.last = (stage, now)
        self.queue.report(self.job_id, stage, done, total)


def run(job_id: int) -> None:
    """Run a queued job (in a worker, inside an application context)."""
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=utcnow(), attempts=Job.attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        return  # another worker has it, or it was withdrawn
    begin_writing_at_once(db.session)
    job = db.session.get(Job, job_id)
    kind = KINDS[job.kind]
    params = job.params
    _act_as(job)
    progress = Progress(job_id)
    progress("start", 0)
    failure = None
    try:
        result = kind.handler(params, progress)
        job.status, job.result, job.finished_at = JobStatus.DONE, result, utcnow()
        db.session.commit()
        if kind.after is not None:
            _after(kind, params)
    except DomainError as error:
        failure = error.message
    except Exception as error:  # noqa: BLE001 - the job fails, the worker goes on
        log.error("job %s (%s) failed: %s", job_id, kind.name, describe(error))
        failure = _failure(error)
    try:
        if failure is not None:
            # Out of the except block: the error and the driver's statements its frames
            # held are gone, so a connection dropped below is closed at once (SQLite
            # keeps a closed connection's write lock while a statement of it is alive).
            _roll_back()
            _finish(job_id, JobStatus.FAILED, error=failure)
    finally:
        job_queue().forget(job_id)


def _after(kind, params: dict) -> None:
    """The kind's tidying once its work is committed; a failure there is logged, the job
    stays done."""
    try:
        kind.after(params)
    except Exception as error:  # noqa: BLE001 - the work itself is committed
        log.warning("after job (%s): %s", kind.name, describe(error))


def _roll_back() -> None:
    """Undo the job's writes; if the connection itself is gone, drop it (the job's outcome
    is then written on a new one)."""
    try:
        db.session.rollback()
    except Exception as error:  # noqa: BLE001 - the connection itself may be gone
        log.warning("rollback failed: %s", describe(error))
        db.session().invalidate()


def _failure(error: Exception) -> str:
    """Why the job failed, as the user is told it: the database's state, or a bug."""
    if is_write_clash(error):
        return _(
            "Someone else changed the same records at the same time; nothing of the job "
            "was saved. Run it again."
        )
    if isinstance(error, UNAVAILABLE):
        return str(DATABASE_UNAVAILABLE)
    return _("The job failed unexpectedly; nothing of it was saved. It has been logged.")


def retry(job: Job) -> Job:
    """Put a failed job back on the queue, as it was asked."""
    if job.status is not JobStatus.FAILED:
        raise Conflict(_("Only a failed job can be run again."))
    return submit(job.kind, job.key, job.params, user=g.user, region_code=job.region_code)


def stalled(job: Job) -> bool:
    """A running job whose worker stopped reporting: it was cut short (its writes were
    rolled back with its connection)."""
    if job.status is not JobStatus.RUNNING:
        return False
    last = job_queue().progress(job.id)
    seen = last[3] if last else job.started_at.timestamp()
    return time.time() - seen > current_app.config["JOBS_STALL_SECONDS"]


def give_up_stalled(job: Job) -> None:
    if stalled(job):
        _finish(
            job.id,
            JobStatus.FAILED,
            error=_("The worker stopped while running this job; nothing of it was saved."),
            only_if=JobStatus.RUNNING,
        )
        db.session.refresh(job)


def _finish(job_id: int, status: JobStatus, *, error: str, only_if: JobStatus | None = None):
    statement = update(Job).where(Job.id == job_id)
    if only_if is not None:
        statement = statement.where(Job.status == only_if)
    db.session.execute(statement.values(status=status, error=error, finished_at=utcnow()))
    db.session.commit()


def _act_as(job: Job) -> None:
    """The job's writes are audited and scoped as the request that asked for it."""
    user = job.created_by
    g.user = user
    set_actor(Actor(user.id, user.username, job.channel, user.region_code))
    activate_scope(user.region.scope)
