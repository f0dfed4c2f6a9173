"""Supervision pages: complaints and their verification, sanction proposals, sanctions and
the lifting of suspensions, and each provider's supervision history."""

from __future__ import annotations

import re

from flask import Blueprint, g, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from procurement.accounts.auth import permission_required
from procurement.audit.queries import history_of
from procurement.contracts.models import Contract
from procurement.core.clock import today
from procurement.core.db import db
from procurement.core.forms import choices, filter_args, save_form
from procurement.plans.models import PlanZone
from procurement.providers.models import Provider
from procurement.supervision import services
from procurement.supervision.forms import (
    ComplaintFilterForm,
    ComplaintForm,
    LiftForm,
    SanctionForm,
    VerifyForm,
)
from procurement.supervision.models import (
    COMPLAINT_CHANNELS,
    Complaint,
    ComplaintStatus,
    Sanction,
)

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


@bp.app_template_global()
def complaint_channel(code: str) -> str:
    return str(COMPLAINT_CHANNELS.get(code, code))


@bp.app_template_global()
def sanction_ground(sanction: Sanction) -> str:
    return services.ground_label(sanction.kind, sanction.ground)


@bp.app_template_global()
def settlement_suspended(contract: Contract) -> Sanction | None:
    """The suspension of settlement binding the contract today (for the contract page)."""
    return services.settlement_suspension(contract.id, today())


def _arg_id(name: str) -> int | None:
    return request.args.get(name, type=int)


def _provider_choices(blank: str = "—"):
    providers = db.session.execute(select(Provider.id, Provider.name).order_by(Provider.name))
    return choices([("", blank), *providers])


def _contract_choices(blank: str = "—", provider_id: int | None = None):
    stmt = (
        select(Contract.id, Contract.number, PlanZone.name, Provider.name)
        .join(Contract.zone)
        .join(Contract.provider)
        .order_by(Contract.number.desc())
    )
    if provider_id:
        stmt = stmt.where(Contract.provider_id == provider_id)
    rows = db.session.execute(stmt)
    return choices([("", blank), *[(id_, " · ".join(names)) for id_, *names in rows]])


# ------------------------------------------------------------------ the overview


@bp.route("/")
@permission_required("supervision.view")
def index():
    filters = ComplaintFilterForm(request.args)
    filters.status.choices = choices(
        [("", _("All statuses")), *[(s.value, s.label) for s in ComplaintStatus]]
    )
    filters.provider_id.choices = _provider_choices(_("All providers"))
    filters.contract_id.choices = _contract_choices(_("All contracts"))
    status = filters.status.data if filters.status.data in set(ComplaintStatus) else None
    provider_id = _arg_id("provider_id")
    contract_id = _arg_id("contract_id")
    page = db.paginate(
        services.complaints_query(status=status, provider_id=provider_id, contract_id=contract_id),
        per_page=50,
        error_out=False,
    )
    return render_template(
        "supervision/index.html",
        filters=filters,
        args=filter_args(filters),
        page=page,
        proposals=services.proposals(provider_id=provider_id, contract_id=contract_id),
        sanctions=db.session.scalars(
            services.sanctions_query(
                provider_id=provider_id, contract_id=contract_id, in_force_on=today()
            )
        ).all(),
    )


@bp.route("/providers/<int:provider_id>")
@permission_required("supervision.view")
def provider(provider_id: int):
    found = db.get_or_404(Provider, provider_id)
    contracts = db.session.scalars(
        select(Contract).where(Contract.provider_id == found.id).order_by(Contract.number)
    ).all()
    return render_template(
        "supervision/provider.html",
        provider=found,
        contracts=contracts,
        counted=services.counted_complaints(contracts),
        suspended=services.active_suspensions(c.id for c in contracts),
        threshold=services.COMPLAINT_THRESHOLD,
        proposals=services.proposals(provider_id=found.id),
        complaints=db.session.scalars(services.complaints_query(provider_id=found.id)).all(),
        sanctions=db.session.scalars(services.sanctions_query(provider_id=found.id)).all(),
    )


# ------------------------------------------------------------------ complaints


@bp.route("/complaints/new", methods=["GET", "POST"])
@permission_required("supervision.manage")
def new_complaint():
    form = ComplaintForm()
    if request.method == "GET":
        form.provider_id.data = request.args.get("provider_id", "")
        form.contract_id.data = request.args.get("contract_id", "")
        form.received_on.data = today()
    form.provider_id.choices = _provider_choices()
    form.contract_id.choices = _contract_choices(
        provider_id=services.parse_id(form.provider_id.data)
    )
    done, status = save_form(
        form,
        lambda: services.record_complaint(form.complaint_input(), actor=g.user),
        success=_("The complaint was recorded."),
        next_url=lambda new: url_for("supervision.complaint", complaint_id=new.id),
    )
    if done:
        return done
    return render_template("supervision/complaint_form.html", form=form), status


def _complaint_page(complaint: Complaint, form: VerifyForm | None = None, status: int = 200):
    return render_template(
        "supervision/complaint.html",
        complaint=complaint,
        verify_form=form or VerifyForm(formdata=None, verified_on=today()),
        history=history_of(complaint),
    ), status


@bp.route("/complaints/<int:complaint_id>")
@permission_required("supervision.view")
def complaint(complaint_id: int):
    return _complaint_page(db.get_or_404(Complaint, complaint_id))


@bp.post("/complaints/<int:complaint_id>/verify")
@permission_required("supervision.manage")
def verify(complaint_id: int):
    found = db.get_or_404(Complaint, complaint_id)
    form = VerifyForm()
    done, status = save_form(
        form,
        lambda: services.verify_complaint(found, **form.values()),
        success=_("The verification was recorded."),
        next_url=url_for("supervision.complaint", complaint_id=found.id),
    )
    return done or _complaint_page(found, form, status)


# ------------------------------------------------------------------ sanctions


@bp.route("/sanctions/new", methods=["GET", "POST"])
@permission_required("supervision.manage")
def new_sanction():
    provider_id = _arg_id("provider_id")
    form = SanctionForm()
    if request.method == "GET":
        form.contract_id.data = request.args.get("contract_id", "")
        form.ground.data = request.args.get("ground", "")
        form.kind.data = request.args.get("kind", "")
        ids = re.findall(r"\d+", request.args.get("complaint_ids", ""))
        form.complaint_ids.data = ", ".join(ids)
        form.decided_on.data = today()
    form.contract_id.choices = _contract_choices(provider_id=provider_id)
    done, status = save_form(
        form,
        lambda: services.record_sanction(form.sanction_input(provider_id), actor=g.user),
        success=_("The sanction was recorded."),
        next_url=lambda new: url_for("supervision.sanction", sanction_id=new.id),
    )
    if done:
        return done
    return render_template(
        "supervision/sanction_form.html",
        form=form,
        provider=db.session.get(Provider, provider_id) if provider_id else None,
    ), status


def _sanction_page(sanction: Sanction, form: LiftForm | None = None, status: int = 200):
    cited = [db.session.get(Complaint, number) for number in sanction.complaint_ids or []]
    return render_template(
        "supervision/sanction.html",
        sanction=sanction,
        complaints=[c for c in cited if c is not None],
        in_force=services.in_force(sanction, today()),
        lift_form=form or LiftForm(formdata=None, lifted_on=today()),
        history=history_of(sanction),
    ), status


@bp.route("/sanctions/<int:sanction_id>")
@permission_required("supervision.view")
def sanction(sanction_id: int):
    return _sanction_page(db.get_or_404(Sanction, sanction_id))


@bp.post("/sanctions/<int:sanction_id>/lift")
@permission_required("supervision.manage")
def lift(sanction_id: int):
    found = db.get_or_404(Sanction, sanction_id)
    form = LiftForm()
    done, status = save_form(
        form,
        lambda: services.lift_suspension(found, lifted_on=form.lifted_on.data),
        success=_("The suspension was lifted; settlement may resume."),
        next_url=url_for("supervision.sanction", sanction_id=found.id),
    )
    return done or _sanction_page(found, form, status)
