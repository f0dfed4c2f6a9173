import sqlalchemy as sa

from procurement.accounts import services as accounts
from procurement.accounts.models import User
from procurement.core.audit import Actor, AuditEvent, set_actor
from procurement.core.db import db
from procurement.policies.models import PolicyProfile


def _events(entity_type, **filters):
    stmt = sa.select(AuditEvent).where(AuditEvent.entity_type == entity_type)
    for key, value in filters.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


def test_create_and_update_record_actor_and_before_after_in_the_same_transaction(ctx):
    set_actor(Actor(7, "boss", "web", "140522", "10.0.0.1"))
    user = accounts.create_user(
        username="zhang",
        display_name="张三",
        role="officer",
        region_code="140522",
        password="Secret-123",
    )
    db.session.commit()
    accounts.update_user(user, display_name="张三丰", role="finance", region_code="140522")
    db.session.commit()

    created, updated = _events("users", entity_id=str(user.id))
    assert (created.action, created.actor_name, created.actor_id, created.channel) == (
        "create",
        "boss",
        7,
        "web",
    )
    assert created.ip == "10.0.0.1"
    assert created.region_code == "140522"
    assert created.after["username"] == "zhang"
    assert created.after["password_hash"] == "[redacted]"
    assert updated.action == "update"
    assert updated.before["display_name"] == "张三" and updated.after["display_name"] == "张三丰"
    assert updated.before["role"] == "officer" and updated.after["role"] == "finance"
    assert {name for name, _b, _a in updated.changed_fields()} == {"display_name", "role"}


def test_a_rolled_back_change_leaves_no_audit_row(ctx):
    accounts.create_user(
        username="ghost",
        display_name="x",
        role="officer",
        region_code="140522",
        password="Secret-123",
    )
    db.session.rollback()
    assert _events("users") == []


def test_labelled_state_changes_and_deletes_are_recorded(ctx):
    user = accounts.create_user(
        username="lisi",
        display_name="李四",
        role="officer",
        region_code="140522",
        password="Secret-123",
    )
    db.session.commit()
    accounts.set_active(user, False, actor=None)
    db.session.commit()
    db.session.delete(db.session.get(User, user.id))
    db.session.commit()
    actions = [e.action for e in _events("users", entity_id=str(user.id))]
    assert actions == ["create", "deactivate", "delete"]
    deleted = _events("users", action="delete")[0]
    assert deleted.before["username"] == "lisi" and deleted.after is None


def test_money_is_recorded_as_exact_decimal_strings(ctx, presets):
    profile = db.session.scalar(sa.select(PolicyProfile).where(PolicyProfile.year == 2026))
    event = _events("policy_profiles", entity_id=str(profile.id))[0]
    assert event.after["hourly_rate_cap"] == "35.00"
    assert event.after["major_fine_threshold"] == "2000000.00"


def test_admin_and_auditor_browse_and_filter_the_trail(client, make_user):
    make_user("root", role="admin")
    make_user("watcher", role="auditor")
    make_user("target", role="officer")
    client.login("root")
    page = client.get("/audit/?entity_type=users&action=create").get_data(as_text=True)
    assert "用户管理 #" in page
    client.logout()
    client.login("watcher")
    response = client.get("/audit/?actor=test-setup")
    assert response.status_code == 200
    assert "test-setup" in response.get_data(as_text=True)
    with client.app.app_context():
        own = db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.entity_id == "140522"))
        above = db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.entity_id == "140000"))
    detail = client.get(f"/audit/{own}")
    assert detail.status_code == 200
    assert "行政区划 #140522" in detail.get_data(as_text=True)
    # The province's own events lie outside a county auditor's region.
    assert client.get(f"/audit/{above}").status_code == 404


def test_an_auditor_cannot_change_anything(client, make_user):
    make_user("watcher", role="auditor")
    target = make_user("target")
    client.login("watcher")
    response = client.post(
        f"/admin/users/{target}", {"display_name": "x", "role": "admin", "region_code": "140522"}
    )
    assert response.status_code == 403
