"""Users, their API tokens, and the record of login attempts used for throttling."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.roles import Role, has_permission
from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionOwned
from procurement.regions.models import Region

TOKEN_PREFIX = "ycp_"  # noqa: S105 - a visible prefix, not a secret


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class User(Audited, RegionOwned, TimestampMixin, db.Model):
    __tablename__ = "users"
    __audit_redact__ = frozenset({"password_hash", "session_secret"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    role: Mapped[Role] = mapped_column(str_enum(Role, 12))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Rotated on logout-everywhere, password change and deactivation: old sessions die.
    session_secret: Mapped[str] = mapped_column(String(64), default=new_secret)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(12))
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    region: Mapped[Region] = relationship(lazy="joined")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_secret}"

    def can(self, permission: str) -> bool:
        return self.active and has_permission(self.role, permission, level=self.region.level)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Audited, TimestampMixin, db.Model):
    __tablename__ = "api_tokens"
    __audit_redact__ = frozenset({"token_hash"})
    __audit_ignore__ = frozenset({"updated_at", "last_used_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so a user can tell tokens apart without the secret.
    hint: Mapped[str] = mapped_column(String(12))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens", lazy="joined")

    def audit_region_code(self) -> str | None:
        return self.user.region_code if self.user else None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class LoginAttempt(db.Model):
    """One login try; kept for throttling and for the security log, never shown publicly."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    ip: Mapped[str | None] = mapped_column(String(45), index=True)
    attempted_at: Mapped[datetime] = mapped_column(index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
