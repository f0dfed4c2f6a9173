"""Reference data a new installation needs before its first user logs in."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.policies.presets import load_presets
from procurement.regions.services import load_reference_regions

reference_cli = AppGroup("reference", help="Reference data: administrative divisions, profiles.")


@reference_cli.command("load")
def load() -> None:
    """Load the administrative divisions (GB/T 2260) and the shipped policy profiles
    (Yangcheng, Xinjiang); safe to run again. No demo users or records."""
    set_actor(Actor(None, "setup", "cli"))
    regions = load_reference_regions()
    profiles = load_presets()
    db.session.commit()
    click.echo(f"regions added: {regions}; policy profiles added: {profiles}")
