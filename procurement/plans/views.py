"""Purchase-plan pages: officers draft and submit, finance reviews, everyone reads."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from procurement.accounts.auth import permission_required
from procurement.audit.queries import history_of
from procurement.core.clock import today
from procurement.core.db import db
from procurement.core.forms import choices, filter_args, run_action
from procurement.plans import exports, services
from procurement.plans.execution import execution, totals
from procurement.plans.forms import (
    BudgetLineForm,
    LockForm,
    PlanFilterForm,
    ReviewForm,
    SubmitForm,
    make_plan_form,
)
from procurement.plans.models import (
    BudgetLine,
    FundingSource,
    LineKind,
    PlanStatus,
    PurchasePlan,
)
from procurement.plans.queries import plan_list
from procurement.regions.forms import requested_county
from procurement.regions.models import Region, RegionLevel
from procurement.regions.services import counties_in_scope, townships_of

bp = Blueprint("plans", __name__, url_prefix="/plans")

DIFF_FIELDS = {
    "title": _l("Title"),
    "year": _l("Year"),
    "purchase_method": _l("Procurement method"),
    "service_start": _l("Service starts"),
    "service_end": _l("Service ends"),
    "quality_standard": _l("Quality standard"),
    "items": _l("Service items"),
    "recipients": _l("Expected recipients"),
    "townships": _l("Townships"),
    "description": _l("Description"),
    "amount": _l("Amount (yuan)"),
    "funding_source": _l("Funding source"),
    "override_reason": _l("Reason for override"),
    "total": _l("Total"),
}


@bp.app_template_global()
def diff_label(change: services.Change) -> str:
    """'第一片区 · recipients' -> '第一片区 · 预计服务对象人数'."""
    head, _sep, key = change.item.rpartition(" · ")
    label = str(DIFF_FIELDS.get(key, key))
    return f"{head} · {label}" if head else label


@bp.app_template_global()
def funding_label(value: str) -> str:
    return FundingSource(value).label


def _lock(form) -> int | None:
    raw = form.lock_version.data
    return int(raw) if raw and str(raw).isdigit() else None


@bp.route("/")
@permission_required("plans.view")
def index():
    filters = PlanFilterForm(request.args)
    filters.status.choices = choices(
        [("", _("All statuses")), *[(s.value, s.label) for s in PlanStatus]]
    )
    stmt = plan_list(year=filters.year.data, status=filters.status.data)
    page = db.paginate(stmt, per_page=50, error_out=False)
    args = filter_args(filters)
    counties = (
        []
        if g.user.region.level is RegionLevel.COUNTY
        else [r for r in g.user.region.children if r.level is RegionLevel.COUNTY]
    )
    return render_template(
        "plans/index.html", page=page, filters=filters, args=args, counties=counties
    )


def _plan_form(county: Region, plan: PurchasePlan | None = None):
    names = [zone.name for zone in plan.zones] if plan else ()
    # current townships, and the retired ones the plan already holds (issue 18)
    held = {code for zone in plan.zones for code in zone.township_codes} if plan else set()
    townships = [
        t for t in townships_of(county, include_retired=True) if not t.retired or t.code in held
    ]
    # the catalogue of the year asked for (posted, the plan's, or this year's profile)
    year = request.form.get("year", type=int) or (plan.year if plan else today().year)
    items = services.catalogue(county.code, year)
    if plan is not None:
        have = {item.code for item in items}
        items += [link.service_item for link in plan.items if link.service_item.code not in have]
    return make_plan_form(townships, items, names)


def _render_form(form, county, plan=None, leftover=(), status=200):
    for message in leftover:
        flash(message, "error")
    warnings = []
    if form.service_start.data and form.service_end.data:
        warnings = services.period_warnings(form.service_start.data, form.service_end.data)
    return render_template(
        "plans/form.html", form=form, plan=plan, county=county, warnings=warnings
    ), status


@bp.route("/new", methods=["GET", "POST"])
@permission_required("plans.edit")
def new():
    county = requested_county()
    form = _plan_form(county)
    if request.method == "GET":
        form.year.data = today().year
        form.items.data = [item.code for item in services.catalogue(county.code, form.year.data)]
    elif form.validate_on_submit():
        data, rows = form.plan_input()
        done = run_action(
            lambda: services.create_plan(actor=g.user, region_code=county.code, data=data),
            success=_("The plan was saved as a draft."),
            show_refusal=False,  # on the zone rows, below
        )
        if not done.ok:
            return _render_form(
                form,
                county,
                leftover=form.place_errors(done.error.fields, rows) or [done.error.message],
                status=422,
            )
        return redirect(url_for("plans.show", plan_id=done.result.id))
    return _render_form(form, county, status=422 if form.errors else 200)


def _locked(plan: PurchasePlan):
    """Send the user back to the plan when it cannot be edited (submitted or approved)."""
    if plan.status.editable:
        return None
    flash(_("The plan is %(status)s and cannot be edited.", status=plan.status.label), "error")
    return redirect(url_for("plans.show", plan_id=plan.id))


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@permission_required("plans.edit")
def edit(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    form = _plan_form(plan.region, plan)
    if request.method == "GET":
        if (back := _locked(plan)) is not None:
            return back
        form.fill(plan)
    elif form.validate_on_submit():
        data, rows = form.plan_input()
        done = run_action(
            lambda: services.update_plan(plan, data, lock_version=_lock(form)),
            success=_("The changes were saved."),
            show_refusal=False,  # on the zone rows, below
        )
        if not done.ok:
            return _render_form(
                form,
                plan.region,
                plan,
                form.place_errors(done.error.fields, rows) or [done.error.message],
                422,
            )
        return redirect(url_for("plans.show", plan_id=plan.id))
    return _render_form(form, plan.region, plan, status=422 if form.errors else 200)


@bp.route("/<int:plan_id>")
@permission_required("plans.view")
def show(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    rows = execution(plan, _("Outside zones"))
    return render_template(
        "plans/show.html",
        plan=plan,
        uncovered=services.uncovered_townships(plan),
        warnings=services.period_warnings(plan.service_start, plan.service_end),
        execution=rows,
        execution_total=totals(rows, _("Total")),
        submit_form=SubmitForm(lock_version=plan.lock_version),
        lock_form=LockForm(lock_version=plan.lock_version),
        history=history_of(plan),
    )


def _line_form_page(plan, form, line=None, status=200):
    return render_template("plans/line_form.html", plan=plan, form=form, line=line), status


@bp.route("/<int:plan_id>/lines/new", methods=["GET", "POST"])
@permission_required("plans.edit")
def new_line(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    if request.method == "GET" and (back := _locked(plan)) is not None:
        return back
    form = BudgetLineForm(lock_version=plan.lock_version)
    del form.override_reason
    if form.validate_on_submit():
        done = run_action(
            lambda: services.add_budget_line(
                plan,
                kind=form.kind.data,
                description=form.description.data,
                funding_source=form.funding_source.data,
                amount=form.amount.data,
                lock_version=_lock(form),
            ),
            success=_("The budget line was added."),
            form=form,
        )
        if not done.ok:
            return _line_form_page(plan, form, status=422)
        return redirect(url_for("plans.show", plan_id=plan.id, _anchor="budget"))
    return _line_form_page(plan, form, status=422 if form.errors else 200)


@bp.route("/<int:plan_id>/lines/<int:line_id>", methods=["GET", "POST"])
@permission_required("plans.edit")
def edit_line(plan_id: int, line_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    line = db.get_or_404(BudgetLine, line_id)
    if line.plan_id != plan.id:
        abort(404)
    if request.method == "GET" and (back := _locked(plan)) is not None:
        return back
    form = BudgetLineForm(
        obj=line if request.method == "GET" else None, lock_version=plan.lock_version
    )
    if line.kind is LineKind.SERVICE:
        del form.kind, form.description
    else:
        del form.override_reason
    if request.method == "GET":
        form.amount.data = f"{line.amount:.2f}"
        form.funding_source.data = line.funding_source.value
        if line.kind is not LineKind.SERVICE:
            form.kind.data = line.kind.value
    elif form.validate_on_submit():
        done = run_action(
            lambda: services.update_budget_line(
                line,
                amount=form.amount.data,
                funding_source=form.funding_source.data,
                description=form.description.data if "description" in form else None,
                kind=form.kind.data if "kind" in form else None,
                override_reason=form.override_reason.data if "override_reason" in form else None,
                lock_version=_lock(form),
            ),
            success=_("The budget line was saved."),
            form=form,
        )
        if not done.ok:
            return _line_form_page(plan, form, line, 422)
        return redirect(url_for("plans.show", plan_id=plan.id, _anchor="budget"))
    return _line_form_page(plan, form, line, 422 if form.errors else 200)


def _act(plan: PurchasePlan, action, success: str):
    """Run one state-changing service from a POST button, then back to the plan."""
    run_action(action, success=success)
    return redirect(url_for("plans.show", plan_id=plan.id))


@bp.post("/<int:plan_id>/lines/<int:line_id>/delete")
@permission_required("plans.edit")
def delete_line(plan_id: int, line_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    line = db.get_or_404(BudgetLine, line_id)
    form = LockForm()
    if line.plan_id != plan.id or not form.validate_on_submit():
        abort(400)
    return _act(
        plan,
        lambda: services.remove_budget_line(line, lock_version=_lock(form)),
        _("The budget line was removed."),
    )


@bp.post("/<int:plan_id>/submit")
@permission_required("plans.edit")
def submit(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(
        plan,
        lambda: services.submit_plan(
            plan, actor=g.user, note=form.note.data, lock_version=_lock(form)
        ),
        _("The plan was submitted to finance for review."),
    )


@bp.post("/<int:plan_id>/adjust")
@permission_required("plans.edit")
def adjust(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    form = LockForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(
        plan,
        lambda: services.adjust_plan(plan, lock_version=_lock(form)),
        _(
            "An adjustment was opened. The approved version stays in force until "
            "finance approves the adjusted one."
        ),
    )


@bp.route("/<int:plan_id>/review", methods=["GET", "POST"])
@permission_required("plans.review")
def review(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    pending = plan.pending_version
    form = ReviewForm()
    if request.method == "POST" and form.validate_on_submit():
        number = int(form.version_number.data) if form.version_number.data.isdigit() else -1
        if form.decision.data == "approve":
            decide = services.approve_plan
            message = _("Version %(n)d was approved and is now in force.", n=number)
        else:
            decide = services.return_plan
            message = _("Version %(n)d was returned to the officer.", n=number)
        done = run_action(
            lambda: decide(plan, actor=g.user, version_number=number, comment=form.comment.data),
            success=message,
            form=form,
        )
        if done.ok:
            return redirect(url_for("plans.show", plan_id=plan.id))
        pending = plan.pending_version
        status = done.error.status
    else:
        status = 200
        if pending is None:
            flash(_("This plan has no version awaiting review."), "info")
            return redirect(url_for("plans.show", plan_id=plan.id))
        form.version_number.data = str(pending.number)
    base = services.last_reviewed_version(plan)
    changes = (
        services.diff_snapshots(base.snapshot if base else None, pending.snapshot)
        if pending
        else []
    )
    return render_template(
        "plans/review.html", plan=plan, version=pending, base=base, changes=changes, form=form
    ), status


@bp.route("/<int:plan_id>/versions/<int:number>")
@permission_required("plans.view")
def version(plan_id: int, number: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    found = next((v for v in plan.versions if v.number == number), None)
    if found is None:
        abort(404)
    previous = next((v for v in plan.versions if v.number == number - 1), None)
    changes = services.diff_snapshots(previous.snapshot if previous else None, found.snapshot)
    return render_template(
        "plans/version.html", plan=plan, version=found, previous=previous, changes=changes
    )


@bp.route("/<int:plan_id>/export.xlsx")
@permission_required("plans.view")
def export_xlsx(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    return send_file(
        exports.plan_workbook(plan),
        as_attachment=True,
        download_name=exports.filename(plan, "xlsx"),
        mimetype=exports.XLSX,
    )


@bp.route("/<int:plan_id>/document.docx")
@permission_required("plans.view")
def export_docx(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    return send_file(
        exports.plan_document(plan),
        as_attachment=True,
        download_name=exports.filename(plan, "docx"),
        mimetype=exports.DOCX,
    )


@bp.route("/catalogue")
@permission_required("plans.view")
def catalogue():
    """The service catalogue in force for the user's county (or the county chosen)."""
    code = request.args.get("region_code") or g.user.region_code
    region = db.session.get(Region, code)
    if region is None or region.level is not RegionLevel.COUNTY:
        return render_template(
            "plans/catalogue.html", region=None, items=[], counties=counties_in_scope()
        )
    return render_template(
        "plans/catalogue.html", region=region, items=services.catalogue(region.code), counties=[]
    )
