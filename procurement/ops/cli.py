"""``flask --app procurement backup ...``: back up and restore the database, uploads and keys."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from procurement.core.db import db
from procurement.ops import backup

backup_cli = AppGroup(
    "backup",
    help="Back up the database, uploaded files and instance keys into one archive; restore it.",
)

STATUS = {
    "current": "the code's current migration",
    "older": "older than the code: run `flask --app procurement db upgrade` now",
    "newer": "newer than this code (a migration it does not have): upgrade the code",
    "none": "no migrations recorded: run `flask --app procurement db upgrade`",
}


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def _summary(manifest: dict) -> list[str]:
    uploads = [f for f in manifest["files"] if f["path"].startswith("uploads/")]
    database = next(f for f in manifest["files"] if f["path"].startswith("database/"))
    return [
        f"  made:           {manifest.get('created_at')} (version {manifest.get('app_version')})",
        f"  database:       {manifest['dialect']}, {_size(database['size'])}, revision "
        f"{manifest.get('alembic_revision') or 'none'} (from {manifest.get('database', '?')})",
        f"  uploaded files: {len(uploads)}, {_size(sum(f['size'] for f in uploads))}",
        f"  keys:           {', '.join(manifest['keys']) or 'none'}",
    ]


@backup_cli.command("create")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--without-keys",
    is_flag=True,
    help="Leave out instance/secret_key and instance/data_key; keep the data key safe "
    "elsewhere, or recipients' ID numbers in the backup cannot be read.",
)
def create(path: Path | None, without_keys: bool) -> None:
    """Write a consistent backup while the application runs.

    PATH is a folder or an archive name ending in .tar.gz; by default
    instance/backups/procurement-backup-YYYYMMDD-HHMMSS.tar.gz (mode 0600).
    """
    try:
        made = backup.create_backup(path, include_keys=not without_keys)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(str(made.path))
    for line in _summary(made.manifest):
        click.echo(line)
    click.echo(f"  archive:        {_size(made.size)}")
    if without_keys:
        click.echo("Keys left out: keep instance/data_key safe, it is needed to read ID numbers.")
    elif "data_key" not in made.manifest["keys"]:
        click.echo("No instance/data_key to include: keep the configured DATA_KEY safe.")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--replace-keys",
    is_flag=True,
    help="Replace an existing, different instance/data_key with the backup's (the current "
    "one is kept as data_key.replaced-<time>).",
)
def restore(path: Path, yes: bool, replace_keys: bool) -> None:
    """Replace the database, uploaded files and keys with those in a backup archive.

    The archive is checked entirely first; stop the application while restoring.
    """
    target = backup.describe_database(db.engine.url)
    try:
        with backup.prepare_restore(path, replace_keys=replace_keys) as plan:
            click.echo(f"Backup {path} checked:")
            for line in _summary(plan.manifest):
                click.echo(line)
            if plan.keys_to_write:
                click.echo(f"  keys to write:  {', '.join(plan.keys_to_write)}")
            if not yes:
                click.confirm(f"Replace the database {target} and put back the files?", abort=True)
            report = plan.apply()
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored {path} into {target}.")
    click.echo(f"  uploaded files: {report.uploads}")
    click.echo(f"  keys written:   {', '.join(report.keys) or 'none'}")
    for name, kept in report.replaced_keys:
        click.echo(f"  previous {name} kept in {kept}")
    if "secret_key" in report.keys:
        click.echo("  the secret key changed: everyone signs in again")
    click.echo(f"  revision:       {report.revision or 'none'} ({STATUS[report.status]})")
    for note in report.notes:
        click.echo(f"Note: {note}")
    click.echo("Start the application again (it reads the keys when it starts).")
