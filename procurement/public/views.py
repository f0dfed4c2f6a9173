"""The public site: published results, open data (OCDS) and the Atom feed (no login)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/public")

from procurement.public import models as _models  # noqa: E402, F401


@bp.get("/")
def index():  # replaced by the real page
    from flask import render_template_string

    return render_template_string("{% extends 'base.html' %}")
