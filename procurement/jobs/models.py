"""A job: one piece of long work a user asked for, with its progress and outcome."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.core.clock import utcnow
from procurement.core.db import db, str_enum
from procurement.core.scoping import RegionOwned


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(JOB_STATUS_LABELS[self])

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)


JOB_STATUS_LABELS = {
    JobStatus.QUEUED: _l("Waiting"),
    JobStatus.RUNNING: _l("Running"),
    JobStatus.DONE: _l("Done"),
    JobStatus.FAILED: _l("Stopped with an error"),
}
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(RegionOwned, db.Model):
    """The row is written by the request that asks for the work and by the worker when
    it starts and ends; progress while it runs is kept in the queue's own store (see
    ``procurement.jobs.queue``), so that a long write never waits for it."""

    __tablename__ = "jobs"
    __table_args__ = (
        # One job at a time for the same work (the same plan's contracts, the same file):
        # a second request while the first is waiting or running is told so (409).
        Index(
            "uq_jobs_active_key",
            "key",
            unique=True,
            sqlite_where=db.text("status IN ('queued', 'running')"),
            postgresql_where=db.text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(160))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(12), default="web")
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus, 12), default=JobStatus.QUEUED, index=True
    )
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship()
