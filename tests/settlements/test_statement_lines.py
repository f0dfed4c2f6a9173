"""A statement's lines per person are written by ``settle`` in the transaction that writes
its records (issue 17): after every kind of write they agree with a grouping of the
records themselves, and the migration's backfill gives the same lines."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

from sqlalchemy import case, delete, func, select, text

import procurement
from procurement.core.db import db
from procurement.recipients.models import ExitReason, Recipient
from procurement.settlements import delivery, rules, services
from procurement.settlements.models import (
    ServiceRecord,
    Settlement,
    StatementLine,
    StatementUnpaid,
    Unpaid,
)
from tests.settlements.test_statements import clear_all, months, pending_ids  # noqa: F401

MIGRATION = Path(procurement.__file__).parent / "migrations/versions/0016_statement_lines.py"


def _from_records(settlement: Settlement) -> tuple[dict, dict]:
    """The statement's lines and unpaid minutes, grouped from its records afresh."""
    record = ServiceRecord
    mine = (record.contract_id == settlement.contract_id, record.month == settlement.month)
    lines = {}
    for rid, visits, minutes, paid, paid_visits in db.session.execute(
        select(
            record.recipient_id,
            func.count(),
            func.sum(record.minutes),
            func.sum(record.paid_minutes),
            func.sum(case((record.paid_minutes > 0, 1), else_=0)),
        )
        .where(*mine)
        .group_by(record.recipient_id)
    ):
        amount = rules.line_amount_fen(
            paid, paid_visits, int(settlement.rate * 100), settlement.unit == "hour"
        )
        lines[rid] = (visits, minutes, paid, paid_visits, int(amount))
    unpaid = {
        (rid, reason): (count, minutes)
        for rid, reason, count, minutes in db.session.execute(
            select(
                record.recipient_id,
                record.unpaid_reason,
                func.count(),
                func.sum(record.minutes - record.paid_minutes),
            )
            .where(*mine, record.unpaid_reason.is_not(None))
            .group_by(record.recipient_id, record.unpaid_reason)
        )
    }
    return lines, unpaid


def _stored(settlement: Settlement) -> tuple[dict, dict]:
    line, unpaid = StatementLine, StatementUnpaid
    lines = {
        row[0]: tuple(row[1:])
        for row in db.session.execute(
            select(
                line.recipient_id,
                line.visits,
                line.minutes,
                line.paid_minutes,
                line.paid_visits,
                line.amount_fen,
            ).where(line.settlement_id == settlement.id)
        )
    }
    reasons = {
        (rid, reason): (count, minutes)
        for rid, reason, count, minutes in db.session.execute(
            select(unpaid.recipient_id, unpaid.reason, unpaid.records, unpaid.minutes).where(
                unpaid.settlement_id == settlement.id
            )
        )
    }
    return lines, reasons


def _all_agree() -> int:
    """Every statement's stored lines are its records' grouping, and sum to its totals."""
    statements = db.session.scalars(select(Settlement).order_by(Settlement.id)).all()
    for settlement in statements:
        stored = _stored(settlement)
        assert stored == _from_records(settlement), settlement.id
        lines = services.lines(settlement)
        assert len(lines) == settlement.recipients == len(stored[0])
        assert sum(line.amount for line in lines) == settlement.amount
        pending = sum(n for (_r, reason), (n, _m) in stored[1].items() if reason == "flag_pending")
        assert services.statement_figures(settlement).pending_reviews == pending
        assert services.pending_reviews(settlement) == len(pending_ids(settlement))
        grouped: dict[str, list[int]] = {}
        for (_rid, reason), (count, minutes) in stored[1].items():
            grouped.setdefault(reason, [0, 0])
            grouped[reason][0] += count
            grouped[reason][1] += minutes
        assert settlement.unpaid is not None
        assert services.unpaid_summary(settlement) == [
            (reason, *grouped[reason]) for reason in sorted(grouped)
        ]
        fresh = delivery.shortfall_summary(settlement.contract, settlement.month)
        assert settlement.shortfall == fresh, settlement.id
    return len(statements)


def test_lines_agree_with_the_records_after_import_review_and_recomputation(months):  # noqa: F811
    assert _all_agree() >= 2
    flagged = next(s for s in db.session.scalars(select(Settlement)) if pending_ids(s))
    assert clear_all(flagged, months)  # cleared: paid after all
    assert _all_agree()
    other = next((s for s in db.session.scalars(select(Settlement)) if pending_ids(s)), None)
    if other is not None:
        clear_all(other, months, decision="confirmed")  # refused for good
        assert _all_agree()

    # the roster changes: a person who died in July is paid nothing after that day
    first = services.lines(flagged)[0]
    person = db.session.get(Recipient, first.recipient_id)
    person.exit_reason, person.exit_date = ExitReason.DEATH, date(2026, 7, 1)
    db.session.flush()
    services.recompute(flagged)
    assert _all_agree()
    (line,) = [x for x in services.lines(flagged) if x.recipient_id == person.id]
    assert line.paid_minutes == 0 and Unpaid.DIED.value in line.unpaid


def test_a_renamed_person_shows_the_new_name_without_recomputing(months):  # noqa: F811
    settlement = db.session.scalars(select(Settlement)).first()
    first = services.lines(settlement, limit=1)[0]
    db.session.get(Recipient, first.recipient_id).name = first.name + "（更正）"
    db.session.flush()
    assert services.lines(settlement, limit=1)[0].name == first.name + "（更正）"


def test_the_migrations_backfill_gives_the_lines_settle_writes(months):  # noqa: F811
    spec = importlib.util.spec_from_file_location("statement_lines_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    statements = db.session.scalars(select(Settlement)).all()
    written = {s.id: _stored(s) for s in statements}
    assert any(lines for lines, _unpaid in written.values())
    db.session.execute(delete(StatementUnpaid))
    db.session.execute(delete(StatementLine))
    db.session.execute(text(migration.backfill_lines(db.engine.dialect.name)))
    db.session.execute(text(migration.BACKFILL_UNPAID))
    assert {s.id: _stored(s) for s in statements} == written


def test_a_statement_computed_before_its_shortfall_was_kept_shows_it_computed(months):  # noqa: F811
    settlement = db.session.scalars(select(Settlement)).first()
    kept = delivery.shortfall_totals(settlement)
    assert kept.entitled > 0
    settlement.shortfall = None  # as migration 0018 leaves the statements before it
    computed = delivery.shortfall_totals(settlement)
    names = delivery.SUMMARY
    assert [getattr(computed, n) for n in names] == [getattr(kept, n) for n in names]


def test_a_statement_computed_before_its_unpaid_summary_was_kept_reads_its_lines(months):  # noqa: F811
    flagged = next(s for s in db.session.scalars(select(Settlement)) if pending_ids(s))
    kept = services.unpaid_summary(flagged)
    assert kept and services.statement_figures(flagged).pending_reviews > 0
    flagged.unpaid = None  # as migration 0021 leaves the statements before it
    assert services.unpaid_summary(flagged) == kept
    assert services.pending_reviews(flagged) == len(pending_ids(flagged)) > 0
