"""A token's last use is noted after the answer, at most briefly held up by another
transaction's lock: an API call made while a job writes (on SQLite an import holds the one
write lock) is answered at once, and a later call notes the use."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, update

from procurement.accounts.models import ApiToken
from procurement.core.db import db


@pytest.mark.real_commits  # another connection holds a lock while the request runs
def test_a_call_while_another_transaction_writes_is_not_held_back(app, make_user, make_token):
    make_user("officer_a", role="officer")
    secret = make_token("officer_a")
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
        holder = db.engine.connect()
        writing = holder.begin()  # SQLite: the write lock; PostgreSQL: the token's row
        holder.execute(update(ApiToken).where(ApiToken.id == token_id).values(name="x"))
    answers: list = []

    def call():
        started = time.perf_counter()
        response = app.test_client().get(
            "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
        )
        answers.append((response.status_code, time.perf_counter() - started))

    caller = threading.Thread(target=call)
    try:
        caller.start()
        caller.join(3)
        assert not caller.is_alive(), "the answer waited for the other transaction"
    finally:
        writing.rollback()
        holder.close()
        caller.join(30)
    status, seconds = answers[0]
    assert status == 200 and seconds < 2, answers
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at is None
        db.session.remove()

    assert (
        app.test_client()
        .get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        .status_code
        == 200
    )
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at is not None
