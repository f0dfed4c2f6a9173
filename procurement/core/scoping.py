"""Region scoping: the one place that decides which region's records a user may see or change.

Every region-owned model inherits ``RegionOwned`` (visible to users of its region and
of the regions above it) or ``RegionShared`` (also visible to the regions below it, e.g.
a provincial policy profile that applies to its counties). While a scope is active,
every ORM SELECT is filtered and every INSERT/UPDATE/DELETE of a scoped record outside
the scope is refused at flush time, whether it came from a page, the API or a service.

Codes follow GB/T 2260: a province owns the codes starting with its first two digits,
a prefecture its first four, a county its six, a township its nine.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_app_context
from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import Session, with_loader_criteria

from procurement.core.db import HasRegion, listen_once
from procurement.core.errors import PermissionDenied

PREFIX_LENGTH = {"province": 2, "prefecture": 4, "county": 6, "township": 9}


def scope_prefix(code: str, level: str) -> str:
    """The code prefix shared by a region and everything below it."""
    return code[: PREFIX_LENGTH[level]]


def province_of(code: str) -> str:
    """The code of the province that ``code`` lies in (or is)."""
    return code[:2] + "0000"


def ancestor_codes(code: str, level: str) -> tuple[str, ...]:
    """The codes of the regions above ``code`` (province, prefecture, county)."""
    codes = []
    if level in {"prefecture", "county", "township"}:
        codes.append(province_of(code))
    if level in {"county", "township"}:
        codes.append(code[:4] + "00")
    if level == "township":
        codes.append(code[:6])
    return tuple(c for c in codes if c != code)


@dataclass(frozen=True)
class RegionScope:
    """What one user may reach: ``prefix`` and below; ancestors only for shared records."""

    prefix: str
    ancestors: tuple[str, ...] = ()

    def covers(self, code: str | None) -> bool:
        return code is not None and code.startswith(self.prefix)

    def can_read(self, record: HasRegion) -> bool:
        code = record.region_code
        if isinstance(record, RegionShared):
            return self.covers(code) or code in self.ancestors
        return self.covers(code)


class RegionOwned(HasRegion):
    """Visible to the owning region and the regions above it."""


class RegionShared(HasRegion):
    """Visible to the owning region, the regions above it, and the regions below it."""


def current_scope() -> RegionScope | None:
    """The scope of the current request or command, ``None`` when unrestricted."""
    if not has_app_context():
        return None
    return g.get("region_scope")


def activate_scope(scope: RegionScope | None) -> None:
    """Restrict the rest of this request (or command) to ``scope``."""
    g.region_scope = scope


def ensure_in_scope(code: str | None) -> None:
    """Refuse to act on region ``code`` when it lies outside the active scope."""
    scope = current_scope()
    if scope is not None and not scope.covers(code):
        raise PermissionDenied("region_out_of_scope")


def ensure_visible(code: str | None) -> None:
    """Refuse to answer about region ``code`` unless it is the scope's own, below it or above it."""
    scope = current_scope()
    if scope is not None and not (scope.covers(code) or code in scope.ancestors):
        raise PermissionDenied("region_out_of_scope")


def owned_in_scope(region_code: ColumnElement) -> ColumnElement[bool]:
    """The scope's filter for a Core (non-ORM) read of a ``RegionOwned`` table, which the
    ORM filter below does not reach: bulk reads on a hot path use it."""
    scope = current_scope()
    return true() if scope is None else region_code.startswith(scope.prefix)


def _filter_selects(state) -> None:
    scope = current_scope()
    if scope is None or not state.is_select or state.is_column_load:
        return
    if state.execution_options.get("unscoped"):
        return
    prefix, ancestors = scope.prefix, scope.ancestors
    state.statement = state.statement.options(
        with_loader_criteria(
            RegionOwned,
            lambda cls: cls.region_code.startswith(prefix),
            include_aliases=True,
        ),
        with_loader_criteria(
            RegionShared,
            lambda cls: or_(cls.region_code.startswith(prefix), cls.region_code.in_(ancestors)),
            include_aliases=True,
        ),
    )


def _guard_writes(session: Session, flush_context, instances) -> None:
    scope = current_scope()
    if scope is None:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, HasRegion) and not scope.covers(obj.region_code):
            raise PermissionDenied("region_out_of_scope")


def watch_sessions() -> None:
    """Scope every ORM read and guard every write by the request's region, in every session
    (the app factory calls this: a session that is not watched would leak across counties)."""
    listen_once(Session, "do_orm_execute", _filter_selects)
    listen_once(Session, "before_flush", _guard_writes)
