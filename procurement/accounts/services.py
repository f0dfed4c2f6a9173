"""Accounts: creating users, passwords, login with throttling, API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from procurement.accounts.models import (
    TOKEN_PREFIX,
    ApiToken,
    LoginAttempt,
    User,
    hash_token,
    new_secret,
)
from procurement.accounts.roles import Role
from procurement.core import audit
from procurement.core.clock import utcnow
from procurement.core.db import db, lock_wait
from procurement.core.errors import Conflict, DomainError, NotFound, ValidationError
from procurement.regions.models import USER_LEVELS
from procurement.regions.services import get_region

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,39}$")
_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """Checked against when the user name is unknown, so that both cases take as long."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


class LoginRefused(DomainError):
    status = 401
    code = "login_refused"


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def validate_password(password: str, *, field: str = "password") -> None:
    """Passwords need a minimum length and more than one kind of character."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if not password or len(password) < minimum:
        raise ValidationError(
            _("The password must have at least %(n)d characters.", n=minimum), field=field
        )
    kinds = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if kinds < 2:
        raise ValidationError(
            _("The password must mix at least two of: lower case, upper case, digits, symbols."),
            field=field,
        )


def _validate_role_and_region(role: str, region_code: str):
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(_("Unknown role %(role)s.", role=role), field="role") from None
    region = get_region(region_code)
    if region.level not in USER_LEVELS:
        raise ValidationError(
            _("Users belong to a province, prefecture or county, not a township."),
            field="region_code",
        )
    return role, region


def create_user(
    *,
    username: str,
    display_name: str,
    role: str,
    region_code: str,
    password: str,
) -> User:
    """Create an account scoped to a region; the name must be new."""
    username = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise ValidationError(
            _("User names have 3-40 lower-case letters, digits, '.', '_' or '-'."),
            field="username",
        )
    role, region = _validate_role_and_region(role, region_code)
    validate_password(password)
    exists = db.session.scalar(
        select(User.id).where(User.username == username).execution_options(unscoped=True)
    )
    if exists:
        raise Conflict(_("The user name %(name)s is taken.", name=username), field="username")
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:60],
        role=role,
        region_code=region.code,
        password_hash=_hash(password),
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, display_name: str, role: str, region_code: str) -> User:
    """Change a user's name, role or region."""
    role, region = _validate_role_and_region(role, region_code)
    user.display_name = display_name.strip()[:60] or user.username
    user.role, user.region_code = role, region.code
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Set a new password; every open session and every API token of the user ends (a
    token issued under a password that leaked must not outlive it)."""
    validate_password(password)
    user.password_hash = _hash(password)
    user.password_changed_at = utcnow()
    user.session_secret = new_secret()
    audit.label(user, "password_reset")
    revoke_tokens(user)
    db.session.flush()


def end_sessions(user: User) -> None:
    """Log out: every session cookie issued to the user stops working, even one that was
    copied before (the cookie names the session secret, which changes here)."""
    user.session_secret = new_secret()
    audit.label(user, "logout")
    db.session.flush()


def set_active(user: User, active: bool, *, actor: User | None) -> None:
    """Deactivate (sessions end and tokens are revoked at once) or reactivate an account;
    reactivation revives no token (those of a deactivated account are revoked too, should
    one have been left from before tokens were revoked on deactivation)."""
    if actor is not None and actor.id == user.id and not active:
        raise ValidationError(_("You cannot deactivate your own account."), field="active")
    if user.active == active:
        return
    user.active = active
    user.session_secret = new_secret()
    audit.label(user, "activate" if active else "deactivate")
    revoke_tokens(user)
    db.session.flush()


def find_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(_("No user named %(name)s.", name=username), field="username")
    return user


def _recent_failures(column, value: str) -> int:
    window = timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])
    since = utcnow() - window
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            column == value, LoginAttempt.succeeded.is_(True)
        )
    )
    if last_success and last_success > since:
        since = last_success
    return db.session.scalar(
        select(func.count(LoginAttempt.id)).where(
            column == value,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at > since,
        )
    )


def authenticate(username: str, password: str, *, ip: str | None) -> User:
    """Check a login; refuse with one generic message, and throttle repeated failures."""
    key = (username or "").strip().lower()[:80]
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if _recent_failures(LoginAttempt.username, key) >= limit or (
        ip and _recent_failures(LoginAttempt.ip, ip) >= 4 * limit
    ):
        raise LoginRefused(
            _(
                "Too many failed logins. Please try again in %(n)d minutes.",
                n=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"],
            ),
            code="login_throttled",
        )
    user = db.session.scalar(
        select(User).where(User.username == key).execution_options(unscoped=True)
    )
    valid = check_password_hash(user.password_hash if user else _dummy_hash(), password or "")
    db.session.add(LoginAttempt(username=key, ip=ip, attempted_at=utcnow(), succeeded=valid))
    if not valid or user is None:
        db.session.flush()
        raise LoginRefused(_("Wrong user name or password."))
    if not user.active:
        db.session.flush()
        raise LoginRefused(
            _("This account is deactivated. Please contact your administrator."),
            code="account_inactive",
        )
    user.last_login_at = utcnow()
    audit.label(user, "login")
    db.session.flush()
    return user


def issue_token(user: User, name: str = "api") -> tuple[ApiToken, str]:
    """A new API token for ``user``; the secret is returned once and stored only hashed."""
    secret = TOKEN_PREFIX + new_secret()
    token = ApiToken(
        user=user, name=(name or "api")[:60], token_hash=hash_token(secret), hint=secret[:10]
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_token(token: ApiToken) -> None:
    """Revoke a token; requests carrying it are refused from now on."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.label(token, "revoke")
        db.session.flush()


def revoke_tokens(user: User) -> int:
    """Revoke every token of ``user`` still in force; how many were."""
    alive = [token for token in user.tokens if not token.is_revoked]
    for token in alive:
        revoke_token(token)
    return len(alive)


def user_for_token(secret: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.is_revoked or not token.user.active:
        return None
    if token.last_used_at is None or utcnow() - token.last_used_at > timedelta(minutes=5):
        g.touch_token_id = token.id  # written after the response: see touch_token()
    return token.user


# A token's use is noted at most this long after another transaction's lock: while a job
# writes (an import holds SQLite's write lock), the answer is not held back for it; the
# use is noted by a later request.
TOKEN_TOUCH_WAIT_MS = 100


def touch_token(token_id: int) -> None:
    """Note when a token was last used, in a short transaction of its own (coarse, so
    that reads do not write on every request)."""
    with db.engine.begin() as connection, lock_wait(connection, TOKEN_TOUCH_WAIT_MS):
        connection.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
        )
