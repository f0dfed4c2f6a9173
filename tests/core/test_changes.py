"""The data version: moved on once by every transaction that writes, at its commit."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from procurement.accounts.models import User
from procurement.core.audit import Actor, set_actor
from procurement.core.changes import data_version
from procurement.core.db import db
from tests.conftest import Client

pytestmark = pytest.mark.real_commits  # other connections, and threads


def committed_version(app) -> int:
    """The counter as another connection sees it."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT counter FROM data_version")).scalar() or 0
    finally:
        engine.dispose()


@pytest.fixture
def someone(make_user):
    make_user("someone", region_code="140522")
    return "someone"


def rename(name: str):
    user = db.session.scalar(select(User).where(User.username == "someone"))
    user.display_name = name


def test_a_savepoint_released_does_not_move_it_but_its_transaction_does(app, someone):
    with app.app_context():
        set_actor(Actor(None, "test", "system"))
        before = committed_version(app)
        with db.session.begin_nested():
            rename("甲")
        assert committed_version(app) == before  # nothing committed, nothing locked
        with db.session.begin_nested():
            rename("乙")
        db.session.commit()
        assert committed_version(app) == before + 1
        db.session.remove()


def test_a_savepoint_rolled_back_keeps_the_writes_made_before_it(app, someone):
    with app.app_context():
        set_actor(Actor(None, "test", "system"))
        before = data_version()
        rename("丙")
        db.session.flush()
        db.session.begin_nested().rollback()
        db.session.commit()
        assert committed_version(app) == before + 1
        db.session.remove()


def test_a_text_statement_that_writes_moves_it(app, someone):
    with app.app_context():
        before = data_version()
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        assert data_version() == before
        db.session.execute(
            text("UPDATE users SET display_name = :name WHERE username = 'someone'"),
            {"name": "丁"},
        )
        db.session.commit()
        assert data_version() == before + 1
        db.session.remove()


def test_an_api_token_noted_as_used_shows_on_the_account_page(app, someone, make_token, api):
    client = Client(app)
    client.login(someone)
    secret = make_token(someone)
    first = client.get("/account").get_data(as_text=True)
    assert api.get("/api/v1/me", token=secret).status_code == 200
    assert client.get("/account").get_data(as_text=True) != first


def test_two_writers_of_one_row_wait_for_each_other_without_deadlock(app, someone):
    """One transaction holds a row it flushed; another changes that row and commits
    first: it waits for the row before it takes the counter, so the first one's commit
    goes through and then the second's."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("SQLite has one writer at a time: there are no row locks to wait for")
    first, second = Session(engine), Session(engine)
    outcome = {}
    try:
        with app.app_context():
            set_actor(Actor(None, "test", "system"))
            first.scalar(select(User).where(User.username == "someone")).display_name = "先"
            first.flush()  # holds the row
            second.scalar(select(User).where(User.username == "someone")).display_name = "后"

            def commit_second():
                try:
                    second.commit()
                    outcome["second"] = "committed"
                except sa.exc.DBAPIError as error:
                    outcome["second"] = type(error.orig).__name__
                    second.rollback()

            waiting = threading.Thread(target=commit_second)
            waiting.start()
            waiting.join(0.5)  # now waiting for the row
            first.commit()
            outcome["first"] = "committed"
            waiting.join(10)
    finally:
        first.close()
        second.close()
        engine.dispose()
    assert outcome == {"first": "committed", "second": "committed"}
