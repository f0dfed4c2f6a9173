"""Supervision pages: complaints and sanctions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

from procurement.supervision import models as _models  # noqa: E402, F401


@bp.get("/")
def index():  # replaced by the real list
    from flask import render_template_string

    return render_template_string("{% extends 'base.html' %}")
