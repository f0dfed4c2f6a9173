"""Contract texts come from the policy profile (issue 18 part 5): Yangcheng's from seed
001, Xinjiang's left to be agreed where seed 000 is silent; editable in the browser and
the API."""

import pytest
import sqlalchemy as sa

from procurement.core.db import db
from procurement.core.errors import ValidationError
from procurement.policies import services
from procurement.policies.models import PolicyProfile
from procurement.policies.presets import PRESETS, YANGCHENG_SANCTIONS, YANGCHENG_TERMINATION
from tests.policies.test_policies import _form


def _profile(region_code):
    return db.session.scalar(
        sa.select(PolicyProfile).where(PolicyProfile.region_code == region_code)
    )


def test_yangcheng_has_seed_001s_texts_and_xinjiang_none_of_them(ctx, presets):
    yangcheng, xinjiang = _profile("140522"), _profile("650000")
    assert yangcheng.settlement_platform == "晋城市智慧养老服务平台"
    assert yangcheng.sanction_clauses_source == "seed 001 §8(二)1"
    assert yangcheng.records_deadline_source == "local default, not from policy"
    assert len(yangcheng.termination_clauses) == 8
    assert xinjiang.settlement_platform is None and xinjiang.records_deadline is None
    assert xinjiang.settlement_period is None
    assert xinjiang.sanction_clauses == [] and xinjiang.termination_clauses == []


def test_a_text_needs_its_source_and_a_known_period(ctx, presets):
    values = dict(PRESETS[0]["values"], sanction_clauses_source="")
    with pytest.raises(ValidationError) as refused:
        services.clean_profile_values(values)
    assert "sanction_clauses_source" in refused.value.fields
    values = dict(PRESETS[0]["values"], settlement_period="周")
    with pytest.raises(ValidationError) as refused:
        services.clean_profile_values(values)
    assert "settlement_period" in refused.value.fields


def test_the_admin_edits_the_contract_texts_in_the_browser(client, app, presets, make_user):
    make_user("root", role="admin")
    client.login("root")
    with app.app_context():
        profile_id = _profile("140522").id
    url = f"/policies/{profile_id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert "晋城市智慧养老服务平台" in page and "服务期限内三次被服务对象投诉" in page
    texts = {
        "settlement_platform": "某县养老服务平台",
        "settlement_platform_source": "本地规定",
        "settlement_period": "季度",
        "settlement_period_source": "local default, not from policy",
        "records_deadline": "季度结束后10日内",
        "records_deadline_source": "local default, not from policy",
        "sanction_clauses": "（一）甲\r\n\r\n（二）乙\r\n",
        "sanction_clauses_source": "seed 001 §8",
        "termination_clauses": "",
        "termination_clauses_source": "",
    }
    unsourced = {**texts, "settlement_platform_source": ""}
    refused = client.post(url, _form(PRESETS[0]["values"], **unsourced))
    assert refused.status_code == 422
    assert client.post(url, _form(PRESETS[0]["values"], **texts)).status_code == 302
    shown = client.get(f"/policies/{profile_id}").get_data(as_text=True)
    assert "某县养老服务平台" in shown and "季度结束后10日内" in shown
    with app.app_context():
        profile = _profile("140522")
        assert profile.settlement_period == "季度"
        assert profile.sanction_clauses == ["（一）甲", "（二）乙"]
        assert profile.termination_clauses == [] and profile.termination_clauses_source is None
    assert "（一）甲\n（二）乙" in client.get(url).get_data(as_text=True)


def test_the_contract_texts_round_trip_through_the_api(app, api, presets, make_user, make_token):
    make_user("xj-admin", role="admin", region_code="650000")
    token = make_token("xj-admin")
    with app.app_context():
        profile_id = _profile("650000").id
    url = f"/api/v1/policy-profiles/{profile_id}"
    before = api.get(url, token=token).get_json()
    assert before["sanction_clauses"] == [] and before["settlement_platform"] is None
    rules = {
        "settlement_period": "月",
        "settlement_period_source": "local default, not from policy",
        "termination_clauses": ["（一）不再具备相应资质的；"],
        "termination_clauses_source": "local default, not from policy",
    }
    changed = api.patch(url, {"rules": rules}, token=token)
    assert changed.status_code == 200, changed.get_json()
    after = api.get(url, token=token).get_json()
    assert {key: after[key] for key in rules} == rules
    assert after["visits_per_year"] == 36  # the rest is kept
    missing = api.patch(url, {"rules": {"sanction_clauses": ["（一）甲"]}}, token=token)
    assert missing.status_code == 422
    assert "sanction_clauses_source" in str(missing.get_json())


def test_the_yangcheng_constants_match_the_preset():
    from procurement.contracts.models import SANCTION_CLAUSES, TERMINATION_CLAUSES

    assert YANGCHENG_SANCTIONS == SANCTION_CLAUSES
    assert YANGCHENG_TERMINATION == TERMINATION_CLAUSES
