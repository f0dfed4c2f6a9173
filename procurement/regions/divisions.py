"""Division files (GB/T 2260 and the statistical codes of the National Bureau of
Statistics): read one, check every row, and write the divisions only if every row is good.

A file is a CSV (UTF-8 or GB18030) or an .xlsx workbook (first sheet) with the columns
code, name and, optionally, parent_code and level (English or Chinese headings). A code
is 6 digits down to the county and 9 digits for a township; a 12-digit statistical code
is read as its 6 or 9 digits when it ends in 000000 or 000 (regions.json keeps townships
as 9 digits). Parent and level, when left out, follow from the code's shape. Importing
the same file again changes nothing; a changed name renames the division (audited).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from procurement.core import audit, spreadsheets
from procurement.core.db import db
from procurement.core.errors import RowsRefused, ValidationError
from procurement.regions.models import Region, RegionLevel

NAME_MAX = 60
ROW_LIMIT = 100_000  # the whole country down to townships is about 45 000 rows

# heading (lower case) -> field
HEADINGS = {
    "code": "code",
    "代码": "code",
    "区划代码": "code",
    "行政区划代码": "code",
    "统计用区划代码": "code",
    "name": "name",
    "名称": "name",
    "区划名称": "name",
    "parent_code": "parent_code",
    "parent code": "parent_code",
    "parent": "parent_code",
    "上级代码": "parent_code",
    "上级区划代码": "parent_code",
    "level": "level",
    "级别": "level",
    "层级": "level",
}
LEVEL_WORDS = {
    **{level.value: level for level in RegionLevel},
    "省级": RegionLevel.PROVINCE,
    "地级": RegionLevel.PREFECTURE,
    "县级": RegionLevel.COUNTY,
    "乡级": RegionLevel.TOWNSHIP,
}
DIGITS = re.compile(r"[0-9]+")


def field_labels() -> dict[str, str]:
    """The columns as the report names them."""
    return {
        "code": _("Code"),
        "name": _("Name"),
        "parent_code": _("Parent code"),
        "level": _("Level"),
        "file": _("File"),
    }


@dataclass
class DivisionRow:
    """One row of a division file and what importing it does or why it cannot."""

    line: int  # the row's number in the file, the headings being row 1
    code: str
    name: str
    parent_code: str | None = None
    level: RegionLevel | None = None
    action: str = ""  # add, rename, unchanged; empty when refused
    old_name: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, message)

    @property
    def ok(self) -> bool:
        return not self.errors

    def refuse(self, name: str, message: str) -> None:
        self.errors.append((name, message))


@dataclass
class DivisionReport:
    filename: str
    sha256: str
    rows: list[DivisionRow]
    written: bool = False

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def bad(self) -> list[DivisionRow]:
        return [row for row in self.rows if not row.ok]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.ok and row.action == action)

    def lines(self) -> list[str]:
        """The report as lines of text, one per row (for the command line)."""
        labels = field_labels()
        out = []
        for row in self.rows:
            if row.ok:
                what = {
                    "add": _("add"),
                    "rename": _("rename from %(old)s", old=row.old_name),
                    "unchanged": _("unchanged"),
                }[row.action]
                out.append(f"{row.line}\t{row.code}\t{row.name}\t{what}")
            else:
                problems = "; ".join(f"{labels[f]}：{m}" for f, m in row.errors)
                refused = _("refused")
                out.append(f"{row.line}\t{row.code}\t{row.name}\t{refused}: {problems}")
        return out


class DivisionFileRefused(RowsRefused):
    """A file with at least one bad row: nothing was written; ``report`` names each."""

    code = "division_file_refused"

    def __init__(self, report: DivisionReport) -> None:
        super().__init__(report, field_labels())


# Reading -----------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("The file is neither UTF-8 nor GB18030 text."), field="file")


def _records(data: bytes, filename: str) -> list[tuple[int, dict[str, str | None]]]:
    """(row number, {heading: text}) for every non-empty row of the file."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        sheets = spreadsheets.read_sheets(data)
        if not sheets:
            raise ValidationError(_("The workbook has no sheet."), field="file")
        frame = next(iter(sheets.values()))
        headings = [str(c) for c in frame.columns]
        rows = [
            [spreadsheets.cell(v) for v in values]
            for values in frame.itertuples(index=False, name=None)
        ]
    else:
        from flask import current_app

        spreadsheets.check_size(data, current_app.config["IMPORT_MAX_BYTES"])
        try:
            table = list(csv.reader(io.StringIO(_decode(data))))
        except csv.Error:
            raise ValidationError(_("The CSV file could not be read."), field="file") from None
        if not table:
            raise ValidationError(_("The file is empty."), field="file")
        headings = table[0]
        rows = [[(v.strip() or None) for v in values] for values in table[1:]]
    columns: dict[int, str] = {}
    for index, heading in enumerate(headings):
        name = HEADINGS.get(heading.strip().lower().lstrip("\ufeff"))
        if name is not None and name not in columns.values():
            columns[index] = name
    missing = [n for n in ("code", "name") if n not in columns.values()]
    if missing:
        raise ValidationError(
            _(
                "The file lacks the columns: %(columns)s.",
                columns="、".join(field_labels()[n] for n in missing),
            ),
            field="file",
        )
    if len(rows) > ROW_LIMIT:
        raise ValidationError(_("The file has more than %(n)d rows.", n=ROW_LIMIT), field="file")
    records = []
    for number, values in enumerate(rows, start=2):
        record = {name: (values[i] if i < len(values) else None) for i, name in columns.items()}
        if any(record.values()):
            records.append((number, record))
    if not records:
        raise ValidationError(_("The file holds no divisions."), field="file")
    return records


# Codes -------------------------------------------------------------------------------


def normalise_code(raw: str | None) -> str | None:
    """A division code as the tree keeps it (6 or 9 digits), or None when it is not one."""
    text = (raw or "").strip()
    if text.endswith(".0"):  # a spreadsheet that held the code as a number
        text = text[:-2]
    if not DIGITS.fullmatch(text):
        return None
    if len(text) == 12:
        if text.endswith("000000"):
            text = text[:6]
        elif text.endswith("000"):
            text = text[:9]
        else:
            return None  # a village's code: the tree stops at townships
    if len(text) == 6 and text[:2] != "00":
        return text
    if len(text) == 9 and text[6:] != "000" and text[4:6] != "00":
        return text
    return None


def level_of(code: str) -> RegionLevel:
    """The level a (normalised) code's shape says."""
    if len(code) == 9:
        return RegionLevel.TOWNSHIP
    if code[2:] == "0000":
        return RegionLevel.PROVINCE
    if code[4:] == "00":
        return RegionLevel.PREFECTURE
    return RegionLevel.COUNTY


def parent_of(code: str) -> str | None:
    """The parent a (normalised) code's shape says."""
    level = level_of(code)
    if level is RegionLevel.TOWNSHIP:
        return code[:6]
    if level is RegionLevel.COUNTY:
        return code[:4] + "00"
    if level is RegionLevel.PREFECTURE:
        return code[:2] + "0000"
    return None


def _code_prefix(code: str, level: RegionLevel) -> str:
    """The part of a parent's code that its children's codes start with."""
    return {
        RegionLevel.PROVINCE: code[:2],
        RegionLevel.PREFECTURE: code[:4],
        RegionLevel.COUNTY: code[:6],
        RegionLevel.TOWNSHIP: code,
    }[level]


# Checking and writing -----------------------------------------------------------------


def _check_row(number: int, record: dict, within: Region | None) -> DivisionRow:
    """Read one row on its own: code, name, level and parent code as written."""
    raw_code = record.get("code") or ""
    row = DivisionRow(line=number, code=raw_code, name=(record.get("name") or "").strip())
    code = normalise_code(raw_code)
    if not raw_code:
        row.refuse("code", _("The code is missing."))
    elif code is None:
        row.refuse(
            "code",
            _(
                "%(code)s is not a division code: 6 digits down to the county, 9 (or 12 "
                "ending in 000) for a township.",
                code=raw_code,
            ),
        )
    else:
        row.code = code
        if within is not None and not within.contains(code):
            row.refuse(
                "code",
                _("%(code)s lies outside your region %(region)s.", code=code, region=within.name),
            )
    if not row.name:
        row.refuse("name", _("The name is missing."))
    elif len(row.name) > NAME_MAX:
        row.refuse("name", _("The name is longer than %(n)d characters.", n=NAME_MAX))
    raw_level = (record.get("level") or "").strip().lower()
    if raw_level:
        row.level = LEVEL_WORDS.get(raw_level)
        if row.level is None:
            row.refuse(
                "level",
                _(
                    "%(level)s is not a level: write province, prefecture, county or township.",
                    level=raw_level,
                ),
            )
        elif code is not None and row.level is not level_of(code):
            row.refuse(
                "level",
                _(
                    "The code %(code)s is that of a %(shape)s, not of a %(level)s.",
                    code=code,
                    shape=level_of(code).label,
                    level=row.level.label,
                ),
            )
    elif code is not None:
        row.level = level_of(code)
    raw_parent = record.get("parent_code")
    if raw_parent:
        row.parent_code = normalise_code(raw_parent)
        if row.parent_code is None:
            row.refuse("parent_code", _("%(code)s is not a division code.", code=raw_parent))
    elif code is not None:
        row.parent_code = parent_of(code)
    return row


def _check_tree(rows: list[DivisionRow], existing: dict[str, Region]) -> None:
    """Duplicates, parents (in the file or the database) and levels that fit them."""
    first: dict[str, int] = {}
    for row in rows:
        if not row.code or normalise_code(row.code) != row.code:
            continue
        if row.code in first:
            row.refuse(
                "code",
                _(
                    "The code %(code)s is also on row %(line)d.",
                    code=row.code,
                    line=first[row.code],
                ),
            )
        else:
            first[row.code] = row.line
    in_file = {row.code: row for row in rows if row.ok or row.level is not None}
    for row in rows:
        if row.level is None or any(f in ("code", "level") for f, _m in row.errors):
            continue
        current = existing.get(row.code)
        if current is not None:
            if current.level is not row.level:
                row.refuse(
                    "level",
                    _(
                        "%(code)s is already registered as a %(level)s.",
                        code=row.code,
                        level=current.level.label,
                    ),
                )
            if current.parent_code != row.parent_code:
                row.refuse(
                    "parent_code",
                    _(
                        "%(code)s is already registered under %(parent)s.",
                        code=row.code,
                        parent=current.parent_code or "—",
                    ),
                )
        if row.level is RegionLevel.PROVINCE:
            if row.parent_code is not None:
                row.refuse("parent_code", _("A province has no parent."))
            continue
        if row.parent_code is None or any(f == "parent_code" for f, _m in row.errors):
            if row.parent_code is None and not any(f == "parent_code" for f, _m in row.errors):
                row.refuse("parent_code", _("The parent code is missing."))
            continue
        parent_row = in_file.get(row.parent_code)
        parent = existing.get(row.parent_code)
        if parent_row is not None:
            parent_level = parent_row.level
        elif parent is not None:
            parent_level = parent.level
            if parent.retired:
                row.refuse(
                    "parent_code",
                    _("The parent %(code)s has been retired.", code=row.parent_code),
                )
        else:
            row.refuse(
                "parent_code",
                _(
                    "The parent %(code)s is neither in the file nor registered.",
                    code=row.parent_code,
                ),
            )
            continue
        if parent_level is None:
            continue  # the parent's own row is wrong, and says so
        if parent_level.depth != row.level.depth - 1:
            row.refuse(
                "level",
                _(
                    "A %(level)s cannot be under a %(parent)s (%(code)s).",
                    level=row.level.label,
                    parent=parent_level.label,
                    code=row.parent_code,
                ),
            )
        elif not row.code.startswith(_code_prefix(row.parent_code, parent_level)):
            row.refuse(
                "parent_code",
                _(
                    "The code %(code)s does not start with its parent's %(parent)s.",
                    code=row.code,
                    parent=row.parent_code,
                ),
            )


def import_divisions(
    data: bytes, filename: str, *, within: Region | None = None, write: bool = True
) -> DivisionReport:
    """Check every row of a division file and, when all are good and ``write``, add the
    new divisions and rename the changed ones (issue 18). A file with any bad row writes
    nothing and is refused with the report (``DivisionFileRefused``). ``within``: the
    importing administrator's region; rows outside it are refused. The caller commits."""
    records = _records(data, filename)
    existing = {r.code: r for r in db.session.scalars(select(Region))}
    rows = [_check_row(number, record, within) for number, record in records]
    _check_tree(rows, existing)
    report = DivisionReport(filename=filename, sha256=hashlib.sha256(data).hexdigest(), rows=rows)
    for row in rows:
        current = existing.get(row.code)
        if not row.ok:
            continue
        if current is None:
            row.action = "add"
        elif current.name != row.name:
            row.action, row.old_name = "rename", current.name
        else:
            row.action = "unchanged"
    if not report.ok:
        raise DivisionFileRefused(report)
    if not write:
        return report
    depth = 0
    for row in sorted(rows, key=lambda r: (r.level.depth if r.level else 0, r.code)):
        assert row.level is not None
        if row.level.depth != depth:  # parents are in the database before their children
            db.session.flush()
            depth = row.level.depth
        if row.action == "add":
            db.session.add(
                Region(code=row.code, name=row.name, level=row.level, parent_code=row.parent_code)
            )
        elif row.action == "rename":
            region = existing[row.code]
            audit.label(region, "rename")
            region.name = row.name
    db.session.flush()
    audit.record(
        "import",
        entity_type="division_file",
        entity_id=report.sha256[:16],
        region_code=within.code if within is not None else None,
        after={
            "filename": filename,
            "sha256": report.sha256,
            "added": report.count("add"),
            "renamed": report.count("rename"),
            "unchanged": report.count("unchanged"),
        },
    )
    report.written = True
    return report


# A checked file waits for the administrator's confirmation -----------------------------

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _staged_paths(token: str):
    folder = spreadsheets.staging_dir()
    return folder / f"{token}.divisions.json", folder / f"{token}.divisions.bin"


def stage_file(data: bytes, filename: str, *, user_id: int) -> str:
    """Keep a checked file (a day at most) until the same administrator confirms it."""
    token = secrets.token_urlsafe(16)
    meta_path, data_path = _staged_paths(token)
    data_path.write_bytes(data)
    meta_path.write_text(json.dumps({"user_id": user_id, "filename": filename}))
    return token


def staged_file(token: str, *, user_id: int) -> tuple[bytes, str]:
    """The bytes and name of a file this administrator staged, or a clear refusal."""
    if not TOKEN.fullmatch(token or ""):
        raise ValidationError(_("Unknown import."))
    meta_path, data_path = _staged_paths(token)
    if not meta_path.exists() or not data_path.exists():
        raise ValidationError(
            _("This import has expired or was already applied. Upload the file again.")
        )
    meta = json.loads(meta_path.read_text())
    if meta["user_id"] != user_id:
        raise ValidationError(_("Unknown import."))
    return data_path.read_bytes(), meta["filename"]


def discard_file(token: str) -> None:
    for path in _staged_paths(token):
        path.unlink(missing_ok=True)
