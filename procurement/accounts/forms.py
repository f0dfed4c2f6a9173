"""Account forms: shape only; the rules live in accounts.services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from procurement.accounts.roles import Role
from procurement.core.forms import choices


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[InputRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)])
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[InputRequired()])
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[InputRequired(), Length(max=60)])


def _role_choices():
    return choices((role.value, role.label) for role in Role)


class UserForm(FlaskForm):
    display_name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=60)])
    role = SelectField(_l("Role"), choices=_role_choices, validators=[InputRequired()])
    region_code = SelectField(_l("Region"), validators=[InputRequired()])


class UserCreateForm(UserForm):
    username = StringField(_l("User name"), validators=[InputRequired(), Length(min=3, max=40)])
    password = PasswordField(_l("Initial password"), validators=[InputRequired()])


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=200)])


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name"))
    role = SelectField(
        _l("Role"), choices=lambda: [*choices([("", _l("All roles"))]), *_role_choices()]
    )
    inactive = BooleanField(_l("Include deactivated"))
