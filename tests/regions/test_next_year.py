"""Setting up a county for a new year from the command line (issue 18): the profile of a
year, with its catalogue, copied to the next, so that next year's plans can be drafted."""

from __future__ import annotations

from sqlalchemy import func, select

from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.plans.catalogue import load_shipped_catalogues
from procurement.plans.models import ServiceItem
from procurement.policies.models import PolicyProfile
from procurement.policies.presets import load_presets


def _items(year: int) -> int:
    return db.session.scalar(
        select(func.count(ServiceItem.id))
        .join(PolicyProfile, PolicyProfile.id == ServiceItem.policy_profile_id)
        .where(PolicyProfile.region_code == "650000", PolicyProfile.year == year)
    )


def test_next_year_copies_the_profile_and_its_catalogue_once(app):
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        load_presets()
        load_shipped_catalogues()
        db.session.commit()
        shipped = _items(2025)
    runner = app.test_cli_runner()
    done = runner.invoke(args=["reference", "next-year", "650000", "2025"])
    assert done.exit_code == 0, done.output
    assert "2026" in done.output and f"{shipped} catalogue items copied" in done.output
    again = runner.invoke(args=["reference", "next-year", "650000", "2025"])
    assert again.exit_code == 0 and "0 catalogue items copied" in again.output
    with app.app_context():
        assert shipped > 0 and _items(2026) == shipped
        profile = db.session.scalar(
            select(PolicyProfile).where(
                PolicyProfile.region_code == "650000", PolicyProfile.year == 2026
            )
        )
        assert profile.requires_assessment and profile.visits_per_year == 36
    missing = runner.invoke(args=["reference", "next-year", "659999", "2025"])
    assert missing.exit_code != 0 and "no policy profile" in missing.output
