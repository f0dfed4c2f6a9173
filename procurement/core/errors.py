"""Errors that services raise, and the one handler that answers them as JSON or HTML."""

from __future__ import annotations

import logging
import re
import sqlite3
import traceback

from flask import Response, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from procurement.core.db import db

log = logging.getLogger(__name__)

# The database is down, unreachable, locked or gave up on the statement (deadlock,
# timeout): through SQLAlchemy, or straight from the driver where a bulk import writes
# through the raw connection (COPY).
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)
try:
    import psycopg
except ImportError:  # pragma: no cover - SQLite only
    pass
else:
    UNAVAILABLE += (psycopg.OperationalError, psycopg.InterfaceError)

# Two transactions wanted the same rows or the same write lock at once: SQLite's busy
# database (after its busy timeout), PostgreSQL's serialization failure, deadlock or lock
# timeout. Nothing was saved, the database is well: the user reloads and tries again.
_SQLITE_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_POSTGRES_CLASH_STATES = {"40001", "40P01", "55P03"}


def is_write_clash(error: BaseException) -> bool:
    """Whether ``error`` is a write that lost a race, not a database that is down."""
    driver_error = getattr(error, "orig", None) or error
    if isinstance(driver_error, sqlite3.OperationalError):
        code = getattr(driver_error, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF in _SQLITE_BUSY_CODES) or (
            "database is locked" in str(driver_error)
        )
    return getattr(driver_error, "sqlstate", None) in _POSTGRES_CLASH_STATES


# Personal data never reaches the log: ID numbers, phone numbers and other long numbers,
# and Chinese text (names, addresses) are blanked out of exception messages.
_LONG_NUMBER = re.compile(r"\d{7,}[Xx]?")
_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")


def redact(text: str) -> str:
    """``text`` without anything that could be a person's name or number."""
    return _CHINESE.sub("[…]", _LONG_NUMBER.sub("[#]", text))


def describe(error: BaseException) -> str:
    """An exception for the log: its class, redacted message and where it was raised
    (file, line, function), and the same for the exceptions that led to it; never the
    values it carried."""
    parts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = "".join(traceback.format_list(traceback.extract_tb(error.__traceback__)))
        parts.append(
            f"{error.__class__.__module__}.{error.__class__.__name__}: "
            f"{redact(str(error))}\n{frames}"
        )
        error = error.__cause__ or error.__context__
    return "\n-- caused by --\n".join(parts)


class DomainError(Exception):
    """A rule refused the request; ``message`` is fit to show the user."""

    status = 422
    code = "validation_error"
    default_message = _l("The request is not valid.")

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = str(message or self.default_message)
        self.fields = dict(fields or {})
        if field:
            self.fields.setdefault(field, []).append(self.message)
        if code:
            self.code = code
        super().__init__(self.message)


class ValidationError(DomainError):
    pass


class RowsRefused(ValidationError):
    """A file with at least one bad row: nothing was written. ``report.bad`` holds the bad
    rows (each with its ``line`` and ``errors``, pairs of field and message); each message
    is filed under ``rows.<line>.<field>``, the field named by ``labels``."""

    def __init__(self, report, labels: dict[str, str]) -> None:
        fields: dict[str, list[str]] = {}
        for row in report.bad:
            for name, message in row.errors:
                fields.setdefault(f"rows.{row.line}.{name}", []).append(
                    _(
                        "Row %(line)d, %(field)s: %(message)s",
                        line=row.line,
                        field=labels[name],
                        message=message,
                    )
                )
        super().__init__(
            _("%(n)d rows of the file are wrong; nothing was imported.", n=len(report.bad)),
            fields=fields,
        )
        self.report = report


class FieldErrors:
    """Collects the problems of a whole input, so that the user sees them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def raise_if_any(self, message: str | None = None) -> None:
        """Raise a ValidationError naming every field; its message is the first problem."""
        if self.fields:
            first = next(iter(self.fields.values()))[0]
            raise ValidationError(message or first, fields=self.fields)


class BadRequest(DomainError):
    status = 400
    code = "bad_request"
    default_message = _l("The request could not be read.")


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = _l("Authentication is required.")


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("You do not have permission to do this.")

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        if code == "region_out_of_scope" and message is None:
            message = _("This record belongs to a region outside your own.")
        super().__init__(message, code=code)


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("The record was not found.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("The record was changed or already exists.")


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}

HTTP_MESSAGES = {
    400: _l("The request could not be read."),
    401: _l("Authentication is required."),
    403: _l("You do not have permission to do this."),
    404: _l("The page or record was not found."),
    405: _l("This method is not allowed here."),
    413: _l("The upload is larger than allowed."),
    429: _l("Too many requests. Please wait and try again."),
    500: _l("An internal error occurred. It has been logged; please try again later."),
}
DATABASE_UNAVAILABLE = _l("The database is unavailable; nothing was saved. Try again later.")


def wants_json() -> bool:
    """API paths and clients that ask for JSON get JSON errors; browsers get pages."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> Response:
    if wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        return make_response(jsonify(body), status)
    page = render_template("errors/error.html", status=status, message=message)
    return make_response(page, status)


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return error_response(error.status, error.code, error.message, error.fields)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        message = str(HTTP_MESSAGES.get(status) or error.description)
        if status == 400 and getattr(error, "description", None) and "CSRF" in error.description:
            message = _("The form has expired or was not sent from this site. Please reload.")
        response = error_response(status, HTTP_CODES.get(status, "error"), message)
        if status == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(StaleDataError)
    @app.errorhandler(IntegrityError)
    def _concurrent(error: BaseException):
        """Two requests changed the same record at once: the later one is told to reload."""
        _roll_back()
        log.warning("conflict on %s %s: %s", request.method, request.path, error.__class__.__name__)
        message = _(
            "The record was changed by someone else at the same time. Reload and try again."
        )
        return error_response(409, "conflict", message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        _roll_back()  # the page or JSON below must not touch a broken session
        if isinstance(error, HTTPException):
            return _http(error)
        if is_write_clash(error):
            return _concurrent(error)
        if isinstance(error, UNAVAILABLE):
            return _unavailable(error)
        log.error("unhandled error on %s %s: %s", request.method, request.path, describe(error))
        return error_response(500, "internal_error", str(HTTP_MESSAGES[500]))

    def _unavailable(error: BaseException):
        """The database failed mid-request: everything of the request was rolled back."""
        log.error(
            "database unavailable on %s %s: %s", request.method, request.path, describe(error)
        )
        # The user's row is expired by the rollback: the page must not load it again
        # from a database that is not answering (it is shown without the navigation).
        g.user = None
        response = error_response(503, "database_unavailable", str(DATABASE_UNAVAILABLE))
        response.headers["Retry-After"] = "30"
        return response


def _roll_back() -> None:
    try:
        db.session.rollback()
    except Exception as error:  # noqa: BLE001 - the connection itself may be gone
        log.warning("rollback failed: %s", describe(error))
        db.session().invalidate()  # the Session itself: ``db.session`` is its scoped proxy
