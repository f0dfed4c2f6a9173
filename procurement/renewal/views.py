"""Next year's plan, proposed from this year's execution and results."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, url_for
from flask_babel import gettext as _

from procurement.accounts.auth import permission_required
from procurement.core.db import db
from procurement.core.forms import ActionForm, run_action
from procurement.plans.models import PurchasePlan
from procurement.renewal import services

bp = Blueprint("renewal", __name__, url_prefix="/plans")


@bp.get("/<int:plan_id>/next-year")
@permission_required("plans.view")
def proposal(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    return render_template(
        "renewal/proposal.html", found=services.proposal(plan), form=ActionForm()
    )


@bp.post("/<int:plan_id>/next-year")
@permission_required("plans.edit")
def start(plan_id: int):
    plan = db.get_or_404(PurchasePlan, plan_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    done = run_action(
        lambda: services.start_next_year(plan, actor=g.user),
        success=lambda created: _(
            "The plan for %(year)d was drafted from this year's.", year=created.year
        ),
    )
    if not done.ok:
        return redirect(url_for("renewal.proposal", plan_id=plan.id))
    return redirect(url_for("plans.show", plan_id=done.result.id))
