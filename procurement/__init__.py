"""政府购买居家养老服务管理系统: the county civil-affairs bureau's procurement toolkit."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

__version__ = "0.1.0"

PACKAGE_ROOT = Path(__file__).resolve().parent
"""Where the package's own files live: templates, static files, contract templates, data."""


def create_app(config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI."""
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PROCUREMENT_INSTANCE_PATH"
    )
    # Without a setting, Flask's own rule: ``instance/`` beside the package in a checkout
    # (or an editable install), ``<prefix>/var/procurement-instance`` for an installed wheel.
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
    )
    from procurement.config import load_config

    load_config(app, config)

    from procurement.web import init_web

    init_web(app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    return app
