"""The public site: open without login, only what is published, searchable, accessible,
and cacheable (ETag, Last-Modified, 304)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from procurement import PACKAGE_ROOT
from procurement.core.db import db
from procurement.public import services as publishing
from procurement.public.models import PublicationKind
from tests.conftest import Client
from tests.helpers import in_app
from tests.public.conftest import EVALUATOR_NAMES, TEAM, public_urls

HREF = re.compile(r'href="([^"#]+)"')


class Outline(HTMLParser):
    """The landmarks, headings and table headers of a page."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.lang = None
        self.headers_with_scope = 0
        self.headers = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag == "th":
            self.headers += 1
            self.headers_with_scope += "scope" in attributes


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def text(response) -> str:
    return response.get_data(as_text=True)


def internal_links(html: str) -> list[str]:
    """Links that leave the public site (to pages that need a login)."""
    return [href for href in HREF.findall(html) if not href.startswith(("/public", "/static"))]


def test_every_public_page_opens_without_login(app, site):
    http = app.test_client()
    for url in public_urls(site):
        response = http.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert "Set-Cookie" not in response.headers, url  # nothing per visitor


def test_pages_show_no_internal_links_and_no_session_data(app, site):
    http = app.test_client()
    for url in public_urls(site):
        response = http.get(url)
        if response.mimetype != "text/html":
            continue
        html = text(response)
        assert "csrf_token" not in html, url
        assert internal_links(html) == [], url


def test_pages_are_accessible_chinese_documents(app, site):
    http = app.test_client()
    for url in public_urls(site):
        response = http.get(url)
        if response.mimetype != "text/html":
            continue
        page = outline(text(response))
        assert page.lang == "zh-CN", url
        for landmark in ("header", "nav", "main", "footer"):
            assert landmark in page.tags, (url, landmark)
        assert page.tags.count("h1") == 1, url
        assert page.headers == page.headers_with_scope, url  # every table header has a scope
    stylesheet = (PACKAGE_ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")
    assert "@media print" in stylesheet and "body.public" in stylesheet


def test_records_not_published_or_withdrawn_answer_404(app, site):
    http = app.test_client()
    unpublished = site["contracts"][2]
    assert http.get(f"/public/contracts/{unpublished}").status_code == 404
    assert http.get(f"/public/contracts/{unpublished}/document.docx").status_code == 404
    assert http.get("/public/awards/999").status_code == 404
    assert http.get("/public/evaluations/999").status_code == 404
    missing = http.get("/public/providers/999")
    assert missing.status_code == 404
    assert internal_links(text(missing)) == []
    assert "csrf_token" not in text(missing)
    assert str(unpublished) not in re.findall(
        r"/public/contracts/(\d+)", text(http.get("/public/"))
    )

    def withdraw():
        publishing.withdraw_record(PublicationKind.ACCEPTANCE, site["acceptance"])
        publishing.withdraw_record(PublicationKind.EVALUATION, site["evaluation"])

    in_app(app, withdraw)
    for url in (
        f"/public/acceptances/{site['acceptance']}",
        f"/public/acceptances/{site['acceptance']}/certificate",
        f"/public/evaluations/{site['evaluation']}",
    ):
        assert http.get(url).status_code == 404, url
    listing = text(http.get("/public/"))
    assert "/public/acceptances/" not in listing and "/public/evaluations/" not in listing


def test_a_provider_published_nothing_about_has_no_page(app, site):
    assert app.test_client().get(f"/public/providers/{site['providers'][0] + 2}").status_code == 404


def test_contract_page_shows_the_public_terms(app, site):
    html = text(app.test_client().get(f"/public/contracts/{site['contracts'][0]}"))
    for fact in (
        "第一片区",
        "凤城镇、河北镇、蟒河镇、东冶镇",
        "158,400.00",
        "壹拾伍万捌仟肆佰元整",
    ):
        assert fact in html
    assert "33.00" in html and "2026-07-01" in html and "2026-12-31" in html
    assert site["provider_names"][0] in html
    assert f"/public/contracts/{site['contracts'][0]}/document.docx" in html


def test_results_show_figures_team_and_weighted_scores_but_no_evaluator(app, site):
    http = app.test_client()
    acceptance = text(http.get(f"/public/acceptances/{site['acceptance']}"))
    for member in TEAM:
        assert member["name"] in acceptance and member["role"] in acceptance
    assert "1480.00" in acceptance and "51,800.00" in acceptance
    assert f"/public/acceptances/{site['acceptance']}/certificate" in acceptance
    evaluation = text(http.get(f"/public/evaluations/{site['evaluation']}"))
    assert "87.60" in evaluation
    for weighted in ("22.00", "13.50", "34.40", "17.70"):
        assert weighted in evaluation
    assert "晋城市某评估中心" in evaluation
    for page in (evaluation, text(http.get("/public/feed.atom"))):
        for name in EVALUATOR_NAMES:
            assert name not in page


def test_the_certificate_and_the_contract_text_download(app, site):
    http = app.test_client()
    certificate = http.get(f"/public/acceptances/{site['acceptance']}/certificate")
    assert certificate.mimetype == "application/pdf"
    assert certificate.get_data().startswith(b"%PDF-")
    document = http.get(f"/public/contracts/{site['contracts'][0]}/document.docx")
    assert document.get_data().startswith(b"PK")
    assert "attachment" in document.headers["Content-Disposition"]


def test_search_by_text_kind_year_and_region(app, site):
    http = app.test_client()

    def titles(query: str) -> list[str]:
        return re.findall(
            r'<td><a href="/public/(?:awards|contracts|acceptances|evaluations)/\d+">([^<]+)</a>',
            text(http.get(f"/public/?{query}")),
        )

    assert len(titles("")) == 7
    assert len(titles("kind=award")) == 3
    assert len(titles("kind=contract")) == 2
    assert len(titles("kind=nonsense")) == 7  # not understood: no filter
    assert all("第二片区" in t for t in titles("q=第二片区"))
    assert len(titles("q=第二片区")) == 2
    by_provider = titles(f"q={site['provider_names'][0]}")
    assert len(by_provider) == 4  # its award, contract, acceptance and evaluation
    assert titles("q=100%25") == []  # the wildcard is a plain character
    assert len(titles("year=2026")) == 7
    assert titles("year=2025") == []
    assert len(titles("region=140522")) == 7
    assert len(titles("region=140500")) == 7  # the prefecture holds the county
    assert titles("region=140521") == []  # 沁水县 published nothing
    assert titles("region=650000&year=2026") == []


def test_the_json_listing_filters_alike(app, site):
    http = app.test_client()
    body = http.get("/public/publications.json?kind=award&region=140522").get_json()
    assert body["total"] == 3
    assert {item["kind"] for item in body["items"]} == {"award"}
    assert all(item["url"].startswith("http://localhost/public/awards/") for item in body["items"])
    assert http.get("/public/publications.json?region=140521").get_json()["total"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "/public/",
        "/public/feed.atom",
        "/public/plans/{plan}/ocds.json",
        "/public/evaluations/{evaluation}",
    ],
)
def test_cache_headers_and_304(app, site, url):
    http = app.test_client()
    url = url.format(**site)
    first = http.get(url)
    assert first.status_code == 200
    assert first.cache_control.public and first.cache_control.max_age == 300
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert http.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert http.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_new_publication_changes_the_etag(app, site):
    http = app.test_client()
    before = http.get("/public/")
    in_app(app, lambda: publishing.withdraw_record(PublicationKind.AWARD, site["awards"][2]))
    after = http.get("/public/", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]


def test_logged_in_users_of_any_county_see_the_same_pages(app, site, make_user):
    anonymous = app.test_client().get("/public/")
    make_user("qinshui", role="officer", region_code="140521")
    client = Client(app)
    client.login("qinshui")
    response = client.get("/public/")
    assert response.status_code == 200
    assert response.headers["ETag"] == anonymous.headers["ETag"]
    assert response.cache_control.public
    assert client.get(f"/public/contracts/{site['contracts'][0]}").status_code == 200


def test_any_change_behind_a_public_page_shows_at_once(app, site):
    """Not only a publication: a plan's title, changed after its award was published."""
    from procurement.plans.models import PurchasePlan

    http = app.test_client()
    url = f"/public/plans/{site['plan']}"
    assert "更名后的采购计划" not in http.get(url).get_data(as_text=True)
    etag = http.get(url).headers["ETag"]

    def rename():
        db.session.get(PurchasePlan, site["plan"]).title = "更名后的采购计划"

    in_app(app, rename)
    changed = http.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "更名后的采购计划" in changed.get_data(as_text=True)
