"""Recipient roster pages: the list, a recipient's record, applications, exits, imports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("recipients", __name__, url_prefix="/recipients")

from procurement.recipients import models as _models  # noqa: E402, F401


@bp.get("/")
def index():  # replaced by the real list
    from flask import render_template_string

    return render_template_string("{% extends 'base.html' %}")
