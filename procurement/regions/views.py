"""The administrative-division tree of the user's region, and its upkeep by the
province's administrators (issue 18): division files, townships added, renamed, retired."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from procurement.accounts.auth import permission_required
from procurement.core.db import db
from procurement.core.errors import DomainError
from procurement.core.forms import run_action
from procurement.regions import divisions, services
from procurement.regions.forms import (
    ConfirmDivisionsForm,
    DivisionFileForm,
    RenameForm,
    RetireForm,
    TownshipForm,
)
from procurement.regions.models import RegionLevel

bp = Blueprint("regions", __name__, url_prefix="/regions")


@bp.route("/")
@permission_required("regions.view")
def index():
    return render_template("regions/index.html", root=g.user.region)


@bp.route("/divisions", methods=["GET", "POST"])
@permission_required("regions.manage")
def divisions_upload():
    """Upload a division file: its per-row report, and the button that writes it."""
    form = DivisionFileForm()
    report, refusal, confirm, status = None, None, None, 200
    if form.validate_on_submit():
        data = form.file.data.stream.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
        filename = form.file.data.filename or ""
        try:
            report = divisions.import_divisions(data, filename, within=g.user.region, write=False)
        except divisions.DivisionFileRefused as refused:
            report, refusal, status = refused.report, refused, 422
        except DomainError as error:
            form.file.errors = [*form.file.errors, error.message]
            status = 422
        else:
            token = divisions.stage_file(data, filename, user_id=g.user.id)
            confirm = ConfirmDivisionsForm(token=token)
        finally:
            db.session.rollback()
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "regions/divisions.html",
            form=form,
            report=report,
            refusal=refusal,
            confirm=confirm,
            labels=divisions.field_labels(),
        ),
        status,
    )


@bp.route("/divisions/confirm", methods=["POST"])
@permission_required("regions.manage")
def divisions_confirm():
    """Write a checked file; if the tree changed meanwhile, the new report says why not."""
    form = ConfirmDivisionsForm()
    if not form.validate_on_submit():
        abort(400)

    def write():
        data, filename = divisions.staged_file(form.token.data, user_id=g.user.id)
        return divisions.import_divisions(data, filename, within=g.user.region)

    done = run_action(
        write,
        success=lambda report: _(
            "The division file was imported: %(added)d added, %(renamed)d renamed, "
            "%(unchanged)d unchanged.",
            added=report.count("add"),
            renamed=report.count("rename"),
            unchanged=report.count("unchanged"),
        ),
        show_refusal=False,
    )
    if done.ok:
        divisions.discard_file(form.token.data)
        return redirect(url_for("regions.index"))
    if isinstance(done.error, divisions.DivisionFileRefused):
        return render_template(
            "regions/divisions.html",
            form=DivisionFileForm(),
            report=done.error.report,
            refusal=done.error,
            confirm=None,
            labels=divisions.field_labels(),
        ), 422
    flash(done.error.message if done.error else "", "error")
    return redirect(url_for("regions.divisions_upload"))


@bp.route("/<code>/townships", methods=["GET", "POST"])
@permission_required("regions.manage")
def townships(code: str):
    """A county's townships, current and retired; add one."""
    county = services.managed_region(code, g.user.region)
    if county.level is not RegionLevel.COUNTY:
        abort(404)
    form, status = TownshipForm(), 200
    if form.validate_on_submit():
        done = run_action(
            lambda: services.add_township(county, code=form.code.data, name=form.name.data),
            success=lambda t: _("%(name)s was added.", name=t.name),
            form=form,
        )
        if done.ok:
            return redirect(url_for("regions.townships", code=county.code))
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template(
        "regions/townships.html",
        county=county,
        townships=services.townships_of(county, include_retired=True),
        form=form,
        rename=RenameForm(),
        retire=RetireForm(),
    ), status


@bp.route("/townships/<code>/rename", methods=["POST"])
@permission_required("regions.manage")
def rename(code: str):
    township = services.managed_region(code, g.user.region)
    form = RenameForm()
    if form.validate_on_submit():
        run_action(
            lambda: services.rename_township(township, name=form.name.data),
            success=_("The township was renamed."),
        )
    else:
        flash(_("Give the new name."), "error")
    return redirect(url_for("regions.townships", code=township.parent_code))


@bp.route("/townships/<code>/retire", methods=["POST"])
@permission_required("regions.manage")
def retire(code: str):
    township = services.managed_region(code, g.user.region)
    form = RetireForm()
    if form.validate_on_submit():
        run_action(
            lambda: services.retire_township(township, retired_on=form.retired_on.data),
            success=_("%(name)s was retired.", name=township.name),
        )
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
    return redirect(url_for("regions.townships", code=township.parent_code))
