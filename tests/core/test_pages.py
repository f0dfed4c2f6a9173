"""A logged-in user's page is kept while no data has changed, and only then."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from procurement import create_app
from procurement.accounts import services as accounts
from procurement.accounts.models import User
from procurement.core.audit import Actor, record, set_actor
from procurement.core.changes import data_version
from procurement.core.db import db
from tests.conftest import Client

USERS = "/admin/users"


@pytest.fixture
def admin(make_user):
    make_user("admin", role="admin", region_code="140000", display_name="管理员甲")
    return "admin"


def statements_of(app, call):
    """The SQL statements ``call`` runs."""
    seen = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return result, seen


def add_user(app, username: str, *, display_name: str | None = None) -> None:
    """A change made elsewhere: another worker, the API or the command line."""
    with app.app_context():
        set_actor(Actor(None, "elsewhere", "cli"))
        accounts.create_user(
            username=username,
            display_name=display_name or username,
            role="officer",
            region_code="140522",
            password="Elsewhere-2026",
        )
        db.session.commit()
        db.session.remove()


def test_a_page_opened_again_is_served_as_kept(app, client, admin):
    client.login(admin)
    first = client.get(USERS)
    again, statements = statements_of(app, lambda: client.get(USERS))
    assert again.status_code == 200
    assert again.get_data() == first.get_data()
    # the user and the data version, nothing of the page's own reads
    assert not any("FROM users ORDER BY" in s or "count(" in s for s in statements)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 2
    assert again.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in again.headers["Content-Security-Policy"]


def test_a_change_committed_anywhere_shows_at_once(app, database, client, admin, tmp_path):
    client.login(admin)
    assert "新来的" not in client.get(USERS).get_data(as_text=True)
    # another worker: its own application and connections on the same database
    instance = tmp_path / "other"
    instance.mkdir()
    other = create_app({**app.config, "INSTANCE_PATH": str(instance)})
    add_user(other, "newcomer", display_name="新来的")
    with other.app_context():
        db.engine.dispose()
    assert "新来的" in client.get(USERS).get_data(as_text=True)


def test_a_bulk_statement_moves_the_version_on(app, client, admin):
    client.login(admin)
    assert "改过的名字" not in client.get(USERS).get_data(as_text=True)
    with app.app_context():
        before = data_version()
        db.session.execute(
            update(User).where(User.username == "admin").values(display_name="改过的名字")
        )
        db.session.commit()
        assert data_version() == before + 1
        db.session.remove()
    assert "改过的名字" in client.get(USERS).get_data(as_text=True)


def test_reading_does_not_move_the_version_on(app, client, admin):
    client.login(admin)
    with app.app_context():
        before = data_version()
    client.get(USERS)
    client.get("/")
    with app.app_context():
        assert data_version() == before
        db.session.execute(select(User)).all()
        db.session.commit()
        assert data_version() == before
        set_actor(Actor(None, "test", "system"))
        record("viewed", entity_type="user", entity_id=1, region_code="140000")
        db.session.commit()  # an audited read writes its event: that is a change
        assert data_version() == before + 1


def test_another_user_never_gets_a_page_kept_for_someone_else(app, make_user, admin):
    make_user("admin2", role="admin", region_code="140000", display_name="管理员乙")
    first, second = Client(app), Client(app)
    first.login(admin)
    second.login("admin2")
    assert "管理员甲" in first.get(USERS).get_data(as_text=True)
    page = second.get(USERS).get_data(as_text=True)
    assert "管理员乙" in page.split("</header>")[0]
    assert "管理员甲" not in page.split("</header>")[0]
    # a second session of the same user carries its own CSRF token
    again = Client(app)
    again.login(admin)
    token = again.csrf(USERS)
    assert token in again.get(USERS).get_data(as_text=True)
    assert again.post("/logout", page=USERS).status_code == 302


def test_a_page_that_showed_a_message_is_not_kept(app, client, admin):
    client.login(admin)
    created = client.post(
        "/admin/users/new",
        {
            "username": "fresh",
            "display_name": "新用户",
            "role": "officer",
            "region_code": "140522",
            "password": "Fresh-user-2026",
        },
        follow_redirects=True,
    )
    assert created.status_code == 200
    assert 'class="flash flash-success"' in created.get_data(as_text=True)
    assert 'class="flash' not in client.get(created.request.path).get_data(as_text=True)


def test_the_keep_can_be_turned_off(app, admin):
    app.config["PAGE_CACHE_SECONDS"] = 0
    client = Client(app)
    client.login(admin)
    client.get(USERS)
    _page, statements = statements_of(app, lambda: client.get(USERS))
    assert any("FROM users" in s and "ORDER BY" in s for s in statements)


def test_an_answer_for_another_host_is_kept_apart(app):
    """The feed writes absolute links: a request naming another host never sets them for
    everyone else."""
    app.test_client().get("/public/feed.atom", headers={"Host": "evil.example"})
    feed = app.test_client().get("/public/feed.atom")
    assert feed.status_code == 200
    assert "evil.example" not in feed.get_data(as_text=True)


def test_only_html_pages_of_a_logged_in_user_are_kept(app, client, admin):
    client.login(admin)
    client.get("/healthz")
    _answer, statements = statements_of(app, lambda: client.get("/healthz"))
    assert any(s.strip() == "SELECT 1" for s in statements), "the health check ran again"
