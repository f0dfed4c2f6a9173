"""``flask --app procurement demo load``: the Yangcheng demonstration data, idempotent."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from procurement.accounts import services as accounts
from procurement.accounts.models import User
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.policies.presets import load_presets
from procurement.regions.services import load_reference_regions

demo_cli = AppGroup("demo", help="Demonstration data for Yangcheng County.")

DEMO_USERS = [
    ("admin", "系统管理员", "admin", "140000"),
    ("yc_officer", "阳城县民政局经办人", "officer", "140522"),
    ("yc_finance", "阳城县财政局审核人", "finance", "140522"),
    ("yc_evaluator", "绩效评价人员", "evaluator", "140522"),
    ("yc_auditor", "审计人员", "auditor", "140522"),
    ("qs_officer", "沁水县民政局经办人", "officer", "140521"),
]


def _logins_file() -> Path:
    return Path(current_app.instance_path) / "demo_logins.json"


def _demo_password() -> str:
    return "Yc-" + secrets.token_urlsafe(9)


def load_demo_users() -> dict[str, str]:
    """Create the demo accounts that are missing; return every demo login and password."""
    path = _logins_file()
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for username, name, role, region in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            known[username] = _demo_password()
            accounts.create_user(
                username=username,
                display_name=name,
                role=role,
                region_code=region,
                password=known[username],
            )
        elif username not in known:
            known[username] = _demo_password()  # the file was lost: issue a new password
            accounts.set_password(user, known[username])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(known, handle, ensure_ascii=False, indent=1)
    return known


@demo_cli.command("load")
def load():
    """Load regions, policy profiles and demo users (safe to run again)."""
    set_actor(Actor(None, "demo", "cli"))
    regions = load_reference_regions()
    profiles = load_presets()
    logins = load_demo_users()
    db.session.commit()
    click.echo(f"regions added: {regions}; policy profiles added: {profiles}")
    click.echo("")
    click.echo("演示账号 (demo logins; passwords are kept in instance/demo_logins.json):")
    for username, name, role, region in DEMO_USERS:
        click.echo(f"  {username:<14} {logins[username]:<18} {role:<10} {region} {name}")
    click.echo("")
    click.echo("Open http://127.0.0.1:5000 and log in with one of them.")
