"""The service catalogue of each policy profile and year: everyone reads it, the region's
administrators keep it (issue 18): add, edit, retire, copy to next year, import .xlsx."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from procurement.accounts.auth import permission_required
from procurement.audit.queries import history_of
from procurement.core.db import db
from procurement.core.errors import DomainError
from procurement.core.forms import choices, run_action
from procurement.core.scoping import ensure_in_scope
from procurement.plans import catalogue
from procurement.plans.forms import CatalogueFileForm, CatalogueItemForm
from procurement.plans.models import ServiceItem
from procurement.policies.models import EntitlementModel, PolicyProfile

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")


def _profile(profile_id: int) -> PolicyProfile:
    return db.get_or_404(PolicyProfile, profile_id)


def _item(item_id: int) -> ServiceItem:
    item = db.get_or_404(ServiceItem, item_id)
    if item.policy_profile is None:
        abort(404)
    return item


def _item_form(profile: PolicyProfile) -> CatalogueItemForm:
    form = CatalogueItemForm()
    form.model.choices = choices((m.value, m.label) for m in EntitlementModel)
    if not form.is_submitted():
        form.model.data = profile.entitlement_model.value
    return form


@bp.route("/")
@permission_required("policies.view")
def index():
    """The profiles (region and year) whose catalogue the user can see."""
    profiles = db.session.scalars(
        select(PolicyProfile).order_by(PolicyProfile.year.desc(), PolicyProfile.region_code)
    ).all()
    counts = {p.id: len(catalogue.items_of(p)) for p in profiles}
    return render_template("catalogue/index.html", profiles=profiles, counts=counts)


@bp.route("/<int:profile_id>")
@permission_required("policies.view")
def show(profile_id: int):
    profile = _profile(profile_id)
    return render_template(
        "catalogue/show.html",
        profile=profile,
        items=catalogue.items_of(profile, include_retired=True),
    )


@bp.route("/<int:profile_id>/new", methods=["GET", "POST"])
@permission_required("catalogue.manage")
def new(profile_id: int):
    profile = _profile(profile_id)
    ensure_in_scope(profile.region_code)
    form = _item_form(profile)
    if form.validate_on_submit():
        done = run_action(
            lambda: catalogue.create_item(profile, form.values()),
            success=_("The service item was added."),
            form=form,
        )
        if done.ok:
            return redirect(url_for("catalogue.show", profile_id=profile.id))
        return render_template("catalogue/form.html", form=form, profile=profile), 422
    status = 422 if form.errors else 200
    return render_template("catalogue/form.html", form=form, profile=profile), status


@bp.route("/items/<int:item_id>")
@permission_required("policies.view")
def item(item_id: int):
    found = _item(item_id)
    return render_template(
        "catalogue/item.html",
        item=found,
        profile=found.policy_profile,
        plans=catalogue.plans_using(found, unfinished=False),
        history=history_of(found),
    )


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@permission_required("catalogue.manage")
def edit(item_id: int):
    found = _item(item_id)
    profile = found.policy_profile
    assert profile is not None
    ensure_in_scope(profile.region_code)
    form = _item_form(profile)
    if not form.is_submitted():
        form.fill(found)
    elif form.validate_on_submit():
        version = int(form.version.data) if (form.version.data or "").isdigit() else None
        done = run_action(
            lambda: catalogue.update_item(found, form.values(), version=version),
            success=_("The service item was saved."),
            form=form,
        )
        if done.ok:
            return redirect(url_for("catalogue.item", item_id=found.id))
        return render_template("catalogue/form.html", form=form, profile=profile, item=found), 422
    status = 422 if form.errors else 200
    return render_template("catalogue/form.html", form=form, profile=profile, item=found), status


@bp.post("/items/<int:item_id>/retire")
@permission_required("catalogue.manage")
def retire(item_id: int):
    found = _item(item_id)
    run_action(
        lambda: catalogue.retire_item(found),
        success=_("%(item)s was retired from the catalogue.", item=found.name),
    )
    return redirect(url_for("catalogue.item", item_id=found.id))


@bp.post("/items/<int:item_id>/restore")
@permission_required("catalogue.manage")
def restore(item_id: int):
    found = _item(item_id)
    run_action(
        lambda: catalogue.restore_item(found),
        success=_("%(item)s is in the catalogue again.", item=found.name),
    )
    return redirect(url_for("catalogue.item", item_id=found.id))


@bp.post("/<int:profile_id>/copy")
@permission_required("catalogue.manage")
def copy(profile_id: int):
    profile = _profile(profile_id)
    done = run_action(
        lambda: catalogue.copy_to_next_year(profile),
        success=lambda result: _(
            "%(n)d items were copied to the catalogue of %(year)d.",
            n=result[1],
            year=result[0].year,
        ),
    )
    if done.ok:
        return redirect(url_for("catalogue.show", profile_id=done.result[0].id))
    return redirect(url_for("catalogue.show", profile_id=profile.id))


@bp.route("/<int:profile_id>/import", methods=["GET", "POST"])
@permission_required("catalogue.manage")
def import_file(profile_id: int):
    """Import an .xlsx catalogue: every row checked, written only if every row is good."""
    profile = _profile(profile_id)
    ensure_in_scope(profile.region_code)
    form = CatalogueFileForm()
    report, refusal, status = None, None, 200
    if form.validate_on_submit():
        data = form.file.data.stream.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
        filename = form.file.data.filename or ""
        write = not form.check_only.data
        try:
            report = catalogue.import_items(profile, data, filename, write=write)
        except catalogue.CatalogueFileRefused as refused:
            db.session.rollback()
            report, refusal, status = refused.report, refused, 422
        except DomainError as error:
            db.session.rollback()
            form.file.errors = [*form.file.errors, error.message]
            status = 422
        else:
            if write:
                db.session.commit()
            else:
                db.session.rollback()
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "catalogue/import.html",
            form=form,
            profile=profile,
            report=report,
            refusal=refusal,
            labels=catalogue.field_labels(),
        ),
        status,
    )
