"""The purchase plan's rules: zones, budget, submission and finance review (seed 000 §3(3))."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.core import audit
from procurement.core.clock import today, utcnow
from procurement.core.db import db
from procurement.core.errors import (
    Conflict,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from procurement.core.i18n import stored_language
from procurement.core.money import format_amount, parse_amount
from procurement.core.scoping import ensure_visible
from procurement.plans.budget import months_in_period, service_budget
from procurement.plans.catalogue import items_of
from procurement.plans.models import (
    TRANSITIONS,
    BudgetLine,
    Decision,
    FundingSource,
    LineKind,
    PlanItem,
    PlanStatus,
    PlanVersion,
    PlanZone,
    PurchaseMethod,
    PurchasePlan,
    ServiceItem,
    ZoneTownship,
)
from procurement.policies.models import PolicyProfile
from procurement.policies.services import get_profile, profile_for
from procurement.regions.models import Region, RegionLevel
from procurement.regions.services import get_region, townships_of

MAX_RECIPIENTS_PER_ZONE = 100_000
MAX_AMOUNT = Decimal("1000000000.00")  # a county plan line above 1e9 yuan is a typo
# 财政部令第102号 art. 24: generally at most one year; up to three for stable services.
WARN_PERIOD_MONTHS = 12
MAX_PERIOD_MONTHS = 36


@dataclass
class ZoneInput:
    name: str
    township_codes: list[str]
    recipients: int


@dataclass
class PlanInput:
    title: str
    year: int
    purchase_method: str
    service_start: date
    service_end: date
    quality_standard: str = ""
    zones: list[ZoneInput] = field(default_factory=list)
    item_codes: list[str] = field(default_factory=list)
    policy_profile_id: int | None = None


# ------------------------------------------------------------------ reading


def get_plan(plan_id: int) -> PurchasePlan:
    plan = db.session.get(PurchasePlan, plan_id)
    if plan is None:
        raise NotFound(_("Purchase plan %(id)s was not found.", id=plan_id))
    return plan


def period_warnings(start: date, end: date) -> list[str]:
    """Warnings (not errors) about a service period, shown beside it."""
    if months_in_period(start, end) > WARN_PERIOD_MONTHS:
        return [
            _(
                "The service period is longer than one year: allowed only for stable, "
                "continuous services with a secured budget (财政部令第102号 art. 24)."
            )
        ]
    return []


def uncovered_townships(plan: PurchasePlan) -> list[Region]:
    """Townships of the plan's county that no zone covers."""
    covered = {code for zone in plan.zones for code in zone.township_codes}
    return [t for t in townships_of(plan.region) if t.code not in covered]


def catalogue_year(region_code: str) -> int:
    """The year whose catalogue a county sees when none is named: this year's profile in
    force, else the latest before it, else the first after it (this year when none)."""
    region = get_region(region_code)
    years = sorted(
        set(
            db.session.scalars(
                select(PolicyProfile.year).where(PolicyProfile.region_code.in_(region.lineage))
            )
        )
    )
    this_year = today().year
    before = [year for year in years if year <= this_year]
    if before:
        return before[-1]
    return years[0] if years else this_year


def catalogue(region_code: str, year: int | None = None) -> list[ServiceItem]:
    """The service catalogue a county's plan of ``year`` picks from: that of the policy
    profile in force for the county and year (issue 18)."""
    region = get_region(region_code)
    ensure_visible(region.code)
    if year is None:
        year = catalogue_year(region.code)
    profile = profile_for(region.code, year)
    return [] if profile is None else items_of(profile)


# ------------------------------------------------------------------ validation


def _clean_header(data: PlanInput, county: Region, errors: FieldErrors) -> None:
    data.title = (data.title or "").strip()
    if not data.title:
        errors.add("title", _("This field is required."))
    elif len(data.title) > 200:
        errors.add("title", _("Must have at most %(n)s characters.", n=200))
    if not isinstance(data.year, int) or not 2000 <= data.year <= 2100:
        errors.add("year", _("Must be between %(low)d and %(high)d.", low=2000, high=2100))
    try:
        data.purchase_method = PurchaseMethod(data.purchase_method)
    except ValueError:
        errors.add("purchase_method", _("Choose a procurement method."))
    if not isinstance(data.service_start, date):
        errors.add("service_start", _("Must be a date such as 2026-01-31."))
    if not isinstance(data.service_end, date):
        errors.add("service_end", _("Must be a date such as 2026-01-31."))
    if (
        isinstance(data.service_start, date)
        and isinstance(data.year, int)
        and data.service_start.year != data.year
    ):
        errors.add(
            "service_start", _("The service of a %(year)d plan starts in %(year)d.", year=data.year)
        )
    if isinstance(data.service_start, date) and isinstance(data.service_end, date):
        if data.service_end < data.service_start:
            errors.add("service_end", _("The service period ends before it starts."))
        elif months_in_period(data.service_start, data.service_end) > MAX_PERIOD_MONTHS:
            errors.add(
                "service_end",
                _("A purchase of services runs for at most three years (财政部令第102号)."),
            )
    data.quality_standard = (data.quality_standard or "").strip()


def _clean_zones(
    zones: list[ZoneInput], county: Region, errors: FieldErrors, kept: frozenset[str] = frozenset()
) -> None:
    """Zones of whole, current townships of the county; a retired township only where the
    plan already held it (``kept``), so that the plan can still be saved."""
    if not zones:
        errors.add("zones", _("Give at least one zone."))
    townships = {t.code: t for t in townships_of(county, include_retired=True)}
    seen_names: set[str] = set()
    owner: dict[str, str] = {}
    for index, zone in enumerate(zones):
        prefix = f"zones.{index}"
        zone.name = (zone.name or "").strip()
        if not zone.name:
            errors.add(f"{prefix}.name", _("Give the zone a name."))
        elif zone.name in seen_names:
            errors.add(f"{prefix}.name", _("Two zones are named %(name)s.", name=zone.name))
        seen_names.add(zone.name)
        if isinstance(zone.recipients, bool) or not isinstance(zone.recipients, int):
            errors.add(f"{prefix}.recipients", _("Must be a whole number."))
        elif not 1 <= zone.recipients <= MAX_RECIPIENTS_PER_ZONE:
            errors.add(
                f"{prefix}.recipients",
                _("Expected recipients must be between 1 and %(n)d.", n=MAX_RECIPIENTS_PER_ZONE),
            )
        if not zone.township_codes:
            errors.add(f"{prefix}.township_codes", _("A zone needs at least one township."))
        for code in zone.township_codes:
            if code not in townships:
                errors.add(
                    f"{prefix}.township_codes",
                    _("%(code)s is not a township of %(county)s.", code=code, county=county.name),
                )
            elif townships[code].retired_on is not None and code not in kept:
                errors.add(
                    f"{prefix}.township_codes",
                    _(
                        "%(township)s was retired on %(day)s and cannot be put in a zone.",
                        township=townships[code].name,
                        day=str(townships[code].retired_on),
                    ),
                )
            elif code in owner and owner[code] != zone.name:
                errors.add(
                    f"{prefix}.township_codes",
                    _(
                        "%(township)s is already in zone %(zone)s.",
                        township=townships[code].name,
                        zone=owner[code],
                    ),
                )
            else:
                owner[code] = zone.name
        zone.township_codes = sorted(set(zone.township_codes))


def _check_townships_free(
    data: PlanInput, county: Region, errors: FieldErrors, *, plan_id: int | None = None
) -> None:
    """One zone per township and period: a township already in a zone of another plan
    whose service period overlaps this one's is refused (else one elder is bought twice)."""
    if "service_start" in errors.fields or "service_end" in errors.fields:
        return
    wanted = {code: index for index, zone in enumerate(data.zones) for code in zone.township_codes}
    if not wanted:
        return
    query = (
        select(ZoneTownship.region_code, PlanZone.name, PurchasePlan)
        .join(PlanZone, PlanZone.id == ZoneTownship.zone_id)
        .join(PurchasePlan, PurchasePlan.id == ZoneTownship.plan_id)
        .where(
            PurchasePlan.region_code == county.code,
            ZoneTownship.region_code.in_(wanted),
            PurchasePlan.service_start <= data.service_end,
            PurchasePlan.service_end >= data.service_start,
        )
        .order_by(ZoneTownship.region_code, PurchasePlan.id)
    )
    if plan_id is not None:
        query = query.where(PurchasePlan.id != plan_id)
    names = {t.code: t.name for t in townships_of(county, include_retired=True)}
    for code, zone_name, other in db.session.execute(query):
        errors.add(
            f"zones.{wanted[code]}.township_codes",
            _(
                "%(township)s is already in zone %(zone)s of plan %(plan)s, whose service "
                "period (%(start)s to %(end)s) overlaps this one.",
                township=names.get(code, code),
                zone=zone_name,
                plan=other.title,
                start=other.service_start.isoformat(),
                end=other.service_end.isoformat(),
            ),
        )


def _profile(county: Region, data: PlanInput, errors: FieldErrors):
    """The policy profile of the plan: of its county (or above) and of its year."""
    if not isinstance(data.year, int) or "year" in errors.fields:
        return None
    if data.policy_profile_id is None:
        profile = profile_for(county.code, data.year)
        if profile is None:
            errors.add(
                "policy_profile_id",
                _(
                    "No policy profile covers %(county)s for %(year)d: ask an administrator.",
                    county=county.name,
                    year=data.year,
                ),
            )
        return profile
    try:
        profile = get_profile(data.policy_profile_id)
    except NotFound as missing:
        errors.add("policy_profile_id", missing.message)
        return None
    if profile.year != data.year or profile.region_code not in county.lineage:
        errors.add(
            "policy_profile_id",
            _(
                "Policy profile %(name)s is not one of %(county)s for %(year)d.",
                name=profile.name,
                county=county.name,
                year=data.year,
            ),
        )
        return None
    return profile


def _county(region_code: str) -> Region:
    region = get_region(region_code)
    if region.level is not RegionLevel.COUNTY:
        raise ValidationError(
            _("A purchase plan belongs to a county (the buyer's level)."), field="region_code"
        )
    return region


def _items_by_code(
    county: Region,
    profile: PolicyProfile | None,
    codes: list[str],
    errors: FieldErrors,
    plan: PurchasePlan | None = None,
) -> list[ServiceItem]:
    """The chosen items, from the catalogue of the plan's profile (and year); an item the
    plan already holds stays valid (an item made before catalogues had profiles)."""
    available = {item.code: item for item in items_of(profile)} if profile else {}
    if plan is not None:
        for link in plan.items:
            available.setdefault(link.service_item.code, link.service_item)
    chosen = []
    for code in dict.fromkeys(codes):
        if code not in available:
            if profile is not None:
                errors.add(
                    "item_codes",
                    _(
                        "Unknown service item %(code)s: it is not in the catalogue of %(profile)s.",
                        code=code,
                        profile=profile.name,
                    ),
                )
        else:
            chosen.append(available[code])
    if not codes:
        errors.add("item_codes", _("Choose the service items the plan buys."))
    return chosen


def _check_lock(plan: PurchasePlan, lock_version: int | None) -> None:
    """Refuse a change based on an older state of the plan (a stale form or request)."""
    if lock_version is not None and lock_version != plan.lock_version:
        raise Conflict(
            _("The plan was changed by someone else since you opened it. Reload and try again."),
            code="stale",
        )


def _check_transition(plan: PurchasePlan, action: str) -> None:
    allowed, _target = TRANSITIONS[action]
    if plan.status not in allowed:
        messages = {
            "submit": _("Only a draft, returned or adjusting plan can be submitted."),
            "approve": _("Only a submitted plan can be approved."),
            "return": _("Only a submitted plan can be returned."),
            "adjust": _("Only an approved plan can be adjusted."),
        }
        raise Conflict(messages[action], code="invalid_state")


def _check_editable(plan: PurchasePlan, lock_version: int | None) -> None:
    _check_lock(plan, lock_version)
    if not plan.status.editable:
        raise Conflict(
            _(
                "The plan is %(status)s and cannot be edited. Approved plans change only "
                "through an adjustment.",
                status=plan.status.label,
            ),
            code="not_editable",
        )


def _touch(plan: PurchasePlan) -> None:
    """Mark the plan changed, so that its lock version moves with its zones and lines."""
    plan.updated_at = utcnow()


# ------------------------------------------------------------------ changing a draft


def create_plan(*, actor: User | None, region_code: str, data: PlanInput) -> PurchasePlan:
    """Draft a county's annual purchase plan with its zones, items and computed budget."""
    county = _county(region_code)
    errors = FieldErrors()
    _clean_header(data, county, errors)
    _clean_zones(data.zones, county, errors)
    _check_townships_free(data, county, errors)
    profile = _profile(county, data, errors)
    items = _items_by_code(county, profile, data.item_codes, errors)
    errors.raise_if_any()
    if db.session.scalar(
        select(PurchasePlan.id).where(
            PurchasePlan.region_code == county.code,
            PurchasePlan.year == data.year,
            PurchasePlan.title == data.title,
        )
    ):
        raise Conflict(
            _("A plan with this title already exists for %(year)d.", year=data.year), field="title"
        )
    plan = PurchasePlan(
        region_code=county.code,
        year=data.year,
        title=data.title,
        policy_profile=profile,
        purchase_method=data.purchase_method,
        service_start=data.service_start,
        service_end=data.service_end,
        quality_standard=data.quality_standard,
        status=PlanStatus.DRAFT,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(plan)
    db.session.flush()
    _sync_zones(plan, data.zones)
    _sync_items(plan, items)
    refresh_service_lines(plan)
    db.session.flush()
    return plan


def update_plan(plan: PurchasePlan, data: PlanInput, *, lock_version: int | None) -> PurchasePlan:
    """Change a draft (or returned, or adjusting) plan; the budget follows its zones."""
    _check_editable(plan, lock_version)
    errors = FieldErrors()
    _clean_header(data, plan.region, errors)
    held = frozenset(code for zone in plan.zones for code in zone.township_codes)
    _clean_zones(data.zones, plan.region, errors, held)
    _check_townships_free(data, plan.region, errors, plan_id=plan.id)
    data.policy_profile_id = None if data.year != plan.year else plan.policy_profile_id
    profile = _profile(plan.region, data, errors)
    items = _items_by_code(plan.region, profile, data.item_codes, errors, plan)
    errors.raise_if_any()
    duplicate = db.session.scalar(
        select(PurchasePlan.id).where(
            PurchasePlan.region_code == plan.region_code,
            PurchasePlan.year == data.year,
            PurchasePlan.title == data.title,
            PurchasePlan.id != plan.id,
        )
    )
    if duplicate:
        raise Conflict(
            _("A plan with this title already exists for %(year)d.", year=data.year), field="title"
        )
    plan.title, plan.year = data.title, data.year
    plan.policy_profile = profile
    plan.purchase_method = data.purchase_method
    plan.service_start, plan.service_end = data.service_start, data.service_end
    plan.quality_standard = data.quality_standard
    _sync_zones(plan, data.zones)
    _sync_items(plan, items)
    refresh_service_lines(plan)
    _touch(plan)
    db.session.flush()
    return plan


def _awarded_zone_ids(plan: PurchasePlan) -> set[int]:
    from procurement.awards.models import Award  # selection builds on plans, not the reverse

    return set(db.session.scalars(select(Award.zone_id).where(Award.plan_id == plan.id)))


def _sync_zones(plan: PurchasePlan, zones: list[ZoneInput]) -> None:
    existing = {zone.name: zone for zone in plan.zones}
    wanted = {zone.name for zone in zones}
    awarded = [
        z.name for z in plan.zones if z.id in _awarded_zone_ids(plan) and z.name not in wanted
    ]
    if awarded:
        raise ValidationError(
            _(
                "Zone %(names)s is already awarded: it can be neither removed nor renamed.",
                names="、".join(awarded),
            ),
            field="zones",
        )
    for name, zone in existing.items():
        if name not in wanted:
            for line in [line for line in plan.budget_lines if line.zone_id == zone.id]:
                plan.budget_lines.remove(line)
            for link in list(zone.townships):
                zone.townships.remove(link)
            db.session.flush()
            plan.zones.remove(zone)
    db.session.flush()
    for position, data in enumerate(zones):
        zone = existing.get(data.name)
        if zone is None:
            zone = PlanZone(name=data.name, region_code=plan.region_code)
            plan.zones.append(zone)
        zone.position = position
        zone.expected_recipients = data.recipients
    db.session.flush()
    # Move townships: drop links no longer wanted first, so the unique key never clashes.
    target = {
        code: next(z for z in plan.zones if z.name == data.name)
        for data in zones
        for code in data.township_codes
    }
    for zone in plan.zones:
        for link in list(zone.townships):
            if target.get(link.region_code) is not zone:
                zone.townships.remove(link)
    db.session.flush()
    for code, zone in target.items():
        if code not in zone.township_codes:
            zone.townships.append(ZoneTownship(plan_id=plan.id, region_code=code))
    db.session.flush()


def _sync_items(plan: PurchasePlan, items: list[ServiceItem]) -> None:
    wanted = {item.id for item in items}
    for link in list(plan.items):
        if link.service_item_id not in wanted:
            plan.items.remove(link)
    have = {link.service_item_id for link in plan.items}
    for item in items:
        if item.id not in have:
            plan.items.append(
                PlanItem(service_item=item, region_code=plan.region_code, item_version=item.version)
            )


def refresh_service_lines(plan: PurchasePlan) -> None:
    """Recompute each zone's service line; an overridden amount keeps its reason."""
    months = months_in_period(plan.service_start, plan.service_end)
    by_zone = {line.zone_id: line for line in plan.budget_lines if line.kind is LineKind.SERVICE}
    with stored_language():
        for zone in plan.zones:
            computed = service_budget(plan.policy_profile, zone.expected_recipients, months)
            line = by_zone.get(zone.id)
            if line is None:
                line = BudgetLine(
                    zone=zone,
                    kind=LineKind.SERVICE,
                    region_code=plan.region_code,
                    funding_source=FundingSource.LOCAL_FINANCE,
                    amount=computed.amount,
                )
                plan.budget_lines.append(line)
            line.description = _("%(zone)s: %(formula)s", zone=zone.name, formula=computed.formula)
            line.computed_amount = computed.amount
            if not line.override_reason:
                line.amount = computed.amount
    for position, line in enumerate(sorted(plan.budget_lines, key=_line_order)):
        line.position = position


def _line_order(line: BudgetLine) -> tuple:
    zone_position = line.zone.position if line.zone is not None else 999
    return (line.kind is not LineKind.SERVICE, zone_position, line.id or 0)


def _amount(value: Any, field_name: str) -> Decimal:
    try:
        amount = parse_amount(value)
    except (ValueError, TypeError):
        raise ValidationError(
            _("Must be an amount in yuan with at most two decimals, such as 1234.50."),
            field=field_name,
        ) from None
    if amount < 0 or amount > MAX_AMOUNT:
        raise ValidationError(
            _("Must be between 0 and %(max)s yuan.", max="1,000,000,000.00"), field=field_name
        )
    return amount


def add_budget_line(
    plan: PurchasePlan,
    *,
    kind: str,
    description: str,
    funding_source: str,
    amount: Any,
    lock_version: int | None,
) -> BudgetLine:
    """Add a line other than the computed service lines (assessment, evaluation, ...)."""
    _check_editable(plan, lock_version)
    line = BudgetLine(region_code=plan.region_code, zone=None)
    _fill_line(
        line, kind=kind, description=description, funding_source=funding_source, amount=amount
    )
    plan.budget_lines.append(line)
    refresh_service_lines(plan)
    _touch(plan)
    db.session.flush()
    return line


def _fill_line(line: BudgetLine, *, kind, description, funding_source, amount) -> None:
    errors = FieldErrors()
    try:
        kind = LineKind(kind)
        if kind is LineKind.SERVICE:
            errors.add("kind", _("Service lines are computed from the zones."))
    except ValueError:
        errors.add("kind", _("Choose the kind of line."))
    description = (description or "").strip()
    if not description:
        errors.add("description", _("This field is required."))
    try:
        funding_source = FundingSource(funding_source)
    except ValueError:
        errors.add("funding_source", _("Choose the funding source."))
    errors.raise_if_any()
    line.kind, line.description = kind, description[:200]
    line.funding_source = funding_source
    line.amount = _amount(amount, "amount")


def update_budget_line(
    line: BudgetLine,
    *,
    amount: Any,
    funding_source: str,
    description: str | None = None,
    kind: str | None = None,
    override_reason: str | None = None,
    lock_version: int | None,
) -> BudgetLine:
    """Change a line; a service line may differ from its computed value only with a reason."""
    plan = line.plan
    _check_editable(plan, lock_version)
    if line.kind is LineKind.SERVICE:
        new_amount = _amount(amount, "amount")
        try:
            line.funding_source = FundingSource(funding_source)
        except ValueError:
            raise ValidationError(_("Choose the funding source."), field="funding_source") from None
        reason = (override_reason or "").strip()
        if new_amount != line.computed_amount and not reason:
            raise ValidationError(
                _(
                    "Overriding the computed amount (%(computed)s) needs a reason.",
                    computed=f"{line.computed_amount:,.2f}",
                ),
                field="override_reason",
            )
        line.amount = new_amount
        line.override_reason = reason[:500] if new_amount != line.computed_amount else None
    else:
        _fill_line(
            line,
            kind=kind or line.kind.value,
            description=description,
            funding_source=funding_source,
            amount=amount,
        )
    _touch(plan)
    db.session.flush()
    return line


def remove_budget_line(line: BudgetLine, *, lock_version: int | None) -> None:
    """Remove an added line (service lines go with their zone)."""
    plan = line.plan
    _check_editable(plan, lock_version)
    if line.kind is LineKind.SERVICE:
        raise ValidationError(_("Service lines go with their zone: remove the zone instead."))
    plan.budget_lines.remove(line)
    _touch(plan)
    db.session.flush()


# ------------------------------------------------------------------ review


def snapshot(plan: PurchasePlan) -> dict:
    """The plan as finance sees it, frozen into a version (JSON: amounts as strings)."""
    return {
        "title": plan.title,
        "year": plan.year,
        "purchase_method": plan.purchase_method.value,
        "service_start": plan.service_start.isoformat(),
        "service_end": plan.service_end.isoformat(),
        "months": months_in_period(plan.service_start, plan.service_end),
        "quality_standard": plan.quality_standard,
        "policy_profile": {"id": plan.policy_profile.id, "name": plan.policy_profile.name},
        "items": [link.service_item.name for link in plan.items],
        "zones": [
            {
                "id": zone.id,
                "name": zone.name,
                "recipients": zone.expected_recipients,
                "township_codes": zone.township_codes,
                "townships": zone.township_names,
            }
            for zone in plan.zones
        ],
        "budget_lines": [
            {
                "id": line.id,
                "kind": line.kind.value,
                "zone_id": line.zone_id,
                "zone": line.zone.name if line.zone else None,
                "description": line.description,
                "funding_source": line.funding_source.value,
                "computed_amount": (
                    f"{line.computed_amount:.2f}" if line.computed_amount is not None else None
                ),
                "amount": f"{line.amount:.2f}",
                "override_reason": line.override_reason,
            }
            for line in plan.budget_lines
        ],
        "total": f"{plan.total:.2f}",
    }


def submit_plan(
    plan: PurchasePlan, *, actor: User | None, note: str | None, lock_version: int | None
) -> PlanVersion:
    """Freeze the plan into a numbered version and send it to finance."""
    _check_lock(plan, lock_version)
    _check_transition(plan, "submit")
    errors = FieldErrors()
    if not plan.zones:
        errors.add("zones", _("Give at least one zone."))
    if not plan.items:
        errors.add("item_codes", _("Choose the service items the plan buys."))
    if plan.total <= 0:
        errors.add("budget_lines", _("The budget total must be more than zero."))
    errors.raise_if_any()
    refresh_service_lines(plan)
    db.session.flush()
    version = PlanVersion(
        plan_id=plan.id,
        region_code=plan.region_code,
        number=len(plan.versions) + 1,
        snapshot=snapshot(plan),
        total=plan.total,
        note=(note or "").strip() or None,
        submitted_by_id=actor.id if actor else None,
        submitted_at=utcnow(),
    )
    db.session.add(version)
    plan.versions.append(version)
    plan.status = TRANSITIONS["submit"][1]
    audit.label(plan, "submit", note=f"v{version.number}")
    db.session.flush()
    return version


def _check_reviewer(plan: PurchasePlan, version: PlanVersion, actor: User) -> None:
    """Only finance of the same level decides (seed 000 §3(3): 同级财政), and never on a
    plan the same user drafted or submitted."""
    if actor is None or not actor.can("plans.review"):
        raise PermissionDenied(message=_("Only a finance reviewer may approve or return a plan."))
    if actor.region_code != plan.region_code:
        raise PermissionDenied(
            message=_(
                "Only the finance department of %(county)s decides on its plan.",
                county=plan.region.name,
            ),
            code="not_same_level",
        )
    if actor.id in {plan.created_by_id, version.submitted_by_id}:
        raise PermissionDenied(
            message=_("You drafted or submitted this plan: another reviewer must decide on it."),
            code="own_plan",
        )


def _pending(plan: PurchasePlan, version_number: int) -> PlanVersion:
    version = plan.pending_version
    if version is None or version.number != version_number:
        raise Conflict(
            _(
                "You reviewed version %(seen)s, but the plan has changed since "
                "(now %(status)s, version %(current)s). Reload the review page.",
                seen=version_number,
                status=plan.status.label,
                current=len(plan.versions),
            ),
            code="stale",
        )
    return version


def approve_plan(
    plan: PurchasePlan, *, actor: User, version_number: int, comment: str | None = None
) -> PlanVersion:
    """Finance approves the version it reviewed; it comes into force and the plan locks."""
    version = _pending(plan, version_number)
    _check_reviewer(plan, version, actor)
    _check_transition(plan, "approve")
    version.decision = Decision.APPROVED
    version.decided_by_id, version.decided_at = actor.id, utcnow()
    version.comment = (comment or "").strip() or None
    plan.status = TRANSITIONS["approve"][1]
    plan.approved_version = version
    audit.label(plan, "approve", note=f"v{version.number}")
    db.session.flush()
    return version


def return_plan(
    plan: PurchasePlan, *, actor: User, version_number: int, comment: str
) -> PlanVersion:
    """Finance returns the version with comments; the officer revises and submits again."""
    version = _pending(plan, version_number)
    _check_reviewer(plan, version, actor)
    _check_transition(plan, "return")
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError(_("Say what must change: a comment is required."), field="comment")
    version.decision = Decision.RETURNED
    version.decided_by_id, version.decided_at = actor.id, utcnow()
    version.comment = comment
    plan.status = TRANSITIONS["return"][1]
    audit.label(plan, "return", note=f"v{version.number}")
    db.session.flush()
    return version


def adjust_plan(plan: PurchasePlan, *, lock_version: int | None) -> PurchasePlan:
    """Open an adjustment (调整) of an approved plan; the approved version stays in force."""
    _check_lock(plan, lock_version)
    _check_transition(plan, "adjust")
    plan.status = TRANSITIONS["adjust"][1]
    audit.label(plan, "adjust")
    db.session.flush()
    return plan


def get_version(plan: PurchasePlan, number: int) -> PlanVersion:
    version = next((v for v in plan.versions if v.number == number), None)
    if version is None:
        raise NotFound(_("Version %(n)s was not found.", n=number))
    return version


def changes_from_previous(plan: PurchasePlan, version: PlanVersion) -> list[Change]:
    """What a version changed against the version submitted before it."""
    previous = next((v for v in plan.versions if v.number == version.number - 1), None)
    return diff_snapshots(previous.snapshot if previous else None, version.snapshot)


def last_reviewed_version(plan: PurchasePlan) -> PlanVersion | None:
    """The latest version finance has decided on (the base of the next review's diff)."""
    decided = [v for v in plan.versions if v.decision is not Decision.PENDING]
    return decided[-1] if decided else None


# ------------------------------------------------------------------ differences


@dataclass(frozen=True)
class Change:
    section: str
    item: str
    before: str | None
    after: str | None


HEADER_FIELDS = (
    "title",
    "year",
    "purchase_method",
    "service_start",
    "service_end",
    "quality_standard",
)


def diff_snapshots(old: dict | None, new: dict) -> list[Change]:
    """What changed between two versions, section by section, for a side-by-side view.

    Values are shown as the user reads them: labels instead of codes, money with
    separators. Budget lines are matched by their id, so two lines with the same
    description never merge.
    """
    old = old or {}
    changes: list[Change] = []
    for key in HEADER_FIELDS:
        if old.get(key) != new.get(key):
            changes.append(
                Change("plan", key, _shown(key, old.get(key)), _shown(key, new.get(key)))
            )
    if old.get("items") != new.get("items"):
        changes.append(Change("items", "items", _join(old.get("items")), _join(new.get("items"))))
    old_zones = {z["name"]: z for z in old.get("zones", [])}
    new_zones = {z["name"]: z for z in new.get("zones", [])}
    for name in dict.fromkeys([*old_zones, *new_zones]):
        before, after = old_zones.get(name), new_zones.get(name)
        for key in ("recipients", "townships"):
            b = _str(before.get(key)) if before else None
            a = _str(after.get(key)) if after else None
            if b != a:
                changes.append(Change("zones", f"{name} · {key}", b, a))
    old_lines = {line["id"]: line for line in old.get("budget_lines", [])}
    new_lines = {line["id"]: line for line in new.get("budget_lines", [])}
    for line_id in dict.fromkeys([*old_lines, *new_lines]):
        before, after = old_lines.get(line_id), new_lines.get(line_id)
        label = _line_label(after or before)
        for part in ("description", "amount", "funding_source", "override_reason"):
            b = _shown(part, before.get(part)) if before else None
            a = _shown(part, after.get(part)) if after else None
            if b != a:
                changes.append(Change("budget", f"{label} · {part}", b, a))
    if old.get("total") != new.get("total"):
        changes.append(
            Change(
                "budget",
                "total",
                _shown("total", old.get("total")),
                _shown("total", new.get("total")),
            )
        )
    return changes


def _shown(key: str, value: Any) -> str | None:
    """A snapshot value as the user reads it."""
    if value is None:
        return None
    if key == "purchase_method":
        return PurchaseMethod(value).label
    if key == "funding_source":
        return FundingSource(value).label
    if key in {"amount", "total"}:
        return format_amount(value)
    return _str(value)


def _line_label(line: dict) -> str:
    if line["kind"] == LineKind.SERVICE.value:
        return f"{LineKind.SERVICE.label} · {line['zone']}"
    return f"{LineKind(line['kind']).label} · {line['description']}"


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return _join(value)
    return str(value)


def _join(values: list | None) -> str | None:
    return "、".join(str(v) for v in values) if values is not None else None
