"""Contract pages: generation, the document and its versions, signing, amendments,
termination, the batch download, and the administrators' template versions."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, g, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from procurement.accounts.auth import permission_required
from procurement.awards.services import get_zone
from procurement.contracts import services, templating
from procurement.contracts.models import TERMINATION_REASONS, Contract, ContractTemplate
from procurement.core import audit
from procurement.core.db import db
from procurement.core.errors import DomainError
from procurement.core.files import read_blob
from procurement.core.forms import ActionForm, choices, run_action, save_form
from procurement.jobs.views import start as start_job
from procurement.plans.exports import DOCX
from procurement.plans.models import PurchasePlan
from procurement.public import services as publishing
from procurement.public.models import PublicationKind

bp = Blueprint("contracts", __name__)


class SignForm(FlaskForm):
    signed_on = DateField(_l("Signed on"), validators=[InputRequired()])
    scan = FileField(_l("Scan of the signed contract (PDF or image)"), validators=[FileRequired()])
    signing_reason = TextAreaField(
        _l("Reason, if signed after the service started or before the award notice"),
        validators=[Optional()],
    )


class AmendForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the amendment"), validators=[InputRequired()])
    recipients = StringField(_l("Recipients"), validators=[Optional()])
    service_end = DateField(_l("Service ends"), validators=[Optional()])
    amount = StringField(_l("Amount (yuan); empty: computed"), validators=[Optional()])


class TerminateForm(FlaskForm):
    reason = SelectField(
        _l("Ground (seed 001 §8(2)2)"),
        choices=lambda: choices([("", "—"), *TERMINATION_REASONS.items()]),
    )
    on = DateField(_l("Terminated on"), validators=[InputRequired()])
    note = TextAreaField(_l("Findings"))


class TemplateForm(FlaskForm):
    name = StringField(_l("Name of this version"))
    file = FileField(_l("Template (.docx)"), validators=[FileRequired()])


def _page(contract: Contract, status: int = 200, **forms):
    return render_template(
        "contracts/show.html",
        contract=contract,
        sign_form=forms.get("sign_form") or SignForm(),
        amend_form=forms.get("amend_form") or AmendForm(),
        terminate_form=forms.get("terminate_form") or TerminateForm(),
        budget=services.zone_budget(contract.plan, contract.zone),
        townships=services.township_names(contract),
        publication=publishing.publication_of(PublicationKind.CONTRACT, contract.id),
        reasons=TERMINATION_REASONS,
        pdf=services.pdf_converter() is not None,
    ), status


@bp.route("/contracts/")
@permission_required("plans.view")
def index():
    stmt = (
        select(Contract)
        .options(joinedload(Contract.zone), joinedload(Contract.provider))
        .order_by(Contract.number.desc())
    )
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("contracts/index.html", contracts=page.items, page=page)


@bp.route("/contracts/<int:contract_id>")
@permission_required("plans.view")
def show(contract_id: int):
    return _page(db.get_or_404(Contract, contract_id))


@bp.post("/plans/<int:plan_id>/zones/<int:zone_id>/contract")
@permission_required("contracts.manage")
def generate(plan_id: int, zone_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    done = run_action(
        lambda: services.generate_contract(get_zone(plan, zone_id), actor=g.user),
        success=lambda contract: _("Contract %(n)s was generated.", n=contract.number),
    )
    if not done.ok:
        return redirect(url_for("awards.zone", plan_id=plan.id, zone_id=zone_id))
    return redirect(url_for("contracts.show", contract_id=done.result.id))


@bp.post("/plans/<int:plan_id>/contracts")
@permission_required("contracts.manage")
def generate_all(plan_id: int):
    """The plan's contracts are made by a job; its page shows them as they are made."""
    plan = db.get_or_404(PurchasePlan, plan_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return start_job(
        "contracts.generate",
        f"contracts.generate:{plan.id}",
        {"plan_id": plan.id},
        region_code=plan.region_code,
    )


@bp.post("/plans/<int:plan_id>/contracts.zip")
@permission_required("plans.view")
def plan_zip(plan_id: int):
    """Every contract of the plan as one zip (with PDFs), made by a job to download."""
    plan = db.get_or_404(PurchasePlan, plan_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not services.contracts_of(plan):
        flash(_("The plan has no contracts yet."), "info")
        return redirect(url_for("awards.index", plan_id=plan.id))
    return start_job(
        "contracts.archive",
        f"contracts.archive:{plan.id}",
        {"plan_id": plan.id},
        region_code=plan.region_code,
    )


@bp.route("/contracts/<int:contract_id>/document.docx")
@permission_required("plans.view")
def document(contract_id: int):
    from flask import request

    contract = db.get_or_404(Contract, contract_id)
    number = request.args.get("version", type=int)
    data = services.document_bytes(contract, number)
    _audit_download(contract, f"document v{number or len(contract.versions)}")
    suffix = f"-v{number}" if number else ""
    return send_file(
        BytesIO(data),
        as_attachment=True,
        mimetype=DOCX,
        download_name=f"{contract.number}{suffix}.docx",
    )


@bp.route("/contracts/<int:contract_id>/document.pdf")
@permission_required("plans.view")
def document_pdf(contract_id: int):
    contract = db.get_or_404(Contract, contract_id)
    try:
        data = services.to_pdf(services.document_bytes(contract), contract.number)
    except DomainError as error:
        flash(error.message, "info")
        return redirect(url_for("contracts.show", contract_id=contract.id))
    return send_file(
        BytesIO(data),
        as_attachment=True,
        mimetype="application/pdf",
        download_name=f"{contract.number}.pdf",
    )


@bp.route("/contracts/<int:contract_id>/scan")
@permission_required("plans.view")
def scan(contract_id: int):
    contract = db.get_or_404(Contract, contract_id)
    if not contract.signed_scan_sha256:
        abort(404)
    _audit_download(contract, "signed scan")
    extension = {"application/pdf": "pdf", "image/png": "png"}.get(contract.signed_scan_type, "jpg")
    return send_file(
        BytesIO(read_blob(contract.signed_scan_sha256)),
        as_attachment=True,
        mimetype=contract.signed_scan_type,
        download_name=f"{contract.number}-signed.{extension}",
    )


def _audit_download(contract: Contract, what: str) -> None:
    audit.record(
        "download",
        entity_type="contracts",
        entity_id=contract.id,
        region_code=contract.region_code,
        note=what,
    )
    db.session.commit()


def _act(contract: Contract, action, message: str, form=None, form_name=None):
    done = run_action(action, success=message, form=form)
    if not done.ok and form is not None:
        return _page(db.session.get(Contract, contract.id), done.error.status, **{form_name: form})
    return redirect(url_for("contracts.show", contract_id=contract.id))


@bp.post("/contracts/<int:contract_id>/sign")
@permission_required("contracts.manage")
def sign(contract_id: int):
    contract = db.get_or_404(Contract, contract_id)
    form = SignForm()
    if not form.validate_on_submit():
        return _page(contract, 422, sign_form=form)
    return _act(
        contract,
        lambda: services.sign_contract(
            contract,
            signed_on=form.signed_on.data,
            filename=form.scan.data.filename,
            stream=form.scan.data.stream,
            actor=g.user,
            signing_reason=form.signing_reason.data,
        ),
        _("The signature was recorded."),
        form,
        "sign_form",
    )


@bp.post("/contracts/<int:contract_id>/amend")
@permission_required("contracts.manage")
def amend(contract_id: int):
    contract = db.get_or_404(Contract, contract_id)
    form = AmendForm()
    if not form.validate_on_submit():
        return _page(contract, 422, amend_form=form)
    return _act(
        contract,
        lambda: services.amend_contract(
            contract,
            reason=form.reason.data,
            recipients=form.recipients.data,
            service_end=form.service_end.data,
            amount=form.amount.data,
            actor=g.user,
        ),
        _("The amendment was recorded and a new document version made."),
        form,
        "amend_form",
    )


@bp.post("/contracts/<int:contract_id>/terminate")
@permission_required("contracts.manage")
def terminate(contract_id: int):
    contract = db.get_or_404(Contract, contract_id)
    form = TerminateForm()
    if not form.validate_on_submit():
        return _page(contract, 422, terminate_form=form)
    return _act(
        contract,
        lambda: services.terminate_contract(
            contract, reason=form.reason.data, note=form.note.data, on=form.on.data
        ),
        _("The contract was terminated."),
        form,
        "terminate_form",
    )


@bp.post("/contracts/<int:contract_id>/<any(start, complete):action>")
@permission_required("contracts.manage")
def transition(contract_id: int, action: str):
    contract = db.get_or_404(Contract, contract_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    run = services.start_contract if action == "start" else services.complete_contract
    message = (
        _("The contract is in force.") if action == "start" else _("The contract is completed.")
    )
    return _act(contract, lambda: run(contract), message)


@bp.post("/contracts/<int:contract_id>/<any(publish, withdraw):action>")
@permission_required("publications.publish")
def publication(contract_id: int, action: str):
    """Publish the signed contract on the public site, or withdraw it."""
    contract = db.get_or_404(Contract, contract_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if action == "publish":
        return _act(
            contract,
            lambda: publishing.publish_contract(contract, actor=g.user),
            _("The contract is public."),
        )
    return _act(
        contract,
        lambda: publishing.withdraw_record(PublicationKind.CONTRACT, contract.id),
        _("The contract was withdrawn from the public site."),
    )


@bp.route("/contract-templates/", methods=["GET", "POST"])
@permission_required("templates.manage")
def templates():
    form = TemplateForm()
    done, status = save_form(
        form,
        lambda: services.upload_template(
            region_code=g.user.region_code,
            name=form.name.data,
            filename=form.file.data.filename,
            stream=form.file.data.stream,
            actor=g.user,
        ),
        success=lambda template: _(
            "Version %(n)d of the template is now in use.", n=template.version
        ),
        next_url=url_for("contracts.templates"),
    )
    if done:
        return done
    versions = db.session.scalars(
        select(ContractTemplate).order_by(
            ContractTemplate.region_code, ContractTemplate.version.desc()
        )
    ).all()
    return render_template(
        "contracts/templates.html", form=form, versions=versions, fields=templating.FIELDS
    ), status


@bp.route("/contract-templates/default.docx")
@permission_required("templates.manage")
def default_template():
    return send_file(
        BytesIO(templating.default_template_bytes()),
        as_attachment=True,
        mimetype=DOCX,
        download_name="home_care_contract.docx",
    )


@bp.route("/contract-templates/<int:template_id>.docx")
@permission_required("templates.manage")
def template_file(template_id: int):
    template = db.get_or_404(ContractTemplate, template_id)
    return send_file(
        BytesIO(read_blob(template.sha256)),
        as_attachment=True,
        mimetype=DOCX,
        download_name=template.filename,
    )
