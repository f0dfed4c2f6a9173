"""Language helpers."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app
from flask_babel import force_locale


@contextmanager
def stored_language():
    """Text kept in the database or in documents is written in the default language
    (Chinese), whatever language the request that caused it speaks."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        yield
