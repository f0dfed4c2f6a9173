"""Users and the caller's own identity under /api/v1."""

from __future__ import annotations

from datetime import datetime

from flask import g
from pydantic import Field
from sqlalchemy import select

from procurement.accounts import services
from procurement.accounts.models import User
from procurement.accounts.roles import PERMISSIONS, Role
from procurement.core.api import Page, PageQuery, Schema, api_route, paginate
from procurement.core.db import db
from procurement.core.errors import NotFound


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    role: Role
    region_code: str
    active: bool
    last_login_at: datetime | None
    created_at: datetime


class MeOut(UserOut):
    permissions: list[str]


class UserCreate(Schema):
    username: str = Field(min_length=3, max_length=40)
    display_name: str = Field(min_length=1, max_length=60)
    role: Role
    region_code: str = Field(min_length=6, max_length=12)
    password: str = Field(min_length=1, max_length=200)


class UserUpdate(Schema):
    display_name: str | None = Field(None, min_length=1, max_length=60)
    role: Role | None = None
    region_code: str | None = Field(None, min_length=6, max_length=12)
    active: bool | None = None


class UserQuery(PageQuery):
    role: Role | None = None
    active: bool | None = None


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


@api_route(
    "/me",
    summary="The caller's account",
    tag="accounts",
    permission="dashboard.view",
    response=MeOut,
)
def me():
    user = g.user
    allowed = sorted(name for name in PERMISSIONS if user.can(name))
    return MeOut.model_validate(
        {**UserOut.model_validate(user).model_dump(), "permissions": allowed}
    )


@api_route(
    "/users",
    summary="List users in the caller's region",
    tag="accounts",
    permission="users.view",
    query=UserQuery,
    response=Page[UserOut],
)
def list_users(query: UserQuery):
    stmt = select(User).order_by(User.id)
    if query.role is not None:
        stmt = stmt.where(User.role == query.role)
    if query.active is not None:
        stmt = stmt.where(User.active.is_(query.active))
    return paginate(stmt, query, UserOut)


@api_route(
    "/users",
    method="POST",
    summary="Create a user",
    tag="accounts",
    permission="users.manage",
    body=UserCreate,
    response=UserOut,
    status=201,
)
def create_user(body: UserCreate):
    user = services.create_user(**body.model_dump())
    db.session.commit()
    return UserOut.model_validate(user), 201


@api_route(
    "/users/<int:user_id>",
    summary="Read a user",
    tag="accounts",
    permission="users.view",
    response=UserOut,
)
def get_user(user_id: int):
    return UserOut.model_validate(_user(user_id))


@api_route(
    "/users/<int:user_id>",
    method="PATCH",
    summary="Change or deactivate a user",
    tag="accounts",
    permission="users.manage",
    body=UserUpdate,
    response=UserOut,
)
def update_user(user_id: int, body: UserUpdate):
    user = _user(user_id)
    changes = body.model_dump(exclude_unset=True)
    if {"display_name", "role", "region_code"} & changes.keys():
        services.update_user(
            user,
            display_name=changes.get("display_name") or user.display_name,
            role=changes.get("role") or user.role,
            region_code=changes.get("region_code") or user.region_code,
        )
    if changes.get("active") is not None:
        services.set_active(user, changes["active"], actor=g.user)
    db.session.commit()
    return UserOut.model_validate(user)
