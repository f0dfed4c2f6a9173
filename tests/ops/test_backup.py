"""Backup and restore: an archive of the database, uploads and keys that restores exactly."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from procurement.accounts import services as accounts
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.core.files import blob_path, store_blob
from procurement.ops.backup import create_backup, libpq_arguments, revision_status

pytestmark = pytest.mark.real_commits  # pg_dump and pg_restore read committed rows

PDF = b"%PDF-1.4\n% evidence for the service agreement\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def _database(app) -> dict:
    """Row counts of every table, and the rows of the users and audit tables."""
    with app.app_context():
        connection = db.session.connection()
        tables = {table.name: table for table in db.metadata.sorted_tables}
        found = {
            "counts": {
                name: connection.scalar(sa.select(sa.func.count()).select_from(table))
                for name, table in tables.items()
            },
            "revision": connection.scalar(sa.text("SELECT version_num FROM alembic_version")),
        }
        for name in ("users", "audit_events"):
            table = tables[name]
            found[name] = [
                tuple(row)
                for row in connection.execute(table.select().order_by(*table.primary_key))
            ]
        db.session.remove()
    return found


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _rewrite(source: Path, target: Path, change) -> Path:
    """Copy an archive, passing each member's name and bytes through ``change``."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old:
            data = change(member.name, old.extractfile(member).read())
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    return target


@pytest.fixture
def world(app, make_user):
    """Two users, two uploads and the instance keys."""
    make_user("alpha")
    make_user("beta", role="finance")
    with app.app_context():
        digests = [store_blob(PDF), store_blob(PNG)]
        paths = [blob_path(digest) for digest in digests]
    instance = Path(app.instance_path)
    (instance / "secret_key").write_text("s" * 64)
    (instance / "data_key").write_text("d" * 64)
    return {"instance": instance, "uploads": Path(app.config["UPLOAD_FOLDER"]), "blobs": paths}


def _change_everything(app, make_user, world) -> None:
    make_user("gamma")
    with app.app_context():
        set_actor(Actor(None, "test", "system"))
        accounts.set_active(accounts.find_user("alpha"), False, actor=None)
        db.session.commit()
        db.session.remove()
    world["blobs"][0].unlink()
    world["blobs"][1].write_bytes(b"overwritten")
    (world["instance"] / "secret_key").unlink()
    (world["instance"] / "data_key").write_text("k" * 64)


def _staging_left(instance: Path) -> list[Path]:
    return list(instance.glob(".restore-*")) + list(instance.rglob(".backup-*"))


def test_restore_brings_back_the_database_the_uploads_and_the_keys(app, world, make_user, tmp_path):
    database, uploads = _database(app), _files(world["uploads"])

    made = _run(app, "backup", "create", str(tmp_path / "backups"))
    assert made.exit_code == 0, made.output
    archive = Path(made.output.splitlines()[0])
    assert archive.parent == tmp_path / "backups" and archive.name.endswith(".tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert "uploaded files: 2" in made.output
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))
    assert {"keys/secret_key", "keys/data_key", "manifest.json"} <= names
    assert (
        manifest["dialect"] == sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    )
    assert manifest["alembic_revision"] == database["revision"]
    assert {f["path"] for f in manifest["files"]} == names - {"manifest.json"}

    _change_everything(app, make_user, world)
    changed = _database(app)
    assert changed != database

    refused = _run(app, "backup", "restore", str(archive), "--yes")
    assert refused.exit_code != 0
    assert "--replace-keys" in refused.output and "nothing was restored" in refused.output
    assert _database(app) == changed

    restored = _run(app, "backup", "restore", str(archive), "--yes", "--replace-keys")
    assert restored.exit_code == 0, restored.output
    assert "current migration" in restored.output

    assert _database(app) == database
    assert _files(world["uploads"]) == uploads
    assert (world["instance"] / "secret_key").read_text() == "s" * 64
    assert (world["instance"] / "data_key").read_text() == "d" * 64
    [kept] = world["instance"].glob("data_key.replaced-*")
    assert kept.read_text() == "k" * 64
    assert not _staging_left(world["instance"])


def test_a_tampered_archive_is_refused_and_nothing_changes(app, world, make_user, tmp_path):
    with app.app_context():
        archive = create_backup(tmp_path).path
    make_user("gamma")
    database, uploads = _database(app), _files(world["uploads"])
    altered = world["blobs"][1].relative_to(world["uploads"]).as_posix()

    def tamper(name, data):
        return data[:-1] + b"!" if name == f"uploads/{altered}" else data

    tampered = _rewrite(archive, tmp_path / "tampered.tar.gz", tamper)
    result = _run(app, "backup", "restore", str(tampered), "--yes")
    assert result.exit_code != 0
    assert "sha256" in result.output and altered in result.output
    assert _database(app) == database
    assert _files(world["uploads"]) == uploads

    declined = _run(app, "backup", "restore", str(archive), input="n\n")
    assert declined.exit_code != 0 and "Aborted" in declined.output
    assert _database(app) == database
    assert not _staging_left(world["instance"])


def test_an_archive_of_the_other_database_kind_is_refused(app, world, tmp_path):
    with app.app_context():
        archive = create_backup(tmp_path).path
        dialect = db.engine.url.get_backend_name()
    other = "postgresql" if dialect == "sqlite" else "sqlite"

    def relabel(name, data):
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "dialect": other}).encode()

    database = _database(app)
    result = _run(
        app,
        "backup",
        "restore",
        str(_rewrite(archive, tmp_path / "other.tar.gz", relabel)),
        "--yes",
    )
    assert result.exit_code != 0
    assert f"holds a {other} database but the configured database is {dialect}" in result.output
    assert _database(app) == database


def test_keys_can_be_left_out_and_foreign_archives_are_refused(app, world, tmp_path):
    made = _run(app, "backup", "create", "--without-keys", str(tmp_path / "nokeys.tar.gz"))
    assert made.exit_code == 0, made.output
    with tarfile.open(tmp_path / "nokeys.tar.gz") as tar:
        assert not [name for name in tar.getnames() if name.startswith("keys/")]

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    assert "Cannot read" in _run(app, "backup", "restore", str(junk), "--yes").output

    escaping = tmp_path / "escaping.tar.gz"
    with tarfile.open(escaping, "w:gz") as tar:
        info = tarfile.TarInfo("uploads/../../evil")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    result = _run(app, "backup", "restore", str(escaping), "--yes")
    assert result.exit_code != 0 and "Unsafe path" in result.output
    assert not (tmp_path / "evil").exists()
    assert not _staging_left(world["instance"])


def test_the_postgresql_password_stays_off_the_command_line():
    url = sa.make_url(
        "postgresql+psycopg://clerk:s3cr%27t@db.example:5433/procurement?sslmode=require"
    )
    conninfo, env = libpq_arguments(url)
    assert (
        conninfo
        == "host='db.example' port='5433' user='clerk' dbname='procurement' sslmode='require'"
    )
    assert "s3cr" not in conninfo
    assert env["PGPASSWORD"] == "s3cr't"


def test_the_restored_revision_is_compared_with_the_code():
    from alembic.script import ScriptDirectory

    from procurement.web import MIGRATIONS

    (head,) = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert revision_status(head) == "current"
    assert revision_status("0007") == "older"
    assert revision_status("9999") == "newer"
    assert revision_status(None) == "none"


def test_a_failed_postgresql_restore_leaves_the_database_as_it_was(app, world, make_user, tmp_path):
    with app.app_context():
        if db.engine.url.get_backend_name() != "postgresql":
            pytest.skip("pg_restore runs on PostgreSQL only")
        archive = create_backup(tmp_path).path
    make_user("gamma")
    database = _database(app)
    with app.app_context():  # a table the backup does not know keeps users from being dropped
        db.session.execute(sa.text("CREATE TABLE later (user_id integer REFERENCES users (id))"))
        db.session.commit()
    try:
        result = _run(app, "backup", "restore", str(archive), "--yes")
        assert result.exit_code != 0
        assert "left as it was" in result.output, result.output
        assert _database(app) == database
    finally:
        with app.app_context():
            db.session.execute(sa.text("DROP TABLE later"))
            db.session.commit()
