"""Pages for disbursements (资金拨付) against confirmed statements and the finance ledger."""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from procurement.accounts.auth import permission_required
from procurement.core.clock import today
from procurement.core.db import db
from procurement.core.forms import ActionForm, choices, filter_args, save_form
from procurement.jobs.views import start as start_job
from procurement.payments import exports, services
from procurement.payments.ledger import LedgerFilter, ledger
from procurement.payments.models import Payment
from procurement.plans.models import PurchasePlan
from procurement.settlements.models import Settlement

bp = Blueprint("payments", __name__, url_prefix="/payments")


class PaymentForm(FlaskForm):
    """Shape only: the service checks dates and amounts and names the field it refuses."""

    paid_on = StringField(_l("Payment date"), validators=[Length(max=10)])
    amount = StringField(_l("Amount (yuan)"), validators=[Length(max=20)])
    voucher_number = StringField(_l("Voucher number"), validators=[Length(max=40)])
    payee_account = StringField(_l("Payee account"), validators=[Length(max=40)])
    treasury_reference = StringField(
        _l("Treasury reference (optional)"), validators=[Optional(), Length(max=60)]
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])


class ReversalForm(FlaskForm):
    paid_on = StringField(_l("Reversal date"), validators=[Length(max=10)])
    voucher_number = StringField(_l("Reversing voucher number"), validators=[Length(max=40)])
    note = TextAreaField(_l("Why the payment is reversed"), validators=[Length(max=500)])


class LedgerFilterForm(FlaskForm):
    class Meta:
        csrf = False

    plan = SelectField(_l("Plan"), validators=[Optional()])
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])


@bp.get("/")
@permission_required("payments.view")
def index():
    page = db.paginate(services.payments_query(), per_page=50, error_out=False)
    return render_template("payments/index.html", page=page)


@bp.route("/statements/<int:settlement_id>", methods=["GET", "POST"])
@permission_required("payments.view")
def statement(settlement_id: int):
    settlement = db.get_or_404(Settlement, settlement_id)
    form = PaymentForm()
    if request.method == "POST":
        if not g.user.can("payments.record"):
            abort(403)
        fields = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        done, status = save_form(
            form,
            lambda: services.record_payment(settlement, actor=g.user, **fields),
            success=_("The payment is recorded."),
            next_url=url_for("payments.statement", settlement_id=settlement.id),
        )
        if done is not None:
            return done
    else:
        status = 200
        form.paid_on.data = form.paid_on.data or today().isoformat()
    payments = db.session.scalars(services.payments_query(settlement_id=settlement.id)).all()
    return render_template(
        "payments/statement.html",
        settlement=settlement,
        balance=services.balance(settlement),
        confirmed_on=services.confirmed_on(settlement),
        payments=payments,
        reversed_ids={p.reverses_id for p in payments if p.reverses_id},
        form=form,
    ), status


@bp.route("/<int:payment_id>/reverse", methods=["GET", "POST"])
@permission_required("payments.record")
def reverse(payment_id: int):
    payment = db.get_or_404(Payment, payment_id)
    form = ReversalForm()
    if request.method == "GET":
        form.paid_on.data = today().isoformat()
    done, status = save_form(
        form,
        lambda: services.reverse_payment(
            payment,
            actor=g.user,
            paid_on=form.paid_on.data,
            voucher_number=form.voucher_number.data,
            note=form.note.data,
        ),
        success=_("The payment is reversed."),
        next_url=url_for("payments.statement", settlement_id=payment.settlement_id),
    )
    return done or (render_template("payments/reverse.html", payment=payment, form=form), status)


def _ledger_filters(form: LedgerFilterForm) -> LedgerFilter:
    plans = db.session.scalars(select(PurchasePlan).order_by(PurchasePlan.year.desc())).all()
    form.plan.choices = choices([("", _("All plans"))] + [(p.id, p.title) for p in plans])
    form.validate()
    plan = form.plan.data
    return LedgerFilter(
        plan_id=int(plan) if plan and str(plan).isdigit() else None,
        year=form.year.data if not form.year.errors else None,
    )


@bp.get("/ledger")
@permission_required("payments.view")
def ledger_page():
    form = LedgerFilterForm(request.args)
    book = ledger(_ledger_filters(form))
    return render_template("payments/ledger.html", form=form, ledger=book, args=filter_args(form))


@bp.post("/ledger/export")
@permission_required("payments.view")
def ledger_export_job():
    """The ledger's .xlsx, made by a job (issue 16): its page offers the download."""
    if not ActionForm().validate_on_submit():
        abort(400)
    filters = _ledger_filters(LedgerFilterForm(request.args))
    region_code = g.user.region_code
    return start_job(*exports.ledger_job(filters, region_code), region_code=region_code)


@bp.get("/ledger.xlsx")
@permission_required("payments.view")
def ledger_export():
    form = LedgerFilterForm(request.args)
    return send_file(
        exports.ledger_xlsx(ledger(_ledger_filters(form))),
        as_attachment=True,
        download_name=exports.filename(),
        mimetype=exports.XLSX,
    )
