"""Fixtures: a migrated database per test (SQLite by default, PostgreSQL with
TEST_DATABASE_URL), the app, clients that speak CSRF, and factories.

Under pytest-xdist (``-n 2``) each worker has its own databases: SQLite files in its own
temporary folder, and on PostgreSQL a database of its own named after TEST_DATABASE_URL's
(``<name>_gw0``...), migrated once by the worker and dropped at its end.

On SQLite each test gets a copy of a migrated file that already holds the reference
regions. On PostgreSQL a test runs inside one transaction on one connection, rolled back
at its end: every engine the test creates (its app, a second app on the same settings)
shares that connection, and each of their transactions is a savepoint of it, so commits,
rollbacks and refused writes behave as they do on their own. A test that needs real
commits (threads or processes that open connections of their own, a second engine on the
URL, pg_dump, a live server) is marked ``real_commits``: it gets the database emptied of
all but the reference regions, and the next test empties it again.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from jinja2 import BytecodeCache
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import LRUCache
from werkzeug.routing.rules import Rule

from procurement import create_app
from procurement.accounts import services as accounts
from procurement.config import DefaultConfig
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.regions.services import load_reference_regions

if TYPE_CHECKING:
    from tests.rollback import SharedConnection

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1... under pytest-xdist
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
    # Uploaded contract templates: a hostile one is stopped within seconds, not 20.
    "CONTRACT_RENDER_SECONDS": 5,
    "CONTRACT_RENDER_MEMORY_MB": 256,
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


def _memoized_rule_compilation() -> None:
    """Compile each URL rule once per process instead of once per app.

    Werkzeug parses every rule, makes its converters and compiles Python code for its URL
    builders whenever the rule is added to a map: with some 770 rules that was most of
    ``create_app``, which every test calls. What it makes depends only on the rule's
    text, its defaults and the map's converters and host matching; the builders take the
    rule as an argument and the converters keep nothing of their map that they use, so
    one compilation serves every app's copy of a rule.
    """
    compile_rule = Rule.compile
    compiled: dict[tuple, tuple] = {}

    def memoized(self: Rule) -> None:
        assert self.map is not None
        key = (
            self.rule,
            self.host,
            self.subdomain,
            self.merge_slashes,
            self.map.host_matching,
            repr(sorted((self.defaults or {}).items())),
            tuple(sorted(self.map.converters.items(), key=lambda item: item[0])),
        )
        if key not in compiled:
            compile_rule(self)
            compiled[key] = (
                tuple(self._parts),
                tuple(self._trace),
                dict(self._converters),
                frozenset(self.arguments),
                self._build.__func__,  # type: ignore[attr-defined]
                self._build_unknown.__func__,  # type: ignore[attr-defined]
            )
            return
        parts, trace, converters, arguments, build, build_unknown = compiled[key]
        self._parts = list(parts)
        self._trace = list(trace)
        self._converters = dict(converters)
        self.arguments = set(arguments)
        self._build = build.__get__(self, None)
        self._build_unknown = build_unknown.__get__(self, None)

    Rule.compile = memoized  # type: ignore[method-assign]


_memoized_rule_compilation()


class _SharedTemplateCode(BytecodeCache):
    """Compile each template once per process instead of once per app.

    Every test makes its own app, and so its own Jinja environment, which parsed and
    compiled every template it rendered anew: about a tenth of the suite's time. Jinja's
    bytecode cache is keyed by the template's name and checksummed by its source, so one
    in-memory cache serves every app (a template edited during a run is compiled again).
    """

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _SharedTemplateCode()}


class _StatementsAcrossEngines(LRUCache):
    """Compile each SQL statement once per process instead of once per app.

    Every test's app has its own engine, and SQLAlchemy keeps compiled statements per
    engine, keyed by the engine's dialect object: each test compiled every statement it
    ran anew (a fifth of the time of a typical test). Keyed instead by the dialect's kind
    and server version, which is all that the test engines' dialects differ in, one
    cache serves them all; it is given to each test's engine as the documented
    ``compiled_cache`` execution option.
    """

    @staticmethod
    def _across(key):
        dialect, *rest = key
        return (type(dialect), dialect.server_version_info, *rest)

    def get(self, key, default=None):
        return super().get(self._across(key), default)

    def __setitem__(self, key, value) -> None:
        super().__setitem__(self._across(key), value)


COMPILED_STATEMENTS = _StatementsAcrossEngines(5000)


def _migrate(url: str, instance: Path):
    """Migrate the database and add the reference regions; return the app that did it."""
    app = create_app(
        {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)}
    )
    with app.app_context():
        upgrade()
        set_actor(Actor(None, "test-setup", "system"))
        load_reference_regions()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return app


def _worker_database(url: str) -> str:
    """The PostgreSQL database of this xdist worker, created empty (the URL's own without
    xdist, its schema emptied)."""
    base = sa.engine.make_url(url)
    if not WORKER:
        engine = sa.create_engine(base)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    mine = base.set(database=f"{base.database}_{WORKER}")
    _run_outside_transactions(
        base,
        f'DROP DATABASE IF EXISTS "{mine.database}" WITH (FORCE)',
        f'CREATE DATABASE "{mine.database}"',
    )
    return mine.render_as_string(hide_password=False)


def _run_outside_transactions(url, *statements: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Run the real migrations once per worker; each test then starts from that schema
    and the reference regions."""
    instance = tmp_path_factory.mktemp("migrate")
    if not TEST_DATABASE_URL:
        template = instance / "template.sqlite3"
        _migrate(f"sqlite:///{template}", instance)
        yield {"kind": "sqlite", "template": template}
        return
    url = _worker_database(TEST_DATABASE_URL)
    app = _migrate(url, instance)
    postgres = {"kind": "postgresql", "url": url, "app": app, "dirty": False}
    postgres["sequences"] = _sequences(postgres)
    yield postgres
    with app.app_context():
        db.engine.dispose()
    if WORKER:
        mine = sa.engine.make_url(url).database
        _run_outside_transactions(
            TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{mine}" WITH (FORCE)'
        )


def _sequences(database) -> dict[str, int | None]:
    with database["app"].app_context():
        found = {
            name: value
            for name, value in db.session.execute(
                sa.text(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), "
                    "last_value FROM pg_sequences"
                )
            )
        }
        db.session.remove()
    return found


def _reset_postgres(database) -> None:
    """Empty every table, then put the reference regions back (real commits)."""
    with database["app"].app_context():
        connection = db.session.connection()
        tables = [
            row[0]
            for row in connection.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        set_actor(Actor(None, "test-setup", "system"))
        SNAPSHOTS.restore_or_build("reference regions", load_reference_regions)
        db.session.commit()
        db.session.remove()
    database["sequences"] = _sequences(database)
    database["dirty"] = False


def _fresh_url(database, tmp_path: Path) -> str:
    """A database holding the schema and the reference regions, for real commits."""
    if database["kind"] == "sqlite":
        path = tmp_path / f"test-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copy(database["template"], path)
        return f"sqlite:///{path}"
    if database["dirty"]:
        _reset_postgres(database)
    database["dirty"] = True  # whatever the test commits stays until the next reset
    return database["url"]


def _rolled_back_connection(database) -> SharedConnection:
    """A connection in a transaction, with the sequences as the reset left them."""
    from tests.rollback import SharedConnection  # noqa: F811 (psycopg only on PostgreSQL)

    if database["dirty"]:
        _reset_postgres(database)
    url = sa.engine.make_url(database["url"])
    shared = SharedConnection.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database,
    )
    moved = [
        (name, database["sequences"].get(name))
        for name, value in shared.execute(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), "
            "last_value FROM pg_sequences"
        )
        if value != database["sequences"].get(name)
    ]
    for name, value in moved:  # setval is not undone by a rollback
        shared.execute("SELECT setval(%s, %s, %s)", (name, value or 1, value is not None))
    return shared


@pytest.fixture
def app(database, tmp_path, request):
    instance = tmp_path / "instance"
    instance.mkdir()
    shared = None
    settings = {**BASE_CONFIG, "INSTANCE_PATH": str(instance)}
    real_commits = request.node.get_closest_marker("real_commits") or (
        "live_server" in request.fixturenames
    )
    if database["kind"] == "postgresql" and not real_commits:
        shared = _rolled_back_connection(database)
        settings["SQLALCHEMY_DATABASE_URI"] = database["url"]
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "creator": lambda: shared,
            "poolclass": StaticPool,
            "hide_parameters": True,
            "execution_options": {"compiled_cache": COMPILED_STATEMENTS},
        }
    else:
        settings["SQLALCHEMY_DATABASE_URI"] = _fresh_url(database, tmp_path)
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **DefaultConfig.SQLALCHEMY_ENGINE_OPTIONS,
            "execution_options": {"compiled_cache": COMPILED_STATEMENTS},
        }
    app = create_app(settings)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if shared is not None:
        shared.end()


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
