"""Acceptance and performance evaluation pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("performance", __name__, url_prefix="/performance")

from procurement.performance import models as _models  # noqa: E402, F401


@bp.get("/")
def index():  # replaced by the real page
    from flask import render_template_string

    return render_template_string("{% extends 'base.html' %}")
