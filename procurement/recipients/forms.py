"""Roster forms: shape only; procurement.recipients.services holds the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from procurement.core.forms import choices
from procurement.policies.models import RecipientCategory
from procurement.recipients.models import CAPABILITY_LEVELS, ExitReason
from procurement.recipients.services import RecipientInput, RosterStatus

DATE = {"type": "date"}


def _category_choices(blank: str | None = None):
    def make():
        pairs = [(c.value, c.label) for c in RecipientCategory]
        return choices([("", blank), *pairs] if blank is not None else pairs)

    return make


class RecipientForm(FlaskForm):
    id_number = StringField(_l("ID number"), validators=[Length(max=30)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=60)])
    township_code = SelectField(_l("Township"), validate_choice=False)
    village = StringField(_l("Village or community"), validators=[Length(max=60)])
    address = StringField(_l("Address"), validators=[Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Length(max=30)])
    category = SelectField(_l("Category"), choices=_category_choices("—"), validate_choice=False)
    capability_level = SelectField(
        _l("Capability level (GB/T 42195-2022)"),
        choices=lambda: choices([("", _l("Not assessed")), *CAPABILITY_LEVELS.items()]),
        validate_choice=False,
    )
    assessed_on = StringField(_l("Assessed on"), render_kw=DATE)
    assessor = StringField(_l("Assessed by"), validators=[Length(max=120)])
    assessment_valid_until = StringField(_l("Assessment valid until"), render_kw=DATE)
    long_term_care = BooleanField(_l("Receives long-term-care insurance"))
    registered_in_county = BooleanField(_l("Household registered in the county"), default=True)
    lives_in_county = BooleanField(_l("Lives in the county"), default=True)
    service_start = StringField(_l("Already in service since (month)"), render_kw={"type": "month"})
    notes = TextAreaField(_l("Notes"))

    FIELDS = (
        "id_number",
        "name",
        "township_code",
        "village",
        "address",
        "phone",
        "category",
        "capability_level",
        "assessed_on",
        "assessor",
        "assessment_valid_until",
        "long_term_care",
        "registered_in_county",
        "lives_in_county",
        "notes",
    )

    def recipient_input(self) -> RecipientInput:
        values = {name: getattr(self, name).data for name in self.FIELDS}
        return RecipientInput(**values, service_start=self.service_start.data)

    def fill(self, recipient) -> None:
        for name in self.FIELDS:
            if name != "id_number":
                getattr(self, name).data = getattr(recipient, name)
        self.category.data = recipient.category.value
        level = recipient.capability_level
        self.capability_level.data = "" if level is None else str(level)
        self.assessed_on.data = recipient.assessed_on.isoformat() if recipient.assessed_on else ""
        until = recipient.assessment_valid_until
        self.assessment_valid_until.data = until.isoformat() if until else ""


class ApplicationForm(FlaskForm):
    applied_on = StringField(_l("Applied on"), render_kw=DATE)


class StepForm(FlaskForm):
    """The village check or the township review."""

    on = StringField(_l("Date"), render_kw=DATE)
    passed = RadioField(
        _l("Result"),
        choices=lambda: choices([("yes", _l("Passed")), ("no", _l("Not passed"))]),
        validate_choice=False,
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])

    def result(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.passed.data)


class DecisionForm(FlaskForm):
    on = StringField(_l("Date of the decision"), render_kw=DATE)
    decision = RadioField(
        _l("Decision"),
        choices=lambda: choices([("approve", _l("Approve")), ("reject", _l("Reject"))]),
        validate_choice=False,
    )
    reason = TextAreaField(_l("Reason (required for a rejection)"), validators=[Length(max=2000)])

    def approve(self) -> bool | None:
        return {"approve": True, "reject": False}.get(self.decision.data)


class ExitForm(FlaskForm):
    exit_reason = SelectField(
        _l("Reason for leaving"),
        choices=lambda: choices([("", "—"), *[(r.value, r.label) for r in ExitReason]]),
        validate_choice=False,
    )
    exit_date = StringField(_l("Date"), render_kw=DATE)
    exit_note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class MoveForm(FlaskForm):
    township_code = SelectField(_l("Moved to the township"), validate_choice=False)
    moved_on = StringField(_l("Moved on"), render_kw=DATE)
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class RecipientFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or full ID number"), validators=[Optional()])
    county = SelectField(_l("County"), validate_choice=False)
    township = SelectField(_l("Township"), validate_choice=False)
    category = SelectField(
        _l("Category"), choices=_category_choices(_l("All categories")), validate_choice=False
    )
    status = SelectField(
        _l("Status"),
        choices=lambda: choices(
            [("", _l("All statuses")), *[(s.value, s.label) for s in RosterStatus]]
        ),
        validate_choice=False,
    )


class MonthForm(FlaskForm):
    class Meta:
        csrf = False

    month = StringField(_l("Month"), render_kw={"type": "month"})


class OverrideForm(FlaskForm):
    day = DateField(_l("Day"), validators=[InputRequired()])
    is_workday = SelectField(
        _l("Kind of day"),
        choices=lambda: choices(
            [("off", _l("Day off (holiday)")), ("work", _l("Working day (make-up day)"))]
        ),
    )
    note = StringField(_l("Note"), validators=[Length(max=120)])
