"""Division files (issue 18): good files, each kind of bad row, re-imports, the command,
the page and the API, and who may import."""

from __future__ import annotations

import io
from importlib import resources

import pytest
from flask_babel import force_locale
from openpyxl import Workbook
from sqlalchemy import func, select

from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.regions.divisions import DivisionFileRefused, import_divisions
from procurement.regions.models import Region, RegionLevel

GOOD = """code,name,parent_code,level
650100,乌鲁木齐市,650000,prefecture
650102,天山区,650100,county
650102002,燕儿窝街道,650102,township
650102003,胜利路街道,,
653100,喀什地区,,
653101,喀什市,,county
"""


def csv_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def regions_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Region))


def test_a_good_file_adds_the_divisions_with_derived_parents_and_levels(ctx):
    report = import_divisions(csv_bytes(GOOD), "xj.csv")
    db.session.commit()
    assert report.written and report.count("add") == 6
    township = db.session.get(Region, "650102003")
    assert township.level is RegionLevel.TOWNSHIP
    assert township.parent_code == "650102"
    assert township.full_name == "新疆维吾尔自治区乌鲁木齐市天山区胜利路街道"
    assert db.session.get(Region, "653100").level is RegionLevel.PREFECTURE
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "division_file")
    ).one()
    assert event.after["added"] == 6 and event.after["filename"] == "xj.csv"
    created = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == "650102002")
    ).all()
    assert [e.action for e in created] == ["create"]


def test_twelve_digit_statistical_codes_and_chinese_headings_are_read(ctx):
    text = (
        "统计用区划代码,名称,级别\n650100000000,乌鲁木齐市,地级\n"
        "650102000000,天山区,县级\n650102002000,燕儿窝街道,乡级\n"
    )
    import_divisions(text.encode("gb18030"), "nbs.csv")
    assert db.session.get(Region, "650102002").parent_code == "650102"


def test_an_xlsx_file_is_read_like_a_csv(ctx):
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name"])
    sheet.append(["650100", "乌鲁木齐市"])
    sheet.append([650102, "天山区"])  # a code stored as a number
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_divisions(buffer.getvalue(), "xj.xlsx")
    assert report.count("add") == 2
    assert db.session.get(Region, "650102").parent_code == "650100"


BAD_ROWS = [
    # (row, expected field, expected words in the message)
    ("659998,不存在的县,,county", "parent_code", "neither in the file nor registered"),
    ("650102,天山区重复,,county", "code", "also on row 3"),
    ("6501021,七位代码,,", "code", "not a division code"),
    ("650102004,团结路街道,650102,county", "level", "not of a"),
    ("650102004,团结路街道,650100,township", "level", "cannot be under"),
    ("650103,沙依巴克区,,city", "level", "not a level"),
    (",无代码,,", "code", "missing"),
    ("650103,,,", "name", "missing"),
    ("650102001001,某社区,,", "code", "not a division code"),
    ("140522,阳城县,650100,county", "parent_code", "already registered under"),
]


@pytest.mark.parametrize(("line", "field", "words"), BAD_ROWS)
def test_a_bad_row_refuses_the_whole_file_naming_row_and_field(ctx, line, field, words):
    before = regions_count()
    text = "code,name,parent_code,level\n650100,乌鲁木齐市,,\n650102,天山区,,\n" + line + "\n"
    with force_locale("en"), pytest.raises(DivisionFileRefused) as refused:
        import_divisions(csv_bytes(text), "bad.csv")
    db.session.rollback()
    bad = refused.value.report.bad
    assert [row.line for row in bad] == [4]
    assert [f for f, _m in bad[0].errors] == [field]
    assert words in bad[0].errors[0][1]
    assert f"rows.4.{field}" in refused.value.fields
    assert regions_count() == before  # nothing written, not even the good rows


def test_reimporting_the_same_file_changes_nothing_and_a_new_name_renames(ctx):
    import_divisions(csv_bytes(GOOD), "xj.csv")
    db.session.commit()
    again = import_divisions(csv_bytes(GOOD), "xj.csv")
    db.session.commit()
    assert again.count("unchanged") == 6 and again.count("add") == 0
    renamed = import_divisions(csv_bytes(GOOD.replace("胜利路街道", "胜利路新街道")), "xj.csv")
    db.session.commit()
    assert renamed.count("rename") == 1
    assert db.session.get(Region, "650102003").name == "胜利路新街道"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == "650102003", AuditEvent.action == "rename")
    ).one()
    assert event.before["name"] == "胜利路街道" and event.after["name"] == "胜利路新街道"


def test_the_shipped_xinjiang_file_imports_and_reimports_cleanly(ctx):
    data = resources.files("procurement.data").joinpath("divisions_xinjiang.csv").read_bytes()
    first = import_divisions(data, "divisions_xinjiang.csv")
    db.session.commit()
    assert first.count("add") > 120
    assert db.session.get(Region, "653101").full_name == "新疆维吾尔自治区喀什地区喀什市"
    assert db.session.get(Region, "650102002").name == "燕儿窝街道"
    second = import_divisions(data, "divisions_xinjiang.csv")
    assert second.count("add") == 0 and second.count("rename") == 0


def test_an_administrator_of_another_province_cannot_import_its_rows(ctx):
    shanxi = db.session.get(Region, "140000")
    with pytest.raises(DivisionFileRefused) as refused:
        import_divisions(csv_bytes(GOOD), "xj.csv", within=shanxi)
    assert all(f == "code" for row in refused.value.report.bad for f, _m in row.errors)
    assert len(refused.value.report.bad) == 6


# The command --------------------------------------------------------------------------


def test_the_command_prints_a_row_report_and_writes(app, tmp_path):
    path = tmp_path / "xj.csv"
    path.write_text(GOOD, encoding="utf-8")
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["reference", "divisions", "--check", str(path)])
    assert checked.exit_code == 0, checked.output
    with app.app_context():
        assert db.session.get(Region, "650102") is None
    result = runner.invoke(args=["reference", "divisions", str(path)])
    assert result.exit_code == 0, result.output
    assert "650102003\t胜利路街道" in result.output
    with app.app_context():
        assert db.session.get(Region, "650102003") is not None
    again = runner.invoke(args=["reference", "divisions", str(path)])
    assert again.exit_code == 0 and "0" in again.output.splitlines()[-1]


def test_the_command_refuses_a_bad_file_and_names_the_row(app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("code,name\n650100,乌鲁木齐市\n659998,不存在的县\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["reference", "divisions", str(path)])
    assert result.exit_code == 1
    assert "3\t659998" in result.output
    with app.app_context():
        assert db.session.get(Region, "650100") is None


# The page and the API -----------------------------------------------------------------


@pytest.fixture
def xj_admin(make_user):
    make_user("xj-admin", role="admin", region_code="650000")
    return "xj-admin"


def upload(client, data: bytes, name: str = "xj.csv"):
    return client.post(
        "/regions/divisions",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_the_page_checks_the_file_then_imports_it_on_confirmation(app, client, xj_admin):
    client.login(xj_admin)
    response = upload(client, csv_bytes(GOOD))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "燕儿窝街道" in html and "confirm-divisions" in html
    with app.app_context():
        assert db.session.get(Region, "650102") is None  # checked, not yet written
    token = html.split('name="token" type="hidden" value="')[1].split('"')[0]
    done = client.post("/regions/divisions/confirm", {"token": token}, page="/regions/divisions")
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Region, "650102002").name == "燕儿窝街道"
    tree = client.get("/regions/").get_data(as_text=True)
    assert "燕儿窝街道" in tree
    # the file is confirmed once
    twice = client.post("/regions/divisions/confirm", {"token": token}, page="/regions/divisions")
    assert twice.status_code == 302


def test_the_page_shows_each_bad_row_in_chinese_and_writes_nothing(app, client, xj_admin):
    client.login(xj_admin)
    response = upload(client, csv_bytes("code,name\n650100,乌鲁木齐市\n659998,不存在的县\n"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "上级代码" in html and "659998" in html
    assert "confirm-divisions" not in html
    with app.app_context():
        assert db.session.get(Region, "650100") is None


def test_the_page_needs_the_csrf_token(app, client, xj_admin):
    client.login(xj_admin)
    response = client.http.post(
        "/regions/divisions",
        data={"file": (io.BytesIO(csv_bytes(GOOD)), "xj.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 422)
    with app.app_context():
        assert db.session.get(Region, "650100") is None


def test_the_api_imports_checks_and_refuses(app, api, xj_admin, make_token):
    token = make_token(xj_admin)
    url = "/api/v1/regions/divisions?filename=xj.csv"
    checked = api.post(
        url + "&check=true", data=csv_bytes(GOOD), token=token, content_type="text/csv"
    )
    assert checked.status_code == 200, checked.get_json()
    assert checked.get_json()["written"] is False and checked.get_json()["added"] == 6
    done = api.post(url, data=csv_bytes(GOOD), token=token, content_type="text/csv")
    assert done.status_code == 200 and done.get_json()["written"] is True
    assert api.get("/api/v1/regions/650102002", token=token).get_json()["name"] == "燕儿窝街道"
    bad = api.post(
        url,
        data=csv_bytes("code,name\n650103,沙依巴克区\n650103,又一个\n"),
        token=token,
        content_type="text/csv",
    )
    assert bad.status_code == 422
    error = bad.get_json()["error"]
    assert error["code"] == "division_file_refused"
    assert "rows.3.code" in error["fields"]
    assert api.get("/api/v1/regions/650103", token=token).status_code == 404


@pytest.mark.parametrize(("role", "region"), [("officer", "140522"), ("admin", "140522")])
def test_county_users_may_not_import(app, client, api, make_user, make_token, role, region):
    make_user("county-user", role=role, region_code=region)
    client.login("county-user")
    assert client.get("/regions/divisions").status_code == 403
    assert upload(client, csv_bytes(GOOD)).status_code == 403
    token = make_token("county-user")
    response = api.post(
        "/api/v1/regions/divisions", data=csv_bytes(GOOD), token=token, content_type="text/csv"
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Region, "650100") is None
