"""Roles and the one table that says which role may do what."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    FINANCE = "finance"
    EVALUATOR = "evaluator"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.OFFICER: _l("Procurement officer"),
    Role.FINANCE: _l("Finance reviewer"),
    Role.EVALUATOR: _l("Performance evaluator"),
    Role.AUDITOR: _l("Auditor (read-only)"),
}

EVERYONE = frozenset(Role)

# permission -> roles that hold it. Views and API endpoints name a permission;
# nothing else in the code compares roles.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "dashboard.view": EVERYONE,
    "regions.view": EVERYONE,
    # import division files, add, rename and retire townships (issue 18): the province's
    # administrators, for the divisions inside their province (see PROVINCE_ONLY)
    "regions.manage": frozenset({Role.ADMIN}),
    "policies.view": EVERYONE,
    "policies.edit": frozenset({Role.ADMIN}),
    # a profile's service catalogue (issue 18): its region's administrators (a province's
    # for the province's profile, by the region scope)
    "catalogue.manage": frozenset({Role.ADMIN}),
    "users.view": frozenset({Role.ADMIN, Role.AUDITOR}),
    "users.manage": frozenset({Role.ADMIN}),
    "audit.view": frozenset({Role.ADMIN, Role.AUDITOR}),
    "plans.view": EVERYONE,
    "plans.edit": frozenset({Role.OFFICER}),
    "plans.review": frozenset({Role.FINANCE}),
    "providers.view": EVERYONE,
    "providers.edit": frozenset({Role.OFFICER}),
    "awards.manage": frozenset({Role.OFFICER}),
    "contracts.manage": frozenset({Role.OFFICER}),
    "templates.manage": frozenset({Role.ADMIN}),
    "recipients.view": EVERYONE,
    "recipients.edit": frozenset({Role.OFFICER}),
    # the full ID number (each view is audited); everyone else sees it masked
    "recipients.view_id": frozenset({Role.OFFICER}),
    # the official holiday table is one for every county: read by the counties, kept by
    # the province (see PROVINCE_ONLY)
    "calendar.view": frozenset({Role.ADMIN, Role.OFFICER}),
    "calendar.manage": frozenset({Role.ADMIN}),
    "records.import": frozenset({Role.OFFICER}),
    "records.review": frozenset({Role.OFFICER}),
    "settlements.view": EVERYONE,
    "settlements.confirm": frozenset({Role.FINANCE}),
    # disbursements (资金拨付) and the finance ledger: finance records, the others read
    "payments.view": frozenset({Role.ADMIN, Role.OFFICER, Role.FINANCE, Role.AUDITOR}),
    "payments.record": frozenset({Role.FINANCE}),
    "supervision.view": EVERYONE,
    "supervision.manage": frozenset({Role.OFFICER}),
    "performance.view": EVERYONE,
    # draft acceptances (another officer approves), open evaluations, publish results
    "acceptance.manage": frozenset({Role.OFFICER}),
    "evaluations.manage": frozenset({Role.OFFICER}),
    # enter a party's scores: the buyer (officer), finance, third party and survey (evaluator)
    "evaluations.score": frozenset({Role.OFFICER, Role.FINANCE, Role.EVALUATOR}),
    "publications.publish": frozenset({Role.OFFICER}),
}


# Permissions over what every county shares: held only by users of a province, so that
# no county changes the others' records.
PROVINCE_ONLY: frozenset[str] = frozenset({"calendar.manage", "regions.manage"})


def has_permission(role: Role, permission: str, *, level: str) -> bool:
    """Whether a user of ``role`` in a region of ``level`` (province, prefecture, county)
    holds ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    if permission in PROVINCE_ONLY and level != "province":
        return False
    return role in PERMISSIONS[permission]
