from datetime import timedelta

import sqlalchemy as sa

from procurement.accounts.models import LoginAttempt
from procurement.core import clock
from procurement.core.audit import AuditEvent
from procurement.core.db import db
from tests.conftest import PASSWORD


def _failed_login(client, username, password="wrong-password"):  # noqa: S107
    return client.post("/login", {"username": username, "password": password})


def test_wrong_password_and_unknown_user_get_the_same_generic_message(client, make_user):
    make_user("officer")
    wrong = _failed_login(client, "officer")
    unknown = _failed_login(client, "nobody")
    assert wrong.status_code == unknown.status_code == 401
    message = "用户名或密码错误"
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_repeated_failures_lock_the_name_even_with_the_right_password(client, app, make_user):
    make_user("officer")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _failed_login(client, "officer")
    locked = _failed_login(client, "officer", PASSWORD)
    assert locked.status_code == 401
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    # The same answer for a name that does not exist: no account enumeration.
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _failed_login(client, "ghost")
    assert "登录失败次数过多" in _failed_login(client, "ghost").get_data(as_text=True)
    with app.app_context():
        failures = db.session.scalar(
            sa.select(sa.func.count(LoginAttempt.id)).where(LoginAttempt.succeeded.is_(False))
        )
        assert failures >= 2 * app.config["LOGIN_MAX_FAILURES"]


def test_the_lock_lifts_after_the_window(client, app, make_user):
    make_user("officer")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _failed_login(client, "officer")
    later = clock.utcnow() + timedelta(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"] + 1)
    clock.pin(later)
    try:
        assert (
            client.post("/login", {"username": "officer", "password": PASSWORD}).status_code == 302
        )
    finally:
        clock.pin(None)


def test_login_is_audited_and_starts_a_fresh_session(client, app, make_user):
    make_user("officer")
    client.get("/login")
    before = client.http.get_cookie("procurement_session")
    client.login("officer")
    after = client.http.get_cookie("procurement_session")
    assert before is None or before.value != after.value
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "login" in actions


def test_login_never_redirects_off_site(client, make_user):
    make_user("officer")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(
            "/login?next=x", {"username": "officer", "password": PASSWORD, "next": target}
        )
        assert response.location == "/"
        client.logout()
    response = client.post(
        "/login", {"username": "officer", "password": PASSWORD, "next": "/policies/"}
    )
    assert response.location == "/policies/"


def test_logout_needs_a_post_with_csrf(client, make_user):
    make_user("officer")
    client.login("officer")
    assert client.get("/logout").status_code == 405
    assert client.http.post("/logout").status_code == 400  # forged: no CSRF token
    assert client.get("/").status_code == 200
    response = client.logout()
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_forged_post_without_csrf_token_is_refused_and_changes_nothing(client, app, make_user):
    make_user("root", role="admin")
    client.login("root")
    response = client.http.post(
        "/admin/users/new",
        data={
            "username": "forged",
            "display_name": "x",
            "role": "admin",
            "region_code": "140522",
            "password": "Secret-123",
        },
    )
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    with app.app_context():
        from procurement.accounts.models import User

        assert db.session.scalar(sa.select(User).where(User.username == "forged")) is None


def test_an_idle_session_leads_back_to_the_login_page(client, app, make_user):
    make_user("officer")
    client.login("officer")
    clock.pin(clock.utcnow() + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    try:
        response = client.get("/policies/")
    finally:
        clock.pin(None)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=/policies/")
    page = client.get(response.location).get_data(as_text=True)
    assert "会话已过期" in page


def test_deactivating_an_account_ends_its_sessions(client, app, make_user):
    make_user("root", role="admin")
    target = make_user("officer")
    other = app.test_client()
    from tests.conftest import Client

    victim = Client(app)
    victim.http = other
    victim.login("officer")
    assert victim.get("/").status_code == 200
    client.login("root")
    assert (
        client.post(f"/admin/users/{target}/active", page=f"/admin/users/{target}").status_code
        == 302
    )
    assert victim.get("/").status_code == 302
    refused = victim.post("/login", {"username": "officer", "password": PASSWORD})
    assert "已停用" in refused.get_data(as_text=True)


def test_changing_ones_password_keeps_this_session_and_ends_others(client, app, make_user):
    from tests.conftest import Client

    make_user("officer")
    other = Client(app)
    other.login("officer")
    client.login("officer")
    response = client.post(
        "/account/password",
        {"current": PASSWORD, "password": "New-pass-2026", "confirm": "New-pass-2026"},
        page="/account",
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    client.logout()
    client.login("officer", "New-pass-2026")


def test_weak_or_mismatched_new_password_is_refused_next_to_the_field(client, make_user):
    make_user("officer")
    client.login("officer")
    response = client.post(
        "/account/password",
        {"current": PASSWORD, "password": "short", "confirm": "short"},
        page="/account",
    )
    assert response.status_code == 422
    assert "至少" in response.get_data(as_text=True)
    response = client.post(
        "/account/password",
        {"current": PASSWORD, "password": "Long-enough-1", "confirm": "Other-pass-1"},
        page="/account",
    )
    assert response.status_code == 422


def test_a_new_api_token_is_shown_once_and_never_put_in_the_cookie(client, app, make_user):
    from flask.sessions import SecureCookieSessionInterface

    make_user("officer")
    client.login("officer")
    response = client.post("/account/tokens", {"name": "平台对接"}, page="/account")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    token = page.split('data-test="new-token">', 1)[1].split("<", 1)[0]
    assert token.startswith("ycp_")
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    cookie = client.http.get_cookie("procurement_session")
    assert token not in str(serializer.loads(cookie.value))
    assert token not in client.get("/account").get_data(as_text=True)
