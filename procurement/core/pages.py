"""Rendered pages, kept while the data behind them has not changed.

An officer's list of a hundred zones or of a province's recipients takes tens of
milliseconds to render; opened again (a reload, a second tab, back from a record) it is
the same page as long as nothing was written in between, and the public site is read far
more often than anything in it changes. Each worker keeps the pages it rendered lately
under:

- who asked: on the public site, no one (everyone sees the same page, logged in or not);
  elsewhere the user and this session's CSRF secret (a page carries the session's CSRF
  token in its forms, and the user's permissions and region decide what it shows);
- what was asked: the address with its host and query (the feed and the open data write
  absolute links), and the language;
- the day in China (deadlines and overdue marks move with it);
- the version of the data (``procurement.core.changes``): any committed write, from
  anyone, anywhere, renders every page anew.

Only successful GET answers are kept (HTML pages; on the public site also the feed and
the open data): no API answer, no download, no page that showed a
flashed message or that wrote something itself (an audited view writes its audit event
each time, so it is never kept), and nothing is served from the keep while a message
waits to be flashed. A public page served from the keep still answers a conditional
request with 304; it may show a change a second late (the version is read at most once a
second there). ``PAGE_CACHE_SECONDS = 0`` turns the keep off.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request, session
from flask.globals import request_ctx
from flask_babel import get_locale

from procurement.core import clock
from procurement.core.cache import MISSING, app_cache
from procurement.core.changes import data_version, recent_data_version, wrote_in_this_request


def init_page_cache(app: Flask) -> None:
    """Install the lookup after the user is identified (``init_auth``) and the keeping."""
    app.before_request(_serve_kept)
    app.after_request(_keep)


PUBLIC = "public"
# What a kept answer carries besides its body (the public site's validators included).
KEPT_HEADERS = {"Content-Type", "ETag", "Last-Modified", "Cache-Control"}
PUBLIC_PAGES = 256  # per worker: the public site has many pages, each the same for all


def _public() -> bool:
    return request.blueprint == PUBLIC


def _keepable() -> bool:
    return (
        current_app.config["PAGE_CACHE_SECONDS"] > 0
        and request.method == "GET"
        and (_public() or g.get("user") is not None)
        and not request.path.startswith("/api/")
        and request.endpoint != "static"
        and "_flashes" not in session
    )


def _key() -> tuple:
    who = (PUBLIC,) if _public() else (g.user.id, session.get("csrf_token"))
    # the address asked for, host included: the feed and open data write absolute links
    return (*who, request.url_root, request.full_path, str(get_locale()), clock.today())


def _kept(public: bool):
    """The public site's keep and the logged-in users' keep, so that neither crowds the
    other out."""
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if public:
        return app_cache("public_pages", size=PUBLIC_PAGES, seconds=seconds)
    return app_cache("pages", size=current_app.config["PAGE_CACHE_SIZE"], seconds=seconds)


def _serve_kept() -> Response | None:
    if not _keepable():
        return None
    public = _public()
    # read before anything the page shows; a user sees their own change at once
    version = recent_data_version() if public else data_version()
    key = _key()
    found = _kept(public).lookup(key, version)
    if found is MISSING:
        g.page_kept_as = (key, version)  # rendered now: ``_keep`` may keep it
        return None
    body, headers = found
    return Response(body, headers=headers).make_conditional(request)


def _keep(response: Response) -> Response:
    kept_as = g.pop("page_kept_as", None)
    public = _public()
    if (
        kept_as is not None
        and response.status_code == 200
        and (public or response.mimetype == "text/html")  # the feed and open data too
        and not response.direct_passthrough
        and "Content-Disposition" not in response.headers
        and not request_ctx.flashes  # the page showed a message: it is of this moment
        and "_flashes" not in session
        and not wrote_in_this_request()
    ):
        key, version = _key(), kept_as[1]  # the session's CSRF secret may be new
        if key[-1] == kept_as[0][-1]:  # not if the day turned meanwhile
            headers = [(k, v) for k, v in response.headers.items() if k in KEPT_HEADERS]
            _kept(public).store(key, version, (response.get_data(), headers))
    return response
