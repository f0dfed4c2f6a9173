"""Supervision forms: shape only; procurement.supervision.services holds the rules."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from procurement.contracts.models import TERMINATION_REASONS
from procurement.core.errors import ValidationError as InvalidInput
from procurement.core.forms import choices
from procurement.recipients.services import recipient_for_number
from procurement.supervision.models import (
    COMPLAINT_CHANNELS,
    ComplaintStatus,
    SanctionKind,
)
from procurement.supervision.services import (
    CLAUSES,
    NOTE_LIMIT,
    SUMMARY_LIMIT,
    ComplaintInput,
    SanctionInput,
)

ID_LIST = re.compile(r"^[\d\s,，、]*$")


def _blank_and(pairs):
    """Choices built when the form is made, so that labels follow the user's language."""
    return lambda: choices([("", "—"), *pairs()])


class ComplaintForm(FlaskForm):
    field_aliases = {"recipient_id": "recipient_number"}

    provider_id = SelectField(_l("Provider"), validate_choice=False)
    contract_id = SelectField(_l("Contract"), validate_choice=False)
    # The ID number, not a list: a province's roster holds 100,000 people.
    recipient_number = StringField(_l("Recipient's ID number"), validators=[Length(max=20)])
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    channel = SelectField(
        _l("Channel"), choices=_blank_and(lambda: COMPLAINT_CHANNELS.items()), validate_choice=False
    )
    summary = TextAreaField(
        _l("What the complaint says"), validators=[InputRequired(), Length(max=SUMMARY_LIMIT)]
    )

    def complaint_input(self) -> ComplaintInput:
        return ComplaintInput(
            provider_id=self.provider_id.data,
            contract_id=self.contract_id.data,
            recipient_id=self._recipient_id(),
            received_on=self.received_on.data,
            channel=self.channel.data,
            summary=self.summary.data,
        )

    def _recipient_id(self) -> int | None:
        text = (self.recipient_number.data or "").strip()
        if not text:
            return None
        found = recipient_for_number(text)
        if found is None:
            raise InvalidInput(
                _("No one on the roster you can see has this ID number."),
                field="recipient_number",
            )
        return found.id


ATTRIBUTION = {"yes": True, "no": False}


class VerifyForm(FlaskForm):
    status = SelectField(
        _l("Result"),
        choices=_blank_and(
            lambda: [
                (s.value, s.label) for s in (ComplaintStatus.VERIFIED, ComplaintStatus.UNFOUNDED)
            ]
        ),
        validate_choice=False,
    )
    verified_on = DateField(_l("Verified on"), validators=[InputRequired()])
    findings = TextAreaField(_l("Findings"), validators=[InputRequired(), Length(max=NOTE_LIMIT)])
    attributable = SelectField(
        _l("Responsibility lies with the provider"),
        choices=_blank_and(lambda: [("yes", _l("Yes")), ("no", _l("No"))]),
        validate_choice=False,
    )

    def values(self) -> dict:
        return {
            "status": self.status.data,
            "verified_on": self.verified_on.data,
            "findings": self.findings.data,
            "attributable": ATTRIBUTION.get(self.attributable.data),
        }


def _grounds() -> list[SelectChoice]:
    """The §8(2)1 clauses and the §8(2)2 termination grounds, in two groups of one list."""
    clauses = str(_l("Seed 001 §8(2)1: interview, rectification, suspension"))
    termination = str(_l("Seed 001 §8(2)2: termination"))
    return [
        SelectChoice("", "—"),
        *[SelectChoice(number, text, optgroup=clauses) for number, text in CLAUSES.items()],
        *[
            SelectChoice(key, str(label), optgroup=termination)
            for key, label in TERMINATION_REASONS.items()
        ],
    ]


class SanctionForm(FlaskForm):
    contract_id = SelectField(_l("Contract"), validate_choice=False)
    kind = SelectField(
        _l("Measure"),
        choices=_blank_and(lambda: [(k.value, k.label) for k in SanctionKind]),
        validate_choice=False,
    )
    ground = SelectField(_l("Ground"), choices=_grounds, validate_choice=False)
    decided_on = DateField(_l("Decided on"), validators=[InputRequired()])
    deadline = DateField(_l("Rectify by (rectification only)"), validators=[Optional()])
    complaint_ids = StringField(_l("Complaints it rests on (numbers)"))
    note = TextAreaField(_l("Findings"), validators=[Length(max=NOTE_LIMIT)])

    def validate_complaint_ids(self, field) -> None:
        if not ID_LIST.match(field.data or ""):
            raise ValidationError(
                _l("Give complaint numbers separated by commas, e.g. 12, 15, 19.")
            )

    def sanction_input(self, provider_id: int | None) -> SanctionInput:
        return SanctionInput(
            provider_id=provider_id,
            contract_id=self.contract_id.data,
            kind=self.kind.data,
            ground=self.ground.data,
            decided_on=self.decided_on.data,
            deadline=self.deadline.data,
            note=self.note.data,
            complaint_ids=re.findall(r"\d+", self.complaint_ids.data or ""),
        )


class LiftForm(FlaskForm):
    lifted_on = DateField(_l("Lifted on"), validators=[InputRequired()])


class ComplaintFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validate_choice=False)
    provider_id = SelectField(_l("Provider"), validate_choice=False)
    contract_id = SelectField(_l("Contract"), validate_choice=False)
