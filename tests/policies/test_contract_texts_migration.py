"""0022 on a database of 0021: Yangcheng's profiles get the texts their contracts carried
(so those contracts stay the same), other profiles none, and the way back drops the
columns. SQLite here; ``MIGRATION_TEST_URL`` names an empty PostgreSQL database."""

import importlib
import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from procurement.contracts.models import SANCTION_CLAUSES, TERMINATION_CLAUSES
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.policies.presets import PRESETS
from procurement.regions.services import load_reference_regions
from tests.helpers import migration_app
from tests.policies.test_xinjiang_migration import PROFILE_SQL

TEXT_FIELDS = (
    "settlement_platform",
    "settlement_platform_source",
    "settlement_period",
    "settlement_period_source",
    "records_deadline",
    "records_deadline_source",
    "sanction_clauses_source",
    "termination_clauses_source",
)


def _list(value):
    return value if isinstance(value, list) else json.loads(value)


def test_the_migration_texts_are_todays_and_the_presets():
    migration = importlib.import_module("procurement.migrations.versions.0022_contract_texts")
    assert migration.SANCTIONS == SANCTION_CLAUSES == PRESETS[0]["values"]["sanction_clauses"]
    assert migration.TERMINATION == TERMINATION_CLAUSES
    assert PRESETS[0]["values"]["termination_clauses"] == migration.TERMINATION


def test_0022_fills_yangcheng_only_and_goes_back(tmp_path):
    app = migration_app(tmp_path)
    with app.app_context():
        upgrade(revision="0021")
        set_actor(Actor(None, "test-setup", "system"))
        load_reference_regions()
        run = db.session.execute
        common = {"rules": "[]", "exclude": True, "residence": True}
        run(text(PROFILE_SQL), {"id": 1, "region": "140522", "name": "阳城", "doc": "阳", **common})
        run(text(PROFILE_SQL), {"id": 2, "region": "650000", "name": "新疆", "doc": "新", **common})
        db.session.commit()

        upgrade(revision="0022")
        columns = ", ".join((*TEXT_FIELDS, "sanction_clauses", "termination_clauses"))
        yangcheng, xinjiang = run(
            text(f"SELECT {columns} FROM policy_profiles ORDER BY id")  # noqa: S608 (constants)
        ).all()
        preset = PRESETS[0]["values"]
        assert dict(zip(TEXT_FIELDS, yangcheng[:8], strict=True)) == {
            name: preset[name] for name in TEXT_FIELDS
        }
        assert _list(yangcheng[8]) == SANCTION_CLAUSES
        assert _list(yangcheng[9]) == TERMINATION_CLAUSES
        assert set(xinjiang[:8]) == {None}
        assert _list(xinjiang[8]) == [] and _list(xinjiang[9]) == []
        db.session.commit()

        downgrade(revision="0021")
        names = {c["name"] for c in inspect(db.engine).get_columns("policy_profiles")}
        assert not names & {*TEXT_FIELDS, "sanction_clauses", "termination_clauses"}
        db.session.commit()
        upgrade()
        db.session.remove()
        db.engine.dispose()
