"""Selection pages: scoring rules, bids and the ranking of each zone, the award."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from procurement.accounts.auth import permission_required
from procurement.awards import services
from procurement.contracts.services import contract_of, contracts_of
from procurement.core.db import db
from procurement.core.errors import DomainError
from procurement.core.forms import ActionForm, choices, run_action, save_form
from procurement.plans.models import PurchasePlan
from procurement.providers.models import Provider
from procurement.public import services as publishing
from procurement.public.models import PublicationKind

bp = Blueprint("awards", __name__, url_prefix="/plans/<int:plan_id>/selection")


class ScoringForm(FlaskForm):
    bid_deadline = DateField(_l("Bid deadline"), validators=[InputRequired()])
    price_weight = StringField(_l("Price weight (%)"))
    technical_weight = StringField(_l("Technical weight (%)"))
    performance_weight = StringField(_l("Past-performance weight (%)"))


class BidForm(FlaskForm):
    provider_id = SelectField(_l("Provider"), validate_choice=False)
    unit_price = StringField(_l("Offered unit price (yuan)"), validators=[InputRequired()])
    technical_score = StringField(
        _l("Technical score by the panel (0-100)"), validators=[Optional()]
    )
    note = TextAreaField(_l("Note"))


class AwardForm(FlaskForm):
    provider_id = SelectField(_l("Award to"), validate_choice=False)
    rationale = TextAreaField(_l("Reasons for the award"), validators=[InputRequired()])


def _plan(plan_id: int) -> PurchasePlan:
    return db.get_or_404(PurchasePlan, plan_id)


@bp.route("/", methods=["GET", "POST"])
@permission_required("plans.view")
def index(plan_id: int):
    plan = _plan(plan_id)
    try:
        selection = services.selection_for(plan)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("plans.show", plan_id=plan.id))
    form = ScoringForm(obj=selection)
    status = 200
    if request.method == "POST":
        if not g.user.can("awards.manage"):
            return redirect(url_for("awards.index", plan_id=plan.id)), 403
        done, status = save_form(
            form,
            lambda: services.set_scoring(
                selection,
                bid_deadline=form.bid_deadline.data,
                price_weight=form.price_weight.data,
                technical_weight=form.technical_weight.data,
                performance_weight=form.performance_weight.data,
            ),
            success=_("The scoring rules were saved."),
            next_url=url_for("awards.index", plan_id=plan.id),
        )
        if done:
            return done
    else:
        db.session.commit()  # the selection row, created on first visit
    awards = services.awards_by_zone(plan)
    contracts = {c.zone_id: c for c in contracts_of(plan)}
    zones = [(zone, awards.get(zone.id), contracts.get(zone.id)) for zone in plan.zones]
    return render_template(
        "awards/index.html", plan=plan, selection=selection, form=form, zones=zones
    ), status


def _provider_choices(plan: PurchasePlan):
    providers = db.session.scalars(
        select(Provider).where(Provider.region_code == plan.region_code).order_by(Provider.name)
    ).all()
    return choices([(str(p.id), p.name) for p in providers])


@bp.route("/zones/<int:zone_id>", methods=["GET", "POST"])
@permission_required("plans.view")
def zone(plan_id: int, zone_id: int):
    plan = _plan(plan_id)
    zone = services.get_zone(plan, zone_id)
    bid_form, award_form = BidForm(prefix="bid"), AwardForm(prefix="award")
    bid_form.provider_id.choices = _provider_choices(plan)
    status = 200
    if request.method == "POST":
        if not g.user.can("awards.manage"):
            return redirect(url_for("awards.zone", plan_id=plan.id, zone_id=zone.id)), 403
        if "bid-unit_price" in request.form and bid_form.validate_on_submit():
            done = run_action(
                lambda: services.save_bid(
                    zone,
                    db.get_or_404(Provider, int(bid_form.provider_id.data)),
                    unit_price=bid_form.unit_price.data,
                    technical_score=bid_form.technical_score.data,
                    note=bid_form.note.data,
                ),
                success=_("The offer was saved."),
                form=bid_form,
            )
            if done.ok:
                return redirect(url_for("awards.zone", plan_id=plan.id, zone_id=zone.id))
            status = 422
        elif "award-rationale" in request.form:
            rows = services.candidates(zone)
            award_form.provider_id.choices = choices(
                [(str(r.provider.id), r.provider.name) for r in rows]
            )
            if award_form.validate_on_submit():
                done = run_action(
                    lambda: services.award_zone(
                        zone,
                        db.get_or_404(Provider, int(award_form.provider_id.data)),
                        actor=g.user,
                        rationale=award_form.rationale.data,
                    ),
                    success=_("%(zone)s was awarded.", zone=zone.name),
                    form=award_form,
                )
                if done.ok:
                    return redirect(url_for("awards.zone", plan_id=plan.id, zone_id=zone.id))
                status = done.error.status
            else:
                status = 422
        else:
            status = 422
    rows = services.candidates(zone)
    award_form.provider_id.choices = choices([(str(r.provider.id), r.provider.name) for r in rows])
    if rows and rows[0].rank == 1 and not award_form.provider_id.data:
        award_form.provider_id.data = str(rows[0].provider.id)
    award = services.award_of(zone)
    return render_template(
        "awards/zone.html",
        plan=plan,
        zone=zone,
        rows=rows,
        selection=services.selection_for(plan),
        award=award,
        publication=publishing.publication_of(PublicationKind.AWARD, award.id) if award else None,
        contract=contract_of(zone),
        bid_form=bid_form,
        award_form=award_form,
    ), status


@bp.post("/zones/<int:zone_id>/<any(publish, withdraw):action>")
@permission_required("publications.publish")
def publication(plan_id: int, zone_id: int, action: str):
    """Publish the zone's award notice on the public site, or withdraw it."""
    zone = services.get_zone(_plan(plan_id), zone_id)
    award = services.award_of(zone)
    if award is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if action == "publish":
        run_action(
            lambda: publishing.publish_award(award, actor=g.user),
            success=_("The award notice is public."),
        )
    else:
        run_action(
            lambda: publishing.withdraw_record(PublicationKind.AWARD, award.id),
            success=_("The award notice was withdrawn from the public site."),
        )
    return redirect(url_for("awards.zone", plan_id=plan_id, zone_id=zone_id))
