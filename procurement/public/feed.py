"""The Atom 1.0 feed (RFC 4287) of publications, newest change first.

A withdrawn publication stays in the feed as an updated entry saying so (same id), so
that a reader who saw it learns it was withdrawn; it links to the public index, since
its own page answers 404 from then on.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import Select, func

from procurement.core.clock import CHINA
from procurement.core.db import db
from procurement.public.models import Publication

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_SIZE = 50
# Atom requires <updated> even for an empty feed: a fixed moment keeps its ETag stable.
EMPTY_FEED_UPDATED = datetime(2026, 1, 1, tzinfo=UTC)

ET.register_namespace("", ATOM)


def changed_at(publication: Publication) -> datetime:
    return publication.withdrawn_at or publication.published_at


def recent(stmt: Select) -> list[Publication]:
    """The newest changes among the publications ``stmt`` selects (withdrawn included)."""
    newest_first = func.coalesce(Publication.withdrawn_at, Publication.published_at).desc()
    return list(
        db.session.scalars(stmt.order_by(newest_first, Publication.id.desc()).limit(FEED_SIZE))
    )


@dataclass(frozen=True)
class FeedInfo:
    title: str
    self_url: str
    site_url: str
    # Ids are UUIDs made from these, so they stay the same whatever host serves the feed.
    feed_id: str
    entry_seed: str


def entry_id(seed: str, publication: Publication) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/publications/{publication.id}").urn


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def build_feed(
    info: FeedInfo,
    publications: list[Publication],
    *,
    page_url: Callable[[Publication], str],
    summary: Callable[[Publication], str],
    language: str,
) -> bytes:
    """The feed document; ``page_url`` and ``summary`` say where an entry links and what
    it says (the views know the pages and the names)."""
    feed = ET.Element(f"{{{ATOM}}}feed", {XML_LANG: language})
    _add(feed, "id", uuid.uuid5(uuid.NAMESPACE_URL, info.feed_id).urn)
    _add(feed, "title", info.title)
    updated = max((changed_at(p) for p in publications), default=EMPTY_FEED_UPDATED)
    _add(feed, "updated", _stamp(updated))
    _add(feed, "link", rel="self", type="application/atom+xml", href=info.self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=info.site_url)
    author = _add(feed, "author")
    _add(author, "name", info.title)
    for publication in publications:
        entry = _add(feed, "entry")
        _add(entry, "id", entry_id(info.entry_seed, publication))
        withdrawn = publication.withdrawn_at is not None
        title = publication.title
        if withdrawn:
            title = _("Withdrawn: %(title)s", title=title)
        _add(entry, "title", title)
        _add(entry, "updated", _stamp(changed_at(publication)))
        _add(entry, "published", _stamp(publication.published_at))
        _add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=info.site_url if withdrawn else page_url(publication),
        )
        _add(entry, "category", term=publication.kind.value, label=publication.kind.label)
        text = summary(publication)
        if withdrawn:
            when = publication.withdrawn_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
            text = _("Withdrawn on %(date)s.", date=when) + " " + text
        _add(entry, "summary", text, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
