"""The JSON API under /api/v1: one decorator declares an endpoint and documents it.

``@api_route`` checks the permission, parses the JSON body and the query string with
pydantic models (400 for unreadable JSON, 422 with the fields for invalid values),
serialises the result, and records the operation so that ``/api/v1/openapi.json``
describes every endpoint from the same declarations that run it.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache, wraps
from typing import Annotated, Any, Generic, Literal, TypeVar

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    WithJsonSchema,
    field_serializer,
    field_validator,
)
from pydantic import ValidationError as PydanticError
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticCustomError

from procurement.core.clock import CHINA
from procurement.core.errors import BadRequest, NotFound, ValidationError

api = Blueprint("api", __name__, url_prefix="/api/v1")

MoneyString = Annotated[
    Decimal,
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["161280.00"]}),
]


# Integers are stored as PostgreSQL INTEGER (ids, counts, minutes, years): a value outside
# this range can name no record and cannot be stored, so it is refused before any query.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


# What the API takes for a date and a boolean, and nothing else (pydantic alone would read
# 0 as 1970-01-01, "2026-01-31T00:00" as a date, and 1, "yes" or "on" as true): a date is
# the text YYYY-MM-DD; a boolean in a JSON body is true or false; in a query string it is
# true, false, 1 or 0.
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
QUERY_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
Source = Literal["body", "query"]


@cache
def _strict_kind(model: type[BaseModel], name: str) -> type | None:
    """``date`` or ``bool`` when the field holds one (or None), else None."""
    annotation = model.model_fields[name].annotation
    members = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    kinds = {member for member in members if member is not type(None)}
    return kinds.pop() if kinds in ({date}, {bool}) else None


def strict_input(model: type[BaseModel], name: str, value: Any, source: Source) -> Any:
    """The API's one rule for dates and booleans in a request (body or query string)."""
    kind = _strict_kind(model, name)
    if kind is None or value is None:
        return value
    if kind is date:
        if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
            return value
        raise PydanticCustomError("date_type", "Input should be a date YYYY-MM-DD")
    if isinstance(value, bool):
        return value
    if source == "query" and isinstance(value, str) and value in QUERY_BOOLEANS:
        return QUERY_BOOLEANS[value]
    raise PydanticCustomError("bool_type", "Input should be true or false")


class Schema(BaseModel):
    """Base of every API model: unknown fields are refused, not silently dropped; dates and
    booleans of a request are strict (``strict_input``)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_dates_and_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        source = (info.context or {}).get("api_input")
        if source is None or info.field_name is None:
            return value  # not a request: a response built from the database
        return strict_input(cls, info.field_name, value, source)

    @field_serializer("*", mode="wrap", when_used="json")
    def _local_times_with_offset(
        self, value: Any, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ):
        """A time stored without a zone (a visit's start and end) is China's wall-clock
        time: it is written with +08:00, as RFC 3339 date-times must carry an offset."""
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=CHINA)
        return handler(value)


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = Field(default_factory=dict)


class ErrorBody(Schema):
    error: ErrorDetail


T = TypeVar("T")


class Page(Schema, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(50, ge=1, le=500)


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    permission: str | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    content_type: str | None = None
    description: str | None = None
    errors: tuple[int, ...] = field(default=())
    upload: tuple[str, ...] = ()
    also: dict[int, Any] = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def api_route(
    rule: str,
    *,
    method: str = "GET",
    summary: str,
    tag: str,
    permission: str | None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    content_type: str | None = None,
    description: str | None = None,
    upload: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
    also: dict[int, Any] | None = None,
) -> Callable:
    """Declare an API endpoint: route, permission, input and output models, documentation.
    ``upload`` names the media types of a file sent as the whole request body; ``errors``
    the statuses it may answer besides those of every endpoint (409 for a GET); ``also``
    documents other successful answers, by status (a large push answered by a job: 202)."""
    from procurement.accounts.auth import permission_required

    def decorator(func: Callable) -> Callable:
        endpoint = func.__name__

        @wraps(func)
        def view(**path_args):
            _check_path(path_args)
            kwargs = dict(path_args)
            if body is not None:
                kwargs["body"] = _parse(body, _json_body(), "body")
            if query is not None:
                kwargs["query"] = _parse(query, request.args.to_dict(), "query")
            result = func(**kwargs)
            if content_type is not None:
                return result
            return _respond(result, response, status)

        guarded = permission_required(permission)(view) if permission else view
        api.add_url_rule(rule, endpoint, guarded, methods=[method])
        OPERATIONS.append(
            Operation(
                rule,
                method,
                endpoint,
                summary,
                tag,
                permission,
                body,
                query,
                response,
                status,
                content_type,
                description or func.__doc__,
                errors=errors,
                upload=upload,
                also=dict(also or {}),
            )
        )
        return func

    return decorator


def _json_body() -> Any:
    if not request.is_json:
        raise BadRequest(_("The request body must be JSON (Content-Type: application/json)."))
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest(_("The request body is not valid JSON."))
    return data


PYDANTIC_MESSAGES = {
    "missing": lambda e: _("This field is required."),
    "extra_forbidden": lambda e: _("This field is not allowed."),
    "string_too_short": lambda e: _(
        "Must have at least %(n)s characters.", n=e["ctx"]["min_length"]
    ),
    "string_too_long": lambda e: _("Must have at most %(n)s characters.", n=e["ctx"]["max_length"]),
    "int_parsing": lambda e: _("Must be a whole number."),
    "int_type": lambda e: _("Must be a whole number."),
    "bool_parsing": lambda e: _("Must be true or false."),
    "bool_type": lambda e: _("Must be true or false."),
    "string_type": lambda e: _("Must be text."),
    "decimal_parsing": lambda e: _("Must be an amount such as 1234.50."),
    "decimal_max_places": lambda e: _("At most two decimal places."),
    "date_type": lambda e: _("Must be a date such as 2026-01-31."),
    "date_from_datetime_parsing": lambda e: _("Must be a date such as 2026-01-31."),
    "date_parsing": lambda e: _("Must be a date such as 2026-01-31."),
    "datetime_parsing": lambda e: _("Must be a time such as 2026-01-31T08:30:00+08:00."),
    "greater_than_equal": lambda e: _("Must be at least %(n)s.", n=e["ctx"]["ge"]),
    "less_than_equal": lambda e: _("Must be at most %(n)s.", n=e["ctx"]["le"]),
    "greater_than": lambda e: _("Must be more than %(n)s.", n=e["ctx"]["gt"]),
    "enum": lambda e: _("Must be one of: %(values)s.", values=e["ctx"]["expected"]),
    "literal_error": lambda e: _("Must be one of: %(values)s.", values=e["ctx"]["expected"]),
    "model_type": lambda e: _("Must be an object."),
    "model_attributes_type": lambda e: _("Must be an object."),
    "list_type": lambda e: _("Must be a list."),
    "dict_type": lambda e: _("Must be an object."),
}


def _message(error: dict) -> str:
    translate = PYDANTIC_MESSAGES.get(error["type"])
    if translate is not None:
        try:
            return translate(error)
        except (KeyError, TypeError):
            pass
    return error["msg"].removeprefix("Value error, ")


def _parse(model: type[BaseModel], data: Any, source: Source) -> BaseModel:
    fields: dict[str, list[str]] = {}
    try:
        parsed = model.model_validate(data, context={"api_input": source})
    except PydanticError as exc:
        for error in exc.errors(include_url=False):
            name = ".".join(str(part) for part in error["loc"]) or "body"
            fields.setdefault(name, []).append(_message(error))
    else:
        _check_storable(parsed, (), fields)
    if fields:
        raise ValidationError(_("Some fields are not valid."), fields=fields)
    return parsed


def _storable_text(text: str) -> bool:
    """No NUL (PostgreSQL text cannot hold it) and no lone surrogate (not UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_storable(value: Any, loc: tuple, fields: dict[str, list[str]]) -> None:
    """What pydantic lets through but the database cannot take: integers beyond INTEGER,
    text with NUL or lone surrogates. Each is named by its field, as pydantic's are."""
    name = ".".join(str(part) for part in loc) or "body"
    if isinstance(value, BaseModel):
        for key in type(value).model_fields:
            _check_storable(getattr(value, key), (*loc, key), fields)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if value > INT_MAX:
            fields.setdefault(name, []).append(_("Must be at most %(n)s.", n=INT_MAX))
        elif value < INT_MIN:
            fields.setdefault(name, []).append(_("Must be at least %(n)s.", n=INT_MIN))
    elif isinstance(value, str):
        if not _storable_text(value):
            fields.setdefault(name, []).append(_("Contains characters that cannot be stored."))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, (*loc, key) if isinstance(key, str) else loc, fields)
            _check_storable(item, (*loc, key), fields)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _check_storable(item, (*loc, index), fields)


def _check_path(path_args: dict) -> None:
    """A path id beyond INTEGER, or a path text that could not be stored, names no
    record: 404 before any query (SQLite would overflow, PostgreSQL refuse NUL)."""
    for value in path_args.values():
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
            raise NotFound()
        if isinstance(value, str) and not _storable_text(value):
            raise NotFound()


def _respond(result: Any, model: Any, status: int):
    headers: dict[str, str] = {}
    if isinstance(result, tuple):
        result, status, *rest = result
        headers = rest[0] if rest else {}
    if result is None:
        return "", 204 if status == 200 else status
    if isinstance(result, BaseModel):
        payload = result.model_dump(mode="json")
    elif model is not None and hasattr(model, "model_validate"):
        payload = model.model_validate(result).model_dump(mode="json")
    else:
        payload = result
    return jsonify(payload), status, headers


def paginate(select_stmt, query: PageQuery, item_model: type[BaseModel]) -> dict:
    """One page of a SELECT, with the total, as the Page envelope."""
    from sqlalchemy import func, select

    from procurement.core.db import db

    per_page = min(query.per_page, current_app.config["API_MAX_PAGE_SIZE"])
    total = db.session.scalar(
        select(func.count()).select_from(select_stmt.order_by(None).subquery())
    )
    rows = db.session.scalars(select_stmt.limit(per_page).offset((query.page - 1) * per_page))
    return {
        "items": [item_model.model_validate(row) for row in rows],
        "total": total,
        "page": query.page,
        "per_page": per_page,
    }


# ---------------------------------------------------------------- OpenAPI document

_PATH_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_CONVERTER_SCHEMA = {
    "int": {"type": "integer", "minimum": 0, "maximum": INT_MAX},
    "string": {"type": "string"},
    None: {"type": "string"},
}


def _path(rule: str) -> tuple[str, list[dict]]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": dict(_CONVERTER_SCHEMA.get(converter, {"type": "string"})),
        }
        for converter, name in _PATH_PARAM.findall(rule)
    ]
    return api.url_prefix + _PATH_PARAM.sub(r"{\2}", rule), params


def _error_responses(op: Operation) -> dict:
    codes = {400: _("Unreadable request"), 404: _("Not found"), 422: _("Invalid values")}
    if op.permission:
        codes |= {
            401: _("Missing or invalid token"),
            403: _("Not permitted for this role or region"),
        }
    if op.method in {"POST", "PUT", "PATCH", "DELETE"} or 409 in op.errors:
        codes[409] = _("Conflicts with the current state")
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        str(code): {"description": str(text), "content": {"application/json": {"schema": ref}}}
        for code, text in sorted(codes.items())
    }


def build_openapi() -> dict:
    """The OpenAPI 3.1 document of every endpoint declared with ``api_route``."""
    models = {ErrorBody}
    for op in OPERATIONS:
        models.update(m for m in (op.body, op.query, op.response) if _is_model(m))
        models.update(m for m in op.also.values() if _is_model(m))
    mode = {m: "serialization" for m in models}
    for op in OPERATIONS:
        if _is_model(op.body):
            mode[op.body] = "validation"
    keys, schema_doc = models_json_schema(
        [(m, mode[m]) for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas = schema_doc.get("$defs", {})
    _bound_integers(schemas)
    refs = {model: keys[(model, mode[model])] for model in models}

    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        path, params = _path(op.rule)
        item: dict[str, Any] = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": params + _query_params(op.query, schemas, refs),
            "responses": _error_responses(op),
        }
        if op.description:
            item["description"] = op.description.strip()
        if not op.permission:
            item["security"] = []
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[op.body]}},
            }
        if op.upload:
            binary = {"schema": {"type": "string", "format": "binary"}}
            item["requestBody"] = {
                "required": True,
                "content": {media_type: binary for media_type in op.upload},
            }
        item["responses"][str(op.status)] = _success(op, refs)
        for status, model in op.also.items():
            item["responses"][str(status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": refs[model]}},
            }
        paths.setdefault(path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "政府购买居家养老服务管理系统 API",
            "version": "1",
            "description": (
                "JSON API of the procurement system. Authenticate with "
                "`Authorization: Bearer TOKEN` (see `flask --app procurement users token`). "
                'Money is a decimal string such as "161280.00"; a date is "YYYY-MM-DD", a time '
                "ISO 8601 with its offset; a boolean is true or false (in a query string also "
                "1 or 0). "
                'Errors are {"error": {"code", "message", "fields"}}.'
            ),
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def _success(op: Operation, refs: dict) -> dict:
    if op.content_type:
        return {
            "description": "OK",
            "content": {op.content_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    if op.status == 204 or op.response is None:
        return {"description": "No content"}
    return {"description": "OK", "content": {"application/json": {"schema": refs[op.response]}}}


def _bound_integers(node: Any) -> None:
    """Every integer in the document gets the INTEGER range the API enforces."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", INT_MIN)
            node.setdefault("maximum", INT_MAX)
        for child in node.values():
            _bound_integers(child)
    elif isinstance(node, list):
        for child in node:
            _bound_integers(child)


def _query_params(model, schemas: dict, refs: dict) -> list[dict]:
    if model is None:
        return []
    ref = refs[model]["$ref"].rsplit("/", 1)[-1]
    definition = schemas[ref]
    required = set(definition.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _not_null(prop)}
        for name, prop in definition.get("properties", {}).items()
    ]


def _not_null(prop: dict) -> dict:
    """A query parameter is left out, never sent as null: drop the null branch."""
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    if not options or len(options) == len(prop.get("anyOf", [])):
        return prop
    rest = {key: value for key, value in prop.items() if key != "anyOf"}
    if rest.get("default", ...) is None:
        del rest["default"]
    if len(options) == 1:
        return {**options[0], **rest}
    return {"anyOf": options, **rest}


@api.get("/openapi.json")
def openapi():
    """The OpenAPI document (public, so that clients can read it before they have a token)."""
    return jsonify(build_openapi())
