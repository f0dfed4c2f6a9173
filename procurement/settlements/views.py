"""Service-record imports, flags for review, and monthly settlement statements."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from procurement.accounts.auth import permission_required
from procurement.contracts.models import Contract
from procurement.core.dates import month_of
from procurement.core.db import db
from procurement.core.errors import DomainError, ValidationError
from procurement.core.forms import ActionForm, choices, filter_args, run_action
from procurement.jobs import runner
from procurement.jobs.views import start as start_job
from procurement.plans.models import PurchasePlan
from procurement.providers.models import Provider
from procurement.settlements import (
    ceilings,
    delivery,
    exports,
    holds,
    reading,
    services,
)
from procurement.settlements.models import (
    REVIEW_LABELS,
    UNPAID_LABELS,
    Flag,
    ImportRejection,
    RecordImport,
    Settlement,
    SettlementStatus,
    flag_labels,
)
from procurement.settlements.queries import settlement_list
from procurement.settlements.rejections import rejection_label, rejections_csv

bp = Blueprint("settlements", __name__, url_prefix="/settlements")
COLUMNS_TEXT = "、".join(reading.COLUMNS)


@bp.app_template_global()
def unpaid_label(reason: str | None) -> str:
    return str(UNPAID_LABELS.get(reason, reason or ""))


@bp.app_template_global()
def record_flags(flags: int) -> list[str]:
    return flag_labels(flags)


bp.add_app_template_global(rejection_label)


@bp.app_template_filter()
def hours(minutes: int | None) -> str:
    """Minutes as hours with two decimals: 250 -> 4.17."""
    return f"{(minutes or 0) / 60:,.2f}"


class ImportForm(FlaskForm):
    file = FileField(_l("Platform export (.csv or .xlsx)"), validators=[FileRequired()])


class StatementFilterForm(FlaskForm):
    class Meta:
        csrf = False

    plan = SelectField(_l("Plan"), validators=[Optional()])
    month = StringField(_l("Month"), validators=[Optional(), Length(max=7)])
    status = SelectField(_l("Status"), validators=[Optional()])


class ConfirmForm(FlaskForm):
    amount_seen = HiddenField(validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Decision"))
    note = TextAreaField(_l("What the review found"), validators=[InputRequired(), Length(max=500)])


# Statements ----------------------------------------------------------------------------


@bp.get("/")
@permission_required("settlements.view")
def index():
    form = StatementFilterForm(request.args)
    plans = db.session.scalars(select(PurchasePlan).order_by(PurchasePlan.year.desc())).all()
    form.plan.choices = choices([("", _("All plans"))] + [(p.id, p.title) for p in plans])
    form.status.choices = choices([("", _("All"))] + [(s.value, s.label) for s in SettlementStatus])
    month = None
    if form.month.data:
        try:
            month = month_of(form.month.data)
        except DomainError as error:
            form.month.errors = [error.message]
    stmt = settlement_list(
        plan_id=int(form.plan.data) if form.plan.data else None,
        month=month,
        status=form.status.data,
    )
    page = db.paginate(stmt, per_page=50, error_out=False)
    positions = ceilings.positions_for(page.items)
    held = holds.holds_for(
        page.items, positions=positions, pending=services.pending_reviews_for(page.items)
    )
    return render_template(
        "settlements/index.html",
        form=form,
        page=page,
        held=held,
        positions=positions,
        args=filter_args(form),
    )


@bp.get("/<int:settlement_id>")
@permission_required("settlements.view")
def show(settlement_id: int):
    settlement = db.get_or_404(Settlement, settlement_id)
    page_number = max(request.args.get("page", 1, type=int), 1)
    per_page = 100
    figures = services.statement_figures(settlement)
    first = (page_number - 1) * per_page
    position = ceilings.contract_position(settlement)
    return render_template(
        "settlements/show.html",
        settlement=settlement,
        lines=services.lines(settlement, offset=first, limit=per_page),
        page_number=page_number,
        has_next=settlement.recipients > first + per_page,
        unpaid=figures.unpaid,
        position=position,
        holds=services.statement_holds(
            settlement, position=position, pending=figures.pending_reviews
        ),
        shortfall=delivery.shortfall_totals(settlement),
        confirm_form=ConfirmForm(amount_seen=str(settlement.amount)),
        action=ActionForm(),
    )


@bp.post("/<int:settlement_id>/recompute")
@permission_required("records.review")
def recompute(settlement_id: int):
    settlement = db.get_or_404(Settlement, settlement_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    run_action(
        lambda: services.recompute(settlement), success=_("The statement was computed again.")
    )
    return redirect(url_for("settlements.show", settlement_id=settlement_id))


@bp.post("/<int:settlement_id>/confirm")
@permission_required("settlements.confirm")
def confirm(settlement_id: int):
    settlement = db.get_or_404(Settlement, settlement_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    run_action(
        lambda: services.confirm(
            settlement, actor=g.user, amount_seen=form.amount_seen.data, note=form.note.data
        ),
        success=_("The statement is confirmed."),
    )
    return redirect(url_for("settlements.show", settlement_id=settlement_id))


@bp.get("/<int:settlement_id>/statement.<any(xlsx, docx):kind>")
@permission_required("settlements.view")
def export(settlement_id: int, kind: str):
    settlement = db.get_or_404(Settlement, settlement_id)
    build = exports.statement_xlsx if kind == "xlsx" else exports.statement_docx
    return send_file(
        build(settlement),
        as_attachment=True,
        download_name=exports.filename(settlement, kind),
        mimetype=exports.XLSX if kind == "xlsx" else exports.DOCX,
    )


# Imports -------------------------------------------------------------------------------


@bp.get("/imports")
@permission_required("settlements.view")
def imports():
    page = db.paginate(
        select(RecordImport).order_by(RecordImport.imported_at.desc()),
        per_page=50,
        error_out=False,
    )
    return render_template("settlements/imports.html", page=page)


@bp.route("/imports/new", methods=["GET", "POST"])
@permission_required("records.import")
def import_file():
    """The file is kept and imported by a job (issue 16); its page follows the import and
    links to the report. A file no import could read is refused here (422); the same file
    while its import is waiting or running, with 409 and a link to that job."""
    request.max_content_length = services.upload_limit()
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template(
            "settlements/import.html", form=form, columns=COLUMNS_TEXT
        ), 422 if form.is_submitted() else 200
    filename = form.file.data.filename or ""
    data = form.file.data.stream.read(current_app.config["RECORD_IMPORT_MAX_BYTES"] + 1)
    try:
        services.check_upload(data, filename)
        job = services.queue_import(data, filename, user=g.user)
    except runner.AlreadyRunning as error:
        form.file.errors = [error.message]
        return render_template(
            "settlements/import.html", form=form, columns=COLUMNS_TEXT, running=error.job
        ), 409
    except ValidationError as error:
        db.session.rollback()
        form.file.errors = [error.message]
        return render_template("settlements/import.html", form=form, columns=COLUMNS_TEXT), 422
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.get("/imports/<int:import_id>")
@permission_required("settlements.view")
def import_report(import_id: int):
    batch = db.get_or_404(RecordImport, import_id)
    page = db.paginate(
        select(ImportRejection)
        .where(ImportRejection.import_id == batch.id)
        .order_by(ImportRejection.row),
        per_page=100,
        error_out=False,
    )
    statements = db.session.scalars(
        select(Settlement)
        .join(Contract, Contract.id == Settlement.contract_id)
        .where(Settlement.month.in_([month_of(m) for m in batch.months]))
        .order_by(Settlement.month, Contract.number)
    ).all()
    return render_template(
        "settlements/import_report.html", batch=batch, page=page, statements=statements
    )


@bp.get("/imports/<int:import_id>/rejections.csv")
@permission_required("settlements.view")
def rejections(import_id: int):
    from io import BytesIO

    batch = db.get_or_404(RecordImport, import_id)
    return send_file(
        BytesIO(rejections_csv(batch)),
        as_attachment=True,
        download_name=f"服务记录导入-{batch.id}-未导入行.csv",
        mimetype="text/csv",
    )


@bp.get("/imports/template.csv")
@permission_required("records.import")
def import_template():
    from io import BytesIO

    return send_file(
        BytesIO(("\ufeff" + ",".join(reading.COLUMNS) + "\n").encode()),
        as_attachment=True,
        download_name="智慧养老平台服务记录模板.csv",
        mimetype="text/csv",
    )


# Flags ---------------------------------------------------------------------------------


@bp.get("/flags")
@permission_required("settlements.view")
def flags():
    rows = services.flag_summary()
    providers = {
        p.id: p
        for p in db.session.scalars(select(Provider).where(Provider.id.in_({r[0] for r in rows})))
    }
    return render_template("settlements/flags.html", rows=rows, providers=providers)


@bp.route("/flags/<int:provider_id>/<month>", methods=["GET", "POST"])
@permission_required("settlements.view")
def flagged(provider_id: int, month: str):
    provider = db.get_or_404(Provider, provider_id)
    try:
        first = month_of(month)
    except DomainError:
        abort(404)
    form = ReviewForm()
    form.decision.choices = choices((k.value, v) for k, v in REVIEW_LABELS.items())
    status = 200
    if request.method == "POST":
        if not g.user.can("records.review"):
            abort(403)
        if form.validate_on_submit():
            ids = [int(i) for i in request.form.getlist("record") if i.isdigit()]
            done = run_action(
                lambda: services.review(
                    ids, decision=form.decision.data, note=form.note.data, actor=g.user
                ),
                success=lambda count: _("%(n)d records reviewed.", n=count),
            )
            if done.ok:
                return redirect(request.url)
            status = 422
        else:
            status = 422
    kind = request.args.get("flag", type=int)
    page = db.paginate(
        services.flagged_records(provider.id, first, kind), per_page=100, error_out=False
    )
    return render_template(
        "settlements/flagged.html",
        provider=provider,
        month=first,
        page=page,
        form=form,
        flags=list(Flag),
        kind=kind,
        args={"provider_id": provider.id, "month": month, **({"flag": kind} if kind else {})},
    ), status


# Under-delivery ------------------------------------------------------------------------


def _shortfall_month() -> date:
    value = request.args.get("month")
    if not value:
        return delivery.last_ended_month()
    try:
        return month_of(value)
    except DomainError:
        abort(404)


@bp.get("/under-delivery")
@permission_required("settlements.view")
def under_delivery():
    month = _shortfall_month()
    provider_id = request.args.get("provider", type=int)
    shortfalls = delivery.month_shortfalls(month, provider_id=provider_id)
    providers = db.session.scalars(select(Provider).order_by(Provider.name)).all()
    return render_template(
        "settlements/under_delivery.html",
        month=month,
        shortfalls=shortfalls,
        providers=providers,
        provider_id=provider_id,
    )


@bp.get("/under-delivery.xlsx")
@permission_required("settlements.view")
def under_delivery_export():
    month = _shortfall_month()
    provider_id = request.args.get("provider", type=int)
    shortfalls = delivery.month_shortfalls(month, provider_id=provider_id, people=True)
    return send_file(
        exports.shortfall_xlsx(month, shortfalls),
        as_attachment=True,
        download_name=exports.shortfall_filename(month),
        mimetype=exports.XLSX,
    )


@bp.post("/under-delivery/export")
@permission_required("settlements.view")
def under_delivery_export_job():
    """The month's under-delivery .xlsx, made by a job (issue 16): its page offers it."""
    if not ActionForm().validate_on_submit():
        abort(400)
    month = _shortfall_month()
    provider_id = request.args.get("provider", type=int)
    region_code = g.user.region_code
    return start_job(
        *exports.shortfall_job(month, provider_id, region_code), region_code=region_code
    )


@bp.get("/under-delivery/<int:contract_id>/<month>")
@permission_required("settlements.view")
def under_delivery_contract(contract_id: int, month: str):
    contract = db.get_or_404(Contract, contract_id)
    try:
        first = month_of(month)
    except DomainError:
        abort(404)
    shortfall = delivery.contract_shortfall(contract, first)
    if request.args.get("format") == "xlsx":
        return send_file(
            exports.shortfall_xlsx(first, [shortfall]),
            as_attachment=True,
            download_name=exports.shortfall_filename(first, contract.number),
            mimetype=exports.XLSX,
        )
    return render_template(
        "settlements/under_delivery_contract.html",
        contract=contract,
        month=first,
        shortfall=shortfall,
        year=delivery.visits_year_to_date(contract, first),
    )
