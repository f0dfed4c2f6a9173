"""Reading the audit trail: filters for the browse page and the API, history of a record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, inspect, select

from procurement.core.audit import AuditEvent
from procurement.core.clock import CHINA
from procurement.core.db import db


@dataclass
class AuditFilter:
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    actor: str | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _china_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA)


def audit_query(filters: AuditFilter) -> Select:
    """Events matching the filters, newest first (region scoping applies on execution)."""
    stmt = select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    if filters.entity_type:
        stmt = stmt.where(AuditEvent.entity_type == filters.entity_type)
    if filters.entity_id:
        stmt = stmt.where(AuditEvent.entity_id == filters.entity_id)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor_name == filters.actor.strip().lower())
    if filters.channel:
        stmt = stmt.where(AuditEvent.channel == filters.channel)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.occurred_at >= _china_midnight(filters.date_from))
    if filters.date_to:
        end = _china_midnight(filters.date_to + timedelta(days=1))
        stmt = stmt.where(AuditEvent.occurred_at < end)
    return stmt


def history_of(record) -> list[AuditEvent]:
    """Every audit event of one record, newest first."""
    identity = inspect(record).identity
    entity_id = ",".join(str(part) for part in identity)
    return list(
        db.session.scalars(
            audit_query(AuditFilter(entity_type=record.__tablename__, entity_id=entity_id))
        )
    )


def entity_types() -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)
        )
    )
