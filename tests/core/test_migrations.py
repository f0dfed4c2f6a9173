import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from procurement.core.audit import AuditEvent, record
from procurement.core.db import db


def test_migrations_match_the_models(ctx):
    """A model change without its migration is caught here."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_constraints_are_named_by_convention(ctx):
    inspector = sa.inspect(db.engine)
    assert inspector.get_pk_constraint("users")["name"] == "pk_users"
    unique = {u["name"] for u in inspector.get_unique_constraints("users")}
    assert "uq_users_username" in unique


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def test_the_database_itself_refuses_to_change_audit_rows(ctx):
    record("login", entity_type="users", entity_id=1, region_code="140522")
    db.session.commit()
    before = _count()
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DatabaseError, match="never updated or deleted"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    assert _count() == before


def test_the_orm_refuses_to_change_audit_rows(ctx):
    record("login", entity_type="users", entity_id=1, region_code="140522")
    db.session.commit()
    event = db.session.scalar(sa.select(AuditEvent))
    event.action = "tampered"
    with pytest.raises(RuntimeError, match="never updated or deleted"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(sa.select(AuditEvent)))
    with pytest.raises(RuntimeError, match="never updated or deleted"):
        db.session.flush()
