"""Browsing the audit trail (administrators and auditors)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Optional

from procurement.accounts.auth import permission_required
from procurement.audit.queries import AuditFilter, audit_query, entity_types
from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.core.forms import choices, filter_args

bp = Blueprint("audit", __name__, url_prefix="/audit")

CHANNELS = [
    ("", _l("All channels")),
    ("web", _l("Web page")),
    ("api", "API"),
    ("cli", _l("Command line")),
    ("system", _l("System")),
]


ACTION_LABELS = {
    "queue": _l("Queued as a job"),
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "login": _l("Logged in"),
    "logout": _l("Logged out"),
    "password_reset": _l("Password set"),
    "activate": _l("Reactivated"),
    "deactivate": _l("Deactivated"),
    "revoke": _l("Revoked"),
    "submit": _l("Submitted"),
    "approve": _l("Approved"),
    "return": _l("Returned"),
    "adjust": _l("Adjustment opened"),
    "award": _l("Awarded"),
    "sign": _l("Signed"),
    "start": _l("Put in force"),
    "complete": _l("Completed"),
    "terminate": _l("Terminated"),
    "amend": _l("Amended"),
    "settle": _l("Settled"),
    "download": _l("Downloaded"),
    "import": _l("Imported"),
    "qualification_check": _l("Qualification check"),
    "verify": _l("Verified"),
    "lift": _l("Lifted"),
    "confirm": _l("Confirmed"),
    "review": _l("Reviewed"),
    "publish": _l("Published"),
    "withdraw": _l("Withdrawn"),
    "reject": _l("Rejected"),
    "exit": _l("Left the programme"),
    "reveal_id": _l("Full ID number viewed"),
    "export_full_ids": _l("Exported with full ID numbers"),
    "village_check": _l("Village check"),
    "township_review": _l("Township review"),
    "start_service": _l("Service started"),
}


ENTITY_LABELS = {
    "users": _l("Users"),
    "api_tokens": _l("API tokens"),
    "regions": _l("Regions"),
    "policy_profiles": _l("Policy profiles"),
    "purchase_plans": _l("Purchase plans"),
    "plan_zones": _l("Zones"),
    "zone_townships": _l("Townships"),
    "plan_items": _l("Service items"),
    "budget_lines": _l("Budget"),
    "plan_versions": _l("Versions"),
    "service_items": _l("Service catalogue"),
    "providers": _l("Providers"),
    "compliance_records": _l("Compliance records"),
    "provider_qualifications": _l("Professional qualifications"),
    "price_items": _l("Price list"),
    "evidence_documents": _l("Evidence documents"),
    "qualification_checks": _l("Qualification checks"),
    "provider_imports": _l("Imports"),
    "selections": _l("Scoring rules"),
    "bids": _l("Offers"),
    "awards": _l("Award"),
    "contracts": _l("Contracts"),
    "contract_versions": _l("Document versions"),
    "contract_templates": _l("Contract templates"),
    "complaints": _l("Complaints"),
    "sanctions": _l("Sanctions"),
    "recipients": _l("Recipients"),
    "recipient_applications": _l("Applications"),
    "recipient_imports": _l("Roster imports"),
    "workday_overrides": _l("Holiday table"),
    "record_imports": _l("Service-record imports"),
    "service_records": _l("Service records"),
    "settlements": _l("Statements"),
    "acceptances": _l("Acceptances"),
    "evaluations": _l("Evaluations"),
    "evaluation_scores": _l("Evaluation scores"),
    "publications": _l("Publications"),
    "jobs": _l("Jobs"),
}
CHANNEL_LABELS = dict(CHANNELS)


@bp.app_template_global()
def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@bp.app_template_global()
def entity_label(entity_type: str) -> str:
    return str(ENTITY_LABELS.get(entity_type, entity_type))


@bp.app_template_global()
def channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, channel))


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    entity_type = SelectField(_l("Record type"), validate_choice=False)
    entity_id = StringField(_l("Record id"))
    action = StringField(_l("Action"))
    actor = StringField(_l("User"))
    channel = SelectField(
        _l("Channel"), choices=lambda: choices(CHANNELS), default="", validate_choice=False
    )
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


@bp.route("/")
@permission_required("audit.view")
def index():
    form = AuditFilterForm(request.args)
    form.entity_type.choices = choices(
        [("", _l("All record types")), *[(t, entity_label(t)) for t in entity_types()]]
    )
    form.validate()
    filters = AuditFilter(
        entity_type=form.entity_type.data or None,
        entity_id=(form.entity_id.data or "").strip() or None,
        action=(form.action.data or "").strip() or None,
        actor=(form.actor.data or "").strip() or None,
        channel=form.channel.data or None,
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
    )
    page = db.paginate(audit_query(filters), per_page=50, error_out=False)
    args = filter_args(form)
    return render_template("audit/index.html", form=form, page=page, args=args)


@bp.route("/<int:event_id>")
@permission_required("audit.view")
def show(event_id: int):
    event = db.get_or_404(AuditEvent, event_id)
    return render_template("audit/show.html", event=event)
