"""Loading the shipped service catalogue (seed 001 annex 1)."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy import select

from procurement.core.db import db
from procurement.plans.models import ServiceItem


def load_yangcheng_catalogue() -> int:
    """Insert the Yangcheng catalogue items that are missing (idempotent); returns how many."""
    data = json.loads(
        resources.files("procurement.data").joinpath("yangcheng_catalogue.json").read_text()
    )
    region = data["region_code"]
    existing = set(
        db.session.scalars(select(ServiceItem.code).where(ServiceItem.region_code == region))
    )
    added = 0
    for position, (code, category, name, description) in enumerate(data["items"]):
        if code not in existing:
            db.session.add(
                ServiceItem(
                    region_code=region,
                    code=code,
                    category=category,
                    name=name,
                    description=description,
                    position=position,
                )
            )
            added += 1
    db.session.flush()
    return added
