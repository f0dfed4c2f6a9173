"""Spreadsheet imports staged for confirmation, for every register that takes one.

An import is tried first: every row in its own savepoint, then everything rolled back,
giving the report; the file waits (a day at most) with the outcome of each row. When the
officer confirms, the same user for the same region, the file is tried again and written
only if every row turns out as the report said (else the register changed meanwhile and
the file must be checked again), with one audit event naming the file; never a silent
half.
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
from flask import current_app
from flask_babel import gettext as _

from procurement.accounts.models import User
from procurement.core import audit, spreadsheets
from procurement.core.db import db
from procurement.core.errors import ValidationError

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


# Try every row of the workbook's sheets for a region; the caller commits or not.
TryRows = Callable[[dict[str, pd.DataFrame], str], list[RowReport]]


def _as_is(data: bytes) -> bytes:
    return data


@dataclass(frozen=True)
class StagedImports:
    """One register's staged imports."""

    kind: str  # names the staged files and the audit events ("provider_imports")
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
            rows = self.try_rows(sheets, region_code)
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

    def apply(self, token: str, *, region_code: str, actor: User) -> ImportReport:
        """Write the good rows of a staged file, as its report said; then forget the file."""
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
        data = self.unseal(data_path.read_bytes())
        rows = self.try_rows(spreadsheets.read_sheets(data), region_code)
        if _outcome(rows) != meta["outcome"]:
            db.session.rollback()
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
        db.session.commit()
        meta_path.unlink()
        data_path.unlink()
        report = ImportReport(token=token, filename=meta["filename"], rows=rows)
        report.imported = report.good
        return report

    def _paths(self, token: str):
        staging = spreadsheets.staging_dir()
        return staging / f"{token}.{self.kind}.json", staging / f"{token}.{self.kind}.bin"


def _outcome(rows: list[RowReport]) -> list[list]:
    return [[r.sheet, r.row, r.ok] for r in rows]
