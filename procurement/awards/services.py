"""Selection and award: comprehensive scoring, proximity first, only qualified providers.

Scoring (财政部令第87号 art. 55, low-price-first): the lowest bid of a qualified
provider is the benchmark; price score = benchmark / bid x price weight; technical
score = panel score (0-100) x technical weight / 100; past performance likewise from
last year's evaluation (none until it exists, shown as such, counting 0 for everyone).
Ties go to the provider whose office is in the zone (就近优先, seed 001 §6), then to the
lower price.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from procurement.accounts.models import User
from procurement.awards.models import Award, Bid, Selection
from procurement.core import audit
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound, ValidationError
from procurement.core.i18n import stored_language
from procurement.core.money import format_amount, parse_amount
from procurement.plans.models import PlanStatus, PlanZone, PurchasePlan
from procurement.policies.models import EntitlementModel
from procurement.providers.models import Provider, QualificationCheck
from procurement.providers.qualification import CRITERION_LABELS, evaluate
from procurement.regions.models import Region, RegionLevel

POINT = Decimal("0.01")
MIN_PRICE_WEIGHT = 10  # services: price weighs at least 10 % (财政部令第87号 art. 55)


@dataclass(frozen=True)
class PastRecord:
    """What last year says of a provider: its evaluation score (0-100) for the past-
    performance criterion, and a caution (a failed grade or acceptance, a terminated
    contract) that either excludes it or is shown beside its offer, as the profile says."""

    score: Decimal | None
    caution: str | None = None
    excluded: bool = False


PastRecordSource = Callable[[Provider, PurchasePlan], PastRecord | None]
EXTENSION = "procurement.past_records"


def init_app(app: Flask, *, past_records: Iterable[PastRecordSource]) -> None:
    """Name where past records come from (the evaluation feature's, via procurement.renewal):
    the app factory does, so that a feature left out fails loudly, not as "no record"."""
    app.extensions[EXTENSION] = tuple(past_records)


def _past_record_sources() -> tuple[PastRecordSource, ...]:
    try:
        return current_app.extensions[EXTENSION]
    except KeyError:
        raise RuntimeError("Past records are not wired: build the app with create_app().") from None


def _approved(plan: PurchasePlan) -> None:
    if plan.approved_version is None or plan.status not in (
        PlanStatus.APPROVED,
        PlanStatus.ADJUSTING,
    ):
        raise Conflict(
            _("Providers are chosen only once finance has approved the plan."),
            code="plan_not_approved",
        )


def selection_for(plan: PurchasePlan) -> Selection:
    """The plan's scoring rules, created with the defaults on first use."""
    _approved(plan)
    selection = db.session.scalar(select(Selection).where(Selection.plan_id == plan.id))
    if selection is None:
        selection = Selection(
            plan_id=plan.id, region_code=plan.region_code, bid_deadline=plan.service_start
        )
        db.session.add(selection)
        db.session.flush()
    return selection


def set_scoring(
    selection: Selection,
    *,
    bid_deadline: Any,
    price_weight: Any,
    technical_weight: Any,
    performance_weight: Any,
) -> Selection:
    """Weights in percent summing to 100, price at least 10 %; the bid deadline."""
    errors = FieldErrors()
    weights = {}
    for name, value in (
        ("price_weight", price_weight),
        ("technical_weight", technical_weight),
        ("performance_weight", performance_weight),
    ):
        try:
            weights[name] = int(value)
            if not 0 <= weights[name] <= 100:
                raise ValueError
        except (TypeError, ValueError):
            errors.add(name, _("Must be between %(low)d and %(high)d.", low=0, high=100))
    if len(weights) == 3:
        if weights["price_weight"] < MIN_PRICE_WEIGHT:
            errors.add(
                "price_weight",
                _("The price weighs at least %(n)d%% for services.", n=MIN_PRICE_WEIGHT),
            )
        if sum(weights.values()) != 100:
            errors.add(
                "price_weight",
                _(
                    "The weights add up to %(total)d%%; they must add up to 100%%.",
                    total=sum(weights.values()),
                ),
            )
    if not isinstance(bid_deadline, date):
        try:
            bid_deadline = date.fromisoformat(str(bid_deadline))
        except ValueError:
            errors.add("bid_deadline", _("Must be a date such as 2026-01-31."))
    errors.raise_if_any()
    selection.bid_deadline = bid_deadline
    for name, value in weights.items():
        setattr(selection, name, value)
    db.session.flush()
    return selection


def _score(value: Any, name: str, errors: FieldErrors) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        score = Decimal(str(value))
        if not score.is_finite() or not 0 <= score <= 100 or score != score.quantize(POINT):
            raise ValueError
    except (ArithmeticError, ValueError):
        errors.add(name, _("A score between 0 and 100 with at most two decimals."))
        return None
    return score


def save_bid(
    zone: PlanZone,
    provider: Provider,
    *,
    unit_price: Any,
    technical_score: Any = None,
    note: str = "",
) -> Bid:
    """Record or change a provider's offer for a zone (at most the policy's price cap)."""
    plan = zone.plan
    _approved(plan)
    if provider.region_code != plan.region_code:
        raise ValidationError(
            _("The provider is not in this county's register."), field="provider_id"
        )
    if db.session.scalar(select(Award.id).where(Award.zone_id == zone.id)):
        raise Conflict(
            _("%(zone)s is already awarded: bids are closed.", zone=zone.name), code="awarded"
        )
    errors = FieldErrors()
    price = None
    try:
        price = parse_amount(unit_price)
        if price <= 0:
            raise ValueError
    except ValueError:
        errors.add(
            "unit_price", _("Must be an amount in yuan with at most two decimals, such as 1234.50.")
        )
    profile = plan.policy_profile
    cap = (
        profile.hourly_rate_cap
        if profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH
        else profile.unit_price_per_visit
    )
    if price is not None and cap is not None and price > cap:
        errors.add(
            "unit_price",
            _(
                "The offer (%(price)s yuan) is above the policy's cap of %(cap)s yuan.",
                price=price,
                cap=cap,
            ),
        )
    score = _score(technical_score, "technical_score", errors)
    errors.raise_if_any()
    bid = db.session.scalar(
        select(Bid).where(Bid.zone_id == zone.id, Bid.provider_id == provider.id)
    )
    if bid is None:
        bid = Bid(
            plan_id=plan.id,
            zone_id=zone.id,
            provider_id=provider.id,
            region_code=plan.region_code,
            unit_price=price,
        )
        db.session.add(bid)
    bid.unit_price, bid.technical_score = price, score
    bid.note = (note or "").strip()[:2000]
    db.session.flush()
    return bid


def latest_check(provider: Provider, plan: PurchasePlan) -> QualificationCheck | None:
    """The provider's newest qualification check made for this plan."""
    return db.session.scalar(
        select(QualificationCheck)
        .where(QualificationCheck.provider_id == provider.id, QualificationCheck.plan_id == plan.id)
        .order_by(QualificationCheck.id.desc())
        .limit(1)
    )


def past_record(provider: Provider, plan: PurchasePlan) -> PastRecord:
    """Last year's record of the provider in the region (none before any evaluation)."""
    for source in _past_record_sources():
        record = source(provider, plan)
        if record is not None:
            return record
    return PastRecord(score=None)


@dataclass
class Candidate:
    bid: Bid
    provider: Provider
    check: QualificationCheck | None
    near: bool
    price_score: Decimal | None
    technical_points: Decimal
    performance: Decimal | None
    performance_points: Decimal
    total: Decimal | None
    rank: int | None = None
    caution: str | None = None
    excluded: bool = False

    @property
    def qualified(self) -> bool:
        return self.check is not None and self.check.qualified

    def as_dict(self) -> dict:
        return {
            "rank": self.rank,
            "provider_id": self.provider.id,
            "provider": self.provider.name,
            "unit_price": f"{self.bid.unit_price:.2f}",
            "qualified": self.qualified,
            "check_id": self.check.id if self.check else None,
            "near": self.near,
            "price_score": _text(self.price_score),
            "technical_score": _text(self.bid.technical_score),
            "performance_score": _text(self.performance),
            "total": _text(self.total),
            "caution": self.caution,
            "excluded": self.excluded,
        }


def _text(value: Decimal | None) -> str | None:
    return f"{value:.2f}" if value is not None else None


def candidates(zone: PlanZone) -> list[Candidate]:
    """The zone's bidders, scored and ranked; unqualified ones are listed but not ranked."""
    plan = zone.plan
    selection = selection_for(plan)
    bids = db.session.scalars(select(Bid).where(Bid.zone_id == zone.id)).all()
    rows = []
    for bid in bids:
        check = latest_check(bid.provider, plan)
        record = past_record(bid.provider, plan)
        performance = record.score
        rows.append(
            Candidate(
                bid=bid,
                provider=bid.provider,
                check=check,
                near=bid.provider.township_code in zone.township_codes,
                price_score=None,
                technical_points=(bid.technical_score or Decimal(0))
                * selection.technical_weight
                / 100,
                performance=performance,
                performance_points=(performance or Decimal(0)) * selection.performance_weight / 100,
                total=None,
                caution=record.caution,
                excluded=record.excluded,
            )
        )
    # Only complete, qualified offers compete: an offer the panel has not scored yet can
    # neither be ranked nor set the price benchmark.
    # A provider excluded by last year's record (as the profile says) does not compete.
    qualified = [
        row
        for row in rows
        if row.qualified and row.bid.technical_score is not None and not row.excluded
    ]
    if qualified:
        benchmark = min(row.bid.unit_price for row in qualified)
        for row in qualified:
            row.price_score = (benchmark / row.bid.unit_price * selection.price_weight).quantize(
                POINT, ROUND_HALF_UP
            )
            row.total = (row.price_score + row.technical_points + row.performance_points).quantize(
                POINT, ROUND_HALF_UP
            )
        qualified.sort(key=lambda r: (-r.total, not r.near, r.bid.unit_price))
        for position, row in enumerate(qualified, start=1):
            row.rank = position
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.provider.name))


def award_zone(zone: PlanZone, provider: Provider, *, actor: User | None, rationale: str) -> Award:
    """Award a zone to a provider whose qualification check for this plan passed."""
    plan = zone.plan
    _approved(plan)
    if db.session.scalar(select(Award.id).where(Award.zone_id == zone.id)):
        raise Conflict(_("%(zone)s already has an award.", zone=zone.name), code="awarded")
    rows = candidates(zone)
    row = next((r for r in rows if r.provider.id == provider.id), None)
    if row is None:
        raise ValidationError(
            _("%(name)s made no offer for %(zone)s.", name=provider.name, zone=zone.name),
            field="provider_id",
        )
    if row.check is None:
        raise ValidationError(
            _(
                "%(name)s has no qualification check for this plan: run one first.",
                name=provider.name,
            ),
            field="provider_id",
            code="not_checked",
        )
    if not row.check.qualified:
        failed = "、".join(
            str(CRITERION_LABELS.get(c["code"], c["code"]))
            for c in row.check.criteria
            if c["result"] != "pass"
        )
        raise ValidationError(
            _(
                "%(name)s is not qualified (check of %(date)s failed on: %(criteria)s).",
                name=provider.name,
                date=row.check.as_of,
                criteria=failed,
            ),
            field="provider_id",
            code="not_qualified",
        )
    if row.excluded:
        raise ValidationError(
            _("%(name)s is excluded: %(reason)s", name=provider.name, reason=row.caution),
            field="provider_id",
            code="excluded",
        )
    if row.rank is None:
        raise ValidationError(
            _("%(name)s's offer has no technical score yet.", name=provider.name),
            field="provider_id",
            code="incomplete",
        )
    _qualified, _start, now = evaluate(
        row.provider, row.check.as_of, row.check.lookback_years, row.check.major_fine_threshold
    )
    if [c["result"] for c in now] != [c["result"] for c in row.check.criteria]:
        raise ValidationError(
            _(
                "%(name)s's records changed since its check of %(date)s: run a new check first.",
                name=provider.name,
                date=row.check.as_of,
            ),
            field="provider_id",
            code="stale_check",
        )
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationError(_("Give the reasons for the award."), field="rationale")
    with stored_language():
        title, text = _notice(plan, zone, row)
    award = Award(
        plan_id=plan.id,
        zone_id=zone.id,
        provider_id=provider.id,
        bid_id=row.bid.id,
        qualification_check_id=row.check.id,
        total_score=row.total,
        rank=row.rank,
        rationale=rationale[:4000],
        ranking=[r.as_dict() for r in rows],
        notice_title=title,
        notice_text=text,
        region_code=plan.region_code,
        decided_by_id=actor.id if actor else None,
        decided_at=utcnow(),
    )
    db.session.add(award)
    audit.label(award, "award", note=provider.name)
    db.session.flush()
    return award


def _notice(plan: PurchasePlan, zone: PlanZone, row: Candidate) -> tuple[str, str]:
    """The award notice (中标/成交公告), written once and kept for publication."""
    title = _("Award notice: %(plan)s, %(zone)s", plan=plan.title, zone=zone.name)
    hourly = plan.policy_profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH
    text = _(
        "Project: %(plan)s (%(method)s). Lot: %(zone)s (%(townships)s). Awarded to %(name)s, "
        "unified social credit code %(code)s, at %(price)s yuan per %(unit)s; comprehensive score "
        "%(score)s, ranked %(rank)s. Buyer: %(buyer)s.",
        plan=plan.title,
        method=plan.purchase_method.label,
        zone=zone.name,
        townships="、".join(zone.township_names),
        name=row.provider.name,
        code=row.provider.credit_code,
        price=format_amount(row.bid.unit_price),
        unit=_("hour") if hourly else _("visit"),
        score=row.total,
        rank=row.rank,
        buyer=buyer_name(plan),
    )
    return title, text


def buyer_name(plan: PurchasePlan) -> str:
    return civil_affairs_office(plan.region)


def civil_affairs_office(region: Region) -> str:
    """The civil-affairs office of a region: a province's department (民政厅), a
    prefecture's or county's bureau (民政局)."""
    office = "民政厅" if region.level == RegionLevel.PROVINCE else "民政局"
    return f"{region.name}{office}"


def get_zone(plan: PurchasePlan, zone_id: int) -> PlanZone:
    zone = next((z for z in plan.zones if z.id == zone_id), None)
    if zone is None:
        raise NotFound(_("Zone %(id)s was not found in this plan.", id=zone_id))
    return zone


def award_of(zone: PlanZone) -> Award | None:
    return db.session.scalar(select(Award).where(Award.zone_id == zone.id))


def awards_by_zone(plan: PurchasePlan) -> dict[int, Award]:
    """Every award of a plan, by zone, in one query (a plan may have a hundred zones)."""
    query = select(Award).where(Award.plan_id == plan.id).options(joinedload(Award.provider))
    return {award.zone_id: award for award in db.session.scalars(query)}
