"""Policy profiles: validating, saving and finding the rules in force for a region and year."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound, ValidationError
from procurement.core.scoping import ensure_visible
from procurement.policies.models import (
    GRADES,
    EntitlementModel,
    EvaluationParty,
    PolicyProfile,
    RecipientCategory,
)
from procurement.regions.models import RegionLevel
from procurement.regions.services import get_region

FIELDS = (
    "name",
    "source_document",
    "entitlement_model",
    "hours_per_month",
    "hourly_rate_cap",
    "visits_per_year",
    "unit_price_per_visit",
    "visits_must_be_split",
    "eligibility_rules",
    "exclude_long_term_care",
    "requires_residence",
    "requires_assessment",
    "qualification_lookback_years",
    "major_fine_threshold",
    "evaluation_weights",
    "grade_thresholds",
    "evaluation_indicators",
    "failed_provider_rule",
    "acceptance_threshold",
    "min_visit_minutes",
    "max_visit_minutes",
    "notes",
    *(
        name
        for text in (
            "settlement_platform",
            "settlement_period",
            "records_deadline",
            "sanction_clauses",
            "termination_clauses",
        )
        for name in (text, f"{text}_source")
    ),
)
# The settlement unit: "按月结算。乙方于…提交上月服务记录" (or 季度)
SETTLEMENT_PERIODS = ("月", "季度")
CLAUSE_LIMIT = 20
CLAUSE_LENGTH = 300


def _decimal(value: Any, field: str, errors: FieldErrors, *, required: bool) -> Decimal | None:
    if value in (None, ""):
        if required:
            errors.add(field, _("This field is required."))
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors.add(field, _("Must be a number."))
        return None
    if not amount.is_finite() or amount <= 0:
        errors.add(field, _("Must be more than zero."))
        return None
    if amount != amount.quantize(Decimal("0.01")):
        errors.add(field, _("At most two decimal places."))
        return None
    if amount >= Decimal("1e12"):
        errors.add(field, _("The value is too large."))
        return None
    return amount


def _int(
    value: Any, field: str, errors: FieldErrors, low: int, high: int, required=True
) -> int | None:
    if value in (None, ""):
        if required:
            errors.add(field, _("This field is required."))
        return None
    try:
        number = int(value)
        if isinstance(value, float | Decimal) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        errors.add(field, _("Must be a whole number."))
        return None
    if not low <= number <= high:
        errors.add(field, _("Must be between %(low)d and %(high)d.", low=low, high=high))
        return None
    return number


def clean_profile_values(values: dict[str, Any]) -> dict[str, Any]:
    """Check a profile's values against every rule; return them normalised or raise."""
    errors = FieldErrors()
    out: dict[str, Any] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors.add("name", _("This field is required."))
    out["name"] = name[:120]
    out["source_document"] = (values.get("source_document") or "").strip()[:200] or None
    out["notes"] = (values.get("notes") or "").strip() or None

    try:
        model = EntitlementModel(values.get("entitlement_model"))
    except ValueError:
        errors.add("entitlement_model", _("Choose an entitlement model."))
        model = None
    out["entitlement_model"] = model
    hourly = model is EntitlementModel.HOURS_PER_MONTH
    visits = model is EntitlementModel.VISITS_PER_YEAR
    out["hours_per_month"] = _decimal(
        values.get("hours_per_month"), "hours_per_month", errors, required=hourly
    )
    out["hourly_rate_cap"] = _decimal(
        values.get("hourly_rate_cap"), "hourly_rate_cap", errors, required=hourly
    )
    out["visits_per_year"] = _int(
        values.get("visits_per_year"), "visits_per_year", errors, 1, 366, required=visits
    )
    out["unit_price_per_visit"] = _decimal(
        values.get("unit_price_per_visit"), "unit_price_per_visit", errors, required=visits
    )
    if out["hours_per_month"] is not None and out["hours_per_month"] > 744:
        errors.add("hours_per_month", _("A month has at most 744 hours."))
    for flag in (
        "visits_must_be_split",
        "exclude_long_term_care",
        "requires_residence",
        "requires_assessment",
    ):
        out[flag] = bool(values.get(flag))

    out["eligibility_rules"] = _clean_rules(values.get("eligibility_rules") or [], errors)
    out["qualification_lookback_years"] = _int(
        values.get("qualification_lookback_years"), "qualification_lookback_years", errors, 1, 10
    )
    out["major_fine_threshold"] = _decimal(
        values.get("major_fine_threshold"), "major_fine_threshold", errors, required=True
    )
    out["evaluation_weights"] = _clean_weights(values.get("evaluation_weights") or [], errors)
    out["grade_thresholds"] = _clean_thresholds(values.get("grade_thresholds") or {}, errors)
    out["evaluation_indicators"] = _clean_indicators(
        values.get("evaluation_indicators") or [], errors
    )
    rule = values.get("failed_provider_rule") or "exclude"
    if rule not in FAILED_PROVIDER_RULES:
        errors.add("failed_provider_rule", _("Choose to exclude or to flag such providers."))
    out["failed_provider_rule"] = rule
    out["acceptance_threshold"] = _acceptance_threshold(values.get("acceptance_threshold"), errors)
    out["min_visit_minutes"] = _int(
        values.get("min_visit_minutes"), "min_visit_minutes", errors, 1, 1440
    )
    out["max_visit_minutes"] = _int(
        values.get("max_visit_minutes"), "max_visit_minutes", errors, 1, 1440
    )
    if (
        out["min_visit_minutes"]
        and out["max_visit_minutes"]
        and out["min_visit_minutes"] >= out["max_visit_minutes"]
    ):
        errors.add(
            "max_visit_minutes", _("The longest plausible visit must be longer than the shortest.")
        )
    _clean_contract_texts(values, out, errors)
    errors.raise_if_any()
    return out


def _clean_contract_texts(values: dict[str, Any], out: dict[str, Any], errors: FieldErrors):
    """The contract's settlement parts and clause lists, each with where it comes from."""
    for field, limit in (
        ("settlement_platform", 120),
        ("settlement_period", 10),
        ("records_deadline", 120),
    ):
        text = (values.get(field) or "").strip()
        if len(text) > limit:
            errors.add(field, _("At most %(count)d characters.", count=limit))
        out[field] = text[:limit] or None
    if out["settlement_period"] and out["settlement_period"] not in SETTLEMENT_PERIODS:
        errors.add("settlement_period", _("The settlement period is 月 or 季度, or left empty."))
    for field in ("sanction_clauses", "termination_clauses"):
        out[field] = _clean_clauses(values.get(field), field, errors)
    for field in (
        "settlement_platform",
        "settlement_period",
        "records_deadline",
        "sanction_clauses",
        "termination_clauses",
    ):
        source = (values.get(f"{field}_source") or "").strip()
        if len(source) > 200:
            errors.add(f"{field}_source", _("At most %(count)d characters.", count=200))
        out[f"{field}_source"] = source[:200] or None
        if out[field] and not source:
            errors.add(
                f"{field}_source",
                _(
                    "Say where this text comes from (e.g. seed 001 §8, or local default, "
                    "not from policy)."
                ),
            )


def _clean_clauses(value: Any, field: str, errors: FieldErrors) -> list[str]:
    """One clause a line (form) or a list of strings (API); blank lines are dropped."""
    if value in (None, ""):
        return []
    lines = value.splitlines() if isinstance(value, str) else value
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        errors.add(field, _("Must be a list of texts."))
        return []
    clauses = [line.strip() for line in lines if line.strip()]
    if len(clauses) > CLAUSE_LIMIT:
        errors.add(field, _("At most %(count)d clauses.", count=CLAUSE_LIMIT))
    for index, clause in enumerate(clauses):
        if len(clause) > CLAUSE_LENGTH:
            errors.add(
                field,
                _(
                    "Clause %(number)d is longer than %(count)d characters.",
                    number=index + 1,
                    count=CLAUSE_LENGTH,
                ),
            )
    return clauses[:CLAUSE_LIMIT]


DEFAULT_ACCEPTANCE_THRESHOLD = Decimal("90.00")


def _acceptance_threshold(value: Any, errors: FieldErrors) -> Decimal | None:
    """Percent of the contracted quantity below which a 合格 acceptance must be explained;
    90% when not given."""
    if value in (None, ""):
        return DEFAULT_ACCEPTANCE_THRESHOLD
    try:
        share = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        share = None
    if (
        share is None
        or not share.is_finite()
        or not 0 < share <= 100
        or share != share.quantize(Decimal("0.01"))
    ):
        errors.add(
            "acceptance_threshold",
            _("The acceptance threshold is a percentage above 0 and at most 100."),
        )
        return None
    return share


def _clean_rules(rules: list, errors: FieldErrors) -> list[dict]:
    cleaned = []
    if not isinstance(rules, list) or not rules:
        errors.add("eligibility_rules", _("Give at least one eligibility rule."))
        return cleaned
    for index, rule in enumerate(rules):
        field = f"eligibility_rules.{index}"
        if not isinstance(rule, dict):
            errors.add(field, _("Must be an object."))
            continue
        try:
            category = RecipientCategory(rule.get("category"))
        except ValueError:
            errors.add(f"{field}.category", _("Unknown category."))
            continue
        min_age = _int(rule.get("min_age"), f"{field}.min_age", errors, 0, 120)
        level = _int(
            rule.get("min_capability_level"),
            f"{field}.min_capability_level",
            errors,
            0,
            4,
            required=False,
        )
        if min_age is not None:
            cleaned.append(
                {"category": category.value, "min_age": min_age, "min_capability_level": level}
            )
    return cleaned


def _clean_weights(weights: list, errors: FieldErrors) -> list[dict]:
    cleaned, seen = [], set()
    if not isinstance(weights, list) or not weights:
        errors.add("evaluation_weights", _("Give the weight of each evaluation party."))
        return cleaned
    for index, item in enumerate(weights):
        field = f"evaluation_weights.{index}"
        if not isinstance(item, dict):
            errors.add(field, _("Must be an object."))
            continue
        try:
            party = EvaluationParty(item.get("party"))
        except ValueError:
            errors.add(f"{field}.party", _("Unknown evaluation party."))
            continue
        if party in seen:
            errors.add(f"{field}.party", _("Each party appears once."))
            continue
        seen.add(party)
        weight = _int(item.get("weight"), f"{field}.weight", errors, 0, 100)
        if weight is not None:
            cleaned.append({"party": party.value, "weight": weight})
    if cleaned and len(cleaned) == len(weights) and sum(w["weight"] for w in cleaned) != 100:
        errors.add(
            "evaluation_weights",
            _(
                "The weights add up to %(total)d%%; they must add up to 100%%.",
                total=sum(w["weight"] for w in cleaned),
            ),
        )
    return cleaned


FAILED_PROVIDER_RULES = ("exclude", "flag")


def _clean_indicators(indicators: list, errors: FieldErrors) -> list[dict]:
    """Each party's indicators: unique codes, positive maxima adding up to 100 points."""
    field = "evaluation_indicators"
    cleaned: list[dict] = []
    if not isinstance(indicators, list):
        errors.add(field, _("Must be a list."))
        return cleaned
    codes: set[str] = set()
    for item in indicators:
        if not isinstance(item, dict) or not str(item.get("code") or "").strip():
            errors.add(field, _("Each indicator needs a code, a party, a name and a maximum."))
            continue
        code = str(item["code"]).strip()[:40]
        try:
            party = EvaluationParty(item.get("party"))
        except ValueError:
            errors.add(field, _("Indicator %(code)s: unknown evaluation party.", code=code))
            continue
        points = _int(item.get("max"), field, errors, 1, 100)
        if code in codes:
            errors.add(field, _("Indicator code %(code)s appears twice.", code=code))
        codes.add(code)
        name = str(item.get("name") or "").strip()[:60] or code
        if points is not None:
            cleaned.append({"code": code, "party": party.value, "name": name, "max": points})
    for party in {i["party"] for i in cleaned}:
        total = sum(i["max"] for i in cleaned if i["party"] == party)
        if total != 100:
            errors.add(
                field,
                _(
                    "The indicators of %(party)s add up to %(total)d points, not 100.",
                    party=EvaluationParty(party).label,
                    total=total,
                ),
            )
    return cleaned


def copy_profile(profile: PolicyProfile, year: int) -> PolicyProfile:
    """The same rules for another year (next year's plan needs its own profile)."""
    values = {name: getattr(profile, name) for name in FIELDS}
    values["name"] = profile.name.replace(str(profile.year), str(year))
    copied = create_profile(region_code=profile.region_code, year=year, values=values)
    # and its service catalogue: next year's plan picks from its own profile's (issue 18)
    from procurement.plans.catalogue import copy_items

    copy_items(profile, copied)
    return copied


def _clean_thresholds(thresholds: dict, errors: FieldErrors) -> dict:
    cleaned: dict[str, int] = {}
    if not isinstance(thresholds, dict):
        errors.add("grade_thresholds", _("Must be an object."))
        return cleaned
    for grade in GRADES:
        value = _int(thresholds.get(grade), f"grade_thresholds.{grade}", errors, 1, 100)
        if value is not None:
            cleaned[grade] = value
    if len(cleaned) == len(GRADES) and not (
        cleaned["excellent"] > cleaned["good"] > cleaned["pass"]
    ):
        errors.add("grade_thresholds", _("Thresholds must fall from excellent to good to pass."))
    return cleaned


def create_profile(*, region_code: str, year: int, values: dict[str, Any]) -> PolicyProfile:
    """A new profile for a region and year (one per region and year)."""
    region = get_region(region_code)
    if region.level is RegionLevel.TOWNSHIP:
        raise ValidationError(
            _("Policy profiles belong to a county or above."), field="region_code"
        )
    errors = FieldErrors()
    year = _int(year, "year", errors, 2000, 2100)
    errors.raise_if_any()
    cleaned = clean_profile_values(values)
    exists = db.session.scalar(
        select(PolicyProfile.id).where(
            PolicyProfile.region_code == region.code, PolicyProfile.year == year
        )
    )
    if exists:
        raise Conflict(
            _(
                "%(region)s already has a policy profile for %(year)d.",
                region=region.name,
                year=year,
            ),
            field="year",
        )
    profile = PolicyProfile(region_code=region.code, year=year, **cleaned)
    db.session.add(profile)
    db.session.flush()
    return profile


def update_profile(profile: PolicyProfile, values: dict[str, Any]) -> PolicyProfile:
    """Replace a profile's rules after checking them; the audit trail keeps the old ones."""
    current = {name: getattr(profile, name) for name in FIELDS}
    cleaned = clean_profile_values({**current, **values})
    for name, value in cleaned.items():
        setattr(profile, name, value)
    db.session.flush()
    return profile


def get_profile(profile_id: int) -> PolicyProfile:
    profile = db.session.get(PolicyProfile, profile_id)
    if profile is None:
        raise NotFound(_("Policy profile %(id)s was not found.", id=profile_id))
    return profile


def profile_for(region_code: str, year: int) -> PolicyProfile | None:
    """The profile in force for a region and year: its own, else the nearest above it."""
    region = get_region(region_code)
    ensure_visible(region.code)  # another county's rules are not the caller's business
    candidates = region.lineage
    found = {
        p.region_code: p
        for p in db.session.scalars(
            select(PolicyProfile).where(
                PolicyProfile.region_code.in_(candidates), PolicyProfile.year == year
            )
        )
    }
    return next((found[code] for code in candidates if code in found), None)
