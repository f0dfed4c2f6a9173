"""Fuzz every endpoint of /api/v1 from its own OpenAPI document (issue 8).

Schemathesis reads ``/api/v1/openapi.json`` from the WSGI app and, for each operation,
sends generated requests (valid and invalid) to a database holding the demo world:
three signed contracts, a roster, two months of confirmed statements. No response may
be a 500, and every response must match what the document says (status code, content
type, body schema).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from procurement import create_app
from procurement.accounts import services as accounts
from procurement.accounts.roles import PERMISSIONS, Role
from procurement.core import clock
from procurement.core.api import INT_MAX, OPERATIONS
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.regions.services import load_reference_regions
from tests.conftest import BASE_CONFIG, SNAPSHOTS, _fresh_url
from tests.performance.conftest import confirmed_world
from tests.settlements.conftest import at

# The document does not depend on the data: read it from an app without a database.
_DOCUMENT_APP = create_app(
    {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_PATH": tempfile.mkdtemp()}
)
# Bounded and reproducible for CI; FUZZ_EXAMPLES=200 FUZZ_COVERAGE=1 FUZZ_SEED=... digs
# deeper by hand (the coverage phase adds boundary values of every parameter).
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": int(os.environ.get("FUZZ_SEED", "2026")),
        "generation": {
            "max-examples": int(os.environ.get("FUZZ_EXAMPLES", "12")),
            "deterministic": "FUZZ_SEED" not in os.environ,
            "database": "none",
        },
        "phases": {
            "coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1"},
            "stateful": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _DOCUMENT_APP, config=CONFIG)

# What must hold of every response. Not positive_data_acceptance: many rules span fields
# (a period's end after its start, a provider that exists) and answer 422 to a request
# the schema alone allows, as documented.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
    unsupported_method,
    allow_header_conformance,
]

# Who calls: the Yangcheng officer, unless only another role holds the permission.
CALLERS = {Role.OFFICER: "yc_officer", Role.FINANCE: "yc_finance", Role.ADMIN: "admin"}
PERMISSION = {op.endpoint: op.permission for op in OPERATIONS}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Integer ids: often small ones, so that they name records of the demo world. An id
    generated out of range is left alone: the case means to send an invalid one."""
    names = [
        name
        for name, value in (path_parameters or {}).items()
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT_MAX
    ]
    if not names:
        return st.just(path_parameters)
    small = st.fixed_dictionaries({name: st.integers(1, 40) for name in names})
    return st.one_of(st.just(path_parameters), small.map(lambda s: {**path_parameters, **s}))


def _caller(permission: str | None) -> str:
    if permission is None:
        return "yc_officer"
    for role, username in CALLERS.items():
        if role in PERMISSIONS[permission]:
            return username
    return "yc_officer"


_SECRETS: dict[str, str] = {}


def _build_world() -> None:
    """The confirmed demo world and a token for each caller (secrets kept for restores)."""
    confirmed_world()
    set_actor(Actor(None, "test-setup", "system"))
    for username in CALLERS.values():
        _token, _SECRETS[username] = accounts.issue_token(accounts.find_user(username))
    db.session.flush()


def _restore(app) -> None:
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        load_reference_regions()
        SNAPSHOTS.restore_or_build("fuzz-world", _build_world)
        at(2026, 9, 5)
        db.session.commit()
        db.session.remove()


def _empty_postgres(app) -> None:
    """DELETE, faster than TRUNCATE on small tables; FKs off for the plan/version cycle."""
    with app.app_context():
        connection = db.session.connection()
        connection.execute(sa.text("SET session_replication_role = replica"))
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())
        connection.execute(sa.text("SET session_replication_role = origin"))
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="module")
def fuzz_site(database, tmp_path_factory):
    """One app for the module (creating one per operation would cost more than fuzzing
    it) over the world, and what it takes to put the world back."""
    folder = tmp_path_factory.mktemp("fuzz")
    instance = folder / "instance"
    instance.mkdir()
    url = _fresh_url(database, folder)
    app = create_app(
        {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)}
    )
    _restore(app)
    site = {"app": app, "pristine": None, "file": None, "dirty": False}
    if database["kind"] == "sqlite":  # the world as a file: copying it back takes milliseconds
        with app.app_context():
            db.engine.dispose()
        site["file"] = url.removeprefix("sqlite:///")
        site["pristine"] = folder / "pristine.sqlite3"
        shutil.copy(site["file"], site["pristine"])
    yield site
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    clock.pin(None)


@pytest.fixture
def fuzz_site_clean(fuzz_site):
    """The world as built, put back after an operation that changed it (reads and refused
    writes leave it alone, so they share one copy); the test marks what it did."""
    app = fuzz_site["app"]
    if fuzz_site["dirty"]:
        if fuzz_site["pristine"] is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            shutil.copy(fuzz_site["pristine"], fuzz_site["file"])
        else:
            _empty_postgres(app)
            _restore(app)
        fuzz_site["dirty"] = False
    at(2026, 9, 5)
    return fuzz_site


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck))
def test_api_matches_its_document(case, fuzz_site_clean):
    token = _SECRETS[_caller(PERMISSION[case.operation.definition.raw["operationId"]])]
    headers = {"Authorization": f"Bearer {token}"}
    response = case.call(app=fuzz_site_clean["app"], headers=headers)
    if case.method.upper() != "GET" and response.status_code < 400:
        fuzz_site_clean["dirty"] = True  # refused requests change nothing: no copy needed
    case.validate_response(response, checks=_checks_for(case), headers=headers)


def _checks_for(case) -> list:
    """All the checks, but where the case's negation is in its headers: the caller's own
    Authorization header replaces what was generated there (a missing bearer token, say),
    so the request sent may be a valid one, and its acceptance says nothing (the negation
    of another part may then be one the query string cannot even carry)."""
    components = case.meta.components if case.meta is not None else {}
    header = components.get(ParameterLocation.HEADER)
    if header is not None and header.mode.is_negative:
        return [check for check in CHECKS if check is not negative_data_rejection]
    return CHECKS
