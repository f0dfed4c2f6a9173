"""The service catalogue of each policy profile and year (issue 18).

A catalogue item belongs to a policy profile, and so to the profile's region and year;
a plan picks from the catalogue of the profile in force for its county and year. The
shipped lists (Yangcheng: seed 001 annex 1; Xinjiang: seed 000 §2(2) and seed 002's basic
service list) are loaded like the other reference data, each item naming its source. An
item without a price in its source has none here: prices are never invented.

Administrators add, edit (the version goes up, the audit trail keeps the old values),
retire (refused while a plan that is not finished uses the item), copy a year's catalogue
to the next year and import an .xlsx workbook: every row is checked and a file with any
bad row writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from procurement.core import audit, spreadsheets
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound, RowsRefused, ValidationError
from procurement.core.scoping import ensure_in_scope
from procurement.plans.models import (
    EDITABLE,
    ItemStatus,
    PlanItem,
    PlanStatus,
    PurchasePlan,
    ServiceItem,
)
from procurement.policies.models import EntitlementModel, PolicyProfile

SHIPPED = ("yangcheng_catalogue.json", "xinjiang_catalogue.json")
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
FIELDS = ("code", "category", "name", "content", "unit", "standard", "price", "model", "source")
LIMITS = {
    "category": 40,
    "name": 60,
    "unit": 20,
    "source": 200,
    "content": 4000,
    "ltc_source": 200,
}
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "是", "√"})
ROW_LIMIT = 2000
# A plan that is not finished: its items may still be bought (approved plans are in force)
UNFINISHED = frozenset(EDITABLE | {PlanStatus.SUBMITTED, PlanStatus.APPROVED})

# heading (lower case) -> field
HEADINGS = {
    "code": "code",
    "编码": "code",
    "项目编码": "code",
    "category": "category",
    "类别": "category",
    "服务类别": "category",
    "name": "name",
    "名称": "name",
    "服务项目": "name",
    "项目名称": "name",
    "content": "content",
    "服务内容": "content",
    "内容": "content",
    "unit": "unit",
    "单位": "unit",
    "计量单位": "unit",
    "standard": "standard",
    "服务标准": "standard",
    "标准": "standard",
    "price": "price",
    "单价": "price",
    "价格": "price",
    "model": "model",
    "计量方式": "model",
    "source": "source",
    "来源": "source",
    "ltc_covered": "ltc_covered",
    "长期护理保险支付": "ltc_covered",
    "ltc_source": "ltc_source",
    "长期护理保险依据": "ltc_source",
}
MODEL_WORDS = {
    **{model.value: model for model in EntitlementModel},
    "按小时": EntitlementModel.HOURS_PER_MONTH,
    "小时": EntitlementModel.HOURS_PER_MONTH,
    "按次": EntitlementModel.VISITS_PER_YEAR,
    "次": EntitlementModel.VISITS_PER_YEAR,
}


def field_labels() -> dict[str, str]:
    return {
        "code": _("Code"),
        "category": _("Category"),
        "name": _("Service item"),
        "content": _("Service content"),
        "unit": _("Unit"),
        "standard": _("Service standard"),
        "price": _("Unit price"),
        "model": _("Entitlement model"),
        "source": _("Source"),
        "ltc_covered": _("Paid by long-term-care insurance"),
        "ltc_source": _("Long-term-care coverage stated in"),
        "file": _("File"),
    }


# ------------------------------------------------------------------ reading


def items_of(profile: PolicyProfile, *, include_retired: bool = False) -> list[ServiceItem]:
    """A profile's catalogue, in its order."""
    query = select(ServiceItem).where(ServiceItem.policy_profile_id == profile.id)
    if not include_retired:
        query = query.where(ServiceItem.active.is_(True))
    return list(db.session.scalars(query.order_by(ServiceItem.position, ServiceItem.id)))


def get_item(item_id: int) -> ServiceItem:
    item = db.session.get(ServiceItem, item_id)
    if item is None or item.policy_profile_id is None:
        raise NotFound(_("Service item %(id)s was not found.", id=item_id))
    return item


def plans_using(item: ServiceItem, *, unfinished: bool = True) -> list[PurchasePlan]:
    """The plans that chose the item (only those not finished, by default)."""
    query = (
        select(PurchasePlan)
        .join(PlanItem, PlanItem.plan_id == PurchasePlan.id)
        .where(PlanItem.service_item_id == item.id)
        .order_by(PurchasePlan.year, PurchasePlan.id)
    )
    if unfinished:
        query = query.where(PurchasePlan.status.in_(UNFINISHED))
    return list(db.session.scalars(query))


# ------------------------------------------------------------------ validation


def _text(values: dict, name: str, errors: FieldErrors, *, required: bool) -> str:
    raw = values.get(name)
    text = "" if raw is None else str(raw).strip()
    if required and not text:
        errors.add(name, _("This field is required."))
    elif name in LIMITS and len(text) > LIMITS[name]:
        errors.add(name, _("At most %(n)d characters.", n=LIMITS[name]))
    return text


def clean_item_values(
    values: dict[str, Any], profile: PolicyProfile, errors: FieldErrors | None = None
) -> dict[str, Any]:
    """Check an item's values; return them normalised (model defaults to the profile's)."""
    own = errors is None
    errors = errors if errors is not None else FieldErrors()
    code = _text(values, "code", errors, required=True)
    if code and not CODE.fullmatch(code):
        errors.add(
            "code",
            _(
                "%(code)s is not a code: letters, digits, dots, dashes and underscores, "
                "at most 40.",
                code=code,
            ),
        )
    cleaned: dict[str, Any] = {"code": code}
    cleaned["category"] = _text(values, "category", errors, required=True)
    cleaned["name"] = _text(values, "name", errors, required=True)
    cleaned["description"] = _text(values, "content", errors, required=False)
    cleaned["unit"] = _text(values, "unit", errors, required=False)
    cleaned["standard"] = _text(values, "standard", errors, required=False)
    cleaned["source"] = _text(values, "source", errors, required=False)
    # seed 000 §2(3): what long-term-care insurance pays for is not paid again; the
    # coverage is stated by a document, so a covered item names it.
    raw_ltc = values.get("ltc_covered")
    covered = raw_ltc if isinstance(raw_ltc, bool) else str(raw_ltc or "").strip().lower()
    cleaned["ltc_covered"] = covered is True or covered in TRUE_WORDS
    cleaned["ltc_source"] = _text(values, "ltc_source", errors, required=cleaned["ltc_covered"])
    cleaned["price"] = None
    raw_price = values.get("price")
    if raw_price not in (None, ""):
        try:
            price = Decimal(str(raw_price).strip())
        except InvalidOperation:
            errors.add("price", _("Must be a number."))
        else:
            if not price.is_finite() or price <= 0:
                errors.add("price", _("Must be more than zero."))
            elif price != price.quantize(Decimal("0.01")):
                errors.add("price", _("At most two decimal places."))
            elif price >= Decimal("1e9"):
                errors.add("price", _("The value is too large."))
            else:
                cleaned["price"] = price
    raw_model = values.get("model")
    if raw_model in (None, ""):
        cleaned["model"] = profile.entitlement_model
    elif isinstance(raw_model, EntitlementModel):
        cleaned["model"] = raw_model
    else:
        model = MODEL_WORDS.get(str(raw_model).strip().lower())
        if model is None:
            errors.add(
                "model",
                _(
                    "%(value)s is not an entitlement model: write hours_per_month (按小时) "
                    "or visits_per_year (按次).",
                    value=raw_model,
                ),
            )
        cleaned["model"] = model
    if own:
        errors.raise_if_any()
    return cleaned


def _check_code_free(profile: PolicyProfile, code: str, item_id: int | None = None) -> None:
    query = select(ServiceItem.id).where(
        ServiceItem.policy_profile_id == profile.id, ServiceItem.code == code
    )
    if item_id is not None:
        query = query.where(ServiceItem.id != item_id)
    if db.session.scalar(query) is not None:
        raise ValidationError(
            _(
                "The catalogue of %(profile)s already has an item with the code %(code)s.",
                profile=profile.name,
                code=code,
            ),
            field="code",
        )


# ------------------------------------------------------------------ changing


def _next_position(profile: PolicyProfile) -> int:
    last = db.session.scalar(
        select(func.max(ServiceItem.position)).where(ServiceItem.policy_profile_id == profile.id)
    )
    return 0 if last is None else last + 1


def create_item(profile: PolicyProfile, values: dict[str, Any]) -> ServiceItem:
    """A new item in a profile's catalogue (audited)."""
    ensure_in_scope(profile.region_code)
    cleaned = clean_item_values(values, profile)
    _check_code_free(profile, cleaned["code"])
    item = ServiceItem(
        policy_profile=profile,
        policy_profile_id=profile.id,
        region_code=profile.region_code,
        year=profile.year,
        position=_next_position(profile),
        version=1,
        active=True,
        **cleaned,
    )
    db.session.add(item)
    db.session.flush()
    return item


def update_item(
    item: ServiceItem, values: dict[str, Any], *, version: int | None = None
) -> ServiceItem:
    """Change an item: its version goes up and the audit trail keeps the old values. A plan
    keeps the version it chose. ``version`` refuses an edit based on an older one."""
    profile = item.policy_profile
    assert profile is not None
    ensure_in_scope(profile.region_code)
    if version is not None and version != item.version:
        raise Conflict(
            _("The item was changed by someone else since you opened it. Reload and try again."),
            code="stale",
        )
    current = {
        "code": item.code,
        "category": item.category,
        "name": item.name,
        "content": item.description,
        "unit": item.unit,
        "standard": item.standard,
        "price": item.price,
        "model": item.model,
        "source": item.source,
        "ltc_covered": item.ltc_covered,
        "ltc_source": item.ltc_source,
    }
    cleaned = clean_item_values({**current, **values}, profile)
    if cleaned["code"] != item.code:
        if plans_using(item, unfinished=False):
            raise ValidationError(
                _("The code of an item that a plan has chosen cannot change."), field="code"
            )
        _check_code_free(profile, cleaned["code"], item.id)
    changed = False
    for name, value in cleaned.items():
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    if changed:
        item.version += 1
    db.session.flush()
    return item


def retire_item(item: ServiceItem) -> ServiceItem:
    """Take an item out of the catalogue; refused while an unfinished plan uses it."""
    assert item.policy_profile is not None
    ensure_in_scope(item.policy_profile.region_code)
    using = plans_using(item)
    if using:
        raise Conflict(
            _(
                "%(item)s cannot be retired: it is used by plans that are not finished: %(plans)s.",
                item=item.name,
                plans="、".join(f"{plan.year} {plan.title}" for plan in using),
            ),
            code="item_in_use",
        )
    if item.active:
        item.active = False
        db.session.flush()
    return item


def restore_item(item: ServiceItem) -> ServiceItem:
    """Put a retired item back in the catalogue."""
    assert item.policy_profile is not None
    ensure_in_scope(item.policy_profile.region_code)
    if not item.active:
        item.active = True
        db.session.flush()
    return item


def copy_items(source: PolicyProfile, target: PolicyProfile) -> int:
    """Copy the active items of ``source`` that ``target`` lacks (by code); how many."""
    have = set(
        db.session.scalars(
            select(ServiceItem.code).where(ServiceItem.policy_profile_id == target.id)
        )
    )
    position = _next_position(target)
    added = 0
    for item in items_of(source):
        if item.code in have:
            continue
        db.session.add(
            ServiceItem(
                policy_profile_id=target.id,
                region_code=target.region_code,
                year=target.year,
                code=item.code,
                category=item.category,
                name=item.name,
                description=item.description,
                unit=item.unit,
                standard=item.standard,
                price=item.price,
                model=item.model,
                source=item.source,
                ltc_covered=item.ltc_covered,
                ltc_source=item.ltc_source,
                position=position,
                version=1,
                active=True,
            )
        )
        position += 1
        added += 1
    db.session.flush()
    return added


def copy_to_next_year(profile: PolicyProfile) -> tuple[PolicyProfile, int]:
    """Copy a year's catalogue into the next year's profile of the same region (made from
    this one when it does not exist yet); items already there are kept as they are."""
    from procurement.policies import services as policies

    ensure_in_scope(profile.region_code)
    year = profile.year + 1
    target = db.session.scalar(
        select(PolicyProfile).where(
            PolicyProfile.region_code == profile.region_code, PolicyProfile.year == year
        )
    )
    if target is None:
        # copy_profile copies the catalogue with the rules
        target = policies.copy_profile(profile, year)
        return target, len(items_of(target))
    return target, copy_items(profile, target)


# ------------------------------------------------------------------ shipped lists


def load_catalogue_file(filename: str) -> int:
    """Insert the items of a shipped list that its profile lacks (idempotent); how many.
    Nothing is loaded when the profile (region and year) does not exist yet."""
    data = json.loads(resources.files("procurement.data").joinpath(filename).read_text())
    profile = db.session.scalar(
        select(PolicyProfile).where(
            PolicyProfile.region_code == data["region_code"], PolicyProfile.year == data["year"]
        )
    )
    if profile is None:
        return 0
    existing = set(
        db.session.scalars(
            select(ServiceItem.code).where(ServiceItem.policy_profile_id == profile.id)
        )
    )
    added = 0
    for position, entry in enumerate(data["items"]):
        if entry["code"] in existing:
            continue
        db.session.add(
            ServiceItem(
                policy_profile_id=profile.id,
                region_code=profile.region_code,
                year=profile.year,
                code=entry["code"],
                category=entry["category"],
                name=entry["name"],
                description=entry["content"],
                unit=entry["unit"],
                standard=entry["standard"],
                price=Decimal(entry["price"]) if entry["price"] else None,
                model=EntitlementModel(data["model"]),
                source=entry["source"],
                ltc_covered=bool(entry.get("ltc_covered")),
                ltc_source=entry.get("ltc_source", ""),
                position=position,
                version=1,
                active=True,
            )
        )
        added += 1
    db.session.flush()
    return added


def load_yangcheng_catalogue() -> int:
    """Yangcheng's catalogue (seed 001 annex 1), for its 2026 profile."""
    return load_catalogue_file("yangcheng_catalogue.json")


def load_shipped_catalogues() -> int:
    """Every shipped list (Yangcheng; Xinjiang seeds 000 and 002) whose profile exists."""
    return sum(load_catalogue_file(name) for name in SHIPPED)


# ------------------------------------------------------------------ xlsx import


@dataclass
class CatalogueRow:
    line: int
    code: str
    name: str
    action: str = ""  # add, update, unchanged
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class CatalogueReport:
    filename: str
    sha256: str
    rows: list[CatalogueRow]
    written: bool = False

    @property
    def bad(self) -> list[CatalogueRow]:
        return [row for row in self.rows if not row.ok]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.ok and row.action == action)


class CatalogueFileRefused(RowsRefused):
    """A file with at least one bad row: nothing was written; ``report`` names each."""

    code = "catalogue_file_refused"

    def __init__(self, report: CatalogueReport) -> None:
        super().__init__(report, field_labels())


def _records(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    sheets = spreadsheets.read_sheets(data)
    if not sheets:
        raise ValidationError(_("The workbook has no sheet."), field="file")
    frame = next(iter(sheets.values()))
    columns: dict[int, str] = {}
    for index, heading in enumerate(frame.columns):
        name = HEADINGS.get(str(heading).strip().lower())
        if name is not None and name not in columns.values():
            columns[index] = name
    missing = [n for n in ("code", "category", "name") if n not in columns.values()]
    if missing:
        raise ValidationError(
            _(
                "The file lacks the columns: %(columns)s.",
                columns="、".join(field_labels()[n] for n in missing),
            ),
            field="file",
        )
    if len(frame) > ROW_LIMIT:
        raise ValidationError(_("The file has more than %(n)d rows.", n=ROW_LIMIT), field="file")
    records = []
    for number, values in enumerate(frame.itertuples(index=False, name=None), start=2):
        record = {name: spreadsheets.cell(values[i]) for i, name in columns.items()}
        if any(record.values()):
            records.append((number, record))
    if not records:
        raise ValidationError(_("The file holds no service items."), field="file")
    return records


def import_items(
    profile: PolicyProfile, data: bytes, filename: str, *, write: bool = True
) -> CatalogueReport:
    """Check every row of an .xlsx catalogue (first sheet: code, category, name, and
    optionally content, unit, standard, price, model, source); add new codes and update
    existing ones only if every row is good, else raise CatalogueFileRefused."""
    ensure_in_scope(profile.region_code)
    records = _records(data)
    existing = {item.code: item for item in items_of(profile, include_retired=True)}
    rows: list[CatalogueRow] = []
    first: dict[str, int] = {}
    for number, record in records:
        errors = FieldErrors()
        values = clean_item_values(record, profile, errors)
        row = CatalogueRow(line=number, code=values["code"], name=values["name"], values=values)
        for name, messages in errors.fields.items():
            for message in messages:
                row.errors.append(("content" if name == "description" else name, message))
        if row.code and row.code in first:
            row.errors.append(
                (
                    "code",
                    _(
                        "The code %(code)s is also on row %(line)d.",
                        code=row.code,
                        line=first[row.code],
                    ),
                )
            )
        elif row.code:
            first[row.code] = number
        if row.ok:
            current = existing.get(row.code)
            if current is None:
                row.action = "add"
            elif all(getattr(current, k) == v for k, v in values.items()):
                row.action = "unchanged"
            else:
                row.action = "update"
        rows.append(row)
    report = CatalogueReport(filename=filename, sha256=hashlib.sha256(data).hexdigest(), rows=rows)
    if report.bad:
        raise CatalogueFileRefused(report)
    if write:
        for row in rows:
            if row.action == "add":
                content = row.values.pop("description")
                create_item(profile, {**row.values, "content": content})
            elif row.action == "update":
                values = dict(row.values)
                values["content"] = values.pop("description")
                update_item(existing[row.code], values)
        audit.record(
            "catalogue_imported",
            entity_type="policy_profiles",
            entity_id=profile.id,
            region_code=profile.region_code,
            note=f"{filename} sha256={report.sha256[:16]} "
            f"added={report.count('add')} updated={report.count('update')}",
        )
        report.written = True
    return report


__all__ = [
    "ItemStatus",
    "copy_items",
    "copy_to_next_year",
    "create_item",
    "import_items",
    "load_shipped_catalogues",
    "load_yangcheng_catalogue",
    "retire_item",
    "update_item",
]
