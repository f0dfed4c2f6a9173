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
from procurement.core.db import db, listen_once
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
    obj.__dict__["_audit_label"] = (action, note)


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


def _loaded_values(obj: Audited) -> dict:
    """The column values held by ``obj`` now (no SQL: unloaded columns are left out)."""
    state = inspect(obj)
    return {
        attr.key: state.dict[attr.key]
        for attr in state.mapper.column_attrs
        if attr.key in state.dict
    }


def _stored_values(session: Session, obj: Audited) -> dict:
    """The row of ``obj`` as the database holds it before this flush."""
    mapper = inspect(obj).mapper
    table = mapper.local_table
    keys = mapper.primary_key_from_instance(obj)
    clause = [column == value for column, value in zip(mapper.primary_key, keys, strict=True)]
    row = session.connection().execute(table.select().where(*clause)).mappings().first()
    if row is None:
        return {}
    return {attr.key: row[attr.columns[0]] for attr in mapper.column_attrs}


def _clean(obj: Audited, values: dict) -> dict:
    return {
        key: REDACTED if key in obj.__audit_redact__ and value else json_value(value)
        for key, value in values.items()
        if key not in obj.__audit_ignore__
    }


def _entity_id(obj: Audited) -> str:
    keys = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in keys)


def _remember_stored_rows(session: Session, flush_context, instances) -> None:
    """Read the stored row of each audited record about to change, for its 'before'."""
    for obj in (*session.dirty, *session.deleted):
        changing = obj in session.deleted or session.is_modified(obj, include_collections=False)
        if isinstance(obj, Audited) and inspect(obj).persistent and changing:
            obj.__dict__["_audit_before"] = _stored_values(session, obj)


def _write_trail(session: Session, flush_context) -> None:
    rows = []
    actor = current_actor()
    for obj in session.new:
        if isinstance(obj, Audited):
            action, note = obj.__dict__.get("_audit_label") or ("create", None)
            columns = dict.fromkeys(a.key for a in inspect(obj).mapper.column_attrs)
            after = _clean(obj, {**columns, **_loaded_values(obj)})
            rows.append(_event(actor, obj, action, None, after, note))
    for obj in session.dirty:
        stored = obj.__dict__.get("_audit_before")
        if isinstance(obj, Audited) and stored is not None:
            action, note = obj.__dict__.get("_audit_label") or ("update", None)
            before = _clean(obj, stored)
            after = _clean(obj, {**stored, **_loaded_values(obj)})
            if before != after or action != "update":
                rows.append(_event(actor, obj, action, before, after, note))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            before = _clean(obj, obj.__dict__.get("_audit_before") or _loaded_values(obj))
            rows.append(_event(actor, obj, "delete", before, None, None))
    for obj in (*session.new, *session.dirty, *session.deleted):
        obj.__dict__.pop("_audit_label", None)
        obj.__dict__.pop("_audit_before", None)
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def _event(actor, obj, action, before, after, note) -> dict:
    region = obj.audit_region_code()
    entity_type = obj.__class__.__tablename__
    return _row(actor, action, entity_type, _entity_id(obj), region, before, after, note)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper, connection, target) -> None:
    raise RuntimeError("audit events are never updated or deleted")


def watch_sessions() -> None:
    """Write the audit trail of every audited record a session changes (the app factory
    calls this: without it, changes would leave no history)."""
    listen_once(Session, "before_flush", _remember_stored_rows)
    listen_once(Session, "after_flush", _write_trail)
