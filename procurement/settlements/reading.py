"""Reading the platform's service records: a CSV or .xlsx export, or records pushed
through the API, as one frame of text columns named by field."""

from __future__ import annotations

import csv
import gc
import hashlib
from collections.abc import Iterable
from contextlib import contextmanager
from io import BytesIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from flask import current_app
from flask_babel import gettext as _
from python_calamine import CalamineWorkbook

from procurement.core import spreadsheets
from procurement.core.errors import ValidationError

# The platform's export: column -> field. English names are accepted too (API, tools).
COLUMNS = {
    "记录编号": "record_id",
    "服务对象身份证号": "id_number",
    "服务机构统一社会信用代码": "credit_code",
    "服务人员编号": "worker_id",
    "服务项目": "item",
    "开始时间": "start",
    "结束时间": "end",
    "服务乡镇": "township",
}


FIELDS = tuple(COLUMNS.values())


COLUMN_OF = {field: column for column, field in COLUMNS.items()}


MAX_UNCOMPRESSED = 400 * 1024 * 1024


DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


def _limit(data: bytes) -> None:
    spreadsheets.check_size(data, current_app.config["RECORD_IMPORT_MAX_BYTES"])


def read_csv(data: bytes) -> pd.DataFrame:
    """The platform's CSV export (UTF-8, with or without BOM, or GB18030) as text.

    Lines with the wrong number of cells are kept aside (``frame.attrs["bad_rows"]``) to be
    reported; the ``row`` column holds each row's line number in the file."""
    _limit(data)
    header, _sep, _rest = data.partition(b"\n")
    names = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            # a blank first line has no names: one unnamed column, so the columns are missing
            names = next(csv.reader([header.decode(encoding).strip("\r")]), None) or [""]
        except UnicodeDecodeError:
            continue
        except csv.Error:  # a "first line" of megabytes, say: not the platform's export
            raise ValidationError(_("The CSV file could not be read."), field="file") from None
        try:
            frame, bad = _parse_csv(data, names, "utf8" if encoding == "utf-8-sig" else encoding)
        except pa.ArrowInvalid as error:
            if "UTF8" in str(error) and encoding == "utf-8-sig":
                continue  # not UTF-8 after all
            raise ValidationError(_("The CSV file could not be read."), field="file") from None
        except UnicodeDecodeError:  # Python's codec transcodes GB18030, and raises this
            continue
        break
    else:
        raise ValidationError(_("The file is neither UTF-8 nor GB18030 text."), field="file")
    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    # Line numbers: row i follows the header and the bad lines before it.
    skipped = np.array(sorted(number for number, _n in bad if number), dtype=np.int64)
    positions = np.arange(len(frame))
    shift = np.searchsorted(skipped - np.arange(len(skipped)) - 2, positions, side="right")
    frame["row"] = positions + 2 + shift
    frame.attrs["bad_rows"] = bad
    return frame


def _parse_csv(data: bytes, names: list[str], encoding: str):
    bad: list[tuple[int | None, int]] = []

    def keep_aside(row) -> str:
        bad.append((row.number, row.actual_columns))
        return "skip"

    table = pa_csv.read_csv(
        BytesIO(data),
        read_options=pa_csv.ReadOptions(
            use_threads=False,  # single-threaded, the reader knows each bad line's number
            encoding=encoding,
            column_names=[f"c{i}" for i in range(len(names))],
            skip_rows=1,
        ),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=keep_aside),
        convert_options=pa_csv.ConvertOptions(
            column_types={f"c{i}": pa.string() for i in range(len(names))},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    frame = table.to_pandas()
    frame.columns = names
    return frame, bad


def read_xlsx(data: bytes) -> pd.DataFrame:
    """The first sheet of an .xlsx export as text; zip bombs and broken files refused."""
    _limit(data)
    spreadsheets.check_workbook(data, MAX_UNCOMPRESSED)
    with _collector_paused():
        try:
            sheet = CalamineWorkbook.from_filelike(BytesIO(data)).get_sheet_by_index(0)
            cells = sheet.to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001 - any parser failure is an unreadable file
            raise ValidationError(_("The workbook could not be read."), field="file") from None
        if not cells:
            raise ValidationError(_("The file has no rows."), field="file")
        header = [_cell_text(c).strip() for c in cells[0]]
        columns = list(zip(*cells[1:], strict=False)) if len(cells) > 1 else [()] * len(header)
        del cells
        return pd.DataFrame(
            {name: _column_text(column) for name, column in zip(header, columns, strict=False)}
        )


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for a while, if it was on.

    A sheet of 100,000 rows arrives as 100,000 lists: they hold no reference cycles, yet
    their number makes the collector sweep every object of the process twice while they
    are read (a third of a second, a tenth of the whole import)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _column_text(values: tuple) -> list[str]:
    """A column's cells as text; a column of text alone (the usual export) is kept."""
    if set(map(type, values)) <= {str}:
        return list(values)
    return [_cell_text(v) for v in values]


def _cell_text(value) -> str:
    """A cell as the text it shows: 123.0 is 123, a date-time is 2026-07-03 09:00:00."""
    if type(value) is str:
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def upload_kind(data: bytes, filename: str) -> str:
    """Which reader a file needs, by its content: an .xlsx is a zip; else it is CSV."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if filename.lower().endswith((".xlsx", ".xls")):
        raise ValidationError(_("The file is not an .xlsx workbook."), field="file")
    return "csv"


def frame_from_rows(rows: Iterable[dict]) -> pd.DataFrame:
    """Records pushed through the API, as the same frame a file gives."""
    frame = pd.DataFrame(list(rows), columns=list(FIELDS), dtype=object)
    return frame.fillna("").astype(str)


def normalise(frame: pd.DataFrame, bad_rows: list) -> pd.DataFrame:
    """Rename the platform's columns to fields; refuse a file without them."""
    renamed = frame.rename(columns=COLUMNS)
    missing = [COLUMN_OF[f] for f in FIELDS if f not in renamed.columns]
    if missing:
        raise ValidationError(
            _("The file lacks the columns: %(columns)s.", columns="、".join(missing)),
            field="file",
        )
    rows = pd.DataFrame({f: renamed[f].astype("string").fillna("").str.strip() for f in FIELDS})
    rows["row"] = renamed["row"].to_numpy() if "row" in renamed else np.arange(len(renamed)) + 2
    rows = rows[(rows[list(FIELDS)] != "").any(axis=1)].reset_index(drop=True)
    if len(rows) == 0 and not bad_rows:
        raise ValidationError(_("The file has no rows."), field="file")
    return rows


def parse_times(values: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(values, format=DATETIME_FORMATS[0], errors="coerce")
    for fmt in DATETIME_FORMATS[1:]:
        todo = parsed.isna() & (values != "")
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(values[todo], format=fmt, errors="coerce")
    return parsed.astype("datetime64[s]")


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
