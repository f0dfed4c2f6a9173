"""Roster pages: the list, a recipient's record, applications and their deadlines, exits,
monthly changes for providers, imports, and the bureau's holiday table."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from procurement.accounts.auth import permission_required
from procurement.audit.queries import history_of
from procurement.contracts.services import get_contract
from procurement.core import staging
from procurement.core.clock import today
from procurement.core.dates import month_of, read_month
from procurement.core.db import db
from procurement.core.errors import FieldErrors
from procurement.core.forms import (
    ActionForm,
    choices,
    filter_args,
    save_form,
)
from procurement.providers.io import XLSX
from procurement.recipients import calendar, io, services
from procurement.recipients.forms import (
    ApplicationForm,
    DecisionForm,
    ExitForm,
    MonthForm,
    MoveForm,
    OverrideForm,
    RecipientFilterForm,
    RecipientForm,
    StepForm,
)
from procurement.recipients.models import CAPABILITY_LEVELS, Recipient
from procurement.regions.forms import requested_county
from procurement.regions.models import Region, RegionLevel
from procurement.regions.services import get_region, townships_of
from procurement.settlements.delivery import contract_shortfall, last_ended_month

bp = Blueprint("recipients", __name__, url_prefix="/recipients")

STEP_LABELS = {
    "village": _l("Village check"),
    "township": _l("Township review"),
    "county": _l("County decision"),
}


@bp.app_template_global()
def recipient_status(recipient: Recipient) -> services.RosterStatus:
    return services.roster_status(recipient)


@bp.app_template_global()
def recipient_sex(code: str) -> str:
    return str(services.SEX_LABELS.get(code, code))


@bp.app_template_global()
def capability_label(level: int | None) -> str:
    return str(CAPABILITY_LEVELS[level]) if level is not None else _("Not assessed")


@bp.app_template_global()
def application_step_label(step: str | None) -> str:
    return str(STEP_LABELS.get(step, "—"))


def _year(value: int | None) -> int:
    return value if value and 2000 <= value <= 2100 else today().year


# ------------------------------------------------------------------ the roster


@bp.route("/")
@permission_required("recipients.view")
def index():
    """The roster, 50 at a time in its order, each page continuing after the last person
    of the one before (no count of a province's roster, no offset to skip). Above a county
    the townships to filter by are those of the county chosen, not a province's all."""
    filters = RecipientFilterForm(request.args)
    region = g.user.region
    county = None
    if region.level == RegionLevel.COUNTY:
        filters.county.choices = []
        county = region
    else:
        counties = db.session.scalars(
            select(Region)
            .where(Region.level == RegionLevel.COUNTY, Region.code.startswith(region.scope.prefix))
            .order_by(Region.code)
        ).all()
        filters.county.choices = choices(
            [("", _("All counties")), *[(c.code, c.name) for c in counties]]
        )
        county = next((c for c in counties if c.code == filters.county.data), None)
    townships = townships_of(county, include_retired=True) if county is not None else []
    filters.township.choices = choices(
        [("", _("All townships")), *[(t.code, t.name) for t in townships]]
    )
    codes = {t.code for t in townships}
    township = filters.township.data if filters.township.data in codes else None
    stmt, problem = services.roster_query(
        q=filters.q.data,
        county_code=county.code if county is not None else None,
        township_code=township,
        category=filters.category.data or None,
        status=filters.status.data or None,
    )
    if problem:
        filters.q.errors = [problem]
    page = services.roster_page(stmt, after=request.args.get("after", type=int), size=50)
    return render_template(
        "recipients/index.html", page=page, filters=filters, args=filter_args(filters)
    )


def _recipient_form(county: Region, keep: str | None = None) -> RecipientForm:
    """The form; its townships are the current ones, and ``keep``, the one the person's
    record holds, even if it has since been retired (issue 18)."""
    form = RecipientForm()
    townships = [
        t for t in townships_of(county, include_retired=True) if not t.retired or t.code == keep
    ]
    form.township_code.choices = choices([("", "—"), *[(t.code, t.name) for t in townships]])
    return form


@bp.route("/new", methods=["GET", "POST"])
@permission_required("recipients.edit")
def new():
    county = requested_county()
    form = _recipient_form(county)
    done, status = save_form(
        form,
        lambda: services.register_recipient(region_code=county.code, data=form.recipient_input()),
        success=lambda recipient: _("%(name)s was added to the roster.", name=recipient.name),
        next_url=lambda recipient: url_for("recipients.show", recipient_id=recipient.id),
    )
    if done:
        return done
    return render_template("recipients/form.html", form=form, county=county, recipient=None), status


@bp.route("/<int:recipient_id>/edit", methods=["GET", "POST"])
@permission_required("recipients.edit")
def edit(recipient_id: int):
    recipient = services.get_recipient(recipient_id)
    county = db.session.get(Region, recipient.region_code)
    form = _recipient_form(county, keep=recipient.township_code)
    if request.method == "GET":
        form.fill(recipient)
    done, status = save_form(
        form,
        lambda: services.update_recipient(recipient, form.recipient_input()),
        success=_("The changes were saved."),
        next_url=url_for("recipients.show", recipient_id=recipient.id),
    )
    if done:
        return done
    return render_template(
        "recipients/form.html", form=form, county=county, recipient=recipient
    ), status


def _render_show(recipient: Recipient, status: int = 200, *, revealed: str | None = None, **forms):
    """The recipient page; a refused form comes back with its errors in place."""
    overrides = calendar.overrides_table()
    year = _year(request.values.get("year", type=int))
    profile, months = services.year_standing(recipient, year)
    applications = list(reversed(recipient.applications))
    page = render_template(
        "recipients/show.html",
        recipient=recipient,
        status=services.roster_status(recipient),
        open_application=services.open_application(recipient),
        applications=applications,
        deadlines={a.id: services.application_deadlines(a, overrides) for a in applications},
        rejected_at={a.id: services.rejected_at(a) for a in applications},
        exit_effective=services.exit_effective(recipient),
        year=year,
        profile=profile,
        months=months,
        no_profile=None if profile else services.no_profile_message(recipient, year),
        revealed=revealed,
        history=history_of(recipient),
        application_form=forms.get("application_form") or ApplicationForm(),
        step_form=forms.get("step_form") or StepForm(),
        decision_form=forms.get("decision_form") or DecisionForm(),
        exit_form=forms.get("exit_form") or ExitForm(),
        move_form=forms.get("move_form") or _move_form(recipient),
        action_form=ActionForm(),
    )
    return page, status


@bp.route("/<int:recipient_id>")
@permission_required("recipients.view")
def show(recipient_id: int):
    return _render_show(services.get_recipient(recipient_id))


@bp.post("/<int:recipient_id>/reveal-id")
@permission_required("recipients.view_id")
def reveal_id(recipient_id: int):
    """The full number, shown once on the page (never in a URL or a flash); audited."""
    recipient = services.get_recipient(recipient_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    number = services.reveal_id_number(recipient)
    db.session.commit()
    return _render_show(recipient, revealed=number)


def _back_to(recipient: Recipient, anchor: str) -> str:
    return url_for("recipients.show", recipient_id=recipient.id, _anchor=anchor)


@bp.post("/<int:recipient_id>/applications")
@permission_required("recipients.edit")
def apply(recipient_id: int):
    recipient = services.get_recipient(recipient_id)
    form = ApplicationForm()
    done, status = save_form(
        form,
        lambda: services.create_application(recipient, applied_on=form.applied_on.data),
        success=_("The application was recorded."),
        next_url=_back_to(recipient, "applications"),
    )
    return done or _render_show(recipient, status, application_form=form)


@bp.post(
    "/<int:recipient_id>/applications/<int:application_id>/<any(village, township, county):step>"
)
@permission_required("recipients.edit")
def advance(recipient_id: int, application_id: int, step: str):
    """Record the village check, the township review or the county's decision."""
    recipient = services.get_recipient(recipient_id)
    application = services.get_application(recipient, application_id)
    if step == "county":
        form, name = DecisionForm(), "decision_form"

        def action():
            services.decide_application(
                application,
                approve=form.approve(),
                on=form.on.data,
                reason=form.reason.data,
                actor=g.user,
            )
    else:
        form, name = StepForm(), "step_form"
        record = (
            services.record_village_check if step == "village" else services.record_township_review
        )

        def action():
            record(application, on=form.on.data, passed=form.result(), note=form.note.data)

    done, status = save_form(
        form,
        action,
        success=_("%(step)s was recorded.", step=STEP_LABELS[step]),
        next_url=_back_to(recipient, "applications"),
    )
    return done or _render_show(recipient, status, **{name: form})


@bp.post("/<int:recipient_id>/exit")
@permission_required("recipients.edit")
def exit_service(recipient_id: int):
    recipient = services.get_recipient(recipient_id)
    form = ExitForm()
    done, status = save_form(
        form,
        lambda: services.record_exit(
            recipient,
            exit_reason=form.exit_reason.data,
            exit_date=form.exit_date.data,
            exit_note=form.exit_note.data,
        ),
        success=_("The exit was recorded."),
        next_url=_back_to(recipient, "exit"),
    )
    return done or _render_show(recipient, status, exit_form=form)


def _move_form(recipient: Recipient) -> MoveForm:
    form = MoveForm()
    county = get_region(recipient.region_code)
    form.township_code.choices = choices(
        [
            ("", "—"),
            *[(t.code, t.name) for t in townships_of(county) if t.code != recipient.township_code],
        ]
    )
    return form


@bp.post("/<int:recipient_id>/move")
@permission_required("recipients.edit")
def move(recipient_id: int):
    recipient = services.get_recipient(recipient_id)
    form = _move_form(recipient)
    done, status = save_form(
        form,
        lambda: services.record_move(
            recipient,
            township_code=form.township_code.data,
            moved_on=form.moved_on.data,
            note=form.note.data,
        ),
        success=lambda move: _(
            "The move was recorded: service follows in %(township)s from %(date)s.",
            township=move.destination.name,
            date=move.effective_from.isoformat(),
        ),
        next_url=_back_to(recipient, "move"),
    )
    return done or _render_show(recipient, status, move_form=form)


# ------------------------------------------------------------------ applications


@bp.route("/applications")
@permission_required("recipients.view")
def applications():
    rows = services.open_applications(calendar.overrides_table())
    return render_template("recipients/applications.html", rows=rows)


# ------------------------------------------------------------------ monthly changes


CHANGES_PER_PAGE = 10  # contracts per page
CHANGES_SHOWN = 200  # people per list on the page; the .xlsx holds everyone


@bp.route("/changes")
@permission_required("recipients.view")
def changes():
    form = MonthForm(request.args)
    errors = FieldErrors()
    month = read_month(form.month.data, "month", errors, required=False)
    form.month.errors = errors.fields.get("month", [])
    month = month or services.default_month()
    form.month.data = month.strftime("%Y-%m")
    page = db.paginate(
        services.contracts_in_month_query(month), per_page=CHANGES_PER_PAGE, error_out=False
    )
    lists = [services.monthly_changes(c, month, CHANGES_SHOWN) for c in page.items]
    shortfalls = {}
    if g.user.can("settlements.view") and month <= last_ended_month():
        shortfalls = {c.id: contract_shortfall(c, month, people=False) for c in page.items}
    return render_template(
        "recipients/changes.html",
        form=form,
        month=month,
        lists=lists,
        shortfalls=shortfalls,
        page=page,
        action_form=ActionForm(),
    )


def _export(contract_id: int, month_text: str | None, *, full: bool):
    contract = get_contract(contract_id)
    changes_of_month = services.monthly_changes(contract, month_of(month_text))
    full_ids = services.full_id_numbers(changes_of_month) if full else None
    workbook = io.changes_workbook(changes_of_month, full_ids=full_ids)
    db.session.commit()
    return send_file(
        workbook,
        mimetype=XLSX,
        as_attachment=True,
        download_name=io.changes_filename(changes_of_month, full_ids=full),
    )


@bp.route("/changes/<int:contract_id>.xlsx")
@permission_required("recipients.view")
def changes_export(contract_id: int):
    """The month's changes of one contract with ID numbers masked."""
    return _export(contract_id, request.args.get("month"), full=False)


@bp.post("/changes/<int:contract_id>/full.xlsx")
@permission_required("recipients.view_id")
def changes_export_full(contract_id: int):
    """The same list with full ID numbers, for roles that may see them; audited."""
    if not ActionForm().validate_on_submit():
        abort(400)
    return _export(contract_id, request.form.get("month"), full=True)


# ------------------------------------------------------------------ import


@bp.route("/import", methods=["GET", "POST"])
@permission_required("recipients.edit")
def import_file():
    county = requested_county()
    return staging.import_page(
        io.STAGED, "recipients/import.html", region_code=county.code, county=county
    )


@bp.post("/import/confirm")
@permission_required("recipients.edit")
def confirm_import():
    return staging.confirm_page(
        io.STAGED,
        region_code=requested_county().code,
        upload="recipients.import_file",
    )


@bp.route("/import/template.xlsx")
@permission_required("recipients.view")
def import_template():
    return send_file(
        io.template_workbook(),
        as_attachment=True,
        download_name="服务对象导入模板.xlsx",
        mimetype=XLSX,
    )


# ------------------------------------------------------------------ holiday table


@bp.route("/calendar", methods=["GET", "POST"])
@permission_required("calendar.view")
def calendar_days():
    year = _year(request.args.get("year", type=int))
    if request.method == "POST" and not g.user.can("calendar.manage"):
        abort(403)  # the counties read the shared table; the province keeps it
    form = OverrideForm()
    done, status = save_form(
        form,
        lambda: calendar.add_override(
            day=form.day.data, is_workday=form.is_workday.data == "work", note=form.note.data
        ),
        success=_("The day was added to the holiday table."),
        next_url=url_for(
            "recipients.calendar_days", year=form.day.data.year if form.day.data else year
        ),
    )
    if done:
        return done
    return render_template(
        "recipients/calendar.html",
        year=year,
        known=calendar.calendar_known(year),
        days=calendar.overrides_of_year(year),
        form=form,
        action_form=ActionForm(),
    ), status


@bp.post("/calendar/<int:override_id>/delete")
@permission_required("calendar.manage")
def delete_calendar_day(override_id: int):
    override = calendar.get_override(override_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    year = override.day.year
    calendar.remove_override(override)
    db.session.commit()
    flash(_("The day was removed from the holiday table."), "success")
    return redirect(url_for("recipients.calendar_days", year=year))
