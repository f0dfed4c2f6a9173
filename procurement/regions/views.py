"""The administrative-division tree of the user's region."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from procurement.accounts.auth import permission_required

bp = Blueprint("regions", __name__, url_prefix="/regions")


@bp.route("/")
@permission_required("regions.view")
def index():
    return render_template("regions/index.html", root=g.user.region)
