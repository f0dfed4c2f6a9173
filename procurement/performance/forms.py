"""Acceptance and evaluation forms: shape only; the rules live in
procurement.performance.acceptance and procurement.performance.evaluation."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from procurement.core.forms import SubForm, choices
from procurement.performance.acceptance import FINDING_KINDS, MAX_ROWS, AcceptanceInput
from procurement.performance.common import SHORT_LIMIT, TEXT_LIMIT
from procurement.performance.evaluation import SURVEY_KEYS, ScoreInput, party_indicators
from procurement.performance.models import Acceptance, Conclusion, Evaluation
from procurement.policies.models import EvaluationParty

FINDING_ROWS = 4
TEAM_ROWS = 5
COUNT = [Optional(), NumberRange(min=0)]


class DottedErrors:
    """Lets ``show_domain_error`` put a service's ``findings.2.description`` (or
    ``scores.<code>``) next to the subfield it names."""

    aliases: dict[str, str] = {}

    def __getattr__(self, name: str):
        if "." not in name:
            raise AttributeError(name)
        current = self
        parts = name.split(".")
        if parts[0] in ("scores", "survey") and len(parts) == 2:
            parts = [self.aliases.get(parts[1], parts[1])]
        for part in parts:
            if isinstance(current, FieldList):
                index = int(part) if part.isdecimal() else len(current.entries)
                current = current.entries[index] if index < len(current.entries) else None
            else:
                form = current.form if isinstance(current, FormField) else current
                current = form._fields.get(part)
            if current is None:
                raise AttributeError(name)
        return current.form if isinstance(current, FormField) else current


def _blank_and(pairs):
    """Choices built when the form is made, so that labels follow the user's language."""
    return lambda: choices([("", "—"), *pairs()])


class FindingForm(SubForm):
    kind = SelectField(_l("Kind"), choices=_blank_and(FINDING_KINDS.items), validate_choice=False)
    date = DateField(_l("Date"), validators=[Optional()])
    description = TextAreaField(
        _l("What was checked and found"), validators=[Length(max=TEXT_LIMIT)]
    )
    result = TextAreaField(_l("Result or follow-up"), validators=[Length(max=TEXT_LIMIT)])


class MemberForm(SubForm):
    name = StringField(_l("Member"), validators=[Length(max=SHORT_LIMIT)])
    role = StringField(_l("Organisation and position"), validators=[Length(max=SHORT_LIMIT)])


class AcceptanceForm(DottedErrors, FlaskForm):
    lock_version = HiddenField()
    final = SelectField(
        _l("Acceptance"),
        choices=lambda: choices(
            [("final", _l("Final: the whole service period")), ("stage", _l("Stage of the period"))]
        ),
    )
    period_start = DateField(_l("Period from"), validators=[InputRequired()])
    period_end = DateField(_l("Period to"), validators=[InputRequired()])
    accepted_on = DateField(_l("Accepted on"), validators=[InputRequired()])
    findings = FieldList(FormField(FindingForm), min_entries=FINDING_ROWS, max_entries=MAX_ROWS)
    recipients_invited = IntegerField(_l("Recipients invited"), validators=COUNT)
    recipients_answered = IntegerField(_l("Recipients who gave their opinion"), validators=COUNT)
    recipients_satisfied = IntegerField(_l("Of whom satisfied"), validators=COUNT)
    opinion_summary = TextAreaField(
        _l("Summary of the recipients' opinions"), validators=[Length(max=TEXT_LIMIT)]
    )
    conclusion = SelectField(
        _l("Conclusion"),
        choices=_blank_and(lambda: [(c.value, c.label) for c in Conclusion]),
        validate_choice=False,
    )
    conclusion_text = TextAreaField(
        _l("Reasons for the conclusion"), validators=[Length(max=TEXT_LIMIT)]
    )
    explanation = TextAreaField(
        _l("Explanation of a passed conclusion"),
        description=_l(
            "Needed when delivery is under the policy profile's threshold, flagged records "
            "await review, or the evaluation failed the contract; printed on the certificate."
        ),
        validators=[Length(max=TEXT_LIMIT)],
    )
    team = FieldList(FormField(MemberForm), min_entries=TEAM_ROWS, max_entries=MAX_ROWS)

    def fill(self, acceptance: Acceptance) -> None:
        """Show a saved draft's values (GET)."""
        self.lock_version.data = acceptance.lock_version
        self.final.data = "final" if acceptance.final else "stage"
        self.period_start.data, self.period_end.data = (
            acceptance.period_start,
            acceptance.period_end,
        )
        self.accepted_on.data = acceptance.accepted_on
        self.recipients_invited.data = acceptance.recipients_invited
        self.recipients_answered.data = acceptance.recipients_answered
        self.recipients_satisfied.data = acceptance.recipients_satisfied
        self.opinion_summary.data = acceptance.opinion_summary
        self.conclusion.data = acceptance.conclusion.value if acceptance.conclusion else ""
        self.conclusion_text.data = acceptance.conclusion_text
        self.explanation.data = acceptance.explanation
        findings = [
            {**row, "date": date.fromisoformat(row["date"]) if row.get("date") else None}
            for row in acceptance.findings
        ]
        for rows, saved in ((self.findings, findings), (self.team, acceptance.team)):
            while len(rows) < len(saved) + 1:
                rows.append_entry()
            for entry, values in zip(rows, saved, strict=False):
                entry.form.process(None, data=values)

    def acceptance_input(self) -> AcceptanceInput:
        return AcceptanceInput(
            final=self.final.data != "stage",
            period_start=self.period_start.data,
            period_end=self.period_end.data,
            accepted_on=self.accepted_on.data,
            findings=[entry.form.data for entry in self.findings],
            recipients_invited=self.recipients_invited.data,
            recipients_answered=self.recipients_answered.data,
            recipients_satisfied=self.recipients_satisfied.data,
            opinion_summary=self.opinion_summary.data,
            conclusion=self.conclusion.data,
            conclusion_text=self.conclusion_text.data,
            explanation=self.explanation.data or "",
            team=[entry.form.data for entry in self.team],
        )

    def version(self) -> int | None:
        """The version of the draft the user edited (a newer one is refused as stale)."""
        raw = str(self.lock_version.data or "").strip()
        return int(raw) if raw.isdecimal() else None


CONFLICT = {"no": False, "yes": True}


class ScoreForm(DottedErrors, FlaskForm):
    """One party's entry; the indicator (or survey) fields are added per evaluation."""

    evaluator_name = StringField(_l("Evaluator's name"), validators=[Length(max=SHORT_LIMIT)])
    evaluator_organisation = StringField(_l("Organisation"), validators=[Length(max=200)])
    conflict_of_interest = SelectField(
        _l("Conflict of interest with the provider"),
        choices=_blank_and(
            lambda: [
                ("no", _l("I declare that I have no conflict of interest with the provider")),
                ("yes", _l("I have a conflict of interest with the provider")),
            ]
        ),
        validate_choice=False,
    )
    declaration = TextAreaField(
        _l("Further declaration (optional)"), validators=[Length(max=TEXT_LIMIT)]
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=TEXT_LIMIT)])

    party: str = ""
    indicator_fields: list = []

    def score_input(self) -> ScoreInput:
        survey = None
        if self.party == EvaluationParty.RECIPIENTS.value:
            survey = {key: self[key].data for key in SURVEY_KEYS}
        return ScoreInput(
            party=self.party,
            evaluator_name=self.evaluator_name.data,
            evaluator_organisation=self.evaluator_organisation.data,
            conflict_of_interest=CONFLICT.get(self.conflict_of_interest.data),
            declaration=self.declaration.data,
            scores={indicator["code"]: field.data for indicator, field in self.indicator_fields},
            survey=survey,
            note=self.note.data,
        )


SURVEY_LABELS = {
    "very_satisfied": _l("Very satisfied (非常满意)"),
    "satisfied": _l("Satisfied (满意)"),
    "basic": _l("Basically satisfied (基本满意)"),
    "unsatisfied": _l("Unsatisfied (不满意)"),
}


def score_form(evaluation: Evaluation, party: str, **kwargs) -> ScoreForm:
    """The entry form of one party of this evaluation (fields prefixed with the party)."""
    fields: dict = {"party": party}
    indicators = party_indicators(evaluation, party)
    if party == EvaluationParty.RECIPIENTS.value:
        for key in SURVEY_KEYS:
            fields[key] = IntegerField(SURVEY_LABELS[key], validators=COUNT)
        fields["file"] = FileField(_l("Or import the survey (.xlsx, one answer per row in 满意度)"))
        names = []
    else:
        names = [f"indicator_{index}" for index in range(len(indicators))]
        for name, indicator in zip(names, indicators, strict=True):
            label = f"{indicator['name']}（0–{indicator['max']}）"
            fields[name] = StringField(label, validators=[Length(max=12)])
    form_class = type("PartyScoreForm", (ScoreForm,), fields)
    form = form_class(prefix=party, **kwargs)
    form.indicator_fields = [(i, form[name]) for i, name in zip(indicators, names, strict=False)]
    form.aliases = {i["code"]: name for i, name in zip(indicators, names, strict=False)}
    return form


class IndexFilterForm(FlaskForm):
    class Meta:
        csrf = False

    plan = SelectField(_l("Plan"), validators=[Optional()], validate_choice=False)
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(min=2000, max=2100)])
