"""The service catalogue per policy profile and year (issue 18): shipped lists, upkeep by
administrators, .xlsx import, copy to next year, and plans picking from it."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from procurement.audit.queries import history_of
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.plans import catalogue, services
from procurement.plans.models import PlanItem, ServiceItem
from procurement.policies.models import EntitlementModel, PolicyProfile
from procurement.regions.models import Region, RegionLevel
from tests.helpers import migration_app
from tests.plans.conftest import plan_input

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _profile(region_code: str, year: int) -> PolicyProfile:
    return db.session.scalar(
        sa.select(PolicyProfile).where(
            PolicyProfile.region_code == region_code, PolicyProfile.year == year
        )
    )


def _item(profile: PolicyProfile, code: str) -> ServiceItem:
    return db.session.scalar(
        sa.select(ServiceItem).where(
            ServiceItem.policy_profile_id == profile.id, ServiceItem.code == code
        )
    )


def _workbook(rows, headings=("编码", "类别", "服务项目", "服务内容", "单位", "单价", "计量方式")):
    book = Workbook()
    sheet = book.active
    sheet.append(list(headings))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xinjiang_county() -> None:
    db.session.add_all(
        [
            Region(
                code="650100", name="乌鲁木齐市", level=RegionLevel.PREFECTURE, parent_code="650000"
            ),
            Region(code="650102", name="天山区", level=RegionLevel.COUNTY, parent_code="650100"),
            Region(
                code="650102001",
                name="燕儿窝街道",
                level=RegionLevel.TOWNSHIP,
                parent_code="650102",
            ),
            Region(
                code="650102002",
                name="胜利路街道",
                level=RegionLevel.TOWNSHIP,
                parent_code="650102",
            ),
        ]
    )
    db.session.flush()


def _xinjiang_plan(**overrides):
    values = {
        "title": "天山区2025年政府购买居家养老服务项目",
        "year": 2025,
        "service_start": date(2025, 7, 1),
        "service_end": date(2025, 12, 31),
        "quality_standard": "每人每年不少于36次上门服务",
        "zones": [services.ZoneInput("全区", ["650102001", "650102002"], 100)],
        "item_codes": ["xj-home-01", "xj-home-06", "xj-home-11"],
    }
    values.update(overrides)
    return plan_input(**values)


# ------------------------------------------------------------------ shipped lists


def test_the_shipped_lists_load_once_each_item_naming_its_source(ctx, presets):
    added = catalogue.load_shipped_catalogues()
    assert catalogue.load_shipped_catalogues() == 0
    yangcheng, xinjiang = _profile("140522", 2026), _profile("650000", 2025)
    yc_items, xj_items = catalogue.items_of(yangcheng), catalogue.items_of(xinjiang)
    assert added == len(yc_items) + len(xj_items) and len(yc_items) == 15
    # seed 000 §2(2): 11 kinds of home service; seed 002: the 18-item basic service list
    home = [i for i in xj_items if i.source.startswith("新民规〔2025〕3号 二（二）")]
    basic = [i for i in xj_items if i.source.startswith("新政办发〔2023〕45号")]
    assert len(home) == 11 and len(basic) == 18 and len(xj_items) == 29
    assert {i.name for i in home} >= {"助餐服务", "助浴服务", "安全守护服务", "家政服务"}
    assert basic[13].name == "探访服务" and basic[13].source.endswith("第14项")
    # no price in the seeds: none is invented; the standard says why
    assert all(i.price is None for i in xj_items)
    assert all(i.model is EntitlementModel.VISITS_PER_YEAR for i in xj_items)
    assert "36次" in home[0].standard and "各地确定" in home[0].standard
    meal = _item(yangcheng, "life-meal")
    assert meal.price == 35 and meal.unit == "小时" and "附件1" in meal.source
    assert _item(yangcheng, "assess-train").price is None


def test_the_xinjiang_list_marks_what_long_term_care_insurance_pays_for(ctx, presets):
    """seed 000 §2(3): the same service content is not paid twice; the catalogue says which
    content long-term-care insurance pays for, and where that is stated."""
    catalogue.load_shipped_catalogues()
    xinjiang, yangcheng = _profile("650000", 2025), _profile("140522", 2026)
    covered = [i for i in catalogue.items_of(xinjiang) if i.ltc_covered]
    assert [i.name for i in covered] == ["生活照料服务", "健康护理服务"]
    assert all("医保发〔2020〕37号" in i.ltc_source for i in covered)
    assert not any(i.ltc_covered for i in catalogue.items_of(yangcheng))


def test_an_item_covered_by_long_term_care_names_its_source(ctx, yangcheng):
    profile = _profile("140522", 2026)
    values = {"code": "care-01", "category": "生活照料服务", "name": "协助翻身"}
    with pytest.raises(ValidationError) as refused:
        catalogue.create_item(profile, {**values, "ltc_covered": "是"})
    assert set(refused.value.fields) == {"ltc_source"}
    item = catalogue.create_item(
        profile, {**values, "ltc_covered": "是", "ltc_source": "晋城市长护险服务项目目录"}
    )
    assert item.ltc_covered and item.ltc_source == "晋城市长护险服务项目目录"
    catalogue.update_item(item, {"name": "协助翻身服务"})
    assert item.ltc_covered  # an edit that does not mention it keeps it
    catalogue.update_item(item, {"ltc_covered": False})
    assert not item.ltc_covered


# ------------------------------------------------------------------ upkeep


def test_create_edit_and_version_with_an_audited_history(ctx, yangcheng):
    profile = _profile("140522", 2026)
    item = catalogue.create_item(
        profile,
        {"code": "life-nail", "category": "生活照料服务", "name": "修剪指甲", "price": "20"},
    )
    assert item.version == 1 and item.year == 2026 and item.model is profile.entitlement_model
    assert item.status.value == "active" and item.price == 20
    catalogue.update_item(item, {"name": "助理服务", "standard": "每次不超过30分钟"}, version=1)
    assert item.version == 2 and item.name == "助理服务"
    catalogue.update_item(item, {"name": "助理服务"})  # nothing changed: same version
    assert item.version == 2
    with pytest.raises(Conflict):
        catalogue.update_item(item, {"name": "旧表单"}, version=1)
    db.session.flush()
    actions = [event.action for event in history_of(item)]
    assert actions == ["update", "create"]
    with pytest.raises(ValidationError) as refused:
        catalogue.create_item(profile, {"code": "life-meal", "category": "x", "name": "重复"})
    assert refused.value.fields == {"code": [refused.value.message]}
    with pytest.raises(ValidationError) as refused:
        catalogue.create_item(profile, {"code": "a b", "category": "", "name": "", "price": "-1"})
    assert set(refused.value.fields) == {"code", "category", "name", "price"}


def test_retire_is_refused_while_an_unfinished_plan_uses_the_item(ctx, officer):
    plan = services.create_plan(actor=officer, region_code="140522", data=plan_input())
    profile = plan.policy_profile
    with pytest.raises(Conflict) as refused:
        catalogue.retire_item(_item(profile, "life-meal"))
    assert refused.value.code == "item_in_use" and plan.title in refused.value.message
    unused = _item(profile, "assess-train")
    catalogue.retire_item(unused)
    assert unused.status.value == "retired"
    assert "assess-train" not in {i.code for i in services.catalogue("140522", 2026)}
    with pytest.raises(ValidationError) as refused:
        services.create_plan(
            actor=officer,
            region_code="140522",
            data=plan_input(title="另一个计划", item_codes=["assess-train"], zones=[]),
        )
    assert "assess-train" in " ".join(refused.value.fields["item_codes"])
    catalogue.restore_item(unused)
    assert unused.active


def test_a_plan_keeps_the_version_it_chose(ctx, officer):
    plan = services.create_plan(actor=officer, region_code="140522", data=plan_input())
    meal = _item(plan.policy_profile, "life-meal")
    catalogue.update_item(meal, {"standard": "每次不少于1小时"})
    link = db.session.scalar(sa.select(PlanItem).where(PlanItem.service_item_id == meal.id))
    assert meal.version == 2 and link.item_version == 1 and link.service_item is meal


def test_copy_a_year_to_the_next(ctx, yangcheng):
    profile = _profile("140522", 2026)
    target, copied = catalogue.copy_to_next_year(profile)
    assert target.year == 2027 and copied == 15
    assert {i.code for i in catalogue.items_of(target)} == {
        i.code for i in catalogue.items_of(profile)
    }
    assert all(i.year == 2027 and i.version == 1 for i in catalogue.items_of(target))
    catalogue.create_item(profile, {"code": "new-one", "category": "其他", "name": "新增项目"})
    catalogue.update_item(_item(target, "life-meal"), {"price": "36.00"})
    again, copied = catalogue.copy_to_next_year(profile)
    assert again is target and copied == 1  # only what 2027 lacks; its own edits stay
    assert _item(target, "life-meal").price == 36


# ------------------------------------------------------------------ import


def test_an_xlsx_import_adds_and_updates_when_every_row_is_good(ctx, yangcheng):
    profile = _profile("140522", 2026)
    data = _workbook(
        [
            ("life-meal", "生活照料服务", "助餐服务", "送餐上门", "小时", "30", "按小时"),
            ("life-nail", "生活照料服务", "修剪指甲", "", "次", "", "按次"),
        ]
    )
    checked = catalogue.import_items(profile, data, "目录.xlsx", write=False)
    assert not checked.written and _item(profile, "life-nail") is None
    report = catalogue.import_items(profile, data, "目录.xlsx")
    assert report.written and (report.count("add"), report.count("update")) == (1, 1)
    meal = _item(profile, "life-meal")
    assert meal.price == 30 and meal.version == 2 and meal.description == "送餐上门"
    nail = _item(profile, "life-nail")
    assert nail.model is EntitlementModel.VISITS_PER_YEAR and nail.price is None


def test_an_xlsx_import_names_every_bad_row_and_writes_nothing(ctx, yangcheng):
    profile = _profile("140522", 2026)
    before = db.session.scalar(sa.select(sa.func.count(ServiceItem.id)))
    data = _workbook(
        [
            ("ok-1", "其他", "正确的行", "", "", "", ""),
            ("bad code!", "其他", "代码错", "", "", "", ""),  # row 3
            ("no-name", "其他", "", "", "", "", ""),  # row 4
            ("bad-price", "其他", "价格错", "", "", "abc", ""),  # row 5
            ("neg-price", "其他", "价格为负", "", "", "-3", ""),  # row 6
            ("bad-model", "其他", "方式错", "", "", "", "按月"),  # row 7
            ("ok-1", "其他", "重复", "", "", "", ""),  # row 8
            ("no-category", "", "缺类别", "", "", "", ""),  # row 9
        ]
    )
    with pytest.raises(catalogue.CatalogueFileRefused) as refused:
        catalogue.import_items(profile, data, "坏目录.xlsx")
    assert set(refused.value.fields) == {
        "rows.3.code",
        "rows.4.name",
        "rows.5.price",
        "rows.6.price",
        "rows.7.model",
        "rows.8.code",
        "rows.9.category",
    }
    assert [row.line for row in refused.value.report.bad] == [3, 4, 5, 6, 7, 8, 9]
    db.session.rollback()
    set_actor(Actor(None, "test", "system"))
    assert db.session.scalar(sa.select(sa.func.count(ServiceItem.id))) == before
    with pytest.raises(ValidationError) as refused:
        catalogue.import_items(profile, b"not a workbook", "x.xlsx")
    assert "file" in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        catalogue.import_items(
            profile, _workbook([("a", "b")], headings=("编码", "类别")), "x.xlsx"
        )
    assert "file" in refused.value.fields


# ------------------------------------------------------------------ plans


def test_a_xinjiang_county_plan_is_drafted_with_xinjiang_items(ctx, presets):
    catalogue.load_shipped_catalogues()
    _xinjiang_county()
    assert services.catalogue("650102", 2025)[0].code == "xj-home-01"
    plan = services.create_plan(actor=None, region_code="650102", data=_xinjiang_plan())
    assert plan.policy_profile.region_code == "650000"
    assert [link.service_item.code for link in plan.items] == [
        "xj-home-01",
        "xj-home-06",
        "xj-home-11",
    ]
    assert plan.total > 0  # 36 visits x the profile's unit price x 100 people, half a year
    with pytest.raises(ValidationError) as refused:
        services.create_plan(
            actor=None,
            region_code="650102",
            data=_xinjiang_plan(title="另一个", item_codes=["life-meal"], zones=[]),
        )
    assert "life-meal" in " ".join(refused.value.fields["item_codes"])


# ------------------------------------------------------------------ API and pages


@pytest.fixture
def admins(yangcheng, make_user, make_token):
    make_user("yc-admin", role="admin")
    make_user("xj-admin", role="admin", region_code="650000")
    make_user("officer")
    return {name: make_token(name) for name in ("yc-admin", "xj-admin", "officer")}


def _profile_id(app, region_code, year):
    with app.app_context():
        found = _profile(region_code, year).id
        db.session.remove()
    return found


def test_the_api_lists_creates_edits_retires_copies_and_imports(app, api, admins):
    yc = _profile_id(app, "140522", 2026)
    listed = api.get(f"/api/v1/catalogue-items?policy_profile_id={yc}", token=admins["officer"])
    assert listed.status_code == 200 and len(listed.json["items"]) == 15
    body = {"code": "life-nail", "category": "生活照料服务", "name": "修剪指甲", "unit": "次"}
    url = f"/api/v1/policy-profiles/{yc}/catalogue-items"
    assert api.post(url, json=body, token=admins["officer"]).status_code == 403
    # another province's administrator does not even see Yangcheng's profile
    assert api.post(url, json=body, token=admins["xj-admin"]).status_code == 404
    created = api.post(url, json=body, token=admins["yc-admin"])
    assert created.status_code == 201, created.json
    item = created.json
    assert item["price"] is None and item["model"] == "hours_per_month" and item["version"] == 1
    patched = api.patch(
        f"/api/v1/catalogue-items/{item['id']}",
        json={"price": "12.50", "version": 1},
        token=admins["yc-admin"],
    )
    assert patched.json["price"] == "12.50" and patched.json["version"] == 2
    stale = api.patch(
        f"/api/v1/catalogue-items/{item['id']}",
        json={"name": "x", "version": 1},
        token=admins["yc-admin"],
    )
    assert stale.status_code == 409
    retired = api.post(f"/api/v1/catalogue-items/{item['id']}/retire", token=admins["yc-admin"])
    assert retired.json["status"] == "retired"
    copied = api.post(f"/api/v1/policy-profiles/{yc}/catalogue/copy", token=admins["yc-admin"])
    assert copied.status_code == 201 and copied.json["year"] == 2027
    assert copied.json["copied"] == 15  # the retired item stays behind
    data = _workbook(
        [("life-x", "其他", "新项目", "", "", "", ""), ("bad code!", "其他", "x", "", "", "", "")]
    )
    refused = api.http.post(
        f"/api/v1/policy-profiles/{yc}/catalogue/import?filename=c.xlsx",
        data=data,
        headers={"Authorization": f"Bearer {admins['yc-admin']}", "Content-Type": XLSX},
    )
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "catalogue_file_refused"
    assert list(refused.json["error"]["fields"]) == ["rows.3.code"]
    good = api.http.post(
        f"/api/v1/policy-profiles/{yc}/catalogue/import?filename=c.xlsx",
        data=_workbook([("life-x", "其他", "新项目", "", "", "", "")]),
        headers={"Authorization": f"Bearer {admins['yc-admin']}", "Content-Type": XLSX},
    )
    assert good.status_code == 200 and good.json["added"] == 1


def test_the_api_marks_an_item_long_term_care_insurance_pays_for(app, api, admins):
    yc = _profile_id(app, "140522", 2026)
    url = f"/api/v1/policy-profiles/{yc}/catalogue-items"
    body = {"code": "care-01", "category": "生活照料服务", "name": "协助翻身", "ltc_covered": True}
    refused = api.post(url, json=body, token=admins["yc-admin"])
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"ltc_source"}
    created = api.post(url, json=body | {"ltc_source": "长护险目录"}, token=admins["yc-admin"])
    assert created.status_code == 201, created.json
    assert created.json["ltc_covered"] is True and created.json["ltc_source"] == "长护险目录"
    patched = api.patch(
        f"/api/v1/catalogue-items/{created.json['id']}",
        json={"ltc_covered": False},
        token=admins["yc-admin"],
    )
    assert patched.json["ltc_covered"] is False


def test_retire_in_use_is_refused_in_chinese_through_the_api(app, api, admins, make_token):
    from tests.plans.conftest import api_body

    plan = api.post(
        "/api/v1/plans", json=api_body(item_codes=["life-meal"]), token=admins["officer"]
    )
    assert plan.status_code == 201
    yc = _profile_id(app, "140522", 2026)
    items = api.get(f"/api/v1/catalogue-items?policy_profile_id={yc}", token=admins["yc-admin"])
    meal = next(i for i in items.json["items"] if i["code"] == "life-meal")
    refused = api.post(f"/api/v1/catalogue-items/{meal['id']}/retire", token=admins["yc-admin"])
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "item_in_use"
    assert "不能停用" in refused.json["error"]["message"]


def test_the_pages_for_administrators_only_with_csrf(app, client, admins):
    yc = _profile_id(app, "140522", 2026)
    client.login("officer")
    assert client.get(f"/catalogue/{yc}").status_code == 200
    assert client.get(f"/catalogue/{yc}/new").status_code == 403
    assert client.get(f"/catalogue/{yc}/import").status_code == 403
    client.logout()
    client.login("yc-admin")
    page = client.get(f"/catalogue/{yc}").get_data(as_text=True)
    assert "助餐服务" in page and "阳民字〔2026〕11号 附件1" in page
    form = {
        "code": "life-nail",
        "category": "生活照料服务",
        "name": "修剪指甲",
        "model": "visits_per_year",
    }
    no_token = client.http.post(f"/catalogue/{yc}/new", data=form)
    assert no_token.status_code == 400
    saved = client.post(f"/catalogue/{yc}/new", form)
    assert saved.status_code == 302
    bad = client.post(f"/catalogue/{yc}/new", {**form, "price": "abc"}, page=f"/catalogue/{yc}/new")
    assert bad.status_code == 422
    with app.app_context():
        item_id = _item(_profile("140522", 2026), "life-nail").id
        db.session.remove()
    assert client.get(f"/catalogue/items/{item_id}/edit").status_code == 200
    edited = client.post(
        f"/catalogue/items/{item_id}/edit",
        {**form, "name": "修剪指甲和趾甲", "version": "1"},
    )
    assert edited.status_code == 302
    shown = client.get(f"/catalogue/items/{item_id}").get_data(as_text=True)
    assert "修剪指甲和趾甲" in shown
    assert (
        client.post(
            f"/catalogue/items/{item_id}/retire", page=f"/catalogue/items/{item_id}"
        ).status_code
        == 302
    )
    upload = client.post(
        f"/catalogue/{yc}/import",
        {"file": (io.BytesIO(_workbook([("", "其他", "无编码", "", "", "", "")])), "c.xlsx")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 422 and "无编码" in upload.get_data(as_text=True)
    copied = client.post(f"/catalogue/{yc}/copy", page=f"/catalogue/{yc}")
    assert copied.status_code == 302
    client.logout()
    client.login("xj-admin")
    # Yangcheng's catalogue lies outside a Xinjiang administrator's scope
    assert client.get(f"/catalogue/{yc}/new").status_code == 404


# ------------------------------------------------------------------ the migration

PROFILE_SQL = (
    "INSERT INTO policy_profiles (id, region_code, year, name, entitlement_model, "
    "hours_per_month, hourly_rate_cap, visits_must_be_split, eligibility_rules, "
    "exclude_long_term_care, requires_residence, qualification_lookback_years, "
    "major_fine_threshold, evaluation_weights, grade_thresholds, evaluation_indicators, "
    "failed_provider_rule, acceptance_threshold, min_visit_minutes, max_visit_minutes) "
    "VALUES (:id, '140522', :year, :name, 'hours_per_month', 4, 35, true, '[]', true, true, "
    "3, 2000000, '[]', '{}', '[]', 'exclude', 90, 15, 480)"
)


def test_the_migration_moves_existing_items_and_keeps_plans_pointing_at_them(tmp_path):
    """0019 on a database of 0018 with Yangcheng's items and a plan that chose one, then
    down and up again. SQLite here; ``MIGRATION_TEST_URL`` names an empty PostgreSQL
    database to run it there."""

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from procurement.regions.services import load_reference_regions

    app = migration_app(tmp_path)
    with app.app_context():
        upgrade(revision="0018")
        set_actor(Actor(None, "test-setup", "system"))
        load_reference_regions()
        run = db.session.execute
        for id_, year in ((1, 2026), (2, 2027)):
            run(text(PROFILE_SQL), {"id": id_, "year": year, "name": f"阳城县{year}"})
        for position, code in enumerate(("life-meal", "life-bath")):
            run(
                text(
                    "INSERT INTO service_items (region_code, code, category, name, "
                    "description, position, active) "
                    "VALUES ('140522', :code, '生活照料服务', :code, '', :position, true)"
                ),
                {"code": code, "position": position},
            )
        meal = run(text("SELECT id FROM service_items WHERE code = 'life-meal'")).scalar()
        run(
            text(
                "INSERT INTO purchase_plans (id, region_code, year, title, policy_profile_id, "
                "purchase_method, service_start, service_end, quality_standard, status, "
                "lock_version) VALUES (1, '140522', 2027, '旧计划', 2, 'open_tender', "
                "'2027-01-01', '2027-12-31', '', 'draft', 1)"
            )
        )
        run(
            text(
                "INSERT INTO plan_items (plan_id, service_item_id, region_code) "
                "VALUES (1, :meal, '140522')"
            ),
            {"meal": meal},
        )
        db.session.commit()
        upgrade(revision="0019")
        rows = run(
            text(
                "SELECT id, policy_profile_id, year, code, unit, model, version "
                "FROM service_items ORDER BY id"
            )
        ).all()
        assert [tuple(r) for r in rows] == [
            (1, 1, 2026, "life-meal", "小时", "hours_per_month", 1),
            (2, 1, 2026, "life-bath", "小时", "hours_per_month", 1),
            (3, 2, 2027, "life-meal", "小时", "hours_per_month", 1),
            (4, 2, 2027, "life-bath", "小时", "hours_per_month", 1),
        ]
        assert run(text("SELECT service_item_id, item_version FROM plan_items")).all() == [(1, 1)]
        db.session.commit()
        downgrade(revision="0018")
        assert [r[0] for r in run(text("SELECT id FROM service_items ORDER BY id"))] == [1, 2]
        db.session.commit()
        upgrade()
        db.session.remove()
        db.engine.dispose()


def test_a_province_administrator_keeps_the_province_profile_and_a_county_one_cannot(
    app, api, presets, make_user, make_token
):
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        catalogue.load_shipped_catalogues()
        _xinjiang_county()
        db.session.commit()
        xj = _profile("650000", 2025).id
        db.session.remove()
    make_user("xj-admin", role="admin", region_code="650000")
    make_user("ts-admin", role="admin", region_code="650102")
    make_user("ts-officer", region_code="650102")
    province, county = make_token("xj-admin"), make_token("ts-admin")
    body = {"code": "xj-local-01", "category": "居家养老上门服务", "name": "理发服务"}
    url = f"/api/v1/policy-profiles/{xj}/catalogue-items"
    assert api.post(url, json=body, token=county).status_code == 403
    created = api.post(url, json=body, token=province)
    assert created.status_code == 201 and created.json["model"] == "visits_per_year"
    # the county's officer reads the province's catalogue and plans from it
    listed = api.get(
        "/api/v1/service-items?region_code=650102&year=2025", token=make_token("ts-officer")
    )
    assert "理发服务" in [item["name"] for item in listed.json["items"]]
