"""Configuration: defaults here, then ``instance/config.py``, then ``PROCUREMENT_*`` variables."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ENV_PREFIX = "PROCUREMENT_"


class DefaultConfig:
    # The database defaults to SQLite inside the instance folder (filled in by load_config).
    SQLALCHEMY_DATABASE_URI: str | None = None
    # Statement parameters (names, phone numbers) stay out of logs and error messages.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}
    # SQLite only: how long a write waits for another transaction's write lock before the
    # request is answered 409 ("changed by someone else at the same time").
    SQLITE_BUSY_TIMEOUT_MS = 5000

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}

    SESSION_COOKIE_NAME = "procurement_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Set PROCUREMENT_SESSION_COOKIE_SECURE=true behind HTTPS (see README, production).
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # A session unused for this long leads back to the login page.
    SESSION_IDLE_MINUTES = 60

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024

    # Reverse proxies in front of the application (nginx: 1). Their X-Forwarded-For and
    # X-Forwarded-Proto are believed that many hops deep, so that login throttling and the
    # audit trail see each client's own address, not the proxy's; with 0 (no proxy) the
    # headers are ignored, so that a client cannot claim another address.
    TRUSTED_PROXIES = 0
    # The scheme and host the public reaches the site at (https://host): absolute links of
    # the feed and open data are made from it, never from the Host header (docs/security.md).
    PUBLIC_BASE_URL = ""

    # Login throttling: this many failures for one user name (or 4x for one address)
    # within the window lock further attempts until the window has passed.
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW_MINUTES = 15

    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - an algorithm name
    PASSWORD_MIN_LENGTH = 8

    # Evidence documents (PDF, PNG, JPEG) and spreadsheet imports.
    EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
    IMPORT_MAX_BYTES = 20 * 1024 * 1024
    # Service records from the platform: a province's month is about 120 MB of CSV.
    RECORD_IMPORT_MAX_BYTES = 256 * 1024 * 1024
    # A push of service records through the API of up to this many records is imported
    # within the request (201 with the report); a larger one by a job (202), as files are.
    RECORD_PUSH_SYNC_MAX_ROWS = 5000

    # Long work runs as jobs on Huey (procurement.jobs.queue): "sqlite" (a file in the
    # instance folder; each web process runs JOBS_EMBEDDED_WORKERS worker threads, so
    # nothing else needs starting) or "redis" (JOBS_REDIS_URL; run `flask --app procurement
    # worker` on any number of machines, and set JOBS_EMBEDDED_WORKERS to 0).
    JOBS_BACKEND = "sqlite"
    JOBS_REDIS_URL = "redis://127.0.0.1:6379/0"
    # The queue's name: counties sharing one Redis need a name each.
    JOBS_QUEUE_NAME = "procurement"
    JOBS_EMBEDDED_WORKERS = 2
    # Tests: a job runs at once, inside the request that asks for it.
    JOBS_IMMEDIATE = False
    # A running job that has reported no progress for this long lost its worker.
    JOBS_STALL_SECONDS = 900

    # An uploaded contract template is filled in (at upload, and for each contract made
    # from it) in a child process stopped after this many seconds or when it needs more
    # than this much memory (its whole address space, the program included: about 100 MB).
    CONTRACT_RENDER_SECONDS = 20
    CONTRACT_RENDER_MEMORY_MB = 512

    API_PAGE_SIZE = 50
    API_MAX_PAGE_SIZE = 500


def _coerce(raw: str, current: object) -> object:
    """Parse an environment value into the type of the default it replaces."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, timedelta):
        return timedelta(seconds=int(raw))
    if isinstance(current, dict | list):
        return json.loads(raw)
    return raw


def load_config(app, overrides: dict | None) -> None:
    """Apply defaults, ``instance/config.py``, environment variables, then test overrides."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    for key, raw in os.environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key.removeprefix(ENV_PREFIX)
        if name == "DATABASE_URL":
            name = "SQLALCHEMY_DATABASE_URI"
        app.config[name] = _coerce(raw, app.config.get(name))
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'procurement.sqlite3'}"
    _require_driver(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance, "secret_key")
    if not app.config.get("DATA_KEY"):
        # Encrypts recipients' ID numbers: back it up with the database (README, backup).
        app.config["DATA_KEY"] = _instance_secret(instance, "data_key")
    app.config.setdefault("UPLOAD_FOLDER", str(instance / "uploads"))
    _check_public_base_url(app.config.get("PUBLIC_BASE_URL"))


def _check_public_base_url(value: str | None) -> None:
    """Refuse at start-up a public base that is not an http(s) address."""
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise RuntimeError(f"PUBLIC_BASE_URL must look like https://host, not {value!r}")


# Database drivers installed by an extra rather than by default (SQLite's is built in):
# the URL's scheme, the driver's module, the extra.
DRIVER_EXTRAS = {"postgresql+psycopg": ("psycopg", "postgres")}


def _require_driver(url) -> None:
    """Refuse to start on PostgreSQL without its driver, saying how to install it."""
    scheme = str(url).split(":", 1)[0]
    if scheme not in DRIVER_EXTRAS:
        return
    module, extra = DRIVER_EXTRAS[scheme]
    if importlib.util.find_spec(module) is None:
        raise RuntimeError(
            f"The database URL is {scheme}://, whose driver {module} is not installed: "
            f"pip install 'procurement[{extra}]'"
        )


def _instance_secret(instance: Path, name: str) -> str:
    """Read a key from the instance folder, generating it on first run."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made earlier, or by another worker starting at the same moment
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.05)  # another worker is still writing it
    raise RuntimeError(f"{path} is empty: delete it to generate a new key")
