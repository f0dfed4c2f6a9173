from decimal import Decimal

import pytest
import sqlalchemy as sa

from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.policies import services
from procurement.policies.models import EntitlementModel, PolicyProfile
from procurement.policies.presets import PRESETS


def _yangcheng():
    return db.session.scalar(sa.select(PolicyProfile).where(PolicyProfile.region_code == "140522"))


def _values(**changes):
    values = dict(PRESETS[0]["values"])
    values.update(changes)
    return values


def test_yangcheng_preset_follows_seed_001(ctx, presets):
    profile = _yangcheng()
    assert profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH
    assert profile.hours_per_month == Decimal("4.00")
    assert profile.hourly_rate_cap == Decimal("35.00")
    assert profile.visits_must_be_split is True
    assert profile.exclude_long_term_care is True
    assert {"category": "extreme_poverty", "min_age": 60, "min_capability_level": None} in (
        profile.eligibility_rules
    )
    assert profile.qualification_lookback_years == 3
    assert profile.major_fine_threshold == Decimal("2000000.00")


def test_xinjiang_preset_follows_seed_000_and_applies_to_its_counties(ctx, presets):
    from procurement.regions.models import Region, RegionLevel

    db.session.add(
        Region(code="650102", name="天山区", level=RegionLevel.COUNTY, parent_code="650000")
    )
    db.session.flush()
    profile = services.profile_for("650102", 2025)
    assert profile is not None and profile.region_code == "650000"
    assert profile.entitlement_model is EntitlementModel.VISITS_PER_YEAR
    assert profile.visits_per_year == 36
    assert services.profile_for("650102", 2026) is None
    # seed 000 §2(1): 户籍 in the region, living there, a third-party assessment; 特困,
    # 低保 and 低保边缘 (a county adds 低收入 itself); §2(3): no blanket LTC exclusion
    assert profile.requires_residence is True
    assert profile.requires_assessment is True
    assert profile.exclude_long_term_care is False
    assert {rule["category"] for rule in profile.eligibility_rules} == {
        "extreme_poverty",
        "minimum_living",
        "near_minimum",
    }
    assert all(rule["min_capability_level"] == 1 for rule in profile.eligibility_rules)
    assert services.profile_for("140522", 2026).requires_assessment is False
    assert services.profile_for("140522", 2026) == _yangcheng()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {
                "evaluation_weights": [
                    {"party": "buyer", "weight": 50},
                    {"party": "recipients", "weight": 49},
                ]
            },
            "evaluation_weights",
        ),
        ({"grade_thresholds": {"excellent": 80, "good": 90, "pass": 60}}, "grade_thresholds"),
        ({"hours_per_month": None}, "hours_per_month"),
        ({"hourly_rate_cap": "35.001"}, "hourly_rate_cap"),
        ({"hourly_rate_cap": "-1"}, "hourly_rate_cap"),
        ({"hourly_rate_cap": "abc"}, "hourly_rate_cap"),
        ({"eligibility_rules": []}, "eligibility_rules"),
        (
            {"eligibility_rules": [{"category": "royalty", "min_age": 60}]},
            "eligibility_rules.0.category",
        ),
        (
            {"eligibility_rules": [{"category": "minimum_living", "min_age": 200}]},
            "eligibility_rules.0.min_age",
        ),
        ({"min_visit_minutes": 500, "max_visit_minutes": 480}, "max_visit_minutes"),
        ({"qualification_lookback_years": 0}, "qualification_lookback_years"),
        ({"entitlement_model": "per_day"}, "entitlement_model"),
        ({"name": " "}, "name"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(ctx, presets, changes, field):
    profile = _yangcheng()
    with pytest.raises(ValidationError) as refused:
        services.update_profile(profile, changes)
    assert field in refused.value.fields
    db.session.rollback()
    assert _yangcheng().hourly_rate_cap == Decimal("35.00")


def test_weights_summing_to_exactly_100_are_accepted(ctx, presets):
    weights = [
        {"party": "buyer", "weight": 20},
        {"party": "finance", "weight": 20},
        {"party": "recipients", "weight": 50},
        {"party": "third_party", "weight": 10},
    ]
    profile = services.update_profile(_yangcheng(), {"evaluation_weights": weights})
    assert profile.evaluation_weights == weights


def test_one_profile_per_region_and_year(ctx, presets):
    with pytest.raises(Conflict):
        services.create_profile(region_code="140522", year=2026, values=_values())
    profile = services.create_profile(region_code="140522", year=2027, values=_values())
    assert profile.year == 2027


def test_a_profile_cannot_belong_to_a_township(ctx):
    with pytest.raises(ValidationError):
        services.create_profile(region_code="140522100", year=2026, values=_values())


def test_grade_follows_the_thresholds(ctx, presets):
    profile = _yangcheng()
    assert profile.grade_for(Decimal("90")) == "excellent"
    assert profile.grade_for(Decimal("89.99")) == "good"
    assert profile.grade_for(Decimal("60")) == "pass"
    assert profile.grade_for(Decimal("59.99")) == "fail"


def _form(profile_values: dict, **overrides) -> dict:
    data = {
        "name": profile_values["name"],
        "source_document": profile_values["source_document"],
        "entitlement_model": "hours_per_month",
        "hours_per_month": "4",
        "hourly_rate_cap": "35",
        "visits_must_be_split": "y",
        "exclude_long_term_care": "y",
        "requires_residence": "y",
        "eligibility_rules-0-category": "extreme_poverty",
        "eligibility_rules-0-min_age": "60",
        "eligibility_rules-0-min_capability_level": "",
        "qualification_lookback_years": "3",
        "major_fine_threshold": "2000000",
        "weight_buyer": "25",
        "weight_finance": "15",
        "weight_recipients": "40",
        "weight_third_party": "20",
        "grade_excellent": "90",
        "grade_good": "80",
        "grade_pass": "60",
        "min_visit_minutes": "15",
        "max_visit_minutes": "480",
    }
    data.update(overrides)
    return data


def test_admin_edits_a_profile_in_the_browser_and_the_change_is_audited(
    client, app, presets, make_user
):
    make_user("root", role="admin")
    client.login("root")
    with app.app_context():
        profile_id = _yangcheng().id
    url = f"/policies/{profile_id}/edit"
    refused = client.post(url, _form(PRESETS[0]["values"], weight_buyer="30"))
    assert refused.status_code == 422
    assert "必须等于 100%" in refused.get_data(as_text=True)
    saved = client.post(url, _form(PRESETS[0]["values"], hourly_rate_cap="30"))
    assert saved.status_code == 302
    page = client.get(f"/policies/{profile_id}").get_data(as_text=True)
    assert "30.00" in page
    assert "hourly_rate_cap" in page  # the history lists the changed field
    with app.app_context():
        profile = _yangcheng()
        assert profile.hourly_rate_cap == Decimal("30.00")
        assert profile.eligibility_rules == [
            {"category": "extreme_poverty", "min_age": 60, "min_capability_level": None}
        ]


def test_only_admins_may_edit_profiles(client, app, presets, make_user):
    make_user("officer")
    client.login("officer")
    with app.app_context():
        profile_id = _yangcheng().id
    assert client.get(f"/policies/{profile_id}").status_code == 200
    assert client.get(f"/policies/{profile_id}/edit").status_code == 403


def test_admin_copies_a_profile_to_a_new_year(client, app, presets, make_user):
    make_user("root", role="admin")
    client.login("root")
    with app.app_context():
        profile_id = _yangcheng().id
    form_page = client.get(f"/policies/new?copy={profile_id}").get_data(as_text=True)
    assert 'value="2027"' in form_page
    data = _form(PRESETS[0]["values"], region_code="140522", year="2027")
    response = client.post("/policies/new", data, page=f"/policies/new?copy={profile_id}")
    assert response.status_code == 302
    with app.app_context():
        assert services.profile_for("140522", 2027).year == 2027


def test_a_county_admin_reads_but_cannot_open_the_editor_of_a_provincial_profile(
    client, app, presets, make_user
):
    make_user("root", role="admin")
    with app.app_context():
        from procurement.core.audit import Actor, set_actor

        set_actor(Actor(None, "test-setup", "system"))
        province = services.create_profile(region_code="140000", year=2026, values=_values())
        db.session.commit()
        province_id = province.id
    client.login("root")
    page = client.get(f"/policies/{province_id}")
    assert page.status_code == 200
    assert f"/policies/{province_id}/edit" not in page.get_data(as_text=True)
    assert client.get(f"/policies/{province_id}/edit").status_code == 403


@pytest.mark.parametrize("threshold", ["0", "100.01", "abc", "-5", "90.001"])
def test_an_acceptance_threshold_outside_0_to_100_is_refused(ctx, presets, threshold):
    with pytest.raises(ValidationError) as refused:
        services.update_profile(_yangcheng(), {"acceptance_threshold": threshold})
    assert "验收标准" in refused.value.fields["acceptance_threshold"][0]


@pytest.mark.parametrize(
    ("given", "kept"),
    [("100", "100.00"), ("0.01", "0.01"), ("85.5", "85.50"), (None, "90.00"), ("", "90.00")],
)
def test_the_acceptance_threshold_is_a_percentage_90_by_default(ctx, presets, given, kept):
    profile = services.update_profile(_yangcheng(), {"acceptance_threshold": given})
    assert profile.acceptance_threshold == Decimal(kept)


def test_the_admin_sets_the_acceptance_threshold_in_the_browser(client, app, presets, make_user):
    make_user("root", role="admin")
    client.login("root")
    with app.app_context():
        profile_id = _yangcheng().id
    url = f"/policies/{profile_id}/edit"
    refused = client.post(url, _form(PRESETS[0]["values"], acceptance_threshold="120"))
    assert refused.status_code == 422 and 'id="acceptance_threshold-error"' in refused.get_data(
        as_text=True
    )
    assert (
        client.post(url, _form(PRESETS[0]["values"], acceptance_threshold="85")).status_code == 302
    )
    page = client.get(f"/policies/{profile_id}").get_data(as_text=True)
    assert 'data-test="acceptance-threshold">85.00%' in page
