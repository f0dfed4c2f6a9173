"""Fixtures: a migrated database per test (SQLite by default, PostgreSQL with
TEST_DATABASE_URL), the app, clients that speak CSRF, and factories."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from procurement import create_app
from procurement.accounts import services as accounts
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.regions.services import load_reference_regions

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "Test-pass-2026"
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    # One data key for every test, so that a snapshot's encrypted ID numbers stay readable.
    "DATA_KEY": "test-data-key",
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "SERVER_NAME": None,
    # Jobs run inside the request that asks for them (tests/jobs run real workers).
    "JOBS_IMMEDIATE": True,
}


class Snapshots:
    """Build an expensive world once per session, then copy it into each test's database.

    ``restore_or_build(name, build)`` runs ``build()`` the first time (inside the current
    app context, on a fresh database) and records the rows it added, table by table, and
    the instance folder's files; later calls insert the same rows and copy the same files,
    in a fraction of the time. Works on SQLite and PostgreSQL alike (sequences are moved
    past the copied ids).
    """

    def __init__(self) -> None:
        self.saved: dict[str, tuple[list, Path]] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="snapshots-"))

    def restore_or_build(self, name: str, build):
        from flask import current_app

        instance = Path(current_app.instance_path)
        if name in self.saved:
            rows, files = self.saved[name]
            connection = db.session.connection()
            postgres = connection.dialect.name == "postgresql"
            if postgres:  # plans and versions refer to each other; the rows were valid when built
                connection.execute(sa.text("SET session_replication_role = replica"))
            for table, values in rows:
                connection.execute(table.insert(), values)
            if postgres:
                connection.execute(sa.text("SET session_replication_role = origin"))
                for table, _values in rows:
                    if "id" in table.c and table.c.id.autoincrement:
                        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
                        highest = sa.select(sa.func.max(table.c.id)).scalar_subquery()
                        connection.execute(sa.select(sa.func.setval(sequence, highest)))
            shutil.copytree(files, instance, dirs_exist_ok=True)
            return None
        before = self._keys()
        result = build()
        db.session.flush()
        connection = db.session.connection()
        rows = []
        for table in db.metadata.sorted_tables:
            key = list(table.primary_key.columns)
            added = [
                row._asdict()
                for row in connection.execute(table.select())
                if tuple(row._mapping[c.name] for c in key) not in before[table.name]
            ]
            if added:
                rows.append((table, added))
        files = self.folder / name
        shutil.copytree(instance, files, dirs_exist_ok=True)
        self.saved[name] = (rows, files)
        return result

    @staticmethod
    def _keys() -> dict[str, set]:
        connection = db.session.connection()
        return {
            table.name: {tuple(row) for row in connection.execute(sa.select(*table.primary_key))}
            for table in db.metadata.sorted_tables
        }


SNAPSHOTS = Snapshots()


def _migrate(url: str, instance: Path) -> None:
    app = create_app(
        {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)}
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Run the real migrations once; each test then starts from that schema."""
    instance = tmp_path_factory.mktemp("migrate")
    if TEST_DATABASE_URL:
        engine = sa.create_engine(TEST_DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(TEST_DATABASE_URL, instance)
        return {"kind": "postgresql", "url": TEST_DATABASE_URL}
    template = instance / "template.sqlite3"
    _migrate(f"sqlite:///{template}", instance)
    return {"kind": "sqlite", "template": template}


def _fresh_url(database, tmp_path: Path) -> str:
    if database["kind"] == "sqlite":
        path = tmp_path / f"test-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copy(database["template"], path)
        return f"sqlite:///{path}"
    engine = sa.create_engine(database["url"])
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return database["url"]


@pytest.fixture
def app(database, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    app = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": _fresh_url(database, tmp_path),
            "INSTANCE_PATH": str(instance),
        }
    )
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        load_reference_regions()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(app):
    """An application context for calling services directly."""
    with app.app_context():
        set_actor(Actor(None, "test", "system"))
        yield app
        db.session.rollback()


CSRF_PATTERN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


class Client:
    """The test client plus what a browser does: keep the CSRF token, log in."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()

    def csrf(self, page: str = "/login") -> str:
        html = self.http.get(page).get_data(as_text=True)
        match = CSRF_PATTERN.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1) or match.group(2)

    def get(self, *args, **kwargs):
        return self.http.get(*args, **kwargs)

    def post(self, url, data=None, *, page=None, **kwargs):
        """POST a form as the browser would, with the token from ``page`` (default: url)."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(page or url))
        return self.http.post(url, data=data, **kwargs)

    def login(self, username: str, password: str = PASSWORD):
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    def logout(self):
        return self.post("/logout", page="/")


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def make_user(app):
    """Create a user: make_user("name", role="finance", region_code="140522")."""

    def make(
        username="officer",
        *,
        role="officer",
        region_code="140522",
        password=PASSWORD,
        display_name=None,
    ):
        with app.app_context():
            set_actor(Actor(None, "test-setup", "system"))
            user = accounts.create_user(
                username=username,
                display_name=display_name or username,
                role=role,
                region_code=region_code,
                password=password,
            )
            db.session.commit()
            user_id = user.id
            db.session.remove()
        return user_id

    return make


@pytest.fixture
def make_token(app):
    def make(username: str) -> str:
        with app.app_context():
            set_actor(Actor(None, "test-setup", "system"))
            _token, secret = accounts.issue_token(accounts.find_user(username))
            db.session.commit()
            db.session.remove()
        return secret

    return make


@pytest.fixture
def api(app):
    """Call the JSON API with a bearer token: api.get(url, token=...)."""

    class Api:
        def __init__(self):
            self.http = app.test_client()

        def _headers(self, token, extra=None):
            headers = {"Accept": "application/json", **(extra or {})}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            return headers

        def get(self, url, token=None, **kwargs):
            return self.http.get(url, headers=self._headers(token), **kwargs)

        def post(self, url, json=None, token=None, **kwargs):
            return self.http.post(url, json=json, headers=self._headers(token), **kwargs)

        def patch(self, url, json=None, token=None, **kwargs):
            return self.http.patch(url, json=json, headers=self._headers(token), **kwargs)

    return Api()


@pytest.fixture
def presets(app):
    from procurement.policies.presets import load_presets

    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        load_presets()
        db.session.commit()
        db.session.remove()


@pytest.fixture
def yangcheng(app):
    """The Yangcheng 2026 policy profile and service catalogue."""
    from procurement.plans.catalogue import load_yangcheng_catalogue
    from procurement.policies.presets import load_presets

    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        load_presets()
        load_yangcheng_catalogue()
        db.session.commit()
        db.session.remove()


@pytest.fixture
def officer(ctx, yangcheng):
    """A Yangcheng officer, in an application context, for calling services directly."""
    user = accounts.create_user(
        username="officer",
        display_name="经办人",
        role="officer",
        region_code="140522",
        password=PASSWORD,
    )
    db.session.flush()
    return user
