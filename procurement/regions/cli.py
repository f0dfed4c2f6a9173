"""Reference data a new installation needs before its first user logs in."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.core.errors import DomainError
from procurement.policies.presets import load_presets
from procurement.regions.divisions import DivisionFileRefused, import_divisions
from procurement.regions.services import load_reference_regions

reference_cli = AppGroup("reference", help="Reference data: administrative divisions, profiles.")


@reference_cli.command("load")
def load() -> None:
    """Load the administrative divisions (GB/T 2260), the shipped policy profiles and
    their service catalogues (Yangcheng, Xinjiang); safe to run again. No demo users or
    records."""
    from procurement.plans.catalogue import load_shipped_catalogues

    set_actor(Actor(None, "setup", "cli"))
    regions = load_reference_regions()
    profiles = load_presets()
    items = load_shipped_catalogues()
    db.session.commit()
    click.echo(
        f"regions added: {regions}; policy profiles added: {profiles}; "
        f"catalogue items added: {items}"
    )


@reference_cli.command("divisions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--check", is_flag=True, help="Check the file and report; write nothing.")
def divisions(path: str, check: bool) -> None:
    """Import a division file (CSV or .xlsx: code, name, parent_code, level; GB/T 2260 and
    the NBS statistical codes down to townships): every row is checked, and the file is
    written only if all are good (issue 18). Safe to run again."""
    set_actor(Actor(None, "setup", "cli"))
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        report = import_divisions(data, os.path.basename(path), write=not check)
    except DivisionFileRefused as refused:
        db.session.rollback()
        for line in refused.report.lines():
            click.echo(line)
        raise click.ClickException(refused.message) from None
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    for line in report.lines():
        click.echo(line)
    if check:
        db.session.rollback()
        click.echo(_("Checked only; nothing was written."))
    else:
        db.session.commit()
    click.echo(
        _(
            "added: %(added)d; renamed: %(renamed)d; unchanged: %(unchanged)d",
            added=report.count("add"),
            renamed=report.count("rename"),
            unchanged=report.count("unchanged"),
        )
    )


@reference_cli.command("next-year")
@click.argument("region_code")
@click.argument("year", type=int)
def next_year(region_code: str, year: int) -> None:
    """Copy the policy profile of REGION_CODE for YEAR, with its service catalogue, to the
    next year (a profile already there keeps its rules and gains the missing items), so
    that plans of the next year can be drafted; review the copy on the profile's page."""
    from procurement.plans.catalogue import copy_to_next_year
    from procurement.policies.models import PolicyProfile

    set_actor(Actor(None, "setup", "cli"))
    profile = db.session.scalar(
        select(PolicyProfile).where(
            PolicyProfile.region_code == region_code, PolicyProfile.year == year
        )
    )
    if profile is None:
        raise click.ClickException(f"no policy profile of {region_code} for {year}")
    try:
        target, items = copy_to_next_year(profile)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"{target.name} ({target.year}): {items} catalogue items copied")
