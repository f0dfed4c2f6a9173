"""``flask --app procurement worker``: run jobs from the queue until stopped (Ctrl-C or
SIGTERM finish the jobs under way first: Huey's own consumer and signals)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from procurement.jobs.queue import consumer_for


@click.command("worker", help="Run queued jobs (contracts, archives, imports) until stopped.")
@click.option("--workers", "-w", default=2, show_default=True, help="Worker threads.")
@with_appcontext
def worker_command(workers: int) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"jobs: {app.config['JOBS_BACKEND']} queue, {workers} worker thread(s)")
    consumer_for(app, workers).run()
