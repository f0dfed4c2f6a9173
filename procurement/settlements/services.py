"""Monthly statements: reading, recomputing, flag review and finance's confirmation.

The rules themselves are in ``rules``; the import in ``importer``, settling in
``settling``. Knows nothing of HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select, tuple_
from sqlalchemy.exc import OperationalError

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core import audit, spreadsheets
from procurement.core.clock import today, utcnow
from procurement.core.db import begin_writing_at_once, db, lock_wait
from procurement.core.errors import Conflict, NotFound, ValidationError, is_write_clash
from procurement.core.files import read_blob, store_blob
from procurement.core.scoping import ancestor_codes
from procurement.jobs import runner
from procurement.jobs.models import ACTIVE, Job
from procurement.plans.models import PurchasePlan
from procurement.recipients.models import Recipient
from procurement.regions.services import get_region
from procurement.settlements import ceilings, holds, importer, reading, rules, settling
from procurement.settlements.models import (
    FLAGGED,
    RecordImport,
    Review,
    ServiceRecord,
    Settlement,
    SettlementStatus,
    StatementLine,
    StatementUnpaid,
    Unpaid,
)


def get_settlement(settlement_id: int) -> Settlement:
    settlement = db.session.get(Settlement, settlement_id)
    if settlement is None:
        raise NotFound(_("No such statement."))
    return settlement


def get_import(import_id: int) -> RecordImport:
    batch = db.session.get(RecordImport, import_id)
    if batch is None:
        raise NotFound(_("No such import."))
    return batch


# Import -------------------------------------------------------------------------------


# Imports take turns ------------------------------------------------------------------
#
# Two imports of overlapping records at once (the same push twice, two files of one
# provider-month) would both find the records new and both write them: the second would
# then fail on the records' unique key, a 500 on PostgreSQL. An import first takes the
# import lock of the region it imports for: SQLite's write lock (taken at once: ``BEGIN
# IMMEDIATE``), or on PostgreSQL an advisory lock held to the end of the transaction, on
# the region's code, shared on the codes above it (a province's import waits for its
# counties' and they for it; two counties' imports run side by side). A second import
# waits for the first and finds its records imported before; an API push waits at most
# ``SQLITE_BUSY_TIMEOUT_MS`` and is otherwise told to try again (409), a job waits.

IMPORT_LOCKS = 0x494D  # the namespace of the import locks' keys


class ImportUnderWay(Conflict):
    code = "import_under_way"


def take_import_lock(region_code: str, *, in_request: bool) -> None:
    """Wait for the region's import under way to end (in a request, for a while). In a
    request, before anything is written; a job's transaction holds SQLite's lock already."""
    try:
        if db.engine.dialect.name == "postgresql":
            waiting = current_app.config["SQLITE_BUSY_TIMEOUT_MS"]
            with lock_wait(db.session.connection(), waiting) if in_request else nullcontext():
                _advisory_import_locks(region_code)
        elif in_request:
            begin_writing_at_once(db.session)
    except OperationalError as error:
        if not is_write_clash(error):
            raise
        db.session.rollback()
        raise ImportUnderWay(
            _("Service records of this county are being imported; try again in a moment.")
        ) from error


def _advisory_import_locks(region_code: str) -> None:
    """Shared on the regions above, from the province down, then the region's own."""
    region = get_region(region_code)
    for code in ancestor_codes(region.code, region.level.value):
        db.session.execute(select(func.pg_advisory_xact_lock_shared(IMPORT_LOCKS, int(code))))
    db.session.execute(select(func.pg_advisory_xact_lock(IMPORT_LOCKS, int(region.code))))


def import_upload(
    stream: IO[bytes],
    filename: str,
    *,
    region_code: str,
    actor: User | None,
    progress: Callable[..., None] | None = None,
    sha256: str | None = None,
) -> RecordImport:
    """A CSV or .xlsx file from the platform: read it whole, then import it. ``sha256``:
    the file's digest when already known (a kept file is named by it)."""
    limit = current_app.config["RECORD_IMPORT_MAX_BYTES"]
    data = stream.read(limit + 1)
    source = reading.upload_kind(data, filename)
    frame = reading.read_xlsx(data) if source == "xlsx" else reading.read_csv(data)
    take_import_lock(region_code, in_request=False)
    batch = importer.import_records(
        frame,
        source=source,
        filename=filename,
        sha256=sha256 or reading.file_digest(data),
        region_code=region_code,
        actor=actor,
        progress=progress,
    )
    audit.label(batch, "import", note=filename[:100])
    return batch


def import_pushed(
    rows: list[dict],
    *,
    region_code: str,
    actor: User | None,
    progress: Callable[..., None] | None = None,
    in_request: bool = False,
) -> RecordImport:
    """Records the platform pushes through the API (same checks as a file)."""
    frame = reading.frame_from_rows(rows)
    take_import_lock(region_code, in_request=in_request)
    return importer.import_records(
        frame,
        source="api",
        filename=_("Pushed by the platform"),
        sha256=reading.file_digest(pushed_bytes(rows)),
        region_code=region_code,
        actor=actor,
        progress=progress,
    )


def pushed_bytes(rows: list[dict]) -> bytes:
    """Pushed records as the bytes their digest is taken of (and a job keeps)."""
    return json.dumps(rows, sort_keys=True, default=str).encode()


# Imports as jobs (issue 16): the request keeps the file and queues its import; a worker
# runs it with its progress; the job's result links to the import's report.

IMPORT_JOB = "records.import"


def check_upload(data: bytes, filename: str) -> None:
    """Refuse at once, before any job, a file no import could read: empty, too large, or
    named .xlsx without being a workbook. The rest is found by the import itself."""
    spreadsheets.check_size(data, current_app.config["RECORD_IMPORT_MAX_BYTES"])
    reading.upload_kind(data, filename)


def queue_import(data: bytes, filename: str, *, pushed: bool = False, user: User) -> Job:
    """Keep the file (or the pushed records) and queue its import, in the user's region.

    One import of a file at a time: the same file (by digest) while its import is waiting
    or running is refused with 409; a file imported before is imported again, and its
    records are reported as already imported."""
    region_code = user.region_code
    digest = store_blob(data)  # kept under its digest: the same file twice is kept once
    key = f"{IMPORT_JOB}:{region_code}:{digest}"
    try:
        # Read first: on SQLite a running import holds the one write lock, and recording
        # a second job would wait for it only to be refused (the unique index on the
        # active key still decides when two requests pass this check at once).
        running = db.session.scalars(
            select(Job).where(Job.key == key, Job.status.in_(ACTIVE))
        ).first()
        if running is not None:
            raise runner.AlreadyRunning(running)
        params = {
            "blob": digest,
            "filename": filename[:200],
            "pushed": pushed,
            "region_code": region_code,
        }
        return runner.submit(IMPORT_JOB, key, params, user=user, region_code=region_code)
    except runner.AlreadyRunning as error:
        error.message = _(
            "This file is being imported (job %(id)s); wait for it to finish.", id=error.job.id
        )
        error.args = (error.message,)
        raise


def run_import_job(
    params: dict, *, actor: User, progress: Callable[..., None] | None = None
) -> RecordImport:
    """The work of a ``records.import`` job: the kept file (or records) imported."""
    data = read_blob(params["blob"])
    if params.get("pushed"):
        return import_pushed(
            json.loads(data), region_code=params["region_code"], actor=actor, progress=progress
        )
    return import_upload(
        BytesIO(data),
        params["filename"],
        region_code=params["region_code"],
        actor=actor,
        progress=progress,
        sha256=params["blob"],
    )


# Statements ---------------------------------------------------------------------------


def terms_for(contract_ids) -> dict[int, rules.Terms]:
    contracts = db.session.scalars(select(Contract).where(Contract.id.in_(list(contract_ids))))
    return {c.id: rules.Terms.of(c) for c in contracts}


def recompute(settlement: Settlement) -> Settlement:
    """Apply the rules again (after a roster change, say); confirmed statements stay."""
    if settlement.status == SettlementStatus.CONFIRMED:
        raise Conflict(_("A confirmed statement is final."), code="confirmed")
    key = (settlement.contract_id, settlement.month)
    settling.settle([key], terms_for([settlement.contract_id]))
    db.session.refresh(settlement)
    return settlement


def held_by(settlement: Settlement):
    """The suspension of settlement (seed 001 §8(2)1) holding this statement, if any."""
    from procurement.supervision.services import settlement_suspension

    return settlement_suspension(settlement.contract_id, today())


# A statement's records are read by its contract and month once the statement itself was
# found in the caller's scope: the records of a contract are in the contract's region. The
# region filter would otherwise read every record from the table instead of the index.
OF_A_VISIBLE_STATEMENT = {"unscoped": True}


def pending_reviews(settlement: Settlement) -> int:
    return pending_reviews_for([settlement]).get(settlement.id, 0)


def statement_holds(settlement: Settlement, *, position=None, pending: int | None = None):
    """The holds of one statement, from its position, its flags and any suspension."""
    return holds.holds(
        settlement,
        position=position or ceilings.contract_position(settlement),
        pending_reviews=pending_reviews(settlement) if pending is None else pending,
        suspension=held_by(settlement),
    )


def pending_reviews_for(settlements) -> dict[int, int]:
    """Records awaiting review per statement of a list: as kept with each statement (one
    grouped query for those computed before that was kept)."""
    found, unkept = {}, []
    for settlement in settlements:
        if not settlement.flagged:
            continue
        if settlement.unpaid is None:
            unkept.append(settlement.id)
        elif pending := settlement.unpaid.get(Unpaid.FLAG_PENDING.value, (0, 0))[0]:
            found[settlement.id] = int(pending)
    if unkept:
        unpaid = StatementUnpaid
        rows = db.session.execute(
            select(unpaid.settlement_id, func.sum(unpaid.records))
            .where(unpaid.settlement_id.in_(unkept), unpaid.reason == Unpaid.FLAG_PENDING.value)
            .group_by(unpaid.settlement_id)
        )
        found.update({settlement_id: int(count) for settlement_id, count in rows})
    return found


def confirm(settlement: Settlement, *, actor: User, amount_seen: str, note: str = "") -> Settlement:
    """Finance confirms the statement it read: recomputed first, and refused while it is
    held (see ``holds``) or if the amount changed since it was read.

    The contract's row is locked first, so that two statements of one contract confirmed
    at once cannot together pass the contract's amount."""
    if settlement.status == SettlementStatus.CONFIRMED:
        raise Conflict(_("This statement is already confirmed."), code="confirmed")
    ceilings.lock_contract(settlement.contract_id)
    recompute(settlement)
    holds.refuse_if_held(statement_holds(settlement))
    try:
        seen = Decimal(str(amount_seen))
    except ArithmeticError:
        seen = None
    if seen != settlement.amount:
        raise Conflict(
            _(
                "The statement changed since you read it (now %(amount)s yuan): read it again.",
                amount=f"{settlement.amount:,.2f}",
            ),
            code="stale",
        )
    settlement.status = SettlementStatus.CONFIRMED
    settlement.confirmed_by_id = actor.id
    settlement.confirmed_at = utcnow()
    settlement.note = (note or "").strip()[:500]
    audit.label(settlement, "confirm")
    db.session.flush()
    return settlement


@dataclass(frozen=True)
class Line:
    """One person's month on a statement."""

    recipient_id: int
    name: str
    id_masked: str
    township_code: str
    visits: int
    minutes: int
    paid_minutes: int
    paid_visits: int
    amount: Decimal
    unpaid: dict[str, int]  # reason -> minutes not paid
    # the numbers of the other contracts that used the person's entitlement that month
    also_under: tuple[str, ...] = ()


def lines(settlement: Settlement, *, offset: int = 0, limit: int | None = None) -> list[Line]:
    """The statement's lines per person (reasons with their minutes), as ``settle`` wrote
    them; names and townships as the roster has them now."""
    line = StatementLine
    query = (
        select(
            line.recipient_id,
            line.visits,
            line.minutes,
            line.paid_minutes,
            line.paid_visits,
            line.amount_fen,
            Recipient.name,
            Recipient.id_masked,
            Recipient.township_code,
        )
        .join(Recipient, Recipient.id == line.recipient_id)
        .where(line.settlement_id == settlement.id)
        .order_by(Recipient.township_code, Recipient.name, Recipient.id)
        .offset(offset)
        .execution_options(**OF_A_VISIBLE_STATEMENT)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = db.session.execute(query).all()
    reasons: dict[int, dict[str, int]] = {}
    if rows:
        unpaid_query = select(
            StatementUnpaid.recipient_id, StatementUnpaid.reason, StatementUnpaid.minutes
        ).where(StatementUnpaid.settlement_id == settlement.id)
        if limit is not None:  # a page: its people only (the whole statement reads them all)
            unpaid_query = unpaid_query.where(
                StatementUnpaid.recipient_id.in_([r[0] for r in rows])
            )
        for rid, reason, unpaid in db.session.execute(unpaid_query):
            reasons.setdefault(rid, {})[reason] = int(unpaid)
    elsewhere = _other_contracts(
        settlement, [rid for rid, found in reasons.items() if Unpaid.USED_ELSEWHERE in found]
    )
    no_reasons: dict[str, int] = {}
    return [
        Line(
            rid,
            name,
            masked,
            township,
            visits,
            minutes,
            paid,
            paid_visits,
            rules.fen_to_yuan(amount_fen),
            reasons.get(rid, no_reasons),
            elsewhere.get(rid, ()),
        )
        for rid, visits, minutes, paid, paid_visits, amount_fen, name, masked, township in rows
    ]


def _other_contracts(settlement: Settlement, people: list[int]) -> dict[int, tuple[str, ...]]:
    """For these people, the other contracts that served them in the statement's month
    (the ones that took the entitlement first, by the order of the visits)."""
    if not people:
        return {}
    record = ServiceRecord
    query = (
        select(record.recipient_id, Contract.number)
        .join(Contract, Contract.id == record.contract_id)
        .where(
            record.month == settlement.month,
            record.contract_id != settlement.contract_id,
            record.recipient_id.in_(people),
            record.paid_minutes > 0,
        )
        .distinct()
        .order_by(record.recipient_id, Contract.number)
        .execution_options(**OF_A_VISIBLE_STATEMENT)
    )
    found: dict[int, tuple[str, ...]] = {}
    for rid, number in db.session.execute(query):
        found[rid] = (*found.get(rid, ()), number)
    return found


@dataclass(frozen=True)
class StatementFigures:
    unpaid: list[tuple[str, int, int]]
    pending_reviews: int


def statement_figures(settlement: Settlement) -> StatementFigures:
    """The unpaid summary and the records awaiting review, as the statement was last
    computed."""
    unpaid = unpaid_summary(settlement)
    pending = sum(count for reason, count, _m in unpaid if reason == Unpaid.FLAG_PENDING)
    return StatementFigures(unpaid, pending)


def unpaid_summary(settlement: Settlement) -> list[tuple[str, int, int]]:
    """(reason, records, minutes not paid) for the statement, as kept with it (summed
    from its lines for a statement computed before that was kept)."""
    if settlement.unpaid is not None:
        return [(reason, int(n), int(m)) for reason, (n, m) in sorted(settlement.unpaid.items())]
    unpaid = StatementUnpaid
    return [
        (reason, int(count), int(minutes))
        for reason, count, minutes in db.session.execute(
            select(unpaid.reason, func.sum(unpaid.records), func.sum(unpaid.minutes))
            .where(unpaid.settlement_id == settlement.id)
            .group_by(unpaid.reason)
            .order_by(unpaid.reason)
        )
    ]


# Flags --------------------------------------------------------------------------------


def flag_summary(month: date | None = None) -> list[tuple]:
    """(provider_id, month, flagged records, awaiting review) per provider and month."""
    pending = func.sum(case((ServiceRecord.unpaid_reason == Unpaid.FLAG_PENDING.value, 1), else_=0))
    query = (
        select(ServiceRecord.provider_id, ServiceRecord.month, func.count(), pending)
        .where(FLAGGED)
        .group_by(ServiceRecord.provider_id, ServiceRecord.month)
        .order_by(ServiceRecord.month.desc(), ServiceRecord.provider_id)
    )
    if month is not None:
        query = query.where(ServiceRecord.month == month)
    return [tuple(row) for row in db.session.execute(query)]


def flagged_records(provider_id: int, month: date, flag: int | None = None):
    query = (
        select(ServiceRecord)
        .where(
            ServiceRecord.provider_id == provider_id,
            ServiceRecord.month == month,
            FLAGGED,
        )
        .order_by(ServiceRecord.started_at, ServiceRecord.id)
    )
    if flag:
        query = query.where(ServiceRecord.flags.op("&")(flag) != 0)
    return query


def review(record_ids: list[int], *, decision: str, note: str, actor: User) -> int:
    """Clear (pay after all) or confirm (refuse) flagged records; their months are
    recomputed. Returns how many records were reviewed."""
    if decision not in {r.value for r in Review}:
        raise ValidationError(_("Choose to clear or to confirm the flags."), field="decision")
    if not (note or "").strip():
        raise ValidationError(_("Say what the review found."), field="note")
    if not record_ids:
        raise ValidationError(_("Choose at least one record."), field="records")
    records = db.session.scalars(
        select(ServiceRecord).where(ServiceRecord.id.in_(record_ids), FLAGGED)
    ).all()
    if len(records) != len(set(record_ids)):
        raise ValidationError(_("Some of the records are not flagged or not yours to review."))
    keys = sorted({(r.contract_id, r.month) for r in records})
    confirmed = db.session.scalar(
        select(func.count()).where(
            Settlement.status == SettlementStatus.CONFIRMED,
            tuple_(Settlement.contract_id, Settlement.month).in_(keys),
        )
    )
    if confirmed:
        raise Conflict(_("A confirmed month's records can no longer be reviewed."))
    for record in records:
        record.review = decision
    db.session.flush()
    audit.record(
        "review",
        entity_type="service_records",
        entity_id=",".join(str(r.id) for r in records[:50]),
        region_code=records[0].region_code,
        after={"decision": decision, "note": note.strip()[:500], "records": len(records)},
    )
    settling.settle(keys, terms_for({c for c, _m in keys}))
    return len(records)


# Budget execution ----------------------------------------------------------------------


def settled_by_zone(plan: PurchasePlan) -> dict[int | None, Decimal]:
    """Confirmed statements, per zone of the plan."""
    rows = db.session.execute(
        select(Contract.zone_id, func.sum(Settlement.amount))
        .join(Contract, Contract.id == Settlement.contract_id)
        .where(Contract.plan_id == plan.id, Settlement.status == SettlementStatus.CONFIRMED)
        .group_by(Contract.zone_id)
    ).all()
    return {zone_id: Decimal(amount or 0).quantize(Decimal("0.01")) for zone_id, amount in rows}


def upload_limit() -> int:
    """The request size allowed for an upload of service records (the file plus a form)."""
    return current_app.config["RECORD_IMPORT_MAX_BYTES"] + 1024 * 1024
