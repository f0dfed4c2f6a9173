"""The dashboard each role lands on, and the health check for monitoring."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g, jsonify, render_template
from sqlalchemy import func, select, text

from procurement import __version__
from procurement.accounts.auth import permission_required
from procurement.accounts.models import User
from procurement.core.audit import AuditEvent
from procurement.core.clock import today, utcnow
from procurement.core.db import db
from procurement.plans.queries import awaiting_review, execution_by_county, recent_plans
from procurement.policies.models import PolicyProfile
from procurement.policies.services import profile_for
from procurement.settlements.delivery import last_ended_month, month_in_brief

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@permission_required("dashboard.view")
def index():
    user = g.user
    year = today().year
    figures = {
        "users": db.session.scalar(select(func.count(User.id)).where(User.active.is_(True))),
        "profiles": db.session.scalar(select(func.count(PolicyProfile.id))),
        "events_today": db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.occurred_at >= utcnow() - timedelta(days=1)
            )
        ),
    }
    if user.can("settlements.view"):
        month = last_ended_month()
        figures["delivery"] = month_in_brief(month)
        figures["shortfall_month"] = month
    return render_template(
        "dashboard/index.html",
        user=user,
        year=year,
        figures=figures,
        profile=profile_for(user.region_code, year),
        awaiting=awaiting_review(user.region_code) if user.can("plans.review") else [],
        counties=execution_by_county(year) if user.can("plans.review") else [],
        plans=recent_plans() if user.can("plans.view") else [],
    )


@bp.route("/healthz")
def healthz():
    """200 with the database reachable, 503 without (for load balancers and monitoring)."""
    try:
        db.session.execute(text("SELECT 1"))
        database = {"status": "ok", "backend": db.engine.dialect.name}
        status = 200
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        db.session.rollback()
        database = {"status": "error", "error": exc.__class__.__name__}
        status = 503
    body = {
        "status": "ok" if status == 200 else "error",
        "version": __version__,
        "database": database,
    }
    return jsonify(body), status
