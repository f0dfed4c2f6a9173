"""Public links (issue 15): the feed, the publication list and open data make their
absolute links from PUBLIC_BASE_URL, never from the Host header a client sends."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from procurement import create_app
from tests.conftest import BASE_CONFIG

BASE = "https://ylfw.example.gov.cn"
FORGED = "http://evil.example"
URL = re.compile(r"https?://[^\s\"'<>]+")


def _links(body: str) -> set[str]:
    return set(URL.findall(body)) - {
        # the standards the documents name, not links of this site
        m
        for m in URL.findall(body)
        if "example" not in m and "localhost" not in m
    }


def _fetch_all(app, site, base_url: str) -> dict[str, str]:
    client = app.test_client()
    paths = [
        "/public/feed.atom",
        "/public/publications.json",
        f"/public/plans/{site['plan']}/ocds.json",
        "/public/ocds/extension/extension.json",
    ]
    found = {}
    for path in paths:
        response = client.get(path, base_url=base_url)
        assert response.status_code == 200, path
        found[path] = response.get_data(as_text=True)
    return found


def test_a_forged_host_header_puts_no_link_of_its_own_in_public_documents(app, site):
    app.config["PUBLIC_BASE_URL"] = BASE
    documents = _fetch_all(app, site, FORGED)
    for path, body in documents.items():
        links = _links(body)
        assert links, path
        assert "evil.example" not in body, path
        assert all(link.startswith(BASE + "/public/") for link in links), (path, links)
    package = json.loads(documents[f"/public/plans/{site['plan']}/ocds.json"])
    assert package["uri"] == f"{BASE}/public/plans/{site['plan']}/ocds.json"
    feed = ET.fromstring(documents["/public/feed.atom"])  # noqa: S314 - our own feed
    ns = {"atom": "http://www.w3.org/2005/Atom"}
    hrefs = {link.get("rel"): link.get("href") for link in feed.findall("atom:link", ns)}
    assert hrefs == {"self": f"{BASE}/public/feed.atom", "alternate": f"{BASE}/public/"}


def test_a_base_with_a_trailing_slash_makes_the_same_links(app, site):
    app.config["PUBLIC_BASE_URL"] = BASE + "/"
    body = _fetch_all(app, site, FORGED)["/public/feed.atom"]
    assert f'href="{BASE}/public/feed.atom"' in body and "//public" not in body


def test_unset_the_links_follow_the_request_as_documented(app, site):
    """Development: without PUBLIC_BASE_URL the address the request came to is used."""
    app.config["PUBLIC_BASE_URL"] = ""
    body = _fetch_all(app, site, "http://localhost")["/public/feed.atom"]
    assert 'href="http://localhost/public/feed.atom"' in body


@pytest.mark.parametrize("value", ["ylfw.example.gov.cn", "ftp://x.example", "https://x/?a=1"])
def test_a_malformed_public_base_url_stops_the_start(tmp_path, value):
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        create_app(
            {
                **BASE_CONFIG,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "INSTANCE_PATH": str(tmp_path),
                "PUBLIC_BASE_URL": value,
            }
        )
