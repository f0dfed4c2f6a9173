"""The UI speaks Chinese: every message in the code has a Chinese translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "procurement/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("procurement/**.py", "python"), ("procurement/templates/**.html", "jinja2")]


def _messages_in_code() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_has_a_chinese_translation():
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(_messages_in_code() - translated)
    assert missing == [], (
        "untranslated: run `pybabel extract -F babel.cfg -k _l -o procurement/translations/"
        "messages.pot . && pybabel update -i procurement/translations/messages.pot -d "
        "procurement/translations`, translate, then `pybabel compile -d procurement/translations`"
        f": {missing}"
    )


def test_the_compiled_catalog_matches_the_source():
    with CATALOG.open("rb") as handle:
        source = {m.id: m.string for m in read_po(handle) if m.id and m.string}
    with CATALOG.with_suffix(".mo").open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == source, "run `pybabel compile -d procurement/translations`"


def test_pages_are_chinese_by_default_and_english_on_request(client, make_user):
    make_user("officer")
    client.login("officer")
    page = client.get("/").get_data(as_text=True)
    assert "工作台" in page and 'lang="zh-CN"' in page
    client.post("/language/en", page="/")
    page = client.get("/").get_data(as_text=True)
    assert "Dashboard" in page and 'lang="en"' in page
    client.post("/language/zh_Hans_CN", page="/")
    assert "工作台" in client.get("/").get_data(as_text=True)


def test_form_errors_are_chinese_next_to_the_field(client, make_user):
    response = client.post("/login", {"username": "", "password": ""})
    page = response.get_data(as_text=True)
    assert "该字段是必填字段" in page or "此字段为必填项" in page or "必填" in page
