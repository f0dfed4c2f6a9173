"""Wiring: extensions, blueprints, language, security headers, template helpers, CLI."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from procurement.core.clock import CHINA
from procurement.core.db import sqlite_engine_options, use_real_sqlite_transactions
from procurement.core.money import amount_in_capitals, format_amount
from procurement.core.scoping import current_scope
from procurement.extensions import babel, csrf, db, migrate

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The navigation: (label, endpoint, permission), shown only to roles that hold it.
NAVIGATION = [
    (_l("Dashboard"), "dashboard.index", "dashboard.view"),
    (_l("Purchase plans"), "plans.index", "plans.view"),
    (_l("Providers"), "providers.index", "providers.view"),
    (_l("Contracts"), "contracts.index", "plans.view"),
    (_l("Recipients"), "recipients.index", "recipients.view"),
    (_l("Settlement"), "settlements.index", "settlements.view"),
    (_l("Payments"), "payments.index", "payments.view"),
    (_l("Supervision"), "supervision.index", "supervision.view"),
    (_l("Acceptance and evaluation"), "performance.index", "performance.view"),
    (_l("Policy profiles"), "policies.index", "policies.view"),
    (_l("Regions"), "regions.index", "regions.view"),
    (_l("Users"), "accounts.users", "users.view"),
    (_l("Audit trail"), "audit.index", "audit.view"),
    (_l("Contract templates"), "contracts.templates", "templates.manage"),
]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def init_web(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlite_engine_options(
            app.config["SQLALCHEMY_ENGINE_OPTIONS"], app.config["SQLITE_BUSY_TIMEOUT_MS"]
        )
    db.init_app(app)
    with app.app_context():
        use_real_sqlite_transactions(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)

    from procurement.accounts.auth import init_auth
    from procurement.core.errors import register_error_handlers
    from procurement.jobs.queue import init_jobs

    init_auth(app)
    init_jobs(app)
    register_error_handlers(app)
    _connect_features(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_template_helpers(app)
    app.after_request(_security_headers)
    app.add_url_rule("/language/<code>", "set_language", _set_language, methods=["POST"])


def _connect_features(app: Flask) -> None:
    """What one feature feeds another, and what every session does, named here rather than
    left to whichever module happens to be imported: a feature missing from this list
    fails loudly instead of silently showing nothing settled, no history or every county."""
    from procurement.awards import services as awards
    from procurement.contracts.services import committed_by_zone
    from procurement.core import audit, scoping
    from procurement.payments.services import paid_by_zone
    from procurement.plans import execution
    from procurement.renewal.services import past_record
    from procurement.settlements.services import settled_by_zone

    scoping.watch_sessions()  # first: nothing is read or written outside the region
    audit.watch_sessions()
    execution.init_app(
        app,
        commitments=[committed_by_zone],
        settlements=[settled_by_zone],
        payments=[paid_by_zone],
    )
    awards.init_app(app, past_records=[past_record])


def _register_blueprints(app: Flask) -> None:
    # Importing the API modules declares their endpoints on the shared blueprint.
    from procurement.accounts import api as _accounts_api  # noqa: F401
    from procurement.accounts.views import bp as accounts
    from procurement.audit import api as _audit_api  # noqa: F401
    from procurement.audit.views import bp as audit
    from procurement.awards.views import bp as awards
    from procurement.contracts import api as _contracts_api  # noqa: F401
    from procurement.contracts.views import bp as contracts
    from procurement.core.api import api
    from procurement.dashboard.views import bp as dashboard
    from procurement.jobs import api as _jobs_api  # noqa: F401
    from procurement.jobs.views import bp as jobs
    from procurement.payments import api as _payments_api  # noqa: F401
    from procurement.payments.views import bp as payments
    from procurement.performance import api as _performance_api  # noqa: F401
    from procurement.performance.views import bp as performance
    from procurement.plans import api as _plans_api  # noqa: F401
    from procurement.plans.catalogue_views import bp as catalogue
    from procurement.plans.views import bp as plans
    from procurement.policies import api as _policies_api  # noqa: F401
    from procurement.policies.views import bp as policies
    from procurement.providers import api as _providers_api  # noqa: F401
    from procurement.providers.views import bp as providers
    from procurement.public import api as _public_api  # noqa: F401
    from procurement.public.views import bp as public
    from procurement.recipients import api as _recipients_api  # noqa: F401
    from procurement.recipients.views import bp as recipients
    from procurement.regions import api as _regions_api  # noqa: F401
    from procurement.regions.views import bp as regions
    from procurement.renewal import api as _renewal_api  # noqa: F401
    from procurement.renewal.views import bp as renewal
    from procurement.settlements import api as _settlements_api  # noqa: F401
    from procurement.settlements.views import bp as settlements
    from procurement.supervision import api as _supervision_api  # noqa: F401
    from procurement.supervision.views import bp as supervision

    for blueprint in (
        accounts,
        audit,
        awards,
        catalogue,
        contracts,
        dashboard,
        jobs,
        payments,
        performance,
        plans,
        policies,
        providers,
        public,
        recipients,
        regions,
        renewal,
        settlements,
        supervision,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(api)
    csrf.exempt(api)  # the API authenticates with bearer tokens, never with cookies


def _register_cli(app: Flask) -> None:
    from procurement.accounts.cli import users_cli
    from procurement.demo.cli import demo_cli
    from procurement.jobs.cli import worker_command
    from procurement.ops.cli import backup_cli
    from procurement.regions.cli import reference_cli

    app.cli.add_command(reference_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(worker_command)


def _select_locale() -> str:
    """Pages speak Chinese unless the user chose English; the API follows Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale") if request else None
    if chosen in languages:
        return chosen
    user = g.get("user")
    if user is not None and user.locale in languages:
        return user.locale
    if request and request.path.startswith("/api/"):
        best = request.accept_languages.best_match(["zh", "en"], default="zh")
        return "en" if best == "en" else current_app.config["BABEL_DEFAULT_LOCALE"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _set_language(code: str):
    """Remember the chosen language for this session (and for the user, when logged in)."""
    from procurement.core.forms import ActionForm

    if code in current_app.config["LANGUAGES"] and ActionForm().validate_on_submit():
        session["locale"] = code
        user = g.get("user")
        if user is not None and user.locale != code:
            user.locale = code
            db.session.commit()
    target = request.referrer or url_for("dashboard.index")
    host = request.host_url
    return redirect(target if target.startswith(host) else url_for("dashboard.index"))


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if g.get("user") is not None and request.endpoint != "static" and request.blueprint != "public":
        # What a logged-in user sees (downloads too, which send_file marks "no-cache")
        # holds personal data: neither the browser nor a proxy may keep it. The public
        # site is the same for everyone and stays cacheable.
        response.headers["Cache-Control"] = "no-store"
    return response


def _register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def _helpers():
        user = g.get("user")
        navigation = [
            (label, endpoint)
            for label, endpoint, permission in NAVIGATION
            if user is not None and user.can(permission)
        ]
        return {
            "current": user,
            "navigation": navigation,
            "languages": current_app.config["LANGUAGES"],
            "locale": str(get_locale()),
        }

    @app.template_global()
    def can(permission: str) -> bool:
        user = g.get("user")
        return user is not None and user.can(permission)

    @app.template_global()
    def can_change(record) -> bool:
        """Whether the record lies inside the user's own region (not only visible from it)."""
        scope = current_scope()
        return scope is None or scope.covers(record.region_code)

    app.jinja_env.filters["money"] = format_amount
    app.jinja_env.filters["capitals"] = amount_in_capitals

    @app.template_filter("local")
    def _local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(CHINA).strftime(fmt) if value else ""
