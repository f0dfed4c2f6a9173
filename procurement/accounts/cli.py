"""``flask --app procurement users ...``: accounts from the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from flask.cli import AppGroup

from procurement.accounts import services
from procurement.accounts.roles import Role
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.core.errors import DomainError

T = TypeVar("T")
users_cli = AppGroup("users", help="Create users, reset passwords, issue API tokens.")


def _as_cli() -> None:
    set_actor(Actor(None, "cli", "cli"))


def _run(action: Callable[[], T]) -> T:
    """Run one service call and commit it; a refusal is rolled back and ends the command
    with its message and the fields it names."""
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {fields}".strip()) from None
    db.session.commit()
    return result


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--region", "region_code", required=True, help="GB/T 2260 code, e.g. 140522")
@click.option("--password", required=True)
@click.option("--name", "display_name", default=None, help="Full name shown in the UI")
def create(username, role, region_code, password, display_name):
    """Create a user scoped to a region."""
    _as_cli()
    user = _run(
        lambda: services.create_user(
            username=username,
            display_name=display_name or username,
            role=role,
            region_code=region_code,
            password=password,
        )
    )
    click.echo(f"created {user.username} ({user.role.value}, {user.region_code})")


@users_cli.command("reset-password")
@click.argument("username")
@click.option("--password", required=True)
def reset_password(username, password):
    """Set a new password; the user's open sessions end."""
    _as_cli()
    _run(lambda: services.set_password(services.find_user(username), password))
    click.echo(f"password reset for {username}")


@users_cli.command("deactivate")
@click.argument("username")
def deactivate(username):
    """Deactivate an account: its sessions and tokens stop working."""
    _as_cli()
    _run(lambda: services.set_active(services.find_user(username), False, actor=None))
    click.echo(f"deactivated {username}")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label to tell tokens apart")
def token(username, name):
    """Issue a new API token; the token is the last line printed."""
    _as_cli()
    _token, secret = _run(lambda: services.issue_token(services.find_user(username), name))
    click.echo(f"API token for {username} (shown once, store it safely):")
    click.echo(secret)


@users_cli.command("revoke-tokens")
@click.argument("username")
def revoke_tokens(username):
    """Revoke every API token of a user."""
    _as_cli()
    count = _run(lambda: services.revoke_tokens(services.find_user(username)))
    click.echo(f"revoked {count} token(s) of {username}")


@users_cli.command("list")
def list_users():
    """List users with their role, region and status."""
    from sqlalchemy import select

    from procurement.accounts.models import User

    for user in db.session.scalars(select(User).order_by(User.username)):
        status = "active" if user.active else "inactive"
        click.echo(f"{user.username}\t{user.role.value}\t{user.region_code}\t{status}")
