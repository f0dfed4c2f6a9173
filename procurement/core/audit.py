"""The audit trail: who changed what, when, with the values before and after.

Models that inherit ``Audited`` are recorded automatically: the ``after_flush``
listener below writes one ``AuditEvent`` per created, updated or deleted row, in
the same transaction as the change, whether it came from a page, the API or the
CLI. A service names a state change with ``label(obj, "approve")`` before the
flush, and records an event that changes no row (a login, a token issued) with
``record()``. Audit rows are never updated or deleted: the ORM refuses it here and
database triggers (see the first migration) refuse it underneath.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_app_context
from sqlalchemy import JSON, ForeignKey, Integer, String, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.scoping import RegionOwned

REDACTED = "[redacted]"


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user through a channel (web, api, cli), or the system."""

    user_id: int | None
    name: str
    channel: str
    region_code: str | None = None
    ip: str | None = None


SYSTEM = Actor(user_id=None, name="system", channel="system")


def set_actor(actor: Actor) -> None:
    g.audit_actor = actor


def current_actor() -> Actor:
    if has_app_context():
        return g.get("audit_actor", SYSTEM)
    return SYSTEM


class Audited:
    """Mixin: every insert, update and delete of this model is written to the audit trail."""

    # Columns whose values must never be copied into the trail (only that they changed).
    __audit_redact__: frozenset[str] = frozenset()
    __audit_ignore__: frozenset[str] = frozenset({"updated_at"})

    def audit_region_code(self) -> str | None:
        return getattr(self, "region_code", None)


class AuditEvent(RegionOwned, db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(10))
    ip: Mapped[str | None] = mapped_column(String(45))
    entity_type: Mapped[str] = mapped_column(String(60), index=True)
    entity_id: Mapped[str] = mapped_column(String(60), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    # Nullable, unlike other region-owned rows: a system event may belong to no region.
    region_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("regions.code"), index=True
    )

    def changed_fields(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field whose value differs."""
        before, after = self.before or {}, self.after or {}
        names = sorted(set(before) | set(after))
        return [(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]


def json_value(value: Any) -> Any:
    """A JSON-safe copy of a column value: money and dates as strings."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def label(obj: Audited, action: str, note: str | None = None) -> None:
    """Name the change about to be flushed for ``obj`` (e.g. ``"approve"``)."""
    obj._audit_label = (action, note)


def record(
    action: str,
    *,
    entity_type: str,
    entity_id: Any,
    region_code: str | None,
    after: dict | None = None,
    note: str | None = None,
) -> None:
    """Write an event that changes no audited row (a login, a token issued)."""
    actor = current_actor()
    db.session.execute(
        insert(AuditEvent),
        [_row(actor, action, entity_type, str(entity_id), region_code, None, after, note)],
    )


def _row(actor, action, entity_type, entity_id, region_code, before, after, note) -> dict:
    return {
        "occurred_at": utcnow(),
        "actor_id": actor.user_id,
        "actor_name": actor.name,
        "channel": actor.channel,
        "ip": actor.ip,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "region_code": region_code or actor.region_code,
        "action": action,
        "before": before,
        "after": after,
        "note": note[:500] if note else None,
    }


def _snapshot(obj: Audited, *, previous: bool) -> dict:
    """Column values of ``obj`` now, or as they were before this flush (no SQL emitted)."""
    state = inspect(obj)
    values = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in obj.__audit_ignore__:
            continue
        if previous:
            history = state.attrs[key].history
            kept = history.deleted or history.unchanged
            value = kept[0] if kept else None
        else:
            value = state.dict.get(key)
        values[key] = REDACTED if key in obj.__audit_redact__ and value else json_value(value)
    return values


def _entity_type(obj: Audited) -> str:
    return obj.__class__.__tablename__


def _entity_id(obj: Audited) -> str:
    identity = inspect(obj).identity
    return ",".join(str(part) for part in identity) if identity else ""


@event.listens_for(Session, "after_flush")
def _write_trail(session: Session, flush_context) -> None:
    rows = []
    actor = current_actor()
    for obj in session.new:
        if isinstance(obj, Audited):
            action, note = getattr(obj, "_audit_label", None) or ("create", None)
            after = _snapshot(obj, previous=False)
            rows.append(_event(actor, obj, action, None, after, note))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            action, note = getattr(obj, "_audit_label", None) or ("update", None)
            before, after = _snapshot(obj, previous=True), _snapshot(obj, previous=False)
            if before != after or action != "update":
                rows.append(_event(actor, obj, action, before, after, note))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            before = _snapshot(obj, previous=True)
            rows.append(_event(actor, obj, "delete", before, None, None))
    for obj in (*session.new, *session.dirty):
        obj.__dict__.pop("_audit_label", None)
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def _event(actor, obj, action, before, after, note) -> dict:
    region = obj.audit_region_code()
    return _row(actor, action, _entity_type(obj), _entity_id(obj), region, before, after, note)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper, connection, target) -> None:
    raise RuntimeError("audit events are never updated or deleted")
