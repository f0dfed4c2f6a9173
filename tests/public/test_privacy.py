"""Nothing public names a service recipient: every page, download, the feed and the
open data are scanned for every demo recipient's name, ID number and phone number."""

from __future__ import annotations

import io
import json
import re
import zipfile

from sqlalchemy import select

from procurement.core.db import db
from procurement.recipients.identity import decrypt
from procurement.recipients.models import Recipient
from tests.helpers import in_app
from tests.public.conftest import public_urls


def recipients(app) -> list[tuple[str, str, str]]:
    def work():
        rows = db.session.scalars(select(Recipient)).all()
        return [(r.name, decrypt(r.id_cipher), r.phone) for r in rows]

    return in_app(app, work)


def readable(response) -> str:
    """What a reader of the response sees: the text inside a .docx, JSON decoded."""
    data = response.get_data()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = "".join(
                archive.read(name).decode("utf-8")
                for name in archive.namelist()
                if name.endswith(".xml")
            )
        return re.sub(r"<[^>]+>", "", xml)
    if response.mimetype == "application/json":
        return json.dumps(response.get_json(), ensure_ascii=False)
    return data.decode("utf-8", errors="replace")


def test_no_recipient_data_on_any_public_page_feed_or_data(app, api, site, make_user, make_token):
    people = recipients(app)
    assert len(people) >= 100
    http = app.test_client()
    scanned = {url: readable(http.get(url)) for url in public_urls(site)}
    make_user("auditor-1", role="auditor", region_code="140522")
    token = make_token("auditor-1")
    for url in (f"/api/v1/plans/{site['plan']}/ocds", "/api/v1/publications"):
        scanned[url] = readable(api.get(url, token=token))
    # The scan reads real content: the contract text names its provider and townships.
    document = scanned[f"/public/contracts/{site['contracts'][0]}/document.docx"]
    assert site["provider_names"][0] in document and "凤城镇" in document
    assert site["provider_names"][0] in scanned["/public/feed.atom"]

    found = []
    for url, content in scanned.items():
        for name, number, phone in people:
            for value in (name, number, number[-8:], phone):
                if value and value in content:
                    found.append((url, value))
    assert found == []
