"""The policy-profile form: shape only; procurement.policies.services checks the rules."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional

from procurement.core.forms import SubForm, choices
from procurement.policies.models import (
    PARTY_LABELS,
    EntitlementModel,
    EvaluationParty,
    RecipientCategory,
)

RULE_ROWS = 5


class EligibilityRuleForm(SubForm):
    category = SelectField(
        _l("Category"),
        choices=lambda: choices([("", "—"), *[(c.value, c.label) for c in RecipientCategory]]),
        default="",
    )
    min_age = StringField(_l("Minimum age"))
    min_capability_level = SelectField(
        _l("Minimum disability level (GB/T 42195)"),
        choices=lambda: choices([("", "—"), *[(str(n), str(n)) for n in range(5)]]),
        default="",
    )


class PolicyProfileForm(FlaskForm):
    region_code = SelectField(_l("Region"))
    year = IntegerField(_l("Year"), validators=[Optional()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    source_document = StringField(_l("Policy document"))
    entitlement_model = SelectField(
        _l("Entitlement model"),
        choices=lambda: choices((m.value, m.label) for m in EntitlementModel),
    )
    hours_per_month = StringField(_l("Hours per person per month"))
    hourly_rate_cap = StringField(_l("Hourly rate cap (yuan)"))
    visits_per_year = StringField(_l("Visits per person per year"))
    unit_price_per_visit = StringField(_l("Unit price per visit (yuan)"))
    visits_must_be_split = BooleanField(_l("The monthly entitlement must be split into visits"))
    exclude_long_term_care = BooleanField(_l("Exclude people receiving long-term-care insurance"))
    requires_residence = BooleanField(_l("Must live at the place of household registration"))
    requires_assessment = BooleanField(
        _l("The capability level must come from a valid third-party assessment")
    )
    eligibility_rules = FieldList(FormField(EligibilityRuleForm), min_entries=RULE_ROWS)
    qualification_lookback_years = StringField(_l("Qualification look-back (years)"))
    major_fine_threshold = StringField(_l("Fine that counts as a major violation (yuan)"))
    weight_buyer = StringField(PARTY_LABELS[EvaluationParty.BUYER])
    weight_finance = StringField(PARTY_LABELS[EvaluationParty.FINANCE])
    weight_recipients = StringField(PARTY_LABELS[EvaluationParty.RECIPIENTS])
    weight_third_party = StringField(PARTY_LABELS[EvaluationParty.THIRD_PARTY])
    grade_excellent = StringField(_l("Excellent from"))
    grade_good = StringField(_l("Good from"))
    grade_pass = StringField(_l("Pass from"))
    failed_provider_rule = SelectField(
        _l("Next year, a provider graded fail or whose contract was terminated is"),
        choices=lambda: choices(
            [("exclude", _l("excluded from the selection")), ("flag", _l("flagged, not excluded"))]
        ),
        validators=[Optional()],
        validate_choice=False,  # the service names a wrong value
    )
    acceptance_threshold = StringField(
        _l(
            "Acceptance threshold: delivered share, in percent, below which a passed conclusion is explained"  # noqa: E501 (one message)
        )
    )
    min_visit_minutes = StringField(_l("Shortest plausible visit (minutes)"))
    max_visit_minutes = StringField(_l("Longest plausible visit (minutes)"))
    notes = TextAreaField(_l("Notes"))
    settlement_platform = StringField(_l("Platform the service records must match"))
    settlement_platform_source = StringField(_l("Source of the platform"))
    settlement_period = SelectField(
        _l("Settlement period"),
        choices=lambda: choices([("", _l("To be agreed")), ("月", "按月"), ("季度", "按季度")]),
        default="",
        validate_choice=False,  # the service names a wrong value
    )
    settlement_period_source = StringField(_l("Source of the settlement period"))
    records_deadline = StringField(_l("Deadline for handing in the period's service records"))
    records_deadline_source = StringField(_l("Source of the deadline"))
    sanction_clauses = TextAreaField(
        _l("Grounds for a talk, rectification or suspended settlement (one a line)")
    )
    sanction_clauses_source = StringField(_l("Source of these grounds"))
    termination_clauses = TextAreaField(_l("Grounds for terminating the contract (one a line)"))
    termination_clauses_source = StringField(_l("Source of these grounds"))

    SIMPLE_FIELDS = (
        "name",
        "source_document",
        "entitlement_model",
        "hours_per_month",
        "hourly_rate_cap",
        "visits_per_year",
        "unit_price_per_visit",
        "visits_must_be_split",
        "exclude_long_term_care",
        "requires_residence",
        "requires_assessment",
        "failed_provider_rule",
        "acceptance_threshold",
        "qualification_lookback_years",
        "major_fine_threshold",
        "min_visit_minutes",
        "max_visit_minutes",
        "notes",
        "settlement_platform",
        "settlement_platform_source",
        "settlement_period",
        "settlement_period_source",
        "records_deadline",
        "records_deadline_source",
        "sanction_clauses",
        "sanction_clauses_source",
        "termination_clauses",
        "termination_clauses_source",
    )
    CLAUSE_FIELDS = ("sanction_clauses", "termination_clauses")

    def values(self) -> dict:
        """The form's input as the plain values the service takes."""
        values = {name: getattr(self, name).data for name in self.SIMPLE_FIELDS}
        values["eligibility_rules"] = [
            {
                "category": row.category.data,
                "min_age": row.min_age.data,
                "min_capability_level": row.min_capability_level.data or None,
            }
            for row in self.eligibility_rules
            if row.category.data
        ]
        values["evaluation_weights"] = [
            {"party": party.value, "weight": getattr(self, f"weight_{party.value}").data}
            for party in EvaluationParty
        ]
        values["grade_thresholds"] = {
            grade: getattr(self, f"grade_{grade}").data for grade in ("excellent", "good", "pass")
        }
        return values

    def fill(self, profile) -> None:
        """Show an existing profile's values."""
        for name in self.SIMPLE_FIELDS:
            value = getattr(profile, name)
            if name in self.CLAUSE_FIELDS:
                value = "\n".join(value or [])
            getattr(self, name).data = value.value if hasattr(value, "value") else value
        while len(self.eligibility_rules.entries):
            self.eligibility_rules.pop_entry()
        rules = list(profile.eligibility_rules)
        for index in range(max(RULE_ROWS, len(rules) + 1)):
            rule = rules[index] if index < len(rules) else {}
            level = rule.get("min_capability_level")
            self.eligibility_rules.append_entry(
                {
                    "category": rule.get("category", ""),
                    "min_age": rule.get("min_age", ""),
                    "min_capability_level": "" if level is None else str(level),
                }
            )
        weights = {w["party"]: w["weight"] for w in profile.evaluation_weights}
        for party in EvaluationParty:
            getattr(self, f"weight_{party.value}").data = weights.get(party.value, 0)
        for grade, value in profile.grade_thresholds.items():
            getattr(self, f"grade_{grade}").data = value

    def place_errors(self, fields: dict[str, list[str]]) -> list[str]:
        """Put service errors on the matching inputs; return those with no input."""
        leftover = []
        for key, messages in fields.items():
            target = self._field_for(key)
            if target is None:
                leftover.extend(messages)
            else:
                target.errors = [*list(target.errors or []), *messages]
        return leftover

    def _field_for(self, key: str):
        parts = key.split(".")
        if parts[0] == "eligibility_rules" and len(parts) == 3:
            filled = [row for row in self.eligibility_rules if row.category.data]
            index = int(parts[1])
            return getattr(filled[index], parts[2], None) if index < len(filled) else None
        if parts[0] == "evaluation_weights":
            if len(parts) == 1:
                return self.weight_buyer
            party = list(EvaluationParty)[int(parts[1])]
            return getattr(self, f"weight_{party.value}")
        if parts[0] == "grade_thresholds":
            return getattr(self, f"grade_{parts[1]}", None) if len(parts) == 2 else self.grade_pass
        if len(parts) == 1:
            field = getattr(self, key, None)
            return field if hasattr(field, "errors") else None
        return None
