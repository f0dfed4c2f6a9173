"""Absolute links of the public site (the Atom feed, open data, OCDS ``uri``), the one
place they are made.

They come from ``PUBLIC_BASE_URL`` (the scheme and host the public reaches the site at,
e.g. ``https://ylfw.example.gov.cn``), never from the request's Host header, which any
client can forge and which a proxy may not pass on: a forged header would otherwise put
its own host into documents that others fetch and keep. Unset, the links fall back to
Flask's own (``SERVER_NAME`` when set, else the address the request came to), which is
right only for development; a warning is logged once.
"""

from __future__ import annotations

import logging

from flask import current_app, url_for

log = logging.getLogger(__name__)


def public_link(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint`` on the public site."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        if not current_app.extensions.get("public_base_url_warned"):
            current_app.extensions["public_base_url_warned"] = True
            log.warning("PUBLIC_BASE_URL is not set: public links use the request's host")
        return url_for(endpoint, _external=True, **values)
    return base.rstrip("/") + url_for(endpoint, **values)
