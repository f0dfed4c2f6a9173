"""Huey, the job queue: the request puts a job's id on it, a worker takes it off.

Huey (a small, well-kept task queue) has the two backends this product needs: an
embedded SQLite store, so that the default installation runs jobs with nothing more to
install or start (``flask run`` starts worker threads in its own process), and Redis,
through which any number of ``flask --app procurement worker`` processes on any number
of machines share the work in production. Settings: ``JOBS_BACKEND`` (``sqlite`` or
``redis``), ``JOBS_REDIS_URL``, ``JOBS_EMBEDDED_WORKERS`` (worker threads inside each web
process on SQLite; 0 for none) and ``JOBS_IMMEDIATE`` (tests: run at submission).

Progress while a job runs lives in Huey's key-value store, not in the application's
database: a job's writes are one transaction, and a progress row in that database would
wait for them (SQLite has one writer).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Huey, TaskWrapper
from huey.consumer import Consumer

log = logging.getLogger(__name__)


@dataclass
class JobQueue:
    huey: Huey
    run_job: TaskWrapper
    embedded_workers: int
    consumer: Consumer | None = None

    def submit(self, job_id: int) -> None:
        """Put the job on the queue (raises the backend's error if it cannot)."""
        self.run_job(job_id)

    def report(self, job_id: int, stage: str, done: int, total: int | None) -> None:
        self.huey.put(_progress_key(job_id), (stage, done, total, time.time()))

    def progress(self, job_id: int) -> tuple[str, int, int | None, float] | None:
        """The last progress reported for a running job: stage, done, total, when."""
        return self.huey.get(_progress_key(job_id), peek=True)

    def forget(self, job_id: int) -> None:
        self.huey.get(_progress_key(job_id))

    def stop(self) -> None:
        """Stop this process's embedded workers (after the job under way)."""
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
            self.consumer = None


def _progress_key(job_id: int) -> str:
    return f"job:{job_id}:progress"


def init_jobs(app: Flask) -> None:
    """Make the app's queue and the one task that runs a job by its id."""
    huey = _make_huey(app)

    def run_job(job_id: int) -> None:
        from procurement.jobs.runner import run

        with app.app_context():
            run(job_id)

    task = huey.task(name="procurement.run_job")(run_job)
    queue = JobQueue(huey, task, app.config["JOBS_EMBEDDED_WORKERS"])
    app.extensions["jobs"] = queue
    if _embedded(app):
        app.before_request(lambda: _start_embedded_consumer(queue))


def job_queue() -> JobQueue:
    return current_app.extensions["jobs"]


def _make_huey(app: Flask) -> Huey:
    if app.config["JOBS_IMMEDIATE"]:
        return MemoryHuey("procurement", immediate=True)
    backend = app.config["JOBS_BACKEND"]
    if backend == "redis":
        return RedisHuey(app.config["JOBS_QUEUE_NAME"], url=app.config["JOBS_REDIS_URL"])
    if backend == "sqlite":
        path = Path(app.instance_path) / "jobs.sqlite3"
        return SqliteHuey(app.config["JOBS_QUEUE_NAME"], filename=str(path))
    raise RuntimeError(f"JOBS_BACKEND must be 'sqlite' or 'redis', not {backend!r}")


def _embedded(app: Flask) -> bool:
    return (
        not app.config["JOBS_IMMEDIATE"]
        and app.config["JOBS_BACKEND"] == "sqlite"
        and app.config["JOBS_EMBEDDED_WORKERS"] > 0
    )


class EmbeddedConsumer(Consumer):
    """Huey's consumer with worker threads inside a web process: it leaves the web
    server's signal handlers alone (the server decides when the process ends; the
    threads are daemons and a job cut short leaves nothing, see the runner)."""

    def _set_signal_handlers(self) -> None:
        pass


_starting = threading.Lock()


def _start_embedded_consumer(queue: JobQueue) -> None:
    """The first request a web process serves starts its worker threads."""
    if queue.consumer is not None:
        return
    with _starting:
        if queue.consumer is not None:
            return
        consumer = EmbeddedConsumer(
            queue.huey, workers=queue.embedded_workers, worker_type="thread", periodic=False
        )
        consumer.start()
        queue.consumer = consumer
        log.info("jobs: %d embedded worker thread(s) started", queue.embedded_workers)


def consumer_for(app: Flask, workers: int, *, embedded: bool = False) -> Consumer:
    """A consumer for ``flask worker`` (Huey's own, which stops on SIGINT/SIGTERM after
    the jobs under way), or one that leaves the signals alone (``embedded``)."""
    queue: JobQueue = app.extensions["jobs"]
    if app.config["JOBS_IMMEDIATE"]:
        raise RuntimeError("JOBS_IMMEDIATE runs jobs at submission: there is nothing to consume")
    kind = EmbeddedConsumer if embedded else Consumer
    return kind(queue.huey, workers=workers, worker_type="thread", periodic=False)
