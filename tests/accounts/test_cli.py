import json

import sqlalchemy as sa

from procurement.accounts.models import User
from procurement.core.audit import AuditEvent
from procurement.core.db import db


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_users_create_then_token_works_against_the_api(app, api):
    result = _run(
        app,
        "users",
        "create",
        "wang",
        "--role",
        "finance",
        "--region",
        "140522",
        "--password",
        "Strong-pass-1",
        "--name",
        "王五",
    )
    assert result.exit_code == 0, result.output
    result = _run(app, "users", "token", "wang")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    me = api.get("/api/v1/me", token=token)
    assert me.status_code == 200
    assert me.json["username"] == "wang" and me.json["role"] == "finance"
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.channel == "cli")).all()
        assert {e.action for e in events} >= {"create"}
        assert all("Strong-pass-1" not in json.dumps(e.after) for e in events)


def test_users_create_refuses_bad_input_with_a_clear_message(app):
    bad_region = _run(
        app,
        "users",
        "create",
        "wang",
        "--role",
        "officer",
        "--region",
        "999999",
        "--password",
        "Strong-pass-1",
    )
    assert bad_region.exit_code != 0
    assert "999999" in bad_region.output
    township = _run(
        app,
        "users",
        "create",
        "wang",
        "--role",
        "officer",
        "--region",
        "140522100",
        "--password",
        "Strong-pass-1",
    )
    assert township.exit_code != 0
    weak = _run(
        app,
        "users",
        "create",
        "wang",
        "--role",
        "officer",
        "--region",
        "140522",
        "--password",
        "short",
    )
    assert weak.exit_code != 0
    bad_role = _run(
        app,
        "users",
        "create",
        "wang",
        "--role",
        "king",
        "--region",
        "140522",
        "--password",
        "Strong-pass-1",
    )
    assert bad_role.exit_code != 0
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.username == "wang")) is None


def test_reset_password_and_deactivate(app, client, make_user):
    make_user("zhao")
    assert _run(app, "users", "reset-password", "zhao", "--password", "Other-pass-2").exit_code == 0
    client.login("zhao", "Other-pass-2")
    assert _run(app, "users", "deactivate", "zhao").exit_code == 0
    assert client.get("/").status_code == 302
    missing = _run(app, "users", "reset-password", "nobody", "--password", "Other-pass-2")
    assert missing.exit_code != 0 and "nobody" in missing.output


def test_revoked_tokens_stop_working(app, api, make_user, make_token):
    make_user("zhao")
    token = make_token("zhao")
    assert api.get("/api/v1/me", token=token).status_code == 200
    assert _run(app, "users", "revoke-tokens", "zhao").exit_code == 0
    assert api.get("/api/v1/me", token=token).status_code == 401


def test_demo_load_is_idempotent_and_prints_working_logins(app, client):
    first = _run(app, "demo", "load")
    assert first.exit_code == 0, first.output
    second = _run(app, "demo", "load")
    assert second.exit_code == 0
    assert (
        "regions added: 0; policy profiles added: 0; catalogue items added: 0; demo plan added: no"
        in second.output
    )
    line = next(
        line for line in second.output.splitlines() if line.strip().startswith("yc_officer")
    )
    password = line.split()[1]
    client.login("yc_officer", password)
    page = client.get("/").get_data(as_text=True)
    assert "阳城县" in page and "阳民字〔2026〕11号" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 7


def test_reference_load_prepares_a_new_installation_and_can_run_again(app):
    from procurement.policies.models import PolicyProfile
    from procurement.regions.models import Region

    first = _run(app, "reference", "load")
    assert first.exit_code == 0, first.output
    again = _run(app, "reference", "load")
    assert (
        again.output.strip()
        == "regions added: 0; policy profiles added: 0; catalogue items added: 0"
    )
    with app.app_context():
        assert db.session.get(Region, "140522").name == "阳城县"
        assert db.session.scalar(sa.select(sa.func.count(PolicyProfile.id))) >= 2
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0  # no demo users
    created = _run(
        app, "users", "create", "admin", "--role", "admin", "--region", "140000",
        "--password", "Strong-pass-1",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
