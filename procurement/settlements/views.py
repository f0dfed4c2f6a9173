"""Service-record imports, flags for review, and monthly settlement statements."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("settlements", __name__, url_prefix="/settlements")

from procurement.settlements import models as _models  # noqa: E402, F401


@bp.get("/")
def index():  # replaced by the real list
    from flask import render_template_string

    return render_template_string("{% extends 'base.html' %}")
