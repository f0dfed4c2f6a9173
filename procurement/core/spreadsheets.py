"""What every spreadsheet import shares: size and zip-bomb checks, reading cells as text,
required columns, and the folder where a file waits for the officer's confirmation.

The messages name the field ``file``, so that pages show them next to the upload.
"""

from __future__ import annotations

import math
import time
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd
from flask import current_app
from flask_babel import gettext as _

from procurement.core.errors import ValidationError

STAGING_SECONDS = 24 * 3600  # a staged file waits a day at most
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # a workbook inflating beyond this is refused (zip bomb)


def check_size(data: bytes, limit: int) -> None:
    """Refuse an empty file and one over ``limit`` bytes."""
    if not data:
        raise ValidationError(_("The file is empty."), field="file")
    if len(data) > limit:
        raise ValidationError(
            _("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)), field="file"
        )


def check_workbook(data: bytes, max_uncompressed: int) -> None:
    """Refuse what is not an .xlsx (zip) file, and one that inflates implausibly."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > max_uncompressed:
                raise ValidationError(
                    _("The workbook inflates to an implausible size and was refused."), field="file"
                )
    except zipfile.BadZipFile:
        raise ValidationError(_("The file is not an .xlsx workbook."), field="file") from None


def read_sheets(data: bytes) -> dict[str, pd.DataFrame]:
    """Every sheet of a checked workbook (at most IMPORT_MAX_BYTES) as text, or a clear
    refusal; nothing has been written yet."""
    check_size(data, current_app.config["IMPORT_MAX_BYTES"])
    check_workbook(data, MAX_UNCOMPRESSED)
    try:
        return pd.read_excel(BytesIO(data), sheet_name=None, dtype=str, engine="openpyxl")
    except Exception:  # noqa: BLE001 - any parser failure is an unreadable file
        raise ValidationError(_("The workbook could not be read."), field="file") from None


def cell(value: Any) -> Any:
    """A cell as stripped text, or None when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def require_columns(frame: pd.DataFrame, sheet: str, required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise ValidationError(
            _(
                "Sheet %(sheet)s lacks the columns: %(columns)s.",
                sheet=sheet,
                columns="、".join(missing),
            ),
            field="file",
        )


def staging_dir() -> Path:
    """Where staged files wait for confirmation; those older than a day are removed."""
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    limit = time.time() - STAGING_SECONDS
    for staged in path.iterdir():
        if staged.stat().st_mtime < limit:
            staged.unlink(missing_ok=True)
    return path
