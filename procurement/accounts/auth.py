"""Who is asking: sessions for pages, bearer tokens for the API; then actor and scope.

``init_auth`` installs one ``before_request`` hook that identifies the user, sets the
audit actor and activates the user's region scope for the rest of the request, so
no view has to remember to do either.
"""

from __future__ import annotations

import logging
from functools import wraps

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy.exc import SQLAlchemyError

from procurement.accounts.models import User
from procurement.accounts.services import touch_token, user_for_token
from procurement.core.audit import Actor, set_actor
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.errors import PermissionDenied, Unauthorized
from procurement.core.scoping import activate_scope
from procurement.extensions import login_manager

log = logging.getLogger(__name__)

# Reachable without logging in; everything else needs a user (and then a permission).
PUBLIC_ENDPOINTS = {"static", "accounts.login", "dashboard.healthz", "api.openapi", "set_language"}
PUBLIC_BLUEPRINTS = {"public"}


def init_auth(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"
    app.before_request(_identify)
    app.teardown_request(_after_api_request)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    ident, _sep, secret = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or user.session_secret != secret:
        return None
    return user


def _client_ip() -> str | None:
    return request.remote_addr


def _is_public(endpoint: str | None) -> bool:
    if endpoint is None:
        return True  # no such route: let it answer 404
    blueprint = endpoint.partition(".")[0]
    return endpoint in PUBLIC_ENDPOINTS or blueprint in PUBLIC_BLUEPRINTS


def _identify():
    """Resolve the user, the audit actor and the region scope for this request."""
    is_api = request.path.startswith("/api/")
    user = _bearer_user() if is_api else _session_user()
    g.user = user
    if user is None:
        if _is_public(request.endpoint):
            return None
        if is_api:
            raise Unauthorized(_("A valid API token is required (Authorization: Bearer)."))
        if session.pop("expired", None):
            flash(_("Your session has expired. Please log in again."), "warning")
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        return login_manager.unauthorized()
    channel = "api" if is_api else "web"
    set_actor(Actor(user.id, user.username, channel, user.region_code, _client_ip()))
    activate_scope(user.region.scope)
    return None


def _session_user() -> User | None:
    if not current_user.is_authenticated:
        return None
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    now = utcnow().timestamp()
    last_seen = session.get("last_seen", now)
    if now - last_seen > idle:
        logout_user()
        session.clear()
        session["expired"] = True
        return None
    session["last_seen"] = now
    return current_user._get_current_object()


def _bearer_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return user_for_token(secret.strip())


def _after_api_request(error) -> None:
    """Once the response is made and the request's session is closed, note the token use."""
    token_id = g.pop("touch_token_id", None)
    if token_id is not None and error is None:
        db.session.remove()
        try:
            touch_token(token_id)
        except SQLAlchemyError:  # the database failed during the request: the answer stands
            log.warning("could not note the use of API token %s", token_id)


def permission_required(permission: str):
    """Let the request through only for a logged-in user whose role holds ``permission``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = g.get("user")
            if user is None:  # only on a public endpoint that also checks a permission
                raise Unauthorized()
            if not user.can(permission):
                raise PermissionDenied()
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorator
