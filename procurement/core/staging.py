"""Spreadsheet imports staged for confirmation, for every register that takes one.

An import is tried first: every row in its own savepoint, then everything rolled back,
giving the report; the file waits (a day at most) with the outcome of each row. When the
officer confirms, the same user for the same region, a job (issue 16) tries the file again
and writes it only if every row turns out as the report said (else the register changed
meanwhile and the file must be checked again), with one audit event naming the file;
never a silent half. A file is confirmed once: its job is the one answer to it, and the
file is removed once that job has committed.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

import pandas as pd
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import HiddenField
from wtforms.validators import InputRequired

from procurement.accounts.models import User
from procurement.core import audit, spreadsheets
from procurement.core.api import Schema
from procurement.core.db import db
from procurement.core.errors import UNAVAILABLE, DomainError, ValidationError
from procurement.core.forms import flash_refusal, run_action
from procurement.jobs import runner
from procurement.jobs.models import Job, JobStatus

TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass
class RowReport:
    sheet: str
    row: int
    label: str
    ok: bool
    messages: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    token: str
    filename: str
    rows: list[RowReport]
    imported: int = 0

    @property
    def good(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def bad(self) -> int:
        return sum(1 for r in self.rows if not r.ok)


def try_row(
    sheet: str, index: int, label: str, action: Callable[[], object], columns: dict[str, str]
) -> RowReport:
    """Run one row (``index`` counts data rows from 0) in its own savepoint; a refusal
    becomes the row's messages, each named by its column (``columns``: field -> heading)."""
    row = RowReport(sheet=sheet, row=index + 2, label=label, ok=True)  # row 1 holds headers
    savepoint = db.session.begin_nested()
    try:
        action()
        savepoint.commit()
    except DomainError as error:
        savepoint.rollback()
        row.ok = False
        row.messages = [
            f"{columns[field]}：{message}" if field in columns else message
            for field, messages in (error.fields or {"": [error.message]}).items()
            for message in messages
        ]
    except UNAVAILABLE:
        raise  # the database failed, not the row: the whole import stops, nothing is kept
    except Exception:  # noqa: BLE001 - a cell the services could not even read
        savepoint.rollback()
        row.ok, row.messages = False, [_("The row could not be read.")]
    return row


# Told of each row tried: how many so far, of how many rows the sheets hold.
RowsTried = Callable[[int, int], None]

# Try every row of the workbook's sheets for a region, telling ``RowsTried`` as it goes;
# the caller commits or not.
TryRows = Callable[[dict[str, pd.DataFrame], str, RowsTried], list[RowReport]]


def _as_is(data: bytes) -> bytes:
    return data


@dataclass(frozen=True)
class StagedImports:
    """One register's staged imports."""

    kind: str  # names the staged files and the audit events ("provider_imports")
    job: str  # the kind of job that writes a confirmed file ("providers.import")
    try_rows: TryRows
    changed_meanwhile: Callable[[], str]  # the message when the register changed
    seal: Callable[[bytes], bytes] = _as_is  # how the file waits (encrypted, for a roster)
    unseal: Callable[[bytes], bytes] = _as_is

    def stage(
        self, stream: IO[bytes], filename: str, *, region_code: str, actor: User
    ) -> ImportReport:
        """Read and try the whole file, write nothing, and keep it for confirmation."""
        data = stream.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
        sheets = spreadsheets.read_sheets(data)
        try:
            rows = self.try_rows(sheets, region_code, lambda done, total: None)
        finally:
            db.session.rollback()
        token = secrets.token_urlsafe(16)
        meta_path, data_path = self._paths(token)
        data_path.write_bytes(self.seal(data))
        meta = {
            "region_code": region_code,
            "user_id": actor.id,
            "filename": filename,
            "outcome": _outcome(rows),
            "staged_at": time.time(),
        }
        meta_path.write_text(json.dumps(meta))
        return ImportReport(token=token, filename=filename, rows=rows)

    def confirm(self, token: str, *, region_code: str, user: User) -> Job:
        """Queue the job that writes a checked file. Once per file: a second confirmation,
        while the job waits or runs or after it is done, is refused (409) with that job;
        after a failed one, the file (still waiting) may be confirmed again."""
        key = f"{self.job}:{token}"[:160]
        earlier = db.session.scalars(
            select(Job).where(Job.key == key, Job.status != JobStatus.FAILED)
        ).first()
        if earlier is not None:
            raise AlreadyConfirmed(earlier)
        self._staged(token, region_code=region_code, actor=user)
        params = {"token": token, "region_code": region_code}
        return runner.submit(self.job, key, params, user=user, region_code=region_code)

    def apply(
        self,
        token: str,
        *,
        region_code: str,
        actor: User,
        progress: Callable[..., None] | None = None,
    ) -> ImportReport:
        """Write the good rows of a staged file, as its report said (the caller commits,
        then ``discard``s the file)."""
        meta, data = self._staged(token, region_code=region_code, actor=actor)
        sheets = spreadsheets.read_sheets(data)
        report_progress = progress or _no_progress
        report_progress("read", 1, 1)
        rows = self.try_rows(
            sheets, region_code, lambda done, total: report_progress("checked", done, total)
        )
        report_progress("checked", len(rows), len(rows))
        if _outcome(rows) != meta["outcome"]:
            raise ValidationError(self.changed_meanwhile())
        audit.record(
            "import",
            entity_type=self.kind,
            entity_id=token,
            region_code=region_code,
            after={
                "filename": meta["filename"],
                "sha256": hashlib.sha256(data).hexdigest(),
                "imported_rows": sum(r.ok for r in rows),
                "refused_rows": sum(not r.ok for r in rows),
            },
        )
        report = ImportReport(token=token, filename=meta["filename"], rows=rows)
        report.imported = report.good
        return report

    def discard(self, token: str) -> None:
        """Remove a staged file (its import has been committed)."""
        for path in self._paths(token):
            path.unlink(missing_ok=True)

    def _staged(self, token: str, *, region_code: str, actor: User) -> tuple[dict, bytes]:
        """The staged file's record and its bytes, for the user and region that staged it."""
        if not TOKEN.fullmatch(token or ""):
            raise ValidationError(_("Unknown import."))
        meta_path, data_path = self._paths(token)
        if not meta_path.exists() or not data_path.exists():
            raise ValidationError(
                _("This import has expired or was already applied. Upload the file again.")
            )
        meta = json.loads(meta_path.read_text())
        if meta["user_id"] != actor.id or meta["region_code"] != region_code:
            raise ValidationError(_("Unknown import."))
        return meta, self.unseal(data_path.read_bytes())

    def _paths(self, token: str):
        staging = spreadsheets.staging_dir()
        return staging / f"{token}.{self.kind}.json", staging / f"{token}.{self.kind}.bin"


def _no_progress(stage: str, done: int, total: int | None = None) -> None:
    pass


def _outcome(rows: list[RowReport]) -> list[list]:
    return [[r.sheet, r.row, r.ok] for r in rows]


class AlreadyConfirmed(runner.AlreadyRunning):
    """The file was confirmed before: ``job`` is the job that imports (or imported) it."""

    code = "import_already_confirmed"

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.message = _("This file was already confirmed (job %(id)s).", id=job.id)
        self.args = (self.message,)


def run_job(
    staged: StagedImports, params: dict, progress: Callable[..., None], *, register: str
) -> dict:
    """The work of a staged import's job: the file written, and what its page shows
    (``register``: the endpoint of the register's list)."""
    report = staged.apply(
        params["token"], region_code=params["region_code"], actor=g.user, progress=progress
    )
    summary = _("%(n)d rows were imported.", n=report.imported)
    if report.bad:
        summary += " " + _("%(n)d rows were refused, as the check report said.", n=report.bad)
    return {
        "summary": summary,
        "links": [
            {
                "endpoint": register,
                "values": {"region_code": params["region_code"]},
                "label": _("The register"),
            }
        ],
    }


# Pages --------------------------------------------------------------------------------


class ImportForm(FlaskForm):
    file = FileField(_l("Spreadsheet (.xlsx)"), validators=[FileRequired()])


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[InputRequired()])


def import_page(staged: StagedImports, template: str, *, region_code: str, **context):
    """The upload page: on a file, its report and the button that confirms it (422 when
    the file itself is refused)."""
    form = ImportForm()
    report, status = None, 200
    if form.validate_on_submit():
        done = run_action(
            lambda: staged.stage(
                form.file.data.stream,
                form.file.data.filename,
                region_code=region_code,
                actor=g.user,
            )
        )
        report, status = done.result, 200 if done.ok else 422
    confirm = ConfirmImportForm(token=report.token) if report else None
    return render_template(template, form=form, report=report, confirm=confirm, **context), status


def confirm_page(staged: StagedImports, *, region_code: str, upload: str):
    """Queue the job that writes a confirmed import and show its page; on a refusal back
    to the upload page (endpoint ``upload``) with the reason."""
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        job = staged.confirm(form.token.data, region_code=region_code, user=g.user)
    except runner.AlreadyRunning as error:
        flash(error.message, "info")
        return redirect(url_for("jobs.show", job_id=error.job.id))
    except DomainError as error:
        db.session.rollback()
        flash_refusal(error)
        return redirect(url_for(upload))
    return redirect(url_for("jobs.show", job_id=job.id))


# API ------------------------------------------------------------------------------------


class RowOut(Schema):
    sheet: str
    row: int
    label: str
    ok: bool
    messages: list[str]


class ImportReportOut(Schema):
    token: str
    filename: str
    good: int
    bad: int
    rows: list[RowOut]


def stage_posted(staged: StagedImports, *, region_code: str):
    """The API's upload (multipart, field ``file``): 201 with the report and its token."""
    file = request.files.get("file")
    if file is None:
        raise ValidationError(_("Send the spreadsheet as the form field “file”."), field="file")
    report = staged.stage(file.stream, file.filename or "", region_code=region_code, actor=g.user)
    body = ImportReportOut(
        token=report.token,
        filename=report.filename,
        good=report.good,
        bad=report.bad,
        rows=[RowOut(**vars(r)) for r in report.rows],
    )
    return body, 201
