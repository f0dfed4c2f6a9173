"""Policy-profile pages: everyone reads the rules in force; administrators edit them."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from procurement.accounts.auth import permission_required
from procurement.audit.queries import history_of
from procurement.core.db import db
from procurement.core.forms import run_action
from procurement.core.scoping import ensure_in_scope
from procurement.policies import services
from procurement.policies.forms import PolicyProfileForm
from procurement.policies.models import (
    CATEGORY_LABELS,
    GRADE_LABELS,
    PARTY_LABELS,
    PolicyProfile,
)
from procurement.policies.presets import DEFAULT_INDICATORS
from procurement.regions.forms import administrable_region_choices

bp = Blueprint("policies", __name__, url_prefix="/policies")


@bp.app_template_global()
def category_label(value: str) -> str:
    return str(CATEGORY_LABELS.get(value, value))


@bp.app_template_global()
def party_label(value: str) -> str:
    return str(PARTY_LABELS.get(value, value))


@bp.app_template_global()
def grade_label(value: str) -> str:
    return str(GRADE_LABELS.get(value, value))


@bp.route("/")
@permission_required("policies.view")
def index():
    profiles = db.session.scalars(
        select(PolicyProfile).order_by(PolicyProfile.year.desc(), PolicyProfile.region_code)
    ).all()
    return render_template("policies/index.html", profiles=profiles)


@bp.route("/<int:profile_id>")
@permission_required("policies.view")
def show(profile_id: int):
    profile = db.get_or_404(PolicyProfile, profile_id)
    return render_template("policies/show.html", profile=profile, history=history_of(profile))


def _render_form(form, profile=None, status=200):
    return render_template("policies/form.html", form=form, profile=profile), status


@bp.route("/new", methods=["GET", "POST"])
@permission_required("policies.edit")
def new():
    form = PolicyProfileForm()
    form.region_code.choices = administrable_region_choices()
    if request.method == "GET":
        source = db.session.get(PolicyProfile, request.args.get("copy", type=int) or 0)
        if source is not None:
            form.fill(source)
            form.year.data = source.year + 1
            form.region_code.data = source.region_code
    elif form.validate_on_submit():
        source = db.session.get(PolicyProfile, request.args.get("copy", type=int) or 0)
        values = form.values()
        # The indicator system is not on the form: a copy keeps its source's.
        values["evaluation_indicators"] = (
            source.evaluation_indicators if source is not None else DEFAULT_INDICATORS
        )
        done = run_action(
            lambda: services.create_profile(
                region_code=form.region_code.data, year=form.year.data, values=values
            ),
            success=_("The policy profile was created."),
            form=form,
        )
        if not done.ok:
            return _render_form(form, status=422)
        return redirect(url_for("policies.show", profile_id=done.result.id))
    return _render_form(form, status=422 if form.errors else 200)


@bp.route("/<int:profile_id>/edit", methods=["GET", "POST"])
@permission_required("policies.edit")
def edit(profile_id: int):
    profile = db.get_or_404(PolicyProfile, profile_id)
    ensure_in_scope(profile.region_code)  # visible from below, but only its region changes it
    form = PolicyProfileForm()
    del form.region_code, form.year
    if request.method == "GET":
        form.fill(profile)
    elif form.validate_on_submit():
        done = run_action(
            lambda: services.update_profile(profile, form.values()),
            success=_("The policy profile was saved."),
            form=form,
        )
        if not done.ok:
            return _render_form(form, profile, status=422)
        return redirect(url_for("policies.show", profile_id=profile.id))
    return _render_form(form, profile, status=422 if form.errors else 200)
