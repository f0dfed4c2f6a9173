"""Settling contract-months: the records stored with the new ones, evaluated under the
entitlement rules (``rules``), new records stored, changed flags and pay written, and
the months' statements brought up to date. Imports call it, and so do statements
recomputed after a roster or contract change."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import (
    String,
    and_,
    bindparam,
    delete,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)

from procurement.contracts.models import Contract
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.scoping import owned_in_scope
from procurement.recipients.models import Recipient, RecipientMove
from procurement.settlements import rules, storage
from procurement.settlements.models import (
    ServiceRecord,
    Settlement,
    SettlementStatus,
    StatementLine,
    StatementUnpaid,
)

# The stages an import reports as it goes: rows read, checked, records stored, statements
# settled (the last two are one step when no new record is stored).
STEPS = 4


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
        storage.raw_insert(ServiceRecord.__table__.name, RECORD_FIELDS, storage.in_chunks(columns))
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
    """Bring the statements of ``keys`` up to date with their records: totals, and the
    lines per person with what is not paid them (a confirmed statement stays as it was)."""
    lines, unpaid = rules.person_lines(records, evaluated, terms)
    totals = rules.month_totals(lines)
    reasons: dict[tuple[int, date], dict[str, list[int]]] = {}
    by_reason = unpaid.groupby(["contract_id", "month", "reason"], sort=False)[
        ["records", "minutes"]
    ].sum()
    for index, row in by_reason.iterrows():
        key = (int(index[0]), pd.Timestamp(index[1]).date())  # type: ignore[index]
        figures = [int(row["records"]), int(row["minutes"])]
        reasons.setdefault(key, {})[str(index[2])] = figures  # type: ignore[index]
    existing = {
        (s.contract_id, s.month): s
        for s in db.session.scalars(
            select(Settlement).where(
                tuple_(Settlement.contract_id, Settlement.month).in_(list(keys))
            )
        )
    }
    now = utcnow()
    updated = []
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
        statement.unpaid = reasons.get((cid, month), {})
        statement.computed_at = now
        updated.append(statement)
    db.session.flush()
    _write_lines({(s.contract_id, s.month): s.id for s in updated}, lines, unpaid)
    # Under-delivery reads the records just written and the zone's roster: kept with the
    # statement, so that its page does not read a zone's roster on every view.
    from procurement.settlements.delivery import shortfall_summary  # it reads moves here

    for statement in updated:
        statement.shortfall = shortfall_summary(statement.contract, statement.month)
    db.session.flush()


def _write_lines(statements: dict[tuple[int, date], int], lines, unpaid) -> None:
    """Replace the lines of ``statements`` ((contract_id, month) -> id) with the new ones."""
    if not statements:
        return
    ids = list(statements.values())
    for table in (StatementLine.__table__, StatementUnpaid.__table__):
        for chunk in range(0, len(ids), 500):
            db.session.execute(
                delete(table).where(table.c.settlement_id.in_(ids[chunk : chunk + 500]))
            )
    for frame, table, fields in (
        (lines, StatementLine.__table__, LINE_FIELDS),
        (unpaid, StatementUnpaid.__table__, UNPAID_FIELDS),
    ):
        months = [pd.Timestamp(m).date() for m in frame["month"]]
        owner = pd.Series(
            [
                statements.get((int(c), m))
                for c, m in zip(frame["contract_id"], months, strict=True)
            ],
            dtype="Int64",
        )
        kept = owner.notna().to_numpy()
        if not kept.any():
            continue
        columns = [owner[kept].astype(np.int64), *(frame[f][kept] for f in fields[1:])]
        storage.raw_insert(table.name, fields, storage.in_chunks(columns))


LINE_FIELDS = (
    "settlement_id",
    "recipient_id",
    "visits",
    "minutes",
    "paid_minutes",
    "paid_visits",
    "amount_fen",
)
UNPAID_FIELDS = ("settlement_id", "recipient_id", "reason", "records", "minutes")
