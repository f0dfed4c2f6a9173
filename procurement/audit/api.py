"""The audit trail under /api/v1 (administrators and auditors, within their region)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from procurement.audit.queries import AuditFilter, audit_query
from procurement.core.api import Page, PageQuery, Schema, api_route, paginate


class AuditEventOut(Schema):
    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    channel: str
    entity_type: str
    entity_id: str
    region_code: str | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


class AuditQuery(PageQuery):
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    actor: str | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@api_route(
    "/audit-events",
    summary="Browse the audit trail",
    tag="audit",
    permission="audit.view",
    query=AuditQuery,
    response=Page[AuditEventOut],
)
def list_audit_events(query: AuditQuery):
    filters = AuditFilter(**query.model_dump(exclude={"page", "per_page"}))
    return paginate(audit_query(filters), query, AuditEventOut)
