"""Login, logout, one's own account, and the administrators' user pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash

from procurement.accounts import services
from procurement.accounts.auth import permission_required
from procurement.accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    TokenForm,
    UserCreateForm,
    UserFilterForm,
    UserForm,
)
from procurement.accounts.models import ApiToken, User
from procurement.audit.queries import history_of
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.forms import ActionForm, filter_args, run_action, save_form
from procurement.regions.forms import administrable_region_choices

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.get("user") is not None:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.username.data, form.password.data, ip=request.remote_addr
            )
        except services.LoginRefused as refused:
            db.session.commit()  # keep the failed attempt: it feeds the throttle
            flash(refused.message, "error")
            return render_template("accounts/login.html", form=form), 401
        db.session.commit()
        session.clear()  # a fresh session at login: no fixation
        login_user(user)
        session.permanent = True
        session["last_seen"] = utcnow().timestamp()
        if user.locale:
            session["locale"] = user.locale
        return redirect(_safe_next(form.next.data))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@permission_required("dashboard.view")
def logout():
    if not ActionForm().validate_on_submit():
        abort(400)
    services.end_sessions(g.user)  # a copy of the cookie is worth nothing from now on
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


def _account_page(password_form=None, new_token=None, status=200):
    user = g.user
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template(
        "accounts/account.html",
        user=user,
        tokens=tokens,
        password_form=password_form or PasswordChangeForm(),
        token_form=TokenForm(),
        new_token=new_token,
    ), status


@bp.route("/account")
@permission_required("dashboard.view")
def account():
    return _account_page()


@bp.post("/account/password")
@permission_required("dashboard.view")
def change_password():
    form = PasswordChangeForm()
    user = g.user
    if form.validate_on_submit():
        if not check_password_hash(user.password_hash, form.current.data):
            form.current.errors = [_("The current password is wrong.")]
        else:
            done = run_action(
                lambda: services.set_password(user, form.password.data),
                success=_("Your password was changed. Other sessions were logged out."),
                form=form,
            )
            if done.ok:
                login_user(user)  # the session secret rotated: keep this session only
                session["last_seen"] = utcnow().timestamp()
                return redirect(url_for("accounts.account"))
    return _account_page(password_form=form, status=422)


@bp.post("/account/tokens")
@permission_required("dashboard.view")
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        flash(_("Give the token a name."), "error")
        return redirect(url_for("accounts.account"))
    _token, secret = services.issue_token(g.user, form.name.data)
    db.session.commit()
    # Shown in this response only: never in a cookie, never again.
    flash(_("Copy the new token now: it will not be shown again."), "warning")
    return _account_page(new_token=secret)


@bp.post("/account/tokens/<int:token_id>/revoke")
@permission_required("dashboard.view")
def revoke_own_token(token_id: int):
    token = db.get_or_404(ApiToken, token_id)
    if token.user_id != g.user.id or not ActionForm().validate_on_submit():
        abort(404 if token.user_id != g.user.id else 400)
    services.revoke_token(token)
    db.session.commit()
    flash(_("The token was revoked."), "success")
    return redirect(url_for("accounts.account"))


# ------------------------------------------------------------------ administrators


@bp.route("/admin/users")
@permission_required("users.view")
def users():
    filters = UserFilterForm(request.args)
    stmt = select(User).order_by(User.region_code, User.username)
    if filters.q.data:
        text = filters.q.data.strip()
        stmt = stmt.where(
            or_(  # % and _ are searched for as typed
                User.username.icontains(text, autoescape=True),
                User.display_name.icontains(text, autoescape=True),
            )
        )
    if filters.role.data:
        stmt = stmt.where(User.role == filters.role.data)
    if not filters.inactive.data:
        stmt = stmt.where(User.active.is_(True))
    page = db.paginate(stmt, per_page=50, error_out=False)
    args = filter_args(filters)
    return render_template("accounts/users.html", page=page, filters=filters, args=args)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@permission_required("users.manage")
def new_user():
    form = UserCreateForm()
    form.region_code.choices = administrable_region_choices()
    done, status = save_form(
        form,
        lambda: services.create_user(
            username=form.username.data,
            display_name=form.display_name.data,
            role=form.role.data,
            region_code=form.region_code.data,
            password=form.password.data,
        ),
        success=lambda user: _("User %(name)s was created.", name=user.username),
        next_url=lambda user: url_for("accounts.edit_user", user_id=user.id),
    )
    return done or (render_template("accounts/user_new.html", form=form), status)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("users.view")
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.region_code.choices = administrable_region_choices()
    if request.method == "POST":
        if not g.user.can("users.manage"):
            abort(403)
        done, _status = save_form(
            form,
            lambda: services.update_user(
                user,
                display_name=form.display_name.data,
                role=form.role.data,
                region_code=form.region_code.data,
            ),
            success=_("The changes were saved."),
            next_url=url_for("accounts.edit_user", user_id=user.id),
        )
        if done:
            return done
    elif user.role:
        form.role.data = user.role.value
    return render_template(
        "accounts/user_edit.html",
        user=user,
        user_history=history_of(user),
        form=form,
        reset_form=PasswordResetForm(),
    ), (422 if form.errors else 200)


@bp.post("/admin/users/<int:user_id>/password")
@permission_required("users.manage")
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        run_action(
            lambda: services.set_password(user, form.password.data),
            success=_("The password was reset; the user's sessions were ended."),
        )
    else:
        flash(_("Enter the new password."), "error")
    return redirect(url_for("accounts.edit_user", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/active")
@permission_required("users.manage")
def toggle_active(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    run_action(
        lambda: services.set_active(user, not user.active, actor=g.user),
        success=lambda _result: (
            _("The account was reactivated.")
            if user.active
            else _("The account was deactivated; its sessions and tokens no longer work.")
        ),
    )
    return redirect(url_for("accounts.edit_user", user_id=user.id))


@bp.post("/admin/tokens/<int:token_id>/revoke")
@permission_required("users.manage")
def revoke_token(token_id: int):
    token = db.get_or_404(ApiToken, token_id)
    # Tokens are not region-scoped themselves: reach them through their scoped user.
    owner = db.get_or_404(User, token.user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.revoke_token(token)
    db.session.commit()
    flash(_("The token was revoked."), "success")
    return redirect(url_for("accounts.edit_user", user_id=owner.id))
