"""Backups: one archive with the database, the uploaded files and the instance keys.

The archive is a gzipped tar:

    database/procurement.sqlite3   SQLite: a consistent copy made with the backup API
    database/procurement.dump      PostgreSQL: ``pg_dump --format=custom``
    uploads/<ab>/<sha256>          the content-addressed uploads (``UPLOAD_FOLDER``)
    keys/secret_key, keys/data_key the instance keys, unless left out
    manifest.json                  last: what the rest is, with sizes and SHA-256

The database is copied before the uploads are read: an upload is stored before the
row naming it is committed, and is never deleted, so every file the copied database
refers to is on disk by the time the uploads are archived.

A restore first unpacks the whole archive into a staging folder and checks it (every
file against the manifest, the dialect, the database copy itself, the keys); only then
does it replace the database, in one transaction, and put back the uploads and keys.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from procurement import __version__
from procurement.core.clock import CHINA, utcnow
from procurement.core.db import db

FORMAT = "procurement-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {
    "sqlite": "database/procurement.sqlite3",
    "postgresql": "database/procurement.dump",
}
KEY_NAMES = ("secret_key", "data_key")
CHUNK = 1024 * 1024
MANIFEST_MAX_BYTES = 64 * 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is meant for the operator."""


# --- where things are -------------------------------------------------------------------


def _instance() -> Path:
    return Path(current_app.instance_path)


def _upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _dialect(url: sa.URL) -> str:
    name = url.get_backend_name()
    if name not in DATABASE_MEMBERS:
        raise BackupError(f"Backups support SQLite and PostgreSQL databases, not {name}.")
    return name


def _sqlite_file(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:" or url.query.get("uri"):
        raise BackupError(f"Cannot back up or restore the SQLite database {url}: not a file.")
    return Path(url.database).resolve()


def describe_database(url: sa.URL) -> str:
    """The configured database for messages: the SQLite file, or the URL without password."""
    if url.get_backend_name() == "sqlite":
        return str(_sqlite_file(url))
    return url.render_as_string(hide_password=True)


def libpq_arguments(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` without its password, and the environment
    (``PGPASSWORD``) that carries the password, so that it never shows on a command line."""
    params: dict[str, str] = {}
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    password = url.password
    for key, value in url.query.items():  # psycopg passes query parameters on to libpq
        text = ",".join(value) if isinstance(value, tuple) else str(value)
        if key == "password":
            password = text
        else:
            params[key] = text
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    conninfo = " ".join(f"{key}={_libpq_quote(value)}" for key, value in params.items())
    return conninfo, env


def _libpq_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pg_tool(name: str) -> str:
    folder = current_app.config.get("PG_BIN_DIR")
    found = shutil.which(name, path=folder) if folder else shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client tools (the server's major "
            "version or newer), or name their folder in PROCUREMENT_PG_BIN_DIR."
        )
    return found


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()[-2000:]
        raise BackupError(f"{Path(command[0]).name} failed (exit {result.returncode}): {message}")


def revision_of(connection: sa.Connection) -> str | None:
    """The database's Alembic revision (heads joined by commas), None if never migrated."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
    return ",".join(sorted(rows)) or None


def revision_status(revision: str | None) -> str:
    """How ``revision`` relates to the code's migrations: current, older, newer or none."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    from procurement.web import MIGRATIONS

    if not revision:
        return "none"
    script = ScriptDirectory(str(MIGRATIONS))
    wanted = set(revision.split(","))
    if wanted <= set(script.get_heads()):
        return "current"
    try:
        for name in wanted:
            if script.get_revision(name) is None:
                return "newer"
    except (CommandError, RevisionError):
        return "newer"  # a migration this code does not have
    return "older"


# --- create -----------------------------------------------------------------------------


@dataclass
class Backup:
    path: Path
    manifest: dict

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def create_backup(destination: Path | None = None, *, include_keys: bool = True) -> Backup:
    """Write an archive of the database, the uploads and (unless told not to) the keys.

    ``destination``: a folder (made if missing; the archive gets the default name) or
    an archive path ending in .tar.gz that must not exist yet; by default
    ``instance/backups/``. The archive is 0600.
    """
    target = _archive_path(destination)
    url = db.engine.url
    dialect = _dialect(url)
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=target.parent))
    try:
        database_file = work / "database"
        if dialect == "sqlite":
            revision = _copy_sqlite(_sqlite_file(url), database_file)
        else:
            revision = _dump_postgresql(url, database_file)
        fd, partial = tempfile.mkstemp(prefix=".partial-", suffix=".tar.gz", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                    files = [_add(tar, DATABASE_MEMBERS[dialect], database_file)]
                    for relative, path in _upload_files(_upload_folder()):
                        entry = _add(tar, f"uploads/{relative}", path, missing_ok=True)
                        if entry:
                            files.append(entry)
                    keys = []
                    for name in KEY_NAMES if include_keys else ():
                        entry = _add(tar, f"keys/{name}", _instance() / name, missing_ok=True)
                        if entry:
                            files.append(entry)
                            keys.append(name)
                    manifest = {
                        "format": FORMAT,
                        "format_version": FORMAT_VERSION,
                        "created_at": utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
                        "app_version": __version__,
                        "dialect": dialect,
                        "database": describe_database(url),
                        "alembic_revision": revision,
                        "keys": keys,
                        "files": files,
                    }
                    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size, info.mode, info.mtime = len(data), 0o600, int(utcnow().timestamp())
                    tar.addfile(info, io.BytesIO(data))
                raw.flush()
                os.fsync(raw.fileno())
            if target.exists():
                raise BackupError(f"{target} appeared while the backup was written: not replaced.")
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Backup(target, manifest)


def _archive_path(destination: Path | None) -> Path:
    stamp = utcnow().astimezone(CHINA).strftime("%Y%m%d-%H%M%S")
    name = f"procurement-backup-{stamp}.tar.gz"
    if destination is None:
        folder = _instance() / "backups"
    elif destination.is_dir() or not destination.name.endswith((".tar.gz", ".tgz")):
        folder = destination
    else:
        if destination.exists():
            raise BackupError(f"{destination} exists: choose another name.")
        folder, name = destination.parent, destination.name
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / name
    counter = 1
    while target.exists():  # two backups within a second
        target = folder / f"procurement-backup-{stamp}-{counter}.tar.gz"
        counter += 1
    return target.resolve()


def _copy_sqlite(source: Path, copy: Path) -> str | None:
    """Copy the live database with SQLite's backup API: one consistent snapshot, taken
    while the application keeps running (writers wait for the copy to finish)."""
    if not source.is_file():
        raise BackupError(
            f"No database at {source}: run `flask --app procurement db upgrade` first."
        )
    try:
        with (
            closing(sqlite3.connect(source, timeout=60)) as live,
            closing(sqlite3.connect(copy)) as target,
        ):
            live.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            return _sqlite_revision(target)
    except sqlite3.Error as error:
        raise BackupError(f"Cannot copy the database {source}: {error}") from error


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:
        return None
    return ",".join(sorted(row[0] for row in rows)) or None


def _dump_postgresql(url: sa.URL, dump: Path) -> str | None:
    """``pg_dump`` in the snapshot of a transaction that also reads the revision, so the
    manifest names exactly the revision of the data dumped."""
    pg_dump = _pg_tool("pg_dump")
    conninfo, env = libpq_arguments(url)
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
            revision = revision_of(connection)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--compress=0",  # the archive is compressed as a whole
                    "--no-password",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    f"--dbname={conninfo}",
                ],
                env,
            )
    return revision


def _upload_files(folder: Path) -> Iterator[tuple[str, Path]]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        # Names are hex digests; "tmp..." are store_blob's writes in progress.
        if path.is_symlink() or not path.is_file() or path.name.startswith("tmp"):
            continue
        yield path.relative_to(folder).as_posix(), path


class _HashingReader:
    def __init__(self, handle) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path, *, missing_ok: bool = False) -> dict | None:
    """Add one file, hashing it as it is read; its size is taken from the open file."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        if missing_ok:
            return None
        raise
    with handle:
        stat = os.fstat(handle.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = stat.st_size, 0o600, int(stat.st_mtime)
        reader = _HashingReader(handle)
        tar.addfile(info, reader)
    return {"path": name, "size": stat.st_size, "sha256": reader.digest.hexdigest()}


# --- restore ----------------------------------------------------------------------------


@dataclass
class Restore:
    """A checked archive, unpacked in ``staging``, ready to be applied."""

    archive: Path
    manifest: dict
    staging: Path
    keys_to_write: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.manifest["dialect"]

    @property
    def uploads(self) -> list[str]:
        return [f["path"] for f in self.manifest["files"] if f["path"].startswith("uploads/")]

    def apply(self) -> RestoreReport:
        url = db.engine.url
        db.session.remove()
        db.engine.dispose()  # this process's pooled connections
        database_file = self.staging / DATABASE_MEMBERS[self.dialect]
        if self.dialect == "sqlite":
            _restore_sqlite(database_file, _sqlite_file(url))
        else:
            _restore_postgresql(url, database_file)
        db.engine.dispose()

        folder = _upload_folder()
        for name in self.uploads:
            target = folder / name.removeprefix("uploads/")
            target.parent.mkdir(parents=True, exist_ok=True)
            _move(self.staging / name, target)

        replaced = []
        stamp = utcnow().astimezone(CHINA).strftime("%Y%m%d-%H%M%S")
        for name in self.keys_to_write:
            target = _instance() / name
            if target.exists():
                kept = target.with_name(f"{name}.replaced-{stamp}")
                shutil.copyfile(target, kept)
                os.chmod(kept, 0o600)
                replaced.append((name, kept))
            _move(self.staging / "keys" / name, target)
            os.chmod(target, 0o600)

        with db.engine.connect() as connection:
            revision = revision_of(connection)
        notes = list(self.notes)
        data_key = _instance() / "data_key"
        if data_key.is_file() and data_key.read_text().strip() != current_app.config["DATA_KEY"]:
            notes.append(
                "DATA_KEY is set in the configuration and differs from instance/data_key: "
                "the application uses the configured key. Make them agree."
            )
        return RestoreReport(
            revision=revision,
            status=revision_status(revision),
            uploads=len(self.uploads),
            keys=list(self.keys_to_write),
            replaced_keys=replaced,
            notes=notes,
        )


@dataclass
class RestoreReport:
    revision: str | None
    status: str
    uploads: int
    keys: list[str]
    replaced_keys: list[tuple[str, Path]]
    notes: list[str]


@contextmanager
def prepare_restore(archive: Path, *, replace_keys: bool = False) -> Iterator[Restore]:
    """Unpack and check ``archive`` without changing anything; the staging folder goes
    away when the ``with`` block ends, applied or not."""
    dialect = _dialect(db.engine.url)
    if dialect == "sqlite":
        _sqlite_file(db.engine.url)
    _instance().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=_instance()))
    try:
        manifest = _check_manifest(archive, *_unpack(archive, staging), dialect)
        database_file = staging / DATABASE_MEMBERS[dialect]
        if dialect == "sqlite":
            _check_sqlite_copy(database_file)
        else:
            _run([_pg_tool("pg_restore"), "--list", str(database_file)])
        keys = _keys_to_write(manifest, staging, replace_keys)
        notes = []
        if "data_key" not in manifest["keys"]:
            notes.append(
                "The backup holds no data key: recipients' ID numbers in it can be read only "
                "with the data key that was in use when it was made."
            )
        yield Restore(archive, manifest, staging, keys, notes)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(archive: Path, staging: Path) -> tuple[bytes | None, dict[str, tuple[int, str]]]:
    """Write the archive's files under ``staging``; return the manifest's bytes and the
    size and SHA-256 of every other file as actually read."""
    manifest: bytes | None = None
    found: dict[str, tuple[int, str]] = {}
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                name = _member_name(member)
                if member.isdir():
                    continue
                if name in found or (name == MANIFEST and manifest is not None):
                    raise BackupError(f"{archive}: {name} appears twice; not a backup made here.")
                source = tar.extractfile(member)
                if name == MANIFEST:
                    if member.size > MANIFEST_MAX_BYTES:
                        raise BackupError(f"{archive}: the manifest is implausibly large.")
                    manifest = source.read()
                    continue
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest, size = hashlib.sha256(), 0
                with os.fdopen(
                    os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
                ) as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[name] = (size, digest.hexdigest())
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(f"Cannot read {archive}: {error}") from error
    return manifest, found


def _member_name(member: tarfile.TarInfo) -> str:
    """The member's path, refused unless it is a plain file or folder where a backup puts one."""
    parts = member.name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in member.name:
        raise BackupError(f"Unsafe path in the archive: {member.name!r}; not restored.")
    name = "/".join(parts)
    if member.isdir():
        return name
    if not member.isfile():
        raise BackupError(f"{name} in the archive is not a regular file; not restored.")
    expected = (
        name == MANIFEST
        or name in DATABASE_MEMBERS.values()
        or name in {f"keys/{key}" for key in KEY_NAMES}
        or (parts[0] == "uploads" and len(parts) > 1)
    )
    if not expected:
        raise BackupError(f"Unexpected file in the archive: {name}; not a backup made here.")
    return name


def _check_manifest(
    archive: Path, raw: bytes | None, found: dict[str, tuple[int, str]], dialect: str
) -> dict:
    if raw is None:
        raise BackupError(
            f"{archive} has no {MANIFEST}: not an archive made by `flask backup create`."
        )
    try:
        manifest = json.loads(raw)
        assert isinstance(manifest, dict) and manifest.get("format") == FORMAT  # noqa: S101
        version = manifest["format_version"]
        listed = {f["path"]: (int(f["size"]), str(f["sha256"])) for f in manifest["files"]}
        manifest.setdefault("keys", [])
    except (ValueError, KeyError, TypeError, AssertionError) as error:
        raise BackupError(f"{archive}: the manifest is not a backup manifest.") from error
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(
            f"{archive} has backup format {version!r}, newer than this version reads "
            f"({FORMAT_VERSION}): restore it with the version that made it "
            f"({manifest.get('app_version')})."
        )
    missing = sorted(set(listed) - set(found))
    unlisted = sorted(set(found) - set(listed))
    altered = sorted(name for name in set(listed) & set(found) if listed[name] != found[name])
    if missing or unlisted or altered:
        problems = [
            f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
            for label, names in (
                ("missing", missing),
                ("not in the manifest", unlisted),
                ("size or sha256 differs", altered),
            )
            if names
        ]
        raise BackupError(
            f"{archive} is damaged or was altered, nothing was restored. " + "; ".join(problems)
        )
    if manifest.get("dialect") != dialect:
        raise BackupError(
            f"{archive} holds a {manifest.get('dialect')} database but the configured "
            f"database is {dialect}: nothing was restored. Point PROCUREMENT_DATABASE_URL "
            f"at a {manifest.get('dialect')} database to restore this backup."
        )
    if DATABASE_MEMBERS[dialect] not in listed:
        raise BackupError(f"{archive} holds no database ({DATABASE_MEMBERS[dialect]}).")
    return manifest


def _check_sqlite_copy(path: Path) -> None:
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
            result = connection.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as error:
        raise BackupError(f"The database in the archive cannot be read: {error}") from error
    if result != "ok":
        raise BackupError(f"The database in the archive is damaged: {result}")


def _keys_to_write(manifest: dict, staging: Path, replace_keys: bool) -> list[str]:
    """The archive's keys that differ from the instance's; refuses to replace a different
    data key unless told to, before anything is touched."""
    keys = []
    for name in KEY_NAMES:
        if f"keys/{name}" not in {f["path"] for f in manifest["files"]}:
            continue
        restored = (staging / "keys" / name).read_text().strip()
        if not restored:
            raise BackupError(f"keys/{name} in the archive is empty.")
        current_path = _instance() / name
        current = current_path.read_text().strip() if current_path.is_file() else None
        if current == restored:
            continue
        if name == "data_key" and current is not None and not replace_keys:
            raise BackupError(
                f"{current_path} differs from the data key in the backup: nothing was "
                "restored. The restored recipients' ID numbers can be read only with the "
                "backup's key, and ID numbers stored since the backup only with the current "
                "one. To restore anyway run again with --replace-keys: the current key is "
                f"kept as {name}.replaced-<time> beside it."
            )
        keys.append(name)
    return keys


def _restore_sqlite(copy: Path, target: Path) -> None:
    """Copy the checked database over the configured one with the backup API: a single
    write transaction, so the target is either entirely replaced or left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as source,
            closing(sqlite3.connect(target, timeout=60)) as live,
        ):
            source.backup(live)
    except sqlite3.Error as error:
        raise BackupError(
            f"Cannot write {target}: {error}. Stop the application while restoring."
        ) from error


def _restore_postgresql(url: sa.URL, dump: Path) -> None:
    """``pg_restore`` in a single transaction: on any error the database is left as it was."""
    conninfo, env = libpq_arguments(url)
    # Fail rather than wait behind a running application's transactions.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout=30s".strip()
    command = [
        _pg_tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={conninfo}",
        str(dump),
    ]
    try:
        _run(command, env)
    except BackupError as error:
        raise BackupError(
            f"{error}\nThe database was left as it was (one transaction), the files and keys "
            "untouched. Stop the application while restoring. A database upgraded past the "
            "backup's revision may have to be dropped and created empty first."
        ) from error


def _move(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` atomically, across file systems too."""
    try:
        os.replace(source, target)
    except OSError:
        fd, temporary = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(fd, "wb") as out, open(source, "rb") as handle:
            shutil.copyfileobj(handle, out, CHUNK)
        os.replace(temporary, target)
