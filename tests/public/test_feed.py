"""The Atom feed: valid Atom 1.0 with stable ids, dates and links; withdrawals show."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from procurement.public import services as publishing
from procurement.public.models import PublicationKind
from tests.helpers import in_app

NS = {"atom": "http://www.w3.org/2005/Atom"}


def read_feed(app, query: str = "", base_url: str = "http://localhost") -> ET.Element:
    response = app.test_client().get(f"/public/feed.atom{query}", base_url=base_url)
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    return ET.fromstring(response.get_data())  # noqa: S314 - our own feed


def moment(element: ET.Element, tag: str) -> datetime:
    value = element.find(f"atom:{tag}", NS).text
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def test_the_feed_is_atom_with_an_entry_per_publication(app, site):
    feed = read_feed(app)
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.find("atom:id", NS).text.startswith("urn:uuid:")
    assert feed.find("atom:title", NS).text
    assert feed.find("atom:author/atom:name", NS).text
    links = {link.get("rel"): link.get("href") for link in feed.findall("atom:link", NS)}
    assert links == {
        "self": "http://localhost/public/feed.atom",
        "alternate": "http://localhost/public/",
    }
    entries = feed.findall("atom:entry", NS)
    assert len(entries) == 7
    ids = [entry.find("atom:id", NS).text for entry in entries]
    assert len(set(ids)) == 7 and all(i.startswith("urn:uuid:") for i in ids)
    for entry in entries:
        assert entry.find("atom:title", NS).text
        assert moment(entry, "updated") >= moment(entry, "published")
        link = entry.find("atom:link[@rel='alternate']", NS).get("href")
        assert link.startswith("http://localhost/public/")
        assert entry.find("atom:category", NS).get("term") in {k.value for k in PublicationKind}
        assert entry.find("atom:summary", NS).text
    assert moment(feed, "updated") == max(moment(e, "updated") for e in entries)
    hrefs = {e.find("atom:link", NS).get("href") for e in entries}
    assert f"http://localhost/public/evaluations/{site['evaluation']}" in hrefs


def test_entry_ids_do_not_depend_on_the_host(app, site):
    def ids(feed):
        return [entry.find("atom:id", NS).text for entry in feed.findall("atom:entry", NS)]

    assert ids(read_feed(app)) == ids(read_feed(app, base_url="https://gov.example.cn"))


def test_a_withdrawn_publication_is_an_updated_entry_linking_to_the_index(app, site):
    contract = site["contracts"][1]
    before = {
        entry.find("atom:id", NS).text: entry
        for entry in read_feed(app).findall("atom:entry", NS)
        if entry.find("atom:link", NS).get("href").endswith(f"/public/contracts/{contract}")
    }
    [(entry_id, entry)] = before.items()
    title = entry.find("atom:title", NS).text
    in_app(app, lambda: publishing.withdraw_record(PublicationKind.CONTRACT, contract))
    after = {e.find("atom:id", NS).text: e for e in read_feed(app).findall("atom:entry", NS)}
    withdrawn = after[entry_id]
    assert withdrawn.find("atom:title", NS).text != title
    assert title in withdrawn.find("atom:title", NS).text
    assert withdrawn.find("atom:link", NS).get("href") == "http://localhost/public/"
    assert len(after) == 7


def test_the_feed_filters_by_region_and_kind(app, site):
    assert len(read_feed(app, "?kind=award").findall("atom:entry", NS)) == 3
    empty = read_feed(app, "?region=140521")
    assert empty.findall("atom:entry", NS) == []
    assert empty.find("atom:updated", NS).text
    assert empty.find("atom:id", NS).text != read_feed(app).find("atom:id", NS).text
