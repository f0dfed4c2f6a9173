"""Import of service records from the smart elderly-care platform (CSV, .xlsx, API push).

A province sends about a million rows a month, so the hot path is vectorised pandas and
the raw database driver (sqlite3 ``executemany``; PostgreSQL ``COPY``), all inside the
request's one transaction: either every accepted row, its flags, and the statements of
the months it touches are written, or nothing is. Every row is accepted or rejected
with a reason; a record already imported (same record id for the same provider) is
counted once and reported as such.

Lookups go through the ORM, so they are region-scoped: a user can only import records
of providers, contracts and recipients of their own region.

This module checks the rows; ``reading`` reads the file, ``rejections`` keeps the refused
rows and their reasons, ``settling`` stores the accepted records and settles their months,
``storage`` writes many rows through the driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    exists,
    select,
    type_coerce,
)

from procurement.accounts.models import User
from procurement.contracts.models import Contract, ContractStatus
from procurement.core.clock import CHINA, utcnow
from procurement.core.db import db
from procurement.core.identifiers import valid_id_numbers
from procurement.core.scoping import owned_in_scope
from procurement.plans.models import ServiceItem
from procurement.recipients.identity import lookup_hasher
from procurement.recipients.models import Recipient
from procurement.regions.models import Region, RegionLevel
from procurement.settlements import rules, storage
from procurement.settlements.models import (
    RecordImport,
    ServiceRecord,
    Settlement,
    SettlementStatus,
)
from procurement.settlements.reading import COLUMN_OF, FIELDS, normalise, parse_times
from procurement.settlements.rejections import Verdicts, reason_counts, store_rejections
from procurement.settlements.settling import STEPS, moves_of, settle

# The keys of a file's rows while they are checked against the stored records.
FILE_KEYS = Table(
    "import_file_keys",
    MetaData(),
    Column("position", Integer),
    Column("provider_id", Integer),
    Column("record_id", String(64)),
    prefixes=["TEMPORARY"],
)


SIGNED = (
    ContractStatus.SIGNED,
    ContractStatus.IN_FORCE,
    ContractStatus.COMPLETED,
    ContractStatus.TERMINATED,
)


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
    storage.large_cache()
    bad_rows = frame.attrs.get("bad_rows", [])
    rows = normalise(frame, bad_rows)
    del frame  # the caller passes it on; from here on only the normalised rows are kept
    n = len(rows)
    report("read", 1, STEPS)
    look = _lookups()
    verdict = Verdicts(n)

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

    started = parse_times(rows["start"])
    ended = parse_times(rows["end"])
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
        reasons=reason_counts(verdict, bad_rows),
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
    store_rejections(batch.id, rows, verdict, bad_rows)
    batch.seconds = round(time.perf_counter() - began, 3)
    db.session.flush()
    report("settled", 4, STEPS)
    return batch


def _no_progress(stage: str, done: int, total: int | None = None) -> None:
    pass


def _recipients_of(numbers: pd.Series, look: Lookups, verdict: Verdicts) -> pd.Series:
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
    storage.raw_insert(
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
