"""Import of service records from the smart elderly-care platform (CSV, .xlsx, API push).

A province sends about a million rows a month, so the hot path is vectorised pandas and
the raw database driver (sqlite3 ``executemany``; PostgreSQL ``COPY``), all inside the
request's one transaction: either every accepted row, its flags, and the statements of
the months it touches are written, or nothing is. Every row is accepted or rejected
with a reason; a record already imported (same record id for the same provider) is
counted once and reported as such.

Lookups go through the ORM, so they are region-scoped: a user can only import records
of providers, contracts and recipients of their own region.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from io import BytesIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from python_calamine import CalamineWorkbook
from sqlalchemy import (
    Boolean,
    Column,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    exists,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)

from procurement.accounts.models import User
from procurement.contracts.models import Contract, ContractStatus
from procurement.core import spreadsheets
from procurement.core.changes import note_written
from procurement.core.clock import CHINA, utcnow
from procurement.core.db import db
from procurement.core.errors import ValidationError
from procurement.core.identifiers import valid_id_numbers
from procurement.core.office import csv_text
from procurement.core.scoping import owned_in_scope
from procurement.plans.models import ServiceItem
from procurement.recipients.identity import lookup_hasher
from procurement.recipients.models import Recipient, RecipientMove
from procurement.regions.models import Region, RegionLevel
from procurement.settlements import rules
from procurement.settlements.models import (
    ImportRejection,
    RecordImport,
    ServiceRecord,
    Settlement,
    SettlementStatus,
)

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
SIGNED = (
    ContractStatus.SIGNED,
    ContractStatus.IN_FORCE,
    ContractStatus.COMPLETED,
    ContractStatus.TERMINATED,
)

# The keys of a file's rows while they are checked against the stored records.
FILE_KEYS = Table(
    "import_file_keys",
    MetaData(),
    Column("position", Integer),
    Column("provider_id", Integer),
    Column("record_id", String(64)),
    prefixes=["TEMPORARY"],
)

REJECTIONS = {
    "bad_row": _l("The line does not have the file's number of cells"),
    "missing_field": _l("A required cell is empty"),
    "bad_record_id": _l("The record id is longer than 64 characters"),
    "bad_worker_id": _l("The worker id is longer than 64 characters"),
    "bad_id_number": _l("Not a valid ID number"),
    "unknown_recipient": _l("Not on the recipient roster"),
    "unknown_provider": _l("No provider with this credit code in your region"),
    "bad_start": _l("The start time is not a valid date and time"),
    "bad_end": _l("The end time is not a valid date and time"),
    "end_before_start": _l("The visit ends before it starts"),
    "future_visit": _l("The visit ends after the present time (China time)"),
    "no_contract": _l("No signed contract of this provider covers the visit's date"),
    "unknown_township": _l("Not a township of the contract's county"),
    "unknown_item": _l("Not an item of the service catalogue"),
    "duplicate_in_file": _l("The same record id appears earlier in this file"),
    "month_confirmed": _l("The month's statement was already confirmed by finance"),
}
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


def rejection_label(code: str) -> str:
    return str(REJECTIONS.get(code, code))


# Reading -----------------------------------------------------------------------------


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


def _normalise(frame: pd.DataFrame, bad_rows: list) -> pd.DataFrame:
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


def _parse_times(values: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(values, format=DATETIME_FORMATS[0], errors="coerce")
    for fmt in DATETIME_FORMATS[1:]:
        todo = parsed.isna() & (values != "")
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(values[todo], format=fmt, errors="coerce")
    return parsed.astype("datetime64[s]")


# The import ---------------------------------------------------------------------------


@dataclass
class Lookups:
    """What a row is checked against, read once through the scoped ORM."""

    recipients: dict[str, int]  # id hash -> recipient id
    roster: dict[int, tuple]  # recipient id -> the facts the entitlement reads
    providers: dict[str, int]  # credit code -> provider id
    contracts: pd.DataFrame  # contract_id, provider_id, start, end
    terms: dict[int, rules.Terms]
    townships: dict[str, dict[str, str]]  # county code -> {name or code: code}
    items: dict[str, dict[str, str]]  # county code -> {name or code: code}
    moves: pd.DataFrame  # the roster's moves (rules.MOVE_COLUMNS)


def moves_of(recipient_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """The moves of the people in scope (of these people, when given): a short table."""
    query = select(
        RecipientMove.recipient_id,
        RecipientMove.from_township,
        RecipientMove.to_township,
        RecipientMove.effective_from,
    ).where(owned_in_scope(RecipientMove.__table__.c.region_code))
    rows = db.session.execute(query).all()
    if recipient_ids is not None:
        wanted = set(recipient_ids)
        rows = [row for row in rows if row[0] in wanted]
    return pd.DataFrame([tuple(row) for row in rows], columns=rules.MOVE_COLUMNS)


def _lookups() -> Lookups:
    contracts = list(db.session.scalars(select(Contract).where(Contract.status.in_(SIGNED))))
    terms = {c.id: rules.Terms.of(c) for c in contracts}
    providers = {c.provider.credit_code: c.provider_id for c in contracts}
    counties = {c.region_code for c in contracts}
    townships: dict[str, dict[str, str]] = {code: {} for code in counties}
    for region in db.session.scalars(
        select(Region).where(Region.level == RegionLevel.TOWNSHIP, Region.parent_code.in_(counties))
    ):
        townships[region.parent_code].update({region.name: region.code, region.code: region.code})
    items: dict[str, dict[str, str]] = {}
    catalogue = list(db.session.scalars(select(ServiceItem)))
    for county in counties:
        lineage = set(db.session.get(Region, county).lineage)
        known = {}
        for item in catalogue:
            if item.region_code in lineage:
                known.update({item.name: item.code, item.code: item.code})
        items[county] = known
    # The roster in scope, once: its look-up hashes, and the facts the entitlement reads.
    # A Core read, with enums and booleans left as the driver gives them (the rules compare
    # StrEnums with their text and test flags for truth): for a province's 100,000 people
    # ORM rows and per-value conversions cost more than a second.
    table = Recipient.__table__
    facts = [_as_stored(table.c[column.key]) for column in rules.RECIPIENT_COLUMNS]
    recipients, roster = {}, {}
    query = select(table.c.id_hash, *facts).where(owned_in_scope(table.c.region_code))
    for id_hash, *row in db.session.connection().execute(query):
        recipients[id_hash] = row[0]
        roster[row[0]] = tuple(row)
    frame = pd.DataFrame(
        [(t.contract_id, t.provider_id, t.start, t.end) for t in terms.values()],
        columns=["contract_id", "provider_id", "start", "end"],
    )
    frame["start"] = pd.to_datetime(frame["start"]).astype("datetime64[s]")
    frame["end"] = pd.to_datetime(frame["end"]).astype("datetime64[s]")
    return Lookups(recipients, roster, providers, frame, terms, townships, items, moves_of())


def _as_stored(column):
    if isinstance(column.type, Enum):
        return type_coerce(column, String).label(column.name)
    if isinstance(column.type, Boolean):
        return type_coerce(column, Integer).label(column.name)
    return column


class _Verdicts:
    """The first reason each row is refused for (rows keep their first reason)."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, "", dtype=object)
        self.detail = np.full(n, "", dtype=object)

    @property
    def open(self) -> np.ndarray:
        return self.reason == ""

    def refuse(self, mask, code: str, detail=None) -> None:
        mask = np.asarray(mask, dtype=bool) & self.open
        self.reason[mask] = code
        if detail is not None:
            self.detail[mask] = np.asarray(detail, dtype=object)[mask]


def import_records(
    frame: pd.DataFrame,
    *,
    source: str,
    filename: str,
    sha256: str,
    region_code: str,
    actor: User | None,
    progress: Callable[..., None] | None = None,
) -> RecordImport:
    """Check, flag, store and settle the rows of ``frame``; the caller commits.
    ``progress(stage, step, STEPS)`` is told of each stage done (a job's progress bar)."""
    report = progress or _no_progress
    began = time.perf_counter()
    _large_cache()
    bad_rows = frame.attrs.get("bad_rows", [])
    rows = _normalise(frame, bad_rows)
    del frame  # the caller passes it on; from here on only the normalised rows are kept
    n = len(rows)
    report("read", 1, STEPS)
    look = _lookups()
    verdict = _Verdicts(n)

    empty = np.zeros(n, dtype=bool)
    which = np.full(n, "", dtype=object)
    for field in FIELDS:
        blank = (rows[field] == "").to_numpy()
        which[blank & ~empty] = COLUMN_OF[field]
        empty |= blank
    verdict.refuse(empty, "missing_field", which)
    verdict.refuse((rows["record_id"].str.len() > 64).to_numpy(), "bad_record_id")
    verdict.refuse((rows["worker_id"].str.len() > 64).to_numpy(), "bad_worker_id")

    recipient_id = _recipients_of(rows["id_number"], look, verdict)
    provider_id = rows["credit_code"].str.upper().map(look.providers)
    verdict.refuse(provider_id.isna().to_numpy(), "unknown_provider")
    provider_id = provider_id.fillna(0).astype(np.int64)

    started = _parse_times(rows["start"])
    ended = _parse_times(rows["end"])
    verdict.refuse(started.isna().to_numpy(), "bad_start", rows["start"].to_numpy())
    verdict.refuse(ended.isna().to_numpy(), "bad_end", rows["end"].to_numpy())
    verdict.refuse((ended <= started).to_numpy(), "end_before_start")
    now = pd.Timestamp(utcnow().astimezone(CHINA).replace(tzinfo=None))  # platform times are local
    verdict.refuse((ended > now).to_numpy(), "future_visit", rows["end"].to_numpy())

    # The zone is the one of the township the person lived in on the visit's date (rules).
    home = rules.Standing(look.roster.values(), look.moves).townships_on(recipient_id, started)
    contract_id = _contracts_of(provider_id, started, home, look, verdict)
    county = contract_id.map({c: t.region_code[:6] for c, t in look.terms.items()})
    township = _codes(rows["township"], county, look.townships)
    verdict.refuse(verdict.open & township.isna().to_numpy(), "unknown_township")
    item = _codes(rows["item"], county, look.items)
    verdict.refuse(verdict.open & item.isna().to_numpy(), "unknown_item")

    key = pd.DataFrame({"provider_id": provider_id, "record_id": rows["record_id"]})
    # A repeat of a row that is itself taken: the first good occurrence counts.
    duplicate = np.zeros(n, dtype=bool)
    duplicate[verdict.open] = key[verdict.open].duplicated().to_numpy()
    verdict.refuse(duplicate, "duplicate_in_file")

    months = started.dt.to_period("M").dt.start_time.astype("datetime64[s]")
    confirmed = _confirmed_months(contract_id, months, verdict.open)
    verdict.refuse(confirmed, "month_confirmed")

    existing = _existing(key, verdict.open)
    accepted = verdict.open & ~existing
    report("checked", 2, STEPS)

    batch = RecordImport(
        region_code=region_code,
        source=source,
        filename=filename[:200],
        sha256=sha256,
        rows=n + len(bad_rows),
        accepted=int(accepted.sum()),
        already_imported=int(existing.sum()),
        rejected=int((~verdict.open).sum()) + len(bad_rows),
        flagged=0,
        reasons=_reason_counts(verdict, bad_rows),
        months=[],
        imported_by_id=actor.id if actor else None,
        imported_at=utcnow(),
    )
    db.session.add(batch)
    db.session.flush()

    new = pd.DataFrame(
        {
            "contract_id": contract_id[accepted].astype(np.int64),
            "provider_id": provider_id[accepted],
            "record_id": rows["record_id"][accepted],
            "recipient_id": recipient_id[accepted].astype(np.int64),
            "worker_id": rows["worker_id"][accepted],
            "item_code": item[accepted],
            "township_code": township[accepted],
            "started_at": started[accepted],
            "ended_at": ended[accepted],
            "month": months[accepted],
        }
    )
    new["minutes"] = ((new["ended_at"] - new["started_at"]).dt.total_seconds() // 60).astype(
        np.int64
    )
    new["review"] = None
    touched = sorted(
        {(int(c), m.date()) for c, m in new[["contract_id", "month"]].drop_duplicates().values}
    )
    flagged = settle(
        touched,
        look.terms,
        new=new,
        import_id=batch.id,
        roster=look.roster,
        moves=look.moves,
        progress=report,
    )
    batch.flagged = flagged
    batch.months = sorted({m.strftime("%Y-%m") for _c, m in touched})
    _store_rejections(batch.id, rows, verdict, bad_rows)
    batch.seconds = round(time.perf_counter() - began, 3)
    db.session.flush()
    report("settled", 4, STEPS)
    return batch


# The stages an import reports as it goes: rows read, checked, records stored, statements
# settled (the last two are one step when no new record is stored).
STEPS = 4


def _no_progress(stage: str, done: int, total: int | None = None) -> None:
    pass


def _recipients_of(numbers: pd.Series, look: Lookups, verdict: _Verdicts) -> pd.Series:
    """ID number -> recipient id (0 on refused rows), hashing each distinct number once.

    The numbers are factorised: each distinct one is checked and hashed, and the rows
    take their answers by code, with no mapping of text to text per row."""
    digest = lookup_hasher()
    rows = np.flatnonzero(verdict.open)
    codes, distinct = pd.factorize(numbers.iloc[rows])
    cleaned, valid = valid_id_numbers(distinct.tolist())
    distinct_ids = np.array(  # 0: not on the roster
        [
            look.recipients.get(digest(number), 0) if ok else 0
            for number, ok in zip(cleaned, valid.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    bad = np.zeros(len(numbers), dtype=bool)
    bad[rows] = ~valid[codes]
    recipient_id = np.zeros(len(numbers), dtype=np.int64)
    recipient_id[rows] = distinct_ids[codes]
    verdict.refuse(bad, "bad_id_number")
    verdict.refuse(recipient_id == 0, "unknown_recipient")
    return pd.Series(recipient_id, index=numbers.index)


def _contracts_of(provider_id, started, township, look: Lookups, verdict) -> pd.Series:
    """The provider's signed contract whose term covers the visit (its zone's first)."""
    rows = pd.DataFrame(
        {"row": np.arange(len(provider_id)), "provider_id": provider_id, "at": started}
    )[verdict.open]
    candidates = rows.merge(look.contracts, on="provider_id")
    day = candidates["at"].dt.floor("D")
    candidates = candidates[(day >= candidates["start"]) & (day <= candidates["end"])]
    in_zone = rules._pairs_in(
        candidates["contract_id"],
        township.iloc[candidates["row"].to_numpy()].set_axis(candidates.index),
        look.terms,
        "townships",
    )
    candidates = candidates.assign(outside=~in_zone).sort_values(["row", "outside", "contract_id"])
    best = candidates.drop_duplicates("row")
    result = pd.Series(np.nan, index=provider_id.index)
    if len(best):  # none left when every row was refused before (an empty object column)
        result.iloc[best["row"].to_numpy()] = best["contract_id"].to_numpy()
    verdict.refuse(result.isna().to_numpy(), "no_contract")
    return result.fillna(0).astype(np.int64)


def _codes(values: pd.Series, county: pd.Series, known: dict[str, dict[str, str]]):
    """A name or code -> the code, among those known in the row's county."""
    pairs = {f"{c}|{name}": code for c, names in known.items() for name, code in names.items()}
    # as objects: a county column of only nulls (no row found a contract) is float
    return (county.astype(object).fillna("").astype(str) + "|" + values).map(pairs)


def _confirmed_months(contract_id: pd.Series, months: pd.Series, open_rows) -> np.ndarray:
    confirmed = set(
        db.session.execute(
            select(Settlement.contract_id, Settlement.month).where(
                Settlement.status == SettlementStatus.CONFIRMED
            )
        )
    )
    if not confirmed:
        return np.zeros(len(contract_id), dtype=bool)
    keys = pd.MultiIndex.from_arrays([contract_id, months])
    return keys.isin([(c, pd.Timestamp(m)) for c, m in confirmed]) & open_rows


def _existing(key: pd.DataFrame, open_rows: np.ndarray) -> np.ndarray:
    """Rows whose record id was imported before for the same provider.

    The keys of the rows of providers with stored records (a province's first month has
    none) go into a temporary table, joined with the unique index of stored
    (provider_id, record_id): one index probe a row, where lists of thousands of bound
    parameters cost more to build than to answer."""
    existing = np.zeros(len(key), dtype=bool)
    records = ServiceRecord.__table__
    rows = np.flatnonzero(open_rows)
    with_records = [
        provider_id
        for provider_id in pd.unique(key["provider_id"].iloc[rows]).tolist()
        if db.session.scalar(select(exists().where(records.c.provider_id == provider_id)))
    ]
    rows = rows[key["provider_id"].iloc[rows].isin(with_records).to_numpy()]
    if not len(rows):
        return existing
    connection = db.session.connection()
    FILE_KEYS.create(connection)
    _raw_insert(
        FILE_KEYS.name,
        ("position", "provider_id", "record_id"),
        zip(
            rows.tolist(),
            key["provider_id"].iloc[rows].tolist(),
            key["record_id"].iloc[rows].tolist(),
            strict=True,
        ),
    )
    stored = (
        select(FILE_KEYS.c.position)
        .join(
            records,
            and_(
                records.c.provider_id == FILE_KEYS.c.provider_id,
                records.c.record_id == FILE_KEYS.c.record_id,
            ),
        )
        .where(owned_in_scope(records.c.region_code))
    )
    existing[connection.execute(stored).scalars().all()] = True
    FILE_KEYS.drop(connection)
    return existing


def _reason_counts(verdict: _Verdicts, bad_rows: list) -> dict[str, int]:
    counts = pd.Series(verdict.reason[~verdict.open]).value_counts().to_dict()
    if bad_rows:
        counts["bad_row"] = len(bad_rows)
    return {str(k): int(v) for k, v in counts.items()}


def _store_rejections(import_id: int, rows: pd.DataFrame, verdict: _Verdicts, bad_rows) -> None:
    refused = np.flatnonzero(~verdict.open)
    values = [
        (
            import_id,
            int(rows["row"].iat[i]),
            rows["record_id"].iat[i][:64],
            verdict.reason[i],
            _detail(verdict, i),
        )
        for i in refused
    ]
    values += [
        (import_id, number or 0, "", "bad_row", _("%(n)d cells", n=cells))
        for number, cells in bad_rows
    ]
    _raw_insert(
        ImportRejection.__table__.name,
        ("import_id", "row", "record_id", "reason", "detail"),
        values,
    )


def _detail(verdict: _Verdicts, i: int) -> str:
    return str(verdict.detail[i] or "")[:200]


# Storage and settlement ---------------------------------------------------------------

RECORD_FIELDS = (
    "region_code",
    "import_id",
    "contract_id",
    "provider_id",
    "record_id",
    "recipient_id",
    "worker_id",
    "item_code",
    "township_code",
    "started_at",
    "ended_at",
    "minutes",
    "month",
    "flags",
    "paid_minutes",
    "unpaid_reason",
)


TIME_COLUMNS = ("started_at", "ended_at", "month")


def _stored(keys: list[tuple[int, date]]) -> pd.DataFrame:
    """The records already stored for these contract-months."""
    table = ServiceRecord.__table__
    columns = [
        table.c.id,
        table.c.contract_id,
        table.c.provider_id,
        table.c.record_id,
        table.c.recipient_id,
        table.c.worker_id,
        table.c.item_code,
        table.c.township_code,
        table.c.started_at,
        table.c.ended_at,
        table.c.minutes,
        table.c.month,
        table.c.review,
        table.c.flags,
        table.c.paid_minutes,
        table.c.unpaid_reason,
    ]
    # Times come back as text on SQLite: pandas parses a column at once, faster than
    # SQLAlchemy a value at a time.
    as_read = [type_coerce(c, String) if c.name in TIME_COLUMNS else c for c in columns]
    parts = []
    for start in range(0, len(keys), 200):
        # OR of pairs, not a row-value IN, which SQLite answers by scanning the whole index.
        wanted = or_(
            *(
                and_(table.c.contract_id == c, table.c.month == m)
                for c, m in keys[start : start + 200]
            )
        )
        result = db.session.execute(select(*as_read).where(wanted))
        # Plain tuples: pandas probes each SQLAlchemy Row for namedtuple fields, and every
        # probe raises inside SQLAlchemy (seconds for a month's records).
        rows = list(map(tuple, result.fetchall()))
        parts.append(pd.DataFrame(rows, columns=[c.name for c in columns]))
    if not parts:
        return pd.DataFrame(columns=[c.name for c in columns])
    frame = pd.concat(parts, ignore_index=True)
    for column in TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601").astype("datetime64[s]")
    return frame


def settle(
    keys: list[tuple[int, date]],
    terms: dict[int, rules.Terms],
    *,
    new: pd.DataFrame | None = None,
    import_id: int | None = None,
    roster: dict[int, tuple] | None = None,
    moves: pd.DataFrame | None = None,
    progress: Callable[..., None] | None = None,
) -> int:
    """Evaluate the contract-months ``keys`` (with the ``new`` records, stored here), write
    changed flags and pay, and bring their statements up to date. Returns the number of
    new flagged records. ``roster`` holds the recipients' facts when already read."""
    if not keys:
        return 0
    stored = _stored(keys)
    people = set(stored["recipient_id"].tolist())
    if new is not None:
        people.update(new["recipient_id"].tolist())
    sharing, prior_minutes = _sharing(keys, terms, people)
    if sharing:
        keys = sorted({*keys, *sharing})
        stored = pd.concat([stored, _stored(sharing)], ignore_index=True)
        missing = {c for c, _m in sharing} - set(terms)
        terms = {
            **terms,
            **{c.id: rules.Terms.of(c) for c in _contracts(missing)},
        }
    stored["is_new"] = False
    frames = [stored]
    if new is not None and len(new):
        frames.append(new.assign(is_new=True, id=0))
    records = pd.concat([f for f in frames if len(f)], ignore_index=True)
    if not len(records):
        return 0
    recipient_ids = [int(r) for r in pd.unique(records["recipient_id"])]
    if roster is None:
        roster = {row[0]: row for row in _recipient_rows(recipient_ids)}
    if moves is None:
        moves = moves_of(recipient_ids)
    standing = rules.Standing((roster[r] for r in recipient_ids), moves)
    prior = _prior_visits(keys, terms, recipient_ids)
    evaluated = rules.evaluate(records, terms, standing, prior, prior_minutes)
    is_new = records["is_new"].to_numpy(dtype=bool)

    fresh = records[is_new]
    if len(fresh):
        region = fresh["contract_id"].map({c: t.region_code for c, t in terms.items()})
        out = evaluated[is_new]
        columns = [
            region,
            np.full(len(fresh), import_id),
            fresh["contract_id"],
            fresh["provider_id"],
            fresh["record_id"],
            fresh["recipient_id"],
            fresh["worker_id"],
            fresh["item_code"],
            fresh["township_code"],
            (fresh["started_at"], _timestamps),
            (fresh["ended_at"], _timestamps),
            fresh["minutes"],
            (fresh["month"], _dates),
            out["flags"],
            out["paid_minutes"],
            out["unpaid_reason"],
        ]
        _raw_insert(ServiceRecord.__table__.name, RECORD_FIELDS, _in_chunks(columns))
        if progress is not None:
            progress("stored", 3, STEPS)

    old = records[~is_new]
    if len(old):
        out = evaluated[~is_new]
        changed = (
            (old["flags"].to_numpy() != out["flags"].to_numpy())
            | (old["paid_minutes"].to_numpy() != out["paid_minutes"].to_numpy())
            | (
                old["unpaid_reason"].fillna("").to_numpy()
                != out["unpaid_reason"].fillna("").to_numpy()
            )
        )
        if changed.any():
            table = ServiceRecord.__table__
            db.session.execute(
                update(table)
                .where(table.c.id == bindparam("record"))
                .values(
                    flags=bindparam("new_flags"),
                    paid_minutes=bindparam("new_paid"),
                    unpaid_reason=bindparam("new_reason"),
                ),
                [
                    {"record": int(i), "new_flags": int(f), "new_paid": int(p), "new_reason": r}
                    for i, f, p, r in zip(
                        old["id"][changed],
                        out["flags"][changed],
                        out["paid_minutes"][changed],
                        out["unpaid_reason"][changed],
                        strict=True,
                    )
                ],
            )
    _update_statements(keys, records, evaluated, terms)
    return int((evaluated["flags"].to_numpy()[is_new] != 0).sum())


def _timestamps(values: pd.Series) -> np.ndarray:
    """ISO 8601 text (2026-07-03T09:00:00), which both databases read back exactly."""
    return np.datetime_as_string(values.to_numpy(dtype="datetime64[s]"), unit="s")


def _dates(values: pd.Series) -> np.ndarray:
    return np.datetime_as_string(values.to_numpy(dtype="datetime64[s]"), unit="D")


def _in_chunks(columns: list, size: int = 50_000):
    """Row tuples of plain Python values, made a chunk at a time so that a million rows
    never exist as Python objects at once. A column is a Series or array, or a pair
    (Series, function making the stored form of a slice)."""
    first = columns[0][0] if isinstance(columns[0], tuple) else columns[0]
    for start in range(0, len(first), size):
        parts = []
        for column in columns:
            values, convert = column if isinstance(column, tuple) else (column, None)
            piece = (
                values.iloc[start : start + size]
                if hasattr(values, "iloc")
                else values[start : start + size]
            )
            piece = convert(piece) if convert else piece
            parts.append(piece.tolist())
        yield from zip(*parts, strict=True)


def _recipient_rows(ids: list[int]) -> list[tuple]:
    """The facts the entitlement rules read, for these recipients (already found through
    the scoped ORM, so the plain table is read here)."""
    table = Recipient.__table__
    columns = [table.c[attribute.key] for attribute in rules.RECIPIENT_COLUMNS]
    if len(ids) > 5000:  # one range scan beats thousands of bound parameters
        wanted = set(ids)
        query = select(*columns).where(table.c.id.between(min(ids), max(ids)))
        return [tuple(r) for r in db.session.execute(query) if r[0] in wanted]
    query = select(*columns).where(table.c.id.in_(ids))
    return [tuple(r) for r in db.session.execute(query)]


def _contracts(ids: set[int]) -> list[Contract]:
    if not ids:
        return []
    return list(db.session.scalars(select(Contract).where(Contract.id.in_(ids))))


def _sharing(keys, terms, people: set[int]):
    """The other contract-months that serve these people in these months, since the
    entitlement is the person's (rules.py): those still open are evaluated with ``keys``
    (and so, in turn, with the other people they serve, until none is left out); what
    statements already confirmed paid is returned as {(recipient_id, month): minutes},
    taken first. A county's contracts only: a person is served under their county's."""
    table = ServiceRecord.__table__
    months = sorted({m for _c, m in keys})
    counties = {terms[c].region_code for c, _m in keys}
    contracts = select(Contract.id).where(Contract.region_code.in_(counties))
    query = select(
        table.c.recipient_id, table.c.contract_id, table.c.month, table.c.paid_minutes
    ).where(table.c.month.in_(months), table.c.contract_id.in_(contracts))
    rows = db.session.execute(query).all()
    if not rows:
        return [], {}
    frame = pd.DataFrame(rows, columns=["recipient_id", "contract_id", "month", "paid"])
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    confirmed = {
        (c, m)
        for c, m in db.session.execute(
            select(Settlement.contract_id, Settlement.month).where(
                Settlement.status == SettlementStatus.CONFIRMED,
                Settlement.month.in_(months),
            )
        )
    }
    key_of = list(zip(frame["contract_id"], frame["month"], strict=True))
    frame["key"] = key_of
    frame["confirmed"] = [k in confirmed for k in key_of]
    open_rows = frame[~frame["confirmed"]]
    chosen = set(keys)
    wanted = set(people)
    while True:  # the closure: people of added contract-months bring theirs in turn
        added = set(open_rows["key"][open_rows["recipient_id"].isin(wanted)]) - chosen
        if not added:
            break
        chosen |= added
        wanted |= set(open_rows["recipient_id"][open_rows["key"].isin(added)].tolist())
    paid = frame[frame["confirmed"] & frame["recipient_id"].isin(wanted) & (frame["paid"] > 0)]
    paid = paid[~paid["key"].isin(set(keys))]
    prior: dict[tuple[int, date], int] = {}
    for rid, month, minutes in zip(paid["recipient_id"], paid["month"], paid["paid"], strict=True):
        prior[(int(rid), month)] = prior.get((int(rid), month), 0) + int(minutes)
    return sorted(chosen - set(keys)), prior


def _prior_visits(keys, terms, recipient_ids) -> dict[tuple[int, int, int], int]:
    """Visits paid in the year outside ``keys``, per person, year and contract (only for
    the visits model)."""
    if all(terms[c].hourly for c, _m in keys):
        return {}
    table = ServiceRecord.__table__
    skip = set(keys)
    wanted = set(recipient_ids)
    # A person is served under the contracts of their county: its records of the year are
    # read from the contract-month index alone, and kept to these people here.
    counties = {terms[c].region_code for c, _m in keys}
    contracts = list(
        db.session.scalars(select(Contract.id).where(Contract.region_code.in_(counties)))
    )
    counts: dict[tuple[int, int, int], int] = {}
    for year in {m.year for _c, m in keys}:
        query = select(table.c.recipient_id, table.c.contract_id, table.c.month).where(
            table.c.contract_id.in_(contracts),
            table.c.month >= date(year, 1, 1),
            table.c.month <= date(year, 12, 1),
            table.c.paid_minutes > 0,
        )
        for rid, cid, month in db.session.execute(query):
            if rid in wanted and (cid, month) not in skip:  # skip: being evaluated now
                counts[(rid, year, cid)] = counts.get((rid, year, cid), 0) + 1
    return counts


def _update_statements(keys, records, evaluated, terms) -> None:
    totals = rules.totals(records, evaluated, terms)
    existing = {
        (s.contract_id, s.month): s
        for s in db.session.scalars(
            select(Settlement).where(
                tuple_(Settlement.contract_id, Settlement.month).in_(list(keys))
            )
        )
    }
    now = utcnow()
    for cid, month in keys:
        t = terms[cid]
        found = totals.get((cid, month)) or rules.MonthTotals(0, 0, 0, 0, 0, 0, 0)
        statement = existing.get((cid, month))
        if statement is None:
            statement = Settlement(
                contract_id=cid, month=month, region_code=t.region_code, unit=t.unit
            )
            db.session.add(statement)
        if statement.status == SettlementStatus.CONFIRMED:
            continue
        statement.unit, statement.rate = t.unit, t.rate
        statement.records, statement.flagged = found.records, found.flagged
        statement.recipients, statement.minutes = found.recipients, found.minutes
        statement.paid_minutes, statement.paid_visits = found.paid_minutes, found.paid_visits
        statement.amount = rules.fen_to_yuan(found.amount_fen)
        statement.computed_at = now
    db.session.flush()


def _large_cache() -> None:
    """SQLite keeps 2 MB of pages by default: far too little to keep a million-row table's
    indexes in memory while they grow. This connection gets 256 MB for the import."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA cache_size = -262144")


def _raw_insert(table: str, columns: tuple[str, ...], values) -> None:
    """Many rows through the driver, in the session's transaction (COPY on PostgreSQL)."""
    connection = db.session.connection()
    note_written(db.session())  # the session does not see these rows go in
    raw = connection.connection.driver_connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return
    cursor = raw.cursor()
    marks = ", ".join(["?"] * len(columns))
    statement = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - fixed names
    cursor.executemany(statement, values)


def rejections_csv(batch: RecordImport) -> bytes:
    """The rejected rows of an import, for the platform operator to correct."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Record id"), _("Reason"), _("Detail")])
    for row in db.session.scalars(
        select(ImportRejection)
        .where(ImportRejection.import_id == batch.id)
        .order_by(ImportRejection.row)
    ):
        # record ids and details come from the platform's file: never a formula
        writer.writerow(
            [row.row, csv_text(row.record_id), rejection_label(row.reason), csv_text(row.detail)]
        )
    return ("\ufeff" + out.getvalue()).encode()


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
