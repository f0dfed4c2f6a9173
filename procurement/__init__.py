"""政府购买居家养老服务管理系统: the county civil-affairs bureau's procurement toolkit."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str((config or {}).get("INSTANCE_PATH") or PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
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
