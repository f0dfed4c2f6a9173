"""Small helpers shared by the WTForms of every feature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect
from flask_wtf import FlaskForm, i18n
from wtforms import Form
from wtforms.fields.choices import SelectChoice

from procurement.core.db import db
from procurement.core.errors import DomainError


class SubForm(Form):
    """A nested form (FieldList of FormField) that speaks the user's language like FlaskForm."""

    class Meta:
        def get_translations(self, form):
            return i18n.translations


class ActionForm(FlaskForm):
    """A form with no fields: a POST button carrying only the CSRF token."""


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's error next to the fields it names; anything else goes to a flash."""
    place_errors = getattr(form, "place_errors", None)  # a form that finds nested fields
    if place_errors is not None:
        for message in place_errors(error.fields) or [error.message]:
            flash(message, "error")
        return
    placed = False
    aliases = getattr(form, "field_aliases", {})  # a service's field -> the form's own
    for name, messages in error.fields.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), *messages]
            placed = True
    if not placed:
        flash(error.message, "error")


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


def filter_args(form: FlaskForm) -> dict[str, str]:
    """The filter form's own values, to carry into the pager's links (nothing else)."""
    return {
        name: str(field.data)
        for name, field in form._fields.items()
        if field.data not in (None, "", False) and name != "csrf_token"
    }


def flash_refusal(error: DomainError) -> None:
    """A service's refusal as flashes: its message, then any field's message not yet said."""
    flash(error.message, "error")
    said = {error.message}
    for messages in error.fields.values():
        for message in messages:
            if message not in said:
                said.add(message)
                flash(message, "error")


@dataclass(frozen=True)
class Outcome:
    """What ``run_action`` did: the service's result, or the error it refused with."""

    result: Any = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_action(
    action: Callable[[], Any],
    *,
    success: str | Callable[[Any], str] | None = None,
    form: FlaskForm | None = None,
    show_refusal: bool = True,
) -> Outcome:
    """Run the one service call of a request: commit it and flash ``success`` (a message,
    or a function of what the service returned); or roll everything back and show the
    service's refusal, next to the fields of ``form`` if given, else as flashes (unless
    ``show_refusal`` is false: the caller renders ``outcome.error`` itself)."""
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        if form is not None:
            show_domain_error(form, error)
        elif show_refusal:
            flash_refusal(error)
        return Outcome(error=error)
    db.session.commit()
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return Outcome(result=result)


def save_form(
    form: FlaskForm,
    action: Callable[[], Any],
    *,
    success: str | Callable[[Any], str],
    next_url: str | Callable[[Any], str],
):
    """Run the service behind a submitted form: commit, flash and redirect; or put the
    service's refusal next to the fields and answer 422. Returns (redirect or None, status).

    ``success`` and ``next_url`` are a message and a URL, or functions of what the action
    returned (a new record's name and page)."""
    if not form.validate_on_submit():
        return None, 422 if form.is_submitted() else 200
    done = run_action(action, success=success, form=form)
    if not done.ok:
        return None, 422
    return redirect(next_url(done.result) if callable(next_url) else next_url), 302
