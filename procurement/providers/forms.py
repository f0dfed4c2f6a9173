"""Provider forms: shape only; procurement.providers.services holds the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from procurement.core.forms import choices
from procurement.providers.models import (
    STAFF_LABELS,
    STAFF_SKILLS,
    DocumentKind,
    PaymentStatus,
    ProviderStatus,
    RegistrationAuthority,
    ViolationKind,
)
from procurement.providers.services import ProviderInput


def _enum_choices(enum_cls, blank=False):
    """Choices built when the form is made, so that labels follow the user's language."""

    def make():
        pairs = [(m.value, m.label) for m in enum_cls]
        return choices([("", "—"), *pairs] if blank else pairs)

    return make


class ProviderForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    credit_code = StringField(
        _l("Unified social credit code"), validators=[InputRequired(), Length(max=30)]
    )
    acknowledge_check_failure = BooleanField(
        _l("This early code is real although its check character fails")
    )
    acknowledgement_reason = StringField(_l("Why the code is kept"))
    registration_authority = SelectField(
        _l("Registered with"), choices=_enum_choices(RegistrationAuthority)
    )
    registration_date = StringField(_l("Registration date"))
    status = SelectField(_l("Status"), choices=_enum_choices(ProviderStatus))
    status_date = StringField(_l("Deregistered or revoked on"))
    legal_representative = StringField(_l("Legal representative"), validators=[Length(max=60)])
    address = StringField(_l("Address"), validators=[Length(max=200)])
    township_code = SelectField(_l("Township of the office"), validate_choice=False)
    contact_name = StringField(_l("Contact person"), validators=[Length(max=60)])
    contact_phone = StringField(_l("Contact phone"), validators=[Length(max=40)])
    premises = TextAreaField(_l("Fixed premises and facilities"))
    notes = TextAreaField(_l("Notes"))
    staff_nursing = StringField(STAFF_LABELS["nursing"])
    staff_barber = StringField(STAFF_LABELS["barber"])
    staff_foot_care = StringField(STAFF_LABELS["foot_care"])
    staff_plumber_electrician = StringField(STAFF_LABELS["plumber_electrician"])
    staff_appliance_repair = StringField(STAFF_LABELS["appliance_repair"])

    def provider_input(self) -> ProviderInput:
        return ProviderInput(
            name=self.name.data,
            credit_code=self.credit_code.data,
            registration_authority=self.registration_authority.data,
            registration_date=self.registration_date.data,
            status=self.status.data,
            status_date=self.status_date.data,
            legal_representative=self.legal_representative.data,
            address=self.address.data,
            township_code=self.township_code.data or None,
            contact_name=self.contact_name.data,
            contact_phone=self.contact_phone.data,
            staff={skill: getattr(self, f"staff_{skill}").data for skill in STAFF_SKILLS},
            premises=self.premises.data,
            notes=self.notes.data,
            acknowledge_check_failure=self.acknowledge_check_failure.data,
            acknowledgement_reason=self.acknowledgement_reason.data,
        )

    def fill(self, provider) -> None:
        for name in (
            "name",
            "credit_code",
            "legal_representative",
            "address",
            "contact_name",
            "contact_phone",
            "premises",
            "notes",
        ):
            getattr(self, name).data = getattr(provider, name)
        self.registration_authority.data = provider.registration_authority.value
        self.status.data = provider.status.value
        self.registration_date.data = (
            provider.registration_date.isoformat() if provider.registration_date else ""
        )
        self.status_date.data = provider.status_date.isoformat() if provider.status_date else ""
        self.township_code.data = provider.township_code or ""
        for skill in STAFF_SKILLS:
            getattr(self, f"staff_{skill}").data = str((provider.staff or {}).get(skill, 0))
        self.acknowledge_check_failure.data = bool(provider.credit_code_warning)

    def place_errors(self, fields: dict[str, list[str]]) -> list[str]:
        leftover = []
        for key, messages in fields.items():
            target = getattr(self, key.replace(".", "_"), None)
            if hasattr(target, "errors"):
                target.errors = [*list(target.errors or []), *messages]
            else:
                leftover.extend(messages)
        return leftover


class RecordForm(FlaskForm):
    """One form for every record kind; the page shows the fields of the chosen kind."""

    period_start = StringField(_l("Period from"))
    period_end = StringField(_l("Period to"))
    # The page shows only the chosen kind's fields; the service checks the values.
    payment_status = SelectField(
        _l("Payment"), choices=_enum_choices(PaymentStatus), validate_choice=False
    )
    settled_on = StringField(_l("Arrears settled on"))
    decision_date = StringField(_l("Decision date"))
    authority = StringField(_l("Authority"), validators=[Length(max=120)])
    violation_kind = SelectField(
        _l("Kind of violation"),
        choices=_enum_choices(ViolationKind, blank=True),
        validate_choice=False,
    )
    fine_amount = StringField(_l("Fine (yuan)"))
    major_override = SelectField(
        _l("Major violation?"),
        choices=lambda: choices(
            [
                ("", _l("As the rule says")),
                ("major", _l("Major (override)")),
                ("minor", _l("Not major (override)")),
            ]
        ),
        validate_choice=False,
    )
    major_override_reason = StringField(_l("Reason for the override"))
    report_year = StringField(_l("Report year"))
    filed_on = StringField(_l("Filed on"))
    listed_from = StringField(_l("Listed from"))
    listed_until = StringField(_l("Listed until"))
    description = TextAreaField(_l("Description"))
    evidence_id = SelectField(_l("Evidence document"), validate_choice=False)

    FIELDS = {
        "tax": ("period_start", "period_end", "payment_status", "settled_on", "authority"),
        "social_security": (
            "period_start",
            "period_end",
            "payment_status",
            "settled_on",
            "authority",
        ),
        "violation": (
            "decision_date",
            "authority",
            "violation_kind",
            "fine_amount",
            "major_override",
            "major_override_reason",
        ),
        "annual_report": ("report_year", "filed_on"),
        "credit_listing": ("listed_from", "listed_until", "authority"),
    }

    def values(self, kind: str) -> dict:
        names = (*self.FIELDS.get(kind, ()), "description", "evidence_id")
        values = {name: getattr(self, name).data for name in names}
        if "major_override" in values:
            values["major_override"] = {"major": True, "minor": False}.get(values["major_override"])
        return values


class QualificationForm(FlaskForm):
    name = StringField(_l("Qualification"), validators=[InputRequired(), Length(max=120)])
    number = StringField(_l("Certificate number"), validators=[Length(max=80)])
    issued_on = StringField(_l("Issued on"))
    expires_on = StringField(_l("Expires on"))
    required = BooleanField(_l("Required for the service"), default=True)
    evidence_id = SelectField(_l("Evidence document"), validate_choice=False)


class PriceForm(FlaskForm):
    service = StringField(_l("Service"), validators=[InputRequired(), Length(max=80)])
    unit = StringField(_l("Unit"), validators=[InputRequired(), Length(max=20)])
    price = StringField(_l("Price (yuan)"), validators=[InputRequired()])


class DocumentForm(FlaskForm):
    kind = SelectField(_l("Kind of document"), choices=_enum_choices(DocumentKind))
    title = StringField(_l("Title"), validators=[Length(max=200)])
    file = FileField(_l("File (PDF, PNG or JPEG)"), validators=[FileRequired()])


class CheckForm(FlaskForm):
    as_of = DateField(_l("Check as of (normally the bid deadline)"), validators=[InputRequired()])
    plan_id = SelectField(_l("For the plan"), validate_choice=False)


class ProviderFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or credit code"), validators=[Optional()])
    qualification = SelectField(_l("Qualification"), validate_choice=False)
    township = SelectField(_l("Township"), validate_choice=False)
