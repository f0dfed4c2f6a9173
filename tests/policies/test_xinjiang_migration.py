"""0020 on a database of 0019: the shipped Xinjiang profile is corrected where it still
holds the first values, its catalogue marks what long-term-care insurance pays for, and
the way back drops the new columns. SQLite here; ``MIGRATION_TEST_URL`` names an empty
PostgreSQL database to run it there."""

import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.regions.services import load_reference_regions
from tests.helpers import migration_app

OLD_RULES = [
    {"category": "minimum_living", "min_age": 60, "min_capability_level": 1},
    {"category": "near_minimum", "min_age": 60, "min_capability_level": 1},
]
PROFILE_SQL = (
    "INSERT INTO policy_profiles (id, region_code, year, name, source_document, "
    "entitlement_model, visits_per_year, unit_price_per_visit, visits_must_be_split, "
    "eligibility_rules, exclude_long_term_care, requires_residence, "
    "qualification_lookback_years, major_fine_threshold, evaluation_weights, "
    "grade_thresholds, evaluation_indicators, failed_provider_rule, acceptance_threshold, "
    "min_visit_minutes, max_visit_minutes) "
    "VALUES (:id, :region, 2025, :name, :doc, 'visits_per_year', 36, 50, false, :rules, "
    ":exclude, :residence, 3, 2000000, '[]', '{}', '[]', 'exclude', 90, 15, 480)"
)
ITEM_SQL = (
    "INSERT INTO service_items (policy_profile_id, year, region_code, code, category, name, "
    "description, position, active, unit, standard, model, source, version) "
    "VALUES (:profile, 2025, :region, :code, '居家养老上门服务', :code, '', 0, true, '次', '', "
    "'visits_per_year', '', 1)"
)


def test_0020_corrects_the_shipped_xinjiang_profile_and_goes_back(tmp_path):
    app = migration_app(tmp_path)
    with app.app_context():
        upgrade(revision="0019")
        set_actor(Actor(None, "test-setup", "system"))
        load_reference_regions()
        run = db.session.execute
        rules = json.dumps(OLD_RULES)
        shipped = {"doc": "新民规〔2025〕3号", "rules": rules, "exclude": True, "residence": False}
        run(text(PROFILE_SQL), {"id": 1, "region": "650000", "name": "新疆", **shipped})
        # a profile a county already changed by hand is left as it is
        changed = {**shipped, "residence": True}
        run(text(PROFILE_SQL), {"id": 2, "region": "140000", "name": "已改", **changed})
        for code in ("xj-home-01", "xj-home-03", "xj-home-06"):
            run(text(ITEM_SQL), {"profile": 1, "region": "650000", "code": code})
        run(text(ITEM_SQL), {"profile": 2, "region": "140000", "code": "xj-home-01"})
        db.session.commit()

        upgrade(revision="0020")
        profiles = run(
            text(
                "SELECT id, requires_residence, exclude_long_term_care, requires_assessment, "
                "eligibility_rules FROM policy_profiles ORDER BY id"
            )
        ).all()
        fixed, kept = profiles
        assert (bool(fixed[1]), bool(fixed[2]), bool(fixed[3])) == (True, False, True)
        fixed_rules = fixed[4] if isinstance(fixed[4], list) else json.loads(fixed[4])
        assert fixed_rules[0]["category"] == "extreme_poverty" and fixed_rules[1:] == OLD_RULES
        assert (bool(kept[2]), bool(kept[3])) == (True, False)
        items = run(
            text(
                "SELECT policy_profile_id, code, ltc_covered, ltc_source FROM service_items "
                "ORDER BY policy_profile_id, code"
            )
        ).all()
        covered = [(r[0], r[1]) for r in items if r[2]]
        assert covered == [(1, "xj-home-01"), (1, "xj-home-03")]
        assert all("医保发〔2020〕37号" in r[3] for r in items if r[2])
        assert run(text("SELECT count(*) FROM recipients")).scalar() == 0
        db.session.commit()

        downgrade(revision="0019")
        names = {c["name"] for c in inspect(db.engine).get_columns("recipients")}
        assert "assessment_valid_until" not in names
        db.session.commit()
        upgrade()
        names = {c["name"] for c in inspect(db.engine).get_columns("service_items")}
        assert {"ltc_covered", "ltc_source"} <= names
        db.session.remove()
        db.engine.dispose()
