"""Plan forms: shape only; procurement.plans.services holds the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from procurement.core.forms import SubForm, choices
from procurement.plans.models import FundingSource, LineKind, PurchaseMethod
from procurement.plans.services import PlanInput, ZoneInput

ZONE_ROWS = 6


class ZoneForm(SubForm):
    name = StringField(_l("Zone name"), validators=[Optional(), Length(max=60)])
    recipients = StringField(_l("Expected recipients"), validators=[Optional()])


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _as_int(raw: str | None):
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else raw


class PlanForm(FlaskForm):
    lock_version = HiddenField()
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    year = IntegerField(_l("Year"), validators=[InputRequired()])
    purchase_method = SelectField(
        _l("Procurement method"),
        choices=lambda: choices((m.value, m.label) for m in PurchaseMethod),
    )
    service_start = DateField(_l("Service starts"), validators=[InputRequired()])
    service_end = DateField(_l("Service ends"), validators=[InputRequired()])
    quality_standard = TextAreaField(_l("Quality standard"))
    items = CheckboxesField(_l("Service items"), validate_choice=False)
    zones = FieldList(FormField(ZoneForm), min_entries=ZONE_ROWS, max_entries=200)

    townships: list = []

    @property
    def township_fields(self):
        return [(t, getattr(self, f"township_{t.code}")) for t in self.townships]

    def fill(self, plan) -> None:
        """Show an existing plan's values (GET)."""
        self.lock_version.data = plan.lock_version
        self.title.data, self.year.data = plan.title, plan.year
        self.purchase_method.data = plan.purchase_method.value
        self.service_start.data, self.service_end.data = plan.service_start, plan.service_end
        self.quality_standard.data = plan.quality_standard
        self.items.data = [link.service_item.code for link in plan.items]
        for index, zone in enumerate(plan.zones):
            self.zones[index].form.name.data = zone.name
            self.zones[index].form.recipients.data = str(zone.expected_recipients)
            for code in zone.township_codes:
                getattr(self, f"township_{code}").data = str(index)

    def plan_input(self) -> tuple[PlanInput, list[int]]:
        """The plan as the service takes it, and the form row of each zone passed on."""
        zones, rows = [], []
        for index, entry in enumerate(self.zones):
            codes = [t.code for t, field in self.township_fields if field.data == str(index)]
            name = (entry.form.name.data or "").strip()
            recipients = (entry.form.recipients.data or "").strip()
            if not (name or recipients or codes):
                continue
            zones.append(ZoneInput(name=name, township_codes=codes, recipients=_as_int(recipients)))
            rows.append(index)
        data = PlanInput(
            title=self.title.data or "",
            year=self.year.data,
            purchase_method=self.purchase_method.data,
            service_start=self.service_start.data,
            service_end=self.service_end.data,
            quality_standard=self.quality_standard.data or "",
            zones=zones,
            item_codes=list(self.items.data or []),
        )
        return data, rows

    def place_errors(self, fields: dict[str, list[str]], rows: list[int]) -> list[str]:
        """Put service errors next to their inputs; return those that have none."""
        leftover = []
        for key, messages in fields.items():
            parts = key.split(".")
            target = None
            if parts[0] == "zones" and len(parts) == 3 and int(parts[1]) < len(rows):
                entry = self.zones[rows[int(parts[1])]].form
                target = entry.name if parts[2] in {"name", "township_codes"} else entry.recipients
            elif parts[0] == "item_codes":
                target = self.items
            elif len(parts) == 1 and hasattr(getattr(self, key, None), "errors"):
                target = getattr(self, key)
            if target is None:
                leftover.extend(messages)
            else:
                target.errors = [*list(target.errors or []), *messages]
        return leftover


def make_plan_form(townships, catalogue, zone_names=(), **kwargs) -> PlanForm:
    """A plan form for one county: a zone picker per township, its catalogue's items.

    There is a row for every zone the plan has, and at least two empty ones (six in
    all at the least); the picker names each row by number, and by name once it has one.
    """
    rows = max(ZONE_ROWS, len(zone_names) + 2)
    names = list(zone_names) + [""] * rows
    zone_choices = [
        ("", "—"),
        *[
            (str(i), f"{i + 1} · {names[i]}" if names[i] else _l("Zone %(n)d", n=i + 1))
            for i in range(rows)
        ],
    ]
    fields = {
        f"township_{t.code}": SelectField(t.name, choices=lambda: choices(zone_choices), default="")
        for t in townships
    }
    form_class = type("CountyPlanForm", (PlanForm,), {**fields, "townships": list(townships)})
    form = form_class(**kwargs)
    while len(form.zones.entries) < rows:
        form.zones.append_entry()
    form.items.choices = choices((item.code, item.name) for item in catalogue)
    return form


class BudgetLineForm(FlaskForm):
    lock_version = HiddenField()
    kind = SelectField(
        _l("Kind"),
        choices=lambda: choices((k.value, k.label) for k in LineKind if k is not LineKind.SERVICE),
    )
    description = StringField(_l("Description"), validators=[InputRequired(), Length(max=200)])
    funding_source = SelectField(
        _l("Funding source"), choices=lambda: choices((f.value, f.label) for f in FundingSource)
    )
    amount = StringField(_l("Amount (yuan)"), validators=[InputRequired()])
    override_reason = TextAreaField(_l("Reason for differing from the computed amount"))


class SubmitForm(FlaskForm):
    lock_version = HiddenField()
    note = TextAreaField(_l("Note to finance"))


class ReviewForm(FlaskForm):
    version_number = HiddenField(validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"))
    decision = HiddenField()


class LockForm(FlaskForm):
    lock_version = HiddenField()


class PlanFilterForm(FlaskForm):
    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[Optional()])
    status = SelectField(_l("Status"), validate_choice=False)


class CatalogueItemForm(FlaskForm):
    """One item of a profile's service catalogue (issue 18)."""

    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=40)])
    category = StringField(_l("Category"), validators=[InputRequired(), Length(max=40)])
    name = StringField(_l("Service item"), validators=[InputRequired(), Length(max=60)])
    content = TextAreaField(_l("Service content"), validators=[Optional(), Length(max=4000)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    standard = TextAreaField(_l("Service standard"), validators=[Optional(), Length(max=4000)])
    price = StringField(
        _l("Unit price (yuan)"),
        validators=[Optional(), Length(max=20)],
        description=_l("Leave empty when the source sets no price."),
    )
    model = SelectField(_l("Entitlement model"), validators=[InputRequired()])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=200)])
    ltc_covered = BooleanField(_l("Paid by long-term-care insurance"))
    ltc_source = StringField(
        _l("Long-term-care coverage stated in"),
        validators=[Optional(), Length(max=200)],
        description=_l("Required when long-term-care insurance pays for the item."),
    )
    version = HiddenField()

    def values(self) -> dict:
        return {
            name: getattr(self, name).data
            for name in (
                "code",
                "category",
                "name",
                "content",
                "unit",
                "standard",
                "price",
                "model",
                "source",
                "ltc_covered",
                "ltc_source",
            )
        }

    def fill(self, item) -> None:
        self.code.data = item.code
        self.category.data = item.category
        self.name.data = item.name
        self.content.data = item.description
        self.unit.data = item.unit
        self.standard.data = item.standard
        self.price.data = "" if item.price is None else str(item.price)
        self.model.data = item.model.value
        self.source.data = item.source
        self.ltc_covered.data = item.ltc_covered
        self.ltc_source.data = item.ltc_source
        self.version.data = str(item.version)


class CatalogueFileForm(FlaskForm):
    file = FileField(_l("Catalogue workbook (.xlsx)"), validators=[FileRequired()])
    check_only = BooleanField(_l("Check only; write nothing"))
