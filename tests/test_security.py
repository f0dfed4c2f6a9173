"""Security review (issue 8, part 3): region scoping through every route, security
headers, uploads, personal data in logs and error pages, sessions, the template
sandbox and SQL built only through bound parameters.

The role-by-endpoint matrix itself is in ``tests/test_authorization.py``; this file adds
what cuts across all the features.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import re
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from procurement.accounts.roles import PERMISSIONS, Role
from procurement.core.db import db
from tests.conftest import PASSWORD, Client
from tests.helpers import in_app
from tests.performance.conftest import site, stage_input  # noqa: F401 (fixture)
from tests.settlements.conftest import at

# ------------------------------------------------------------------ region scoping

YANGCHENG, QINSHUI = "140522", "140521"
MISSING = 999999  # no record has this id

# Which Yangcheng user speaks for a role in the positive controls (see region_world).
YANGCHENG_USERS = {
    Role.OFFICER: "drafter",
    Role.FINANCE: "yc-finance",
    Role.EVALUATOR: "yc-evaluator",
    Role.AUDITOR: "yc-auditor",
    Role.ADMIN: "yc-admin",
}
QINSHUI_USERS = {
    Role.OFFICER: "qinshui",
    Role.FINANCE: "qs-finance",
    Role.EVALUATOR: "qs-evaluator",
    Role.AUDITOR: "qs-auditor",
    Role.ADMIN: "qs-admin",
}
# Arguments that are not record ids, and the value each route is called with.
OTHER_ARGUMENTS = {"month": "2026-07", "party": "buyer", "kind": "tax"}
# Query strings that routes need to get past their validation to the record.
QUERIES = {
    "recipients.changes_export": "?month=2026-12",
    "api.export_recipient_changes": "?month=2026-12",
    "api.recipient_eligibility": "?month=2026-12",
    "api.acceptance_figures": "?period_start=2026-07-01&period_end=2026-08-31",
    "api.get_provider_performance_record": "?year=2026",
    "api.list_recipient_changes": "?month=2026-12",
    "api.list_workday_overrides": "?year=2027",
    "recipients.changes": "?month=2026-12",
}
# Routes with an id that names no region's record: the official workday calendar, one
# for every county, read by officers and administrators (calendar.view), kept by the
# province's administrators (calendar.manage).
NOT_REGION_OWNED = {
    "recipients.delete_calendar_day",
    "api.delete_workday_override",
}


def _first(model, *where):
    stmt = sa.select(model.id).where(*where).order_by(model.id).limit(1)
    return db.session.scalar(stmt.execution_options(unscoped=True))


def _build_region_world(app, site) -> dict:  # noqa: F811 (the fixture's value)
    """Add to the performance world one record of every kind that the site world lacks
    (complaint, sanction, acceptance, evaluation, publication), and return the ids of
    a Yangcheng record of each kind, keyed by the route argument that names it."""
    from procurement.accounts import services as accounts
    from procurement.accounts.models import ApiToken, User
    from procurement.awards.models import Award
    from procurement.contracts import services as contracts
    from procurement.contracts import templating
    from procurement.contracts.models import Contract
    from procurement.core.audit import Actor, AuditEvent, set_actor
    from procurement.performance import acceptance as acceptance_rules
    from procurement.performance import evaluation as evaluation_rules
    from procurement.performance.models import Acceptance, Evaluation
    from procurement.plans.models import BudgetLine, PlanZone, PurchasePlan, ServiceItem
    from procurement.policies.models import PolicyProfile
    from procurement.providers.models import (
        ComplianceRecord,
        EvidenceDocument,
        Provider,
        QualificationCheck,
    )
    from procurement.public import services as public
    from procurement.public.models import Publication
    from procurement.recipients.models import Application, Recipient, WorkdayOverride
    from procurement.settlements.models import RecordImport, Settlement, SettlementStatus
    from procurement.supervision import services as supervision
    from procurement.supervision.models import Complaint
    from tests.conftest import PASSWORD

    def work():
        set_actor(Actor(None, "test-setup", "system"))
        for username, role, region in (
            ("yc-admin", "admin", YANGCHENG),
            ("sx-admin", "admin", "140000"),  # the province's: keeps the division tree
            *[(name, role, QINSHUI) for role, name in QINSHUI_USERS.items()],
        ):
            if username == "qinshui":
                continue  # made by the performance world
            accounts.create_user(
                username=username,
                display_name=username,
                role=role,
                region_code=region,
                password=PASSWORD,
            )
        drafter = db.session.scalar(sa.select(User).where(User.username == "drafter"))
        contract_ids = site["contracts"]
        first = db.session.get(Contract, contract_ids[0])
        complaint = supervision.record_complaint(
            supervision.ComplaintInput(
                provider_id=first.provider_id,
                contract_id=first.id,
                received_on=date(2026, 9, 1),
                channel="phone",
                summary="服务人员未按约定时间上门",
            ),
            actor=drafter,
        )
        second_complaint = supervision.record_complaint(
            supervision.ComplaintInput(
                provider_id=first.provider_id,
                contract_id=first.id,
                received_on=date(2026, 9, 3),
                channel="phone",
                summary="服务时长不足",
            ),
            actor=drafter,
        )
        suspensions = [
            supervision.record_sanction(
                supervision.SanctionInput(
                    provider_id=contract.provider_id,
                    contract_id=contract.id,
                    kind="suspend_settlement",
                    ground="1",
                    decided_on=date(2026, 9, 2),
                    note="暂停结算，待整改",
                ),
                actor=drafter,
            )
            for contract in (first, db.session.get(Contract, contract_ids[2]))
        ]
        acceptance = acceptance_rules.draft_acceptance(first, stage_input(), actor=drafter)
        approver = db.session.scalar(sa.select(User).where(User.username == "approver"))
        acceptance_rules.approve_acceptance(acceptance, actor=approver)
        second = db.session.get(Contract, contract_ids[1])
        second_acceptance = acceptance_rules.draft_acceptance(second, stage_input(), actor=drafter)
        acceptance_rules.approve_acceptance(second_acceptance, actor=approver)
        awards = db.session.scalars(sa.select(Award).order_by(Award.id)).all()
        for award in awards:
            public.publish_award(award, actor=drafter)
        award = awards[0]
        accounts.issue_token(drafter, "platform")
        at(2027, 1, 10)
        evaluation_rules.open_evaluation(db.session.get(Contract, contract_ids[1]), actor=drafter)
        db.session.add(WorkdayOverride(day=date(2028, 1, 1), is_workday=False, note="元旦"))
        template = contracts.upload_template(
            region_code=YANGCHENG,
            name="县局修订版",
            filename="v2.docx",
            stream=io.BytesIO(templating.default_template_bytes()),
            actor=None,
        )
        from procurement.core.files import store_blob
        from procurement.jobs.models import Job, JobStatus

        job = Job(
            kind="contracts.archive",
            key=f"contracts.archive:{site['plan']}",
            params={"plan_id": site["plan"]},
            status=JobStatus.FAILED,
            error="测试",
            result={
                "summary": "1",
                "download": {"blob": store_blob(b"PK"), "filename": "a.zip", "mimetype": "x/y"},
            },
            created_by=drafter,
            region_code=YANGCHENG,
        )
        db.session.add(job)
        # Two statements wait for finance again, as before they were confirmed.
        waiting, other_waiting = db.session.scalars(
            sa.select(Settlement).order_by(Settlement.id.desc()).limit(2)
        ).all()
        for statement in (waiting, other_waiting):
            statement.status = SettlementStatus.DRAFT
            statement.confirmed_by_id = statement.confirmed_at = None
        db.session.flush()
        from procurement.payments import services as payments

        paid = db.session.scalar(
            sa.select(Settlement)
            .where(
                Settlement.region_code == YANGCHENG,
                Settlement.status == SettlementStatus.CONFIRMED,
            )
            .order_by(Settlement.id)
        )
        payment = payments.record_payment(
            paid,
            actor=db.session.scalar(sa.select(User).where(User.username == "yc-finance")),
            paid_on=payments.confirmed_on(paid).isoformat(),
            amount=str(paid.amount),
            voucher_number="记-2026-0001",
            payee_account="6222 0000 1111 2222",
        )
        assert complaint.region_code == YANGCHENG

        yc = Contract.region_code == YANGCHENG
        ids = {
            "plan_id": site["plan"],
            "line_id": _first(BudgetLine, BudgetLine.plan_id == site["plan"]),
            "zone_id": _first(PlanZone, PlanZone.plan_id == site["plan"]),
            "contract_id": _first(Contract, yc),
            "provider_id": first.provider_id,
            "check_id": _first(
                QualificationCheck, QualificationCheck.provider_id == first.provider_id
            ),
            "document_id": _first(
                EvidenceDocument, EvidenceDocument.provider_id == first.provider_id
            ),
            "record_id": _first(
                ComplianceRecord, ComplianceRecord.provider_id == first.provider_id
            ),
            "recipient_id": _first(Recipient, Recipient.region_code == YANGCHENG),
            "application_id": None,
            "import_id": _first(RecordImport, RecordImport.region_code == YANGCHENG),
            "settlement_id": waiting.id,
            "complaint_id": _first(Complaint, Complaint.region_code == YANGCHENG),
            "sanction_id": suspensions[0].id,
            "acceptance_id": _first(Acceptance, Acceptance.region_code == YANGCHENG),
            "evaluation_id": _first(Evaluation, Evaluation.region_code == YANGCHENG),
            "publication_id": _first(Publication, Publication.region_code == YANGCHENG),
            "award_id": award.id,
            "profile_id": _first(
                PolicyProfile,
                PolicyProfile.region_code == YANGCHENG,
                PolicyProfile.year == 2026,
            ),
            "item_id": _first(
                ServiceItem,
                ServiceItem.region_code == YANGCHENG,
                ServiceItem.policy_profile_id.is_not(None),
            ),
            "user_id": _first(User, User.username == "drafter"),
            "token_id": _first(ApiToken, ApiToken.user_id == drafter.id),
            "event_id": _first(AuditEvent, AuditEvent.region_code == YANGCHENG),
            "override_id": _first(WorkdayOverride),
            "template_id": template.id,
            "job_id": job.id,
            "payment_id": payment.id,
            "number": 1,  # the plan's first version
        }
        ids["second"] = {
            "contract_id": second.id,
            "complaint_id": second_complaint.id,
            "sanction_id": suspensions[1].id,
            "settlement_id": other_waiting.id,
            "acceptance_id": second_acceptance.id,
            "recipient_id": _first(
                Recipient, Recipient.region_code == YANGCHENG, Recipient.id > ids["recipient_id"]
            ),
        }
        recipient = ids["recipient_id"]
        ids["application_id"] = _first(Application, Application.recipient_id == recipient)
        if ids["application_id"] is None:
            found = db.session.execute(
                sa.select(Application.id, Application.recipient_id)
                .where(Application.region_code == YANGCHENG)
                .order_by(Application.id)
                .limit(1)
                .execution_options(unscoped=True)
            ).first()
            ids["application_id"], ids["recipient_id"] = found
        assert db.session.get(Provider, ids["provider_id"]).region_code == YANGCHENG
        assert db.session.get(PurchasePlan, ids["plan_id"]).region_code == YANGCHENG
        return ids

    return in_app(app, work)


@pytest.fixture
def region_world(app, site, monkeypatch):  # noqa: F811 (the fixture imported above)
    # LibreOffice takes seconds per document: a stand-in PDF is enough to reach the record.
    monkeypatch.setattr(
        "procurement.contracts.services.to_pdf", lambda data, name: b"%PDF-1.4 stand-in"
    )
    ids = _build_region_world(app, site)
    missing = [name for name, value in {**ids, **ids["second"]}.items() if value is None]
    assert missing == [], missing
    return ids


_ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def _is_public(endpoint: str) -> bool:
    from procurement.accounts.auth import PUBLIC_BLUEPRINTS, PUBLIC_ENDPOINTS

    return endpoint in PUBLIC_ENDPOINTS or endpoint.partition(".")[0] in PUBLIC_BLUEPRINTS


def record_rules(app):
    """Every non-public rule that names a record by an integer id, with its methods."""
    found = []
    for rule in app.url_map.iter_rules():
        if _is_public(rule.endpoint) or rule.endpoint in NOT_REGION_OWNED:
            continue
        if "<int:" not in rule.rule:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule))
    return found


def fill(rule, ids: dict, *, missing: bool = False) -> str:
    """The rule's path with the Yangcheng record ids (or ids that exist nowhere)."""

    def value(match) -> str:
        converter, options, name = match.groups()
        if converter == "int":
            assert name in ids and name != "second", f"{rule.rule}: no id for <{name}>"
            return str(MISSING if missing else ids[name])
        if converter == "any":
            return options.split(",")[0].strip(" '\"")
        assert name in OTHER_ARGUMENTS, f"{rule.rule}: no value for <{name}>"
        return OTHER_ARGUMENTS[name]

    return _ARGUMENT.sub(value, rule.rule) + QUERIES.get(rule.endpoint, "")


def outcome(response) -> tuple:
    """The status and, for JSON errors, the error code and message: what a caller learns."""
    body = response.get_json(silent=True) if response.is_json else None
    error = body.get("error", {}) if isinstance(body, dict) else {}
    message = re.sub(r"\d+", "#", error.get("message") or "")  # "no plan 1" = "no plan 999999"
    return (response.status_code, error.get("code"), message)


class Caller:
    """One user through the pages (session and CSRF token) and the API (bearer token)."""

    def __init__(self, app, username: str, token: str):
        self.username = username
        self.client = Client(app)
        self.client.login(username)
        self.csrf = self.client.csrf("/account")
        self.token = token
        self.http = app.test_client()

    def call(self, method: str, path: str):
        response = self._send(method, path)
        response.get_data()
        response.close()  # file downloads are streamed
        return response

    def _send(self, method: str, path: str):
        if path.startswith("/api/"):
            headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token}"}
            if method == "GET":
                return self.http.get(path, headers=headers)
            return self.http.open(path, method=method, json={}, headers=headers)
        if method == "GET":
            return self.client.http.get(path)
        return self.client.http.open(path, method=method, data={"csrf_token": self.csrf})


def fingerprint(app) -> dict[str, str]:
    """A digest of every table's rows (the login log, token use times and the counter of
    writing transactions, which they move on, aside)."""
    ignored = {"login_attempts"}
    volatile = {("api_tokens", "last_used_at"), ("users", "last_login_at")}
    digests = {}
    with app.app_context():
        connection = db.session.connection()
        for table in db.metadata.sorted_tables:
            if table.name in ignored:
                continue
            columns = [c for c in table.c if (table.name, c.name) not in volatile]
            rows = connection.execute(
                sa.select(*columns).order_by(*table.primary_key.columns)
            ).all()
            # plain tuples: a Row's own repr truncates each value, ten times slower
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode())
            digests[table.name] = digest.hexdigest()
        db.session.remove()
    return digests


# Lists that show every county's entries by design.
SHARED_LISTS = {"api.list_regions", "api.openapi", "regions.index"}


def _yangcheng_in_lists(app, caller: Caller) -> list[tuple]:
    """What of 阳城县 (its code, plan numbers, providers' and recipients' names) the list
    pages and API lists (every GET route without arguments) show to ``caller``."""
    from procurement.providers.models import Provider
    from procurement.recipients.models import Recipient

    def names():
        found = {"140522-2026", "阳城县"}
        found |= set(db.session.scalars(sa.select(Provider.name)))
        found |= set(db.session.scalars(sa.select(Recipient.name).limit(30)))
        return found

    yangcheng = in_app(app, names)
    shown, read = [], 0
    for rule in app.url_map.iter_rules():
        if (
            "GET" not in rule.methods
            or rule.arguments
            or _is_public(rule.endpoint)
            or rule.endpoint in SHARED_LISTS
        ):
            continue
        response = caller.call("GET", rule.rule + QUERIES.get(rule.endpoint, ""))
        if response.status_code != 200 or response.mimetype not in {
            "text/html",
            "application/json",
        }:
            continue
        read += 1
        text = response.get_data(as_text=True)
        shown += [(caller.username, rule.rule, name) for name in yangcheng if name in text]
    assert read > 30
    return shown


def changed_since(app, before: dict[str, str]) -> set[str]:
    """The tables whose rows differ from the fingerprint ``before``."""
    return {name for name, digest in fingerprint(app).items() if before[name] != digest}


def test_another_county_reaches_no_yangcheng_record_through_any_route(
    app, make_token, region_world
):
    """Walk the URL map: every page and API route with a record id, called by each role
    of 沁水县 with the ids of 阳城县's records, answers exactly as for a record that does
    not exist (status, error code and message), and changes nothing. A new route is
    covered as soon as it exists (a new kind of id argument must be added to
    region_world)."""
    callers = [Caller(app, name, make_token(name)) for name in QINSHUI_USERS.values()]
    before = fingerprint(app)
    rules = record_rules(app)
    assert len(rules) > 100
    leaks = []
    for caller in callers:
        username = caller.username
        for method, rule in rules:
            seen = outcome(caller.call(method, fill(rule, region_world)))
            expected = outcome(caller.call(method, fill(rule, region_world, missing=True)))
            if seen != expected or seen[0] < 400:
                leaks.append((username, method, rule.rule, seen, expected))
    assert leaks == []
    # Nor do the lists show any of them, to the officer or the administrator.
    assert [
        shown
        for caller in callers
        if caller.username in {QINSHUI_USERS[Role.OFFICER], QINSHUI_USERS[Role.ADMIN]}
        for shown in _yangcheng_in_lists(app, caller)
    ] == []
    changed = changed_since(app, before)
    assert changed == set()


def _yangcheng_user(app, endpoint: str) -> str:
    permission = getattr(app.view_functions[endpoint], "permission", "dashboard.view")
    for role in (Role.OFFICER, Role.FINANCE, Role.EVALUATOR, Role.AUDITOR, Role.ADMIN):
        if role in PERMISSIONS[permission]:
            return YANGCHENG_USERS[role]
    raise AssertionError(permission)


def test_the_same_routes_find_the_records_for_yangcheng(app, make_token, region_world):
    """The control: with the same ids, a Yangcheng user holding the permission reads
    every one of those records, so the refusals above are not about wrong ids."""
    callers = {}
    wrong = []
    drafter = Caller(app, "drafter", make_token("drafter"))
    assert len(_yangcheng_in_lists(app, drafter)) > 10  # the list check sees what is there
    for method, rule in record_rules(app):
        if method != "GET":
            continue
        username = _yangcheng_user(app, rule.endpoint)
        if username not in callers:
            callers[username] = Caller(app, username, make_token(username))
        caller = callers[username]
        response = caller.call(method, fill(rule, region_world))
        if response.status_code in (200, 302):
            continue
        # No evaluation of 2026 is complete yet: found the provider, and said so.
        message = response.get_json(silent=True)["error"]["message"] if response.is_json else ""
        if rule.endpoint == "api.get_provider_performance_record" and "2026" in message:
            continue
        wrong.append((rule.rule, username, outcome(response)))
    assert wrong == []


# One record of each region-owned kind: read through its page and the API, and one change
# through a page form and one through the API. "{second[...]}" is another record of the
# same kind, for changes that can be made only once.
SCORES = {"buyer-coverage": "17", "buyer-delivery": 27, "buyer-quality": 27, "buyer-complaints": 18}
KINDS: dict[str, dict] = {
    "plan": {
        "read": ("/plans/{plan_id}", "/api/v1/plans/{plan_id}"),
        "page": ("/plans/{plan_id}/adjust", {}),
        "api": ("POST", "/api/v1/plans/{plan_id}/submit", {"note": "调整后报审"}),
    },
    "provider": {
        "read": ("/providers/{provider_id}", "/api/v1/providers/{provider_id}"),
        "page": ("/providers/{provider_id}/checks", {"as_of": "2026-06-15", "plan_id": ""}),
        "api": (
            "POST",
            "/api/v1/providers/{provider_id}/qualification-checks",
            {"as_of": "2026-06-15"},
        ),
    },
    "contract": {
        "read": ("/contracts/{contract_id}", "/api/v1/contracts/{contract_id}"),
        "page": ("/contracts/{contract_id}/publish", {}),
        "api": ("POST", "/api/v1/contracts/{second[contract_id]}/publish", {}),
    },
    "recipient": {
        "read": ("/recipients/{recipient_id}", "/api/v1/recipients/{recipient_id}"),
        "page": (
            "/recipients/{recipient_id}/exit",
            {"exit_reason": "moved_away", "exit_date": "2027-01-05", "exit_note": "迁往外省"},
        ),
        "api": (
            "POST",
            "/api/v1/recipients/{second[recipient_id]}/exit",
            {"exit_reason": "moved_away", "exit_date": "2027-01-05"},
        ),
    },
    "service-record import": {
        "read": ("/settlements/imports/{import_id}", "/api/v1/record-imports/{import_id}"),
        "page": None,  # an import is never changed, only read (its records: "settlement")
        "api": ("GET", "/api/v1/record-imports/{import_id}/rejections", None),
    },
    "settlement statement": {
        "read": ("/settlements/{settlement_id}", "/api/v1/settlements/{settlement_id}"),
        "page": ("/settlements/{settlement_id}/recompute", {}),
        "api": ("POST", "/api/v1/settlements/{second[settlement_id]}/recompute", {}),
    },
    "complaint": {
        "read": (
            "/supervision/complaints/{complaint_id}",
            "/api/v1/complaints/{complaint_id}",
        ),
        "page": (
            "/supervision/complaints/{complaint_id}/verify",
            {
                "status": "verified",
                "verified_on": "2026-09-04",
                "findings": "经回访核实",
                "attributable": "yes",
            },
        ),
        "api": (
            "POST",
            "/api/v1/complaints/{second[complaint_id]}/verify",
            {
                "status": "unfounded",
                "verified_on": "2026-09-04",
                "findings": "经回访不属实",
            },
        ),
    },
    "sanction": {
        "read": ("/supervision/sanctions/{sanction_id}", "/api/v1/sanctions/{sanction_id}"),
        "page": ("/supervision/sanctions/{sanction_id}/lift", {"lifted_on": "2026-09-10"}),
        "api": (
            "POST",
            "/api/v1/sanctions/{second[sanction_id]}/lift",
            {"lifted_on": "2026-09-10"},
        ),
    },
    "acceptance": {
        "read": (
            "/performance/acceptances/{acceptance_id}",
            "/api/v1/acceptances/{acceptance_id}",
        ),
        "page": ("/performance/acceptances/{acceptance_id}/publish", {}),
        "api": ("POST", "/api/v1/acceptances/{second[acceptance_id]}/publish", {}),
    },
    "evaluation": {
        "read": (
            "/performance/evaluations/{evaluation_id}",
            "/api/v1/evaluations/{evaluation_id}",
        ),
        "page": (
            "/performance/evaluations/{evaluation_id}/scores/buyer",
            {
                "buyer-evaluator_name": "周评审",
                "buyer-evaluator_organisation": "评价事务所",
                "buyer-conflict_of_interest": "no",
                "buyer-indicator_0": "18",
                "buyer-indicator_1": "27",
                "buyer-indicator_2": "27",
                "buyer-indicator_3": "18",
            },
        ),
        "api": (
            "POST",
            "/api/v1/evaluations/{evaluation_id}/scores",
            {
                "party": "buyer",
                "evaluator_name": "周评审",
                "evaluator_organisation": "评价事务所",
                "conflict_of_interest": False,
                "scores": SCORES,
            },
        ),
    },
}


CREATED = {"provider", "contract"}  # a qualification check, a publication
# The table each kind's two changes write to.
CHANGES = {
    "plan": "purchase_plans",
    "provider": "qualification_checks",
    "contract": "publications",
    "recipient": "recipients",
    "service-record import": "record_imports",
    "settlement statement": "settlements",
    "complaint": "complaints",
    "sanction": "sanctions",
    "acceptance": "acceptances",
    "evaluation": "evaluation_scores",
}


def _kind_outcomes(app, caller: Caller, ids: dict) -> tuple[dict, dict]:
    """For each kind: page read, API read, page change, API change; and the tables that
    the page change and the API change wrote to."""
    table, written = {}, {}
    headers = {"Accept": "application/json", "Authorization": f"Bearer {caller.token}"}
    for kind, calls in KINDS.items():
        page, api_url = calls["read"]
        row = [
            caller.call("GET", page.format(**ids)).status_code,
            caller.call("GET", api_url.format(**ids)).status_code,
        ]
        tables = []
        before = fingerprint(app)
        if calls["page"] is None:
            row.append(None)
        else:
            path, form = calls["page"]
            prefix = "buyer-" if "scores/buyer" in path else ""
            data = {**form, f"{prefix}csrf_token": caller.csrf}
            row.append(caller.client.http.post(path.format(**ids), data=data).status_code)
        after = fingerprint(app)
        tables.append({name for name, digest in after.items() if before[name] != digest})
        method, path, body = calls["api"]
        response = caller.http.open(path.format(**ids), method=method, json=body, headers=headers)
        row.append(response.status_code)
        before, after = after, fingerprint(app)
        tables.append({name for name, digest in after.items() if before[name] != digest})
        table[kind] = tuple(row)
        written[kind] = tuple(tables)
    return table, written


def test_each_kind_of_record_is_read_and_changed_only_by_its_county(app, make_token, region_world):
    """沁水县's officer neither reads nor changes any kind of 阳城县's records through the
    pages or the API (404, as for a record that does not exist, and nothing is written);
    阳城县's officer does the same calls successfully."""
    qinshui = Caller(app, "qinshui", make_token("qinshui"))
    yangcheng = Caller(app, "drafter", make_token("drafter"))
    refused, written = _kind_outcomes(app, qinshui, region_world)
    assert refused == {
        kind: (404, 404, None if calls["page"] is None else 404, 404)
        for kind, calls in KINDS.items()
    }
    assert written == {kind: (set(), set()) for kind in KINDS}

    done, written = _kind_outcomes(app, yangcheng, region_world)
    assert done == {
        kind: (200, 200, None if calls["page"] is None else 302, 201 if kind in CREATED else 200)
        for kind, calls in KINDS.items()
    }
    wrote = {
        kind: tuple(CHANGES[kind] in tables for tables in written[kind])
        for kind, calls in KINDS.items()
    }
    assert wrote == {
        kind: (calls["page"] is not None, calls["api"][0] != "GET") for kind, calls in KINDS.items()
    }


def test_another_county_cannot_reach_yangcheng_records_named_in_a_request_body(
    app,
    api,
    make_token,
    site,  # noqa: F811 (the fixture imported above)
):
    """Ids and numbers inside a body (a complaint's provider, a sanction's contract,
    records to review, a pushed record's recipient and provider) are looked up within the
    caller's county: 阳城县's are answered as if they did not exist, and nothing of
    阳城县 changes."""
    from procurement.providers.models import Provider
    from procurement.recipients.identity import decrypt
    from procurement.recipients.models import Recipient
    from procurement.settlements.models import ServiceRecord
    from tests.plans.conftest import api_body
    from tests.recipients.conftest import id_number

    def facts():
        provider = db.session.get(Provider, site["provider"])
        recipient = db.session.scalar(sa.select(Recipient).order_by(Recipient.id))
        records = db.session.scalars(sa.select(ServiceRecord.id).limit(3)).all()
        return provider.credit_code, decrypt(recipient.id_cipher), list(records)

    credit_code, their_number, record_ids = in_app(app, facts)
    token = make_token("qinshui")
    contract = site["contracts"][0]
    complaint = {
        "provider_id": site["provider"],
        "contract_id": contract,
        "received_on": "2026-09-01",
        "channel": "phone",
        "summary": "服务人员未上门",
    }
    sanction = {
        "provider_id": site["provider"],
        "contract_id": contract,
        "kind": "interview",
        "ground": "1",
        "decided_on": "2026-09-02",
        "note": "约谈",
    }
    review = {"record_ids": record_ids, "decision": "cleared", "note": "核实"}
    cases = {
        "complaint": (
            "/api/v1/complaints",
            complaint,
            {"provider_id": MISSING, "contract_id": MISSING},
        ),
        "sanction": (
            "/api/v1/sanctions",
            sanction,
            {"provider_id": MISSING, "contract_id": MISSING},
        ),
        "review": ("/api/v1/service-records/review", review, {"record_ids": [MISSING]}),
        "plan": ("/api/v1/plans", api_body(region_code=YANGCHENG), {"region_code": "140525"}),
    }
    before = fingerprint(app)
    seen, expected = {}, {}
    for name, (url, body, instead) in cases.items():
        seen[name] = outcome(api.post(url, json=body, token=token))
        expected[name] = outcome(api.post(url, json={**body, **instead}, token=token))
    assert all(status >= 400 for status, _code, _message in seen.values()), seen
    # A plan for another county is refused as out of scope, wherever that county is.
    assert seen.pop("plan")[:2] == (403, "region_out_of_scope")
    assert expected.pop("plan")[:2] == (403, "region_out_of_scope")
    assert seen == expected
    assert changed_since(app, before) == set()

    # Records pushed with 阳城县's recipient and provider are rejected for the same
    # reasons as an unknown person and provider: nothing tells that they exist.
    def record(number, code, record_id):
        return {
            "record_id": record_id,
            "id_number": number,
            "credit_code": code,
            "worker_id": "W001",
            "item": "助洁",
            "start": "2026-09-03 09:00:00",
            "end": "2026-09-03 10:00:00",
            "township": "140522100",
        }

    unknown_number = id_number(date(1942, 3, 15), sequence=7, county=QINSHUI)  # nobody's
    pushed = api.post(
        "/api/v1/service-records",
        json={"records": [record(their_number, credit_code, "QS-1")]},
        token=token,
    )
    unknown = api.post(
        "/api/v1/service-records",
        json={"records": [record(unknown_number, "91140521MA0XXXXX1X", "QS-2")]},
        token=token,
    )
    assert pushed.status_code == unknown.status_code == 201, pushed.json
    assert (pushed.json["accepted"], pushed.json["rejected"]) == (0, 1)
    assert pushed.json["reasons"] == unknown.json["reasons"]
    changed = changed_since(app, before)
    assert changed <= {"record_imports", "import_rejections", "audit_events"}

    def yangcheng_untouched():
        counts = db.session.execute(
            sa.select(ServiceRecord.region_code, sa.func.count()).group_by(
                ServiceRecord.region_code
            )
        ).all()
        return dict(counts)

    assert set(in_app(app, yangcheng_untouched)) == {YANGCHENG}


# ------------------------------------------------------------------ security headers

TEMPLATES = Path(__file__).resolve().parents[1] / "procurement" / "templates"


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_security_headers(response, what: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy")
    assert csp, f"{what}: no Content-Security-Policy"
    directives = csp_directives(csp)
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts is not None, f"{what}: CSP without script-src or default-src"
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(
        scripts
    ), (what, scripts)
    assert directives.get("default-src") == ["'self'"], (what, csp)
    assert directives.get("object-src") == ["'none'"], (what, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (what, csp)
    assert "base-uri" in directives and "form-action" in directives, (what, csp)
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") in {"same-origin", "no-referrer", "strict-origin"}, what


@pytest.fixture
def header_site(app, make_user, make_token, yangcheng):
    make_user("officer")
    client = Client(app)
    client.login("officer")
    return {"client": client, "token": make_token("officer")}


def test_every_kind_of_response_carries_the_security_headers(app, header_site, monkeypatch):
    client, token = header_site["client"], header_site["token"]
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    anonymous = app.test_client()
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    responses = {
        "page": client.get("/"),
        "form page": client.get("/recipients/new"),
        "download (.xlsx)": client.get("/recipients/import/template.xlsx"),
        "download (.csv)": client.get("/settlements/imports/template.csv"),
        "API JSON": anonymous.get("/api/v1/me", headers=bearer),
        "API JSON error": anonymous.get("/api/v1/recipients/999999", headers=bearer),
        "API 401": anonymous.get("/api/v1/me"),
        "API 405": anonymous.put("/api/v1/me", headers=bearer),
        "API 413": anonymous.post(
            "/api/v1/recipients",
            data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
            headers={**bearer, "Content-Type": "application/json"},
        ),
        "page 413": client.http.post(
            "/recipients/import", data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
        ),
        "OpenAPI": anonymous.get("/api/v1/openapi.json"),
        "login page": anonymous.get("/login"),
        "redirect to login": anonymous.get("/plans/"),
        "public page": anonymous.get("/public/"),
        "public feed": anonymous.get("/public/feed.atom"),
        "public JSON": anonymous.get("/public/publications.json"),
        "public 404": anonymous.get("/public/plans/999999"),
        "error page 404": client.get("/no/such/page"),
        "error page 403": client.get("/admin/users"),
        "CSRF refusal 400": client.http.post("/recipients/new", data={}),
        "static file": anonymous.get("/static/css/app.css"),
        "health check": anonymous.get("/healthz"),
    }

    def boom(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setitem(app.view_functions, "accounts.login", boom)
    monkeypatch.setitem(app.view_functions, "dashboard.healthz", boom)
    responses["error page 500"] = anonymous.get("/login")
    responses["JSON 500"] = anonymous.get("/healthz")

    statuses = {what: response.status_code for what, response in responses.items()}
    assert statuses == {
        "page": 200,
        "form page": 200,
        "download (.xlsx)": 200,
        "download (.csv)": 200,
        "API JSON": 200,
        "API JSON error": 404,
        "API 401": 401,
        "API 405": 405,
        "API 413": 413,
        "page 413": 413,
        "OpenAPI": 200,
        "login page": 200,
        "redirect to login": 302,
        "public page": 200,
        "public feed": 200,
        "public JSON": 200,
        "public 404": 404,
        "error page 404": 404,
        "error page 403": 403,
        "CSRF refusal 400": 400,
        "static file": 200,
        "health check": 200,
        "error page 500": 500,
        "JSON 500": 500,
    }
    for what, response in responses.items():
        assert_security_headers(response, what)
        response.close()
    # What a logged-in user was shown is not kept by the browser or a proxy.
    for what in ("page", "form page", "download (.xlsx)", "API JSON", "API JSON error"):
        assert "no-store" in responses[what].headers.get("Cache-Control", ""), what


def _template_files() -> list[Path]:
    files = sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.xml"))
    assert len(files) > 50
    return files


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\s(on[a-z]+)\s*=", re.IGNORECASE | re.DOTALL)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def test_no_template_holds_inline_script_handlers_or_unescaped_output():
    """The CSP forbids inline scripts: none may creep back into a template, nor markup
    that bypasses autoescaping."""
    found = []
    for path in _template_files():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES)
        for pattern, what in (
            (INLINE_SCRIPT, "inline <script>"),
            (EVENT_HANDLER, "event handler attribute"),
            (JAVASCRIPT_URL, "javascript: URL"),
            (re.compile(r"\|\s*safe\b"), "|safe"),
            (re.compile(r"{%-?\s*autoescape\s+false"), "autoescape false"),
            (re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE), "inline style (CSP refuses it)"),
        ):
            for match in pattern.finditer(text):
                found.append((str(name), what, match.group(0)[:60]))
    assert found == []


def test_the_template_scan_recognises_what_it_forbids():
    samples = {
        "<script>alert(1)</script>": INLINE_SCRIPT,
        '<script type="module">x()</script>': INLINE_SCRIPT,
        '<button class="b" onclick="go()">': EVENT_HANDLER,
        '<body\n  onload="x()">': EVENT_HANDLER,
        '<a href="javascript:alert(1)">': JAVASCRIPT_URL,
    }
    for sample, pattern in samples.items():
        assert pattern.search(sample), sample
    assert not INLINE_SCRIPT.search('<script src="/static/app.js"></script>')
    assert not EVENT_HANDLER.search('<input name="one" data-online="1">')


# ------------------------------------------------------------------ uploads

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 240  # a Windows program
TEXT = "姓名,身份证号码\n张三,140522194203150028\n".encode()
MB = 1024 * 1024


def zh(app, message: str, **values) -> str:
    """A message as the Chinese pages show it (from the catalog, so it follows it)."""
    from flask_babel import gettext

    with app.test_request_context("/"):
        return gettext(message, **values)


def instance_files(app) -> set[str]:
    root = Path(app.instance_path)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _survey_form(token: str) -> dict:
    return {
        "recipients-csrf_token": token,
        "recipients-evaluator_name": "周评审",
        "recipients-evaluator_organisation": "评价事务所",
        "recipients-conflict_of_interest": "no",
    }


def _upload_routes(ids: dict) -> list[dict]:
    """Every route that takes a file: who may use it, how the file is sent, the field the
    refusal names. Pages send multipart forms, the API a raw body or base64 in JSON."""
    return [
        {
            "name": "provider import",
            "user": "drafter",
            "page": "/providers/import",
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "recipient roster import",
            "user": "drafter",
            "page": "/recipients/import",
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "service-record import",
            "user": "drafter",
            "page": "/settlements/imports/new",
            "field": "file",
            "limit": "RECORD_IMPORT_MAX_BYTES",
        },
        {
            "name": "evidence document",
            "user": "drafter",
            "page": "/providers/{provider_id}/documents".format(**ids),
            "form": {"kind": "business_licence", "title": "营业执照"},
            "field": "file",
            "limit": "EVIDENCE_MAX_BYTES",
            "flashes": "/providers/{provider_id}".format(**ids),
        },
        {
            "name": "signed contract scan",
            "user": "drafter",
            "page": "/contracts/{draft_contract}/sign".format(**ids),
            "form": {"signed_on": "2026-06-26"},
            "field": "scan",
            "limit": None,  # 20 MB, above the test's request limit
        },
        {
            "name": "contract template",
            "user": "yc-admin",
            "page": "/contract-templates/",
            "form": {"name": "县局修订版"},
            "field": "file",
            "limit": None,  # 10 MB, above the test's request limit
        },
        {
            "name": "satisfaction survey",
            "user": "drafter",
            "page": "/performance/evaluations/{evaluation_id}/scores/recipients".format(**ids),
            "prefix": "recipients-",
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "division file",
            "user": "sx-admin",
            "page": "/regions/divisions",
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "catalogue workbook",
            "user": "yc-admin",
            "page": "/catalogue/{profile_id}/import".format(**ids),
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "API catalogue workbook",
            "user": "yc-admin",
            "api": "/api/v1/policy-profiles/{profile_id}/catalogue/import".format(**ids)
            + "?filename={filename}",
            "raw": True,
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "API division file",
            "user": "sx-admin",
            "api": "/api/v1/regions/divisions?filename={filename}",
            "raw": True,
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "API service-record file",
            "user": "drafter",
            "api": "/api/v1/service-records/file?filename={filename}",
            "raw": True,
            "field": "file",
            "limit": "RECORD_IMPORT_MAX_BYTES",
        },
        {
            "name": "API provider import",
            "user": "drafter",
            "api": "/api/v1/providers/imports",
            "multipart": True,
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "API recipient roster import",
            "user": "drafter",
            "api": "/api/v1/recipients/imports",
            "multipart": True,
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
        {
            "name": "API contract scan",
            "user": "drafter",
            "api": "/api/v1/contracts/{draft_contract}/sign".format(**ids),
            "json": lambda data, filename: {
                "signed_on": "2026-06-26",
                "scan_filename": filename,
                "scan_base64": base64.b64encode(data).decode(),
            },
            "field": "scan",
            "limit": None,
        },
        {
            "name": "API satisfaction survey",
            "user": "drafter",
            "api": "/api/v1/evaluations/{evaluation_id}/survey".format(**ids),
            "json": lambda data, filename: {
                "evaluator_name": "周评审",
                "evaluator_organisation": "评价事务所",
                "conflict_of_interest": False,
                "filename": filename,
                "file_base64": base64.b64encode(data).decode(),
            },
            "field": "file",
            "limit": "IMPORT_MAX_BYTES",
        },
    ]


def test_every_upload_route_is_listed():
    """A new upload field must be added to _upload_routes (and so to the tests below)."""
    root = Path(__file__).resolve().parents[1] / "procurement"
    found = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"FileField\(", r"request\.files", r"request\.get_data\(", r"b64decode\("):
            found |= {f"{path.relative_to(root)}:{pattern}" for _ in re.finditer(pattern, text)}
    assert found == {
        "settlements/views.py:FileField\\(",  # service-record import
        "core/staging.py:FileField\\(",  # provider and roster imports
        "providers/forms.py:FileField\\(",  # evidence documents
        "performance/forms.py:FileField\\(",  # satisfaction survey
        "contracts/views.py:FileField\\(",  # signed scan, contract template
        "settlements/api.py:request\\.get_data\\(",  # API service-record file
        "regions/forms.py:FileField\\(",  # division file
        "regions/api.py:request\\.get_data\\(",  # API division file
        "plans/forms.py:FileField\\(",  # service catalogue workbook
        "plans/api.py:request\\.get_data\\(",  # API service catalogue workbook
        "core/staging.py:request\\.files",  # API provider and roster imports
        "contracts/api.py:b64decode\\(",  # API signed scan
        "performance/api.py:b64decode\\(",  # API satisfaction survey
    }


class Uploader:
    def __init__(self, app, make_token):
        self.app = app
        self.callers: dict[str, Caller] = {}
        self.make_token = make_token

    def caller(self, username: str) -> Caller:
        if username not in self.callers:
            self.callers[username] = Caller(self.app, username, self.make_token(username))
        return self.callers[username]

    def send(self, route: dict, data: bytes, filename: str, *, raw_body: bytes | None = None):
        caller = self.caller(route["user"])
        if "api" in route:
            headers = {"Authorization": f"Bearer {caller.token}", "Accept": "application/json"}
            url = route["api"].format(filename=filename)
            if raw_body is not None:
                headers["Content-Type"] = "application/json"
                return caller.http.post(url, data=raw_body, headers=headers)
            if route.get("raw"):
                headers["Content-Type"] = "text/csv"
                return caller.http.post(url, data=data, headers=headers)
            if route.get("multipart"):
                boundary, body = encode_multipart(
                    MultiDict({route["field"]: FileStorage(io.BytesIO(data), filename)})
                )
                return caller.http.post(
                    url,
                    data=body,
                    headers=headers,
                    content_type=f"multipart/form-data; boundary={boundary}",
                )
            return caller.http.post(url, json=route["json"](data, filename), headers=headers)
        prefix = route.get("prefix", "")
        form = {**route.get("form", {}), f"{prefix}csrf_token": caller.csrf}
        if prefix:
            form = {**_survey_form(caller.csrf)}
        if raw_body is not None:
            form["padding"] = raw_body.decode()
        form[f"{prefix}{route['field']}"] = FileStorage(io.BytesIO(data), filename)
        # Encoded here in memory: the test client would spool a large body to a
        # temporary file that nothing closes.
        boundary, body = encode_multipart(MultiDict(form))
        return caller.client.http.post(
            route["page"],
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    def message_of(self, route: dict, response) -> str:
        """The refusal as the user reads it: the JSON error of the field, or the page."""
        if "api" in route:
            body = response.get_json()
            return " ".join(
                [body["error"]["message"], *body["error"]["fields"].get(route["field"], [])]
            )
        if response.status_code == 302 and route.get("flashes"):
            page = self.caller(route["user"]).client.http.get(route["flashes"])
            return page.get_data(as_text=True)
        return response.get_data(as_text=True)


def unsigned_contract(app) -> int:
    """The last contract back to a draft, as before it was signed (the scan's form)."""
    from procurement.contracts.models import Contract, ContractStatus

    def work():
        contract = db.session.scalar(sa.select(Contract).order_by(Contract.id.desc()))
        contract.status = ContractStatus.DRAFT
        contract.signed_on = contract.signed_scan_sha256 = contract.signed_scan_type = None
        return contract.id

    return in_app(app, work)


@pytest.fixture
def small_limits(app, monkeypatch):
    """Limits scaled down so that the tests send small bodies: a request over 2 MB is
    refused by the server, a file over 1 MB by the import."""
    for key in ("IMPORT_MAX_BYTES", "EVIDENCE_MAX_BYTES", "RECORD_IMPORT_MAX_BYTES"):
        monkeypatch.setitem(app.config, key, MB)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2 * MB)


def test_uploads_refuse_wrong_types_naming_the_field_and_write_nothing(
    app, make_token, region_world, small_limits
):
    uploader = Uploader(app, make_token)
    routes = _upload_routes({**region_world, "draft_contract": unsigned_contract(app)})
    for route in routes:
        uploader.caller(route["user"])  # log in before the snapshot
    before, files = fingerprint(app), instance_files(app)
    not_xlsx = zh(app, "The file is not an .xlsx workbook.")
    not_evidence = zh(app, "Only PDF, PNG and JPEG files are accepted.")
    not_docx = zh(app, "Upload a Word document (.docx).")
    attempts = {
        # what each route expects, sent as a program and as text renamed to that type
        "provider import": ("providers.xlsx", not_xlsx),
        "recipient roster import": ("roster.xlsx", not_xlsx),
        "service-record import": ("records.xlsx", not_xlsx),
        "evidence document": ("license.pdf", not_evidence),
        "signed contract scan": ("signed.pdf", not_evidence),
        "contract template": ("contract.docx", not_docx),
        "satisfaction survey": ("survey.xlsx", not_xlsx),
        "API service-record file": ("records.xlsx", not_xlsx),
        "division file": ("divisions.xlsx", not_xlsx),
        "API division file": ("divisions.xlsx", not_xlsx),
        "catalogue workbook": ("catalogue.xlsx", not_xlsx),
        "API catalogue workbook": ("catalogue.xlsx", not_xlsx),
        "API provider import": ("providers.xlsx", not_xlsx),
        "API recipient roster import": ("roster.xlsx", not_xlsx),
        "API contract scan": ("signed.pdf", not_evidence),
        "API satisfaction survey": ("survey.xlsx", not_xlsx),
    }
    assert set(attempts) == {route["name"] for route in routes}
    wrong = []
    for route in routes:
        filename, message = attempts[route["name"]]
        for content in (EXE, TEXT):
            response = uploader.send(route, content, filename)
            expected_status = 302 if route.get("flashes") else 422
            seen = uploader.message_of(route, response)
            if response.status_code != expected_status or message not in seen:
                wrong.append((route["name"], content[:2], response.status_code, seen[:200]))
            if "api" in route and response.status_code == 422:
                fields = response.get_json()["error"]["fields"]
                if route["field"] not in fields:
                    wrong.append((route["name"], "field", fields))
    assert wrong == []
    assert changed_since(app, before) == set()
    assert instance_files(app) == files


def test_uploads_refuse_what_is_too_large_and_write_nothing(
    app, make_token, region_world, small_limits
):
    uploader = Uploader(app, make_token)
    routes = _upload_routes({**region_world, "draft_contract": unsigned_contract(app)})
    for route in routes:
        uploader.caller(route["user"])
    before, files = fingerprint(app), instance_files(app)
    too_large = zh(app, "The upload is larger than allowed.")
    over_file_limit = zh(app, "The file is larger than %(mb)d MB.", mb=1)
    wrong = []
    for route in routes:
        # Over the request limit: the server refuses before reading (413, page or JSON).
        request_limit = 2 * MB
        if route["limit"] == "RECORD_IMPORT_MAX_BYTES":
            request_limit = MB + MB  # the import allows its file plus a form
        body = b"PK\x03\x04" + b"\x00" * (request_limit + 100)
        response = uploader.send(route, body, "big.xlsx")
        if route.get("json"):
            # base64 in JSON: the body is a third larger than the file
            response = uploader.send(route, b"", "big.xlsx", raw_body=b" " * (request_limit + 1))
        seen = uploader.message_of(route, response) if response.status_code != 302 else ""
        if response.status_code != 413 or too_large not in seen:
            wrong.append((route["name"], "request", response.status_code, seen[:200]))
        if (
            "api" in route
            and response.status_code == 413
            and response.get_json()["error"]["code"] != "payload_too_large"
        ):
            wrong.append((route["name"], "code", response.get_json()))
        # Under the request limit but over the file's own limit: refused by the import.
        if route.get("limit"):
            response = uploader.send(route, b"PK\x03\x04" + b"\x00" * (MB + 10), "big.xlsx")
            expected_status = 302 if route.get("flashes") else 422
            seen = uploader.message_of(route, response)
            if response.status_code != expected_status or over_file_limit not in seen:
                wrong.append((route["name"], "file", response.status_code, seen[:200]))
    assert wrong == []
    assert changed_since(app, before) == set()
    assert instance_files(app) == files


# ------------------------------------------------- personal data in logs and error pages

NEW_PERSON = {"name": "岳秀梅", "phone": "13912345678", "address": "凤城镇南关村8号"}


def personal_data(app) -> set[str]:
    """Every recipient's name, full ID number, phone and address."""
    from procurement.recipients.identity import decrypt
    from procurement.recipients.models import Recipient

    def work():
        values = set(NEW_PERSON.values())
        for person in db.session.scalars(sa.select(Recipient)):
            values |= {person.name, decrypt(person.id_cipher), person.phone, person.address}
        return {value for value in values if value and len(value) >= 2}

    return in_app(app, work)


def logged_text(caplog) -> str:
    import logging

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def _failing_statements(monkeypatch, app, starts_with: str, after: int = 0):
    """Make the driver fail (as a lost connection would) on the statements that start with
    ``starts_with``, after ``after`` of them succeeded."""
    with app.app_context():
        dialect = db.engine.dialect
    driver_error = dialect.loaded_dbapi.OperationalError
    seen = {"count": 0}

    def guarded(real):
        def run(cursor, statement, parameters, context=None):
            if statement.lstrip().upper().startswith(starts_with):
                seen["count"] += 1
                if seen["count"] > after:
                    raise driver_error("server closed the connection unexpectedly")
            return real(cursor, statement, parameters, context)

        return run

    monkeypatch.setattr(dialect, "do_execute", guarded(dialect.do_execute))
    monkeypatch.setattr(dialect, "do_executemany", guarded(dialect.do_executemany))
    return seen


def test_no_personal_data_in_logs_or_error_pages(
    app, make_token, region_world, caplog, monkeypatch
):
    """With the application logging at DEBUG, importing records and a roster, reading
    recipients, refused input, an unexpected error whose message holds an ID number and a
    database failure on a recipient's row leave no name, ID number, phone or address in
    any log record, and the error pages show none."""
    import logging

    from procurement.demo.care import demo_records_csv
    from procurement.plans.models import PurchasePlan
    from procurement.recipients.identity import decrypt
    from procurement.recipients.models import Recipient
    from tests.recipients.conftest import id_number
    from tests.recipients.test_import import workbook

    def first_person():
        person = db.session.get(Recipient, region_world["recipient_id"])
        plan = db.session.get(PurchasePlan, region_world["plan_id"])
        return person.name, decrypt(person.id_cipher), demo_records_csv(plan, date(2026, 9, 1))

    name, number, records_csv = in_app(app, first_person)
    officer = Caller(app, "drafter", make_token("drafter"))
    auditor = Caller(app, "yc-auditor", make_token("yc-auditor"))
    caplog.set_level(logging.DEBUG)
    recipient = region_world["recipient_id"]
    pages = {}

    def page(name_, response):
        pages[name_] = response.get_data(as_text=True)
        return response

    # Imports: the platform's records and a roster with a duplicate and a new person.
    upload = {
        "file": FileStorage(io.BytesIO(records_csv), "2026-09.csv"),
        "csrf_token": officer.csrf,
    }
    boundary, body = encode_multipart(MultiDict(upload))
    imported = officer.client.http.post(
        "/settlements/imports/new",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert imported.status_code == 302
    new_number = id_number(date(1944, 5, 6), sequence=88)
    roster = workbook(
        [
            [name, number, "凤城镇", "", "低保", None, None, None],  # already on the roster
            [NEW_PERSON["name"], new_number, "凤城镇", "南关村", "低保", None, None, None],
        ]
    )
    staged = page(
        "roster report",
        officer.client.http.post(
            "/recipients/import",
            data={"file": (roster, "roster.xlsx"), "csrf_token": officer.csrf},
            content_type="multipart/form-data",
        ),
    )
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', pages["roster report"])
    assert staged.status_code == 200 and token, pages["roster report"][:300]
    confirmed = officer.client.http.post(
        "/recipients/import/confirm", data={"token": token.group(1), "csrf_token": officer.csrf}
    )
    assert confirmed.status_code == 302

    # Reading, searching, revealing.
    for path in (
        "/recipients/",
        f"/recipients/?q={name}",
        f"/recipients/?q={number}",
        f"/recipients/{recipient}",
        "/api/v1/recipients",
        f"/api/v1/recipients?q={number}",
        f"/api/v1/recipients/{recipient}",
    ):
        assert officer.call("GET", path).status_code == 200, path
        assert auditor.call("GET", path).status_code == 200, path
    assert officer.call("POST", f"/api/v1/recipients/{recipient}/reveal-id").status_code == 200
    assert officer.call("POST", f"/recipients/{recipient}/reveal-id").status_code == 200

    # Refused input naming a person.
    again = officer.http.post(
        "/api/v1/recipients",
        json={"id_number": number, "name": name, "township_code": "140522100", "category": "x"},
        headers={"Authorization": f"Bearer {officer.token}"},
    )
    assert again.status_code == 422

    # An unexpected error whose message carries personal data.
    def broken(*args, **kwargs):
        raise RuntimeError(f"cannot read {number} of {name}, phone {NEW_PERSON['phone']}")

    monkeypatch.setattr("procurement.recipients.services.get_recipient", broken)
    assert page("500 page", officer.call("GET", f"/recipients/{recipient}")).status_code == 500
    assert (
        page("500 JSON", officer.call("GET", f"/api/v1/recipients/{recipient}")).status_code == 500
    )
    monkeypatch.undo()

    # The database fails while a recipient's row is written.
    _failing_statements(monkeypatch, app, "UPDATE RECIPIENTS")
    exit_body = {"exit_reason": "moved_away", "exit_date": "2027-01-05"}
    failed = officer.http.post(
        f"/api/v1/recipients/{recipient}/exit",
        json=exit_body,
        headers={"Authorization": f"Bearer {officer.token}"},
    )
    page("503 JSON", failed)
    assert failed.status_code == 503 and failed.json["error"]["code"] == "database_unavailable"
    failed_page = officer.client.http.post(
        f"/recipients/{recipient}/exit",
        data={"exit_reason": "moved_away", "exit_date": "2027-01-05", "csrf_token": officer.csrf},
    )
    assert page("503 page", failed_page).status_code == 503
    monkeypatch.undo()

    secrets_ = personal_data(app)
    assert NEW_PERSON["name"] in secrets_ and new_number in secrets_ and len(secrets_) > 300
    log = logged_text(caplog)
    assert "unhandled error on GET" in log and "RuntimeError" in log
    assert "database unavailable on POST" in log
    assert "SQL parameters hidden" in log  # the engine never puts them in a message
    assert sorted(value for value in secrets_ if value in log) == []
    for what in ("500 page", "500 JSON", "503 JSON", "503 page"):
        assert sorted(value for value in secrets_ if value in pages[what]) == [], what


def test_a_csv_that_is_one_huge_line_fails_its_import_job_saying_why(app, header_site):
    """The file is imported by a job (issue 16): the job fails with the reason."""
    headers = {"Authorization": f"Bearer {header_site['token']}", "Accept": "application/json"}
    response = app.test_client().post(
        "/api/v1/service-records/file?filename=records.csv",
        data=b"x" * 300_000,
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.json
    job = app.test_client().get(response.headers["Location"], headers=headers).json
    assert job["status"] == "failed"
    assert job["error"] == zh(app, "The CSV file could not be read.")


# ------------------------------------------------------------ sessions and throttling


def session_of(app, client) -> dict:
    from flask.sessions import SecureCookieSessionInterface

    cookie = client.http.get_cookie("procurement_session")
    if cookie is None:
        return {}
    return dict(SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie.value))


def with_cookie(app, value: str) -> Client:
    """A new browser that holds a copy of a session cookie (as an attacker might)."""
    copy = Client(app)
    copy.http.set_cookie("procurement_session", value)
    return copy


def test_a_session_from_before_login_is_not_the_logged_in_session(app, make_user):
    """Session fixation: a cookie planted before the victim logs in stays anonymous, and
    the CSRF token it carried is not accepted in the logged-in session."""
    make_user("officer")
    victim = Client(app)
    planted_token = victim.csrf("/login")
    planted = victim.http.get_cookie("procurement_session").value
    before = session_of(app, victim)
    assert "_user_id" not in before and before.get("csrf_token")

    victim.login("officer")
    after = session_of(app, victim)
    assert after.get("_user_id") and after.get("csrf_token") != before["csrf_token"]
    assert victim.http.get_cookie("procurement_session").value != planted
    assert victim.get("/").status_code == 200

    attacker = with_cookie(app, planted)
    assert attacker.get("/").status_code == 302  # still nobody
    # The token issued before login does not authorise a change after it.
    refused = victim.http.post("/account/tokens", data={"name": "x", "csrf_token": planted_token})
    assert refused.status_code == 400


def test_logout_ends_the_session_on_the_server(app, make_user):
    """A copy of the cookie taken while logged in is worthless after logging out (the
    cookie names the user's session secret, which logging out changes); so is every other
    session of the same user, which the log-out ends too."""
    make_user("officer")
    browser, other = Client(app), Client(app)
    browser.login("officer")
    other.login("officer")
    stolen = browser.http.get_cookie("procurement_session").value
    assert with_cookie(app, stolen).get("/").status_code == 200  # the copy works while in

    assert browser.logout().status_code == 302
    assert browser.get("/").status_code == 302
    replayed = with_cookie(app, stolen)
    response = replayed.get("/account")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert other.get("/").status_code == 302
    browser.login("officer")  # and one logs in again as usual
    assert browser.get("/account").status_code == 200


def _fail_from(app, address: str, username: str):
    http = app.test_client()
    client = Client(app)
    client.http = http
    http.environ_base["REMOTE_ADDR"] = address
    return client.post("/login", {"username": username, "password": "Wrong-pass-1"})


def test_many_failures_from_one_address_lock_that_address_only(app, make_user):
    """Guessing across many user names from one address is throttled by the address
    (4 x LOGIN_MAX_FAILURES), with the same answer for every name."""
    make_user("officer")
    limit = 4 * app.config["LOGIN_MAX_FAILURES"]
    for number in range(limit):
        assert _fail_from(app, "203.0.113.7", f"guess{number}").status_code == 401
    attacker = Client(app)
    attacker.http.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    locked = attacker.post("/login", {"username": "officer", "password": PASSWORD})
    assert locked.status_code == 401
    assert zh(app, "Too many failed logins. Please try again in %(n)d minutes.", n=15) in (
        locked.get_data(as_text=True)
    )
    colleague = Client(app)
    colleague.http.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    colleague.login("officer")  # the name itself is not locked: the failures were spread


def test_the_client_address_comes_from_a_trusted_proxy_only(app):
    """Behind nginx (TRUSTED_PROXIES = 1) each client is throttled by its own address, not
    the proxy's; without a proxy, X-Forwarded-For is ignored, so that it cannot be used to
    escape the throttle."""
    from procurement import create_app
    from procurement.accounts.models import LoginAttempt

    def addresses(application):
        with application.app_context():
            found = db.session.scalars(sa.select(LoginAttempt.ip)).all()
            db.session.remove()
        return found

    forwarded = {"X-Forwarded-For": "198.51.100.44"}
    direct = Client(app)
    direct.http.post("/login", data={"username": "x", "password": "y"}, headers=forwarded)
    assert addresses(app) == []  # no CSRF token: refused before counting
    direct.post("/login", {"username": "nobody", "password": "Wrong-pass-1"}, headers=forwarded)
    assert addresses(app) == ["127.0.0.1"]

    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1, "INSTANCE_PATH": app.instance_path})
    behind = Client(proxied)
    behind.post("/login", {"username": "nobody", "password": "Wrong-pass-1"}, headers=forwarded)
    assert addresses(proxied) == ["127.0.0.1", "198.51.100.44"]
    with proxied.app_context():
        db.engine.dispose()


# ------------------------------------------------------------------ template sandbox

PWNED = Path(tempfile.gettempdir()) / "procurement-sandbox-escaped"  # never to exist
ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''['__class__'] }}",
    "{{ provider.name.__class__.__base__.__subclasses__() }}",
    "{{ (1).__class__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.system('touch " + str(PWNED) + "') }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ config }}",
    "{{ request.environ }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ provider|attr('__class__') }}",
    "{{ provider.name|attr('__class__') }}",
    "{{ provider.__getitem__('name') }}",
    "{{ provider.name.format_map(provider) }}",
    "{{ '%s' % provider }}",
    "{% set x = provider.update({'name': 'x'}) %}",
    "{{ clauses.sanctions.pop() }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{% extends '../../procurement/config.py' %}",
    "{% from 'x' import y %}",
]


def _docx_with(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_contract_templates_cannot_reach_python_internals(ctx):
    """Each escape is refused when the template is uploaded (checked), and nothing runs."""
    from procurement.contracts import templating
    from procurement.core.errors import ValidationError

    PWNED.unlink(missing_ok=True)
    accepted = []
    for text in ESCAPES:
        try:
            templating.check_template(_docx_with(text))
        except ValidationError as refused:
            assert refused.fields.keys() == {"file"}, text
        else:
            accepted.append(text)
    assert accepted == []
    assert not PWNED.exists()


def test_the_certificate_renders_in_the_same_sandbox(ctx, monkeypatch, tmp_path):
    """The acceptance certificate's template is shipped, not uploaded; still, were it ever
    replaced, it renders in the contract sandbox: an escape is refused, not run."""
    from procurement.contracts import templating
    from procurement.core.errors import Conflict
    from procurement.performance import certificate

    path = tmp_path / "certificate.docx"
    monkeypatch.setattr(certificate, "CERTIFICATE_TEMPLATE", path)
    context = templating.sample_context() | {"acceptance": {"number": "YS-1"}}
    monkeypatch.setattr(certificate, "context", lambda acceptance: context)
    PWNED.unlink(missing_ok=True)
    path.write_bytes(_docx_with("验收书 {{ acceptance.number }}"))
    assert certificate.render_certificate(None)  # the control renders
    rendered = []
    for text in ESCAPES:
        path.write_bytes(_docx_with("验收书 {{ acceptance.number }} " + text))
        try:
            certificate.render_certificate(None)
        except Conflict as refused:
            assert refused.code == "template_failed", text
        else:
            rendered.append(text)
    assert rendered == []
    assert not PWNED.exists()


def test_data_is_never_evaluated_as_template_code(ctx):
    """A provider named like a template expression is printed as written."""
    from procurement.contracts import templating
    from tests.contracts.test_contracts import text_of

    context = templating.sample_context()
    context["provider"]["name"] = "{{ 7 * 7 }}{% raw %}{{ ''.__class__ }}"
    rendered = templating.render(_docx_with("乙方：{{ provider.name }}"), context)
    assert "乙方：{{ 7 * 7 }}{% raw %}{{ ''.__class__ }}" in text_of(rendered)


def test_an_uploaded_escape_is_refused_on_the_page_and_nothing_is_kept(app, make_user, yangcheng):
    make_user("root", role="admin")
    client = Client(app)
    client.login("root")
    before, files = fingerprint(app), instance_files(app)
    upload = {
        "name": "恶意模板",
        "file": FileStorage(io.BytesIO(_docx_with(ESCAPES[6])), "contract.docx"),
        "csrf_token": client.csrf("/contract-templates/"),
    }
    boundary, body = encode_multipart(MultiDict(upload))
    response = client.http.post(
        "/contract-templates/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert zh(app, "The template uses unknown fields: %(names)s.", names="cycler") in page
    assert changed_since(app, before) == set()
    assert instance_files(app) == files


# ----------------------------------------------------- SQL only through bound parameters

PACKAGE = Path(__file__).resolve().parents[1] / "procurement"
# Calls that take SQL as text.
SQL_CALLS = {
    "text",
    "exec_driver_sql",
    "execute",
    "executemany",
    "executescript",
    "copy",
    "literal_column",
}
# (file, function): why building the SQL there is safe.
ALLOWED_SQL_BUILDING = {
    # Column names and the table come from the models' constants, never from input; the
    # values go through executemany's placeholders or COPY's rows.
    ("settlements/storage.py", "raw_insert"): "fixed table and column names",
    # A lock wait in milliseconds, made an integer before it is written into the PRAGMA.
    ("core/db.py", "lock_wait"): "an integer's digits",
    # The trigger names its verb, UPDATE or DELETE, from a literal tuple.
    ("migrations/versions/0001_foundation.py", "_protect_audit_trail"): "fixed verbs",
}


def _is_text(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _built(node, assigned: dict) -> bool:
    """Whether ``node`` is SQL put together at run time (not one literal string)."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return any(_is_text(side) or _built(side, assigned) for side in (node.left, node.right))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"format", "join", "replace"}
    ):
        return True
    if isinstance(node, ast.Name) and node.id in assigned:
        return any(_built(value, {}) for value in assigned[node.id])
    return False


def sql_built_at_run_time(source: str) -> list[tuple[str, int]]:
    """(function, line) of each call that receives SQL text put together at run time."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

    def own_nodes(scope):
        """The scope's nodes, without those of the functions defined inside it."""
        pending = list(ast.iter_child_nodes(scope))
        while pending:
            node = pending.pop()
            yield node
            if not isinstance(node, functions):
                pending.extend(ast.iter_child_nodes(node))

    found = []
    tree = ast.parse(source)
    scopes = [tree, *[n for n in ast.walk(tree) if isinstance(n, functions[:2])]]
    for scope in scopes:
        name = getattr(scope, "name", "<module>")
        nodes = list(own_nodes(scope))
        assigned: dict[str, list] = {}
        for node in nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in nodes:
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in SQL_CALLS and _built(node.args[0], assigned):
                found.append((name, node.lineno))
    return sorted(set(found))


def test_the_sql_scan_sees_what_it_looks_for():
    sample = """
def bad(q, table):
    db.session.execute(text(f"SELECT * FROM users WHERE name = '{q}'"))
    connection.exec_driver_sql("DELETE FROM " + table)
    cursor.execute("SELECT %s" % q)
    statement = "UPDATE users SET name = '{}'".format(q)
    cursor.executemany(statement, [])
    sa.literal_column(f"'{q}'")

def good(q):
    db.session.execute(text("SELECT 1 WHERE name = :q"), {"q": q})
    connection.exec_driver_sql("PRAGMA foreign_keys = ON")
    db.session.execute(select(User).where(User.name == q))
"""
    assert [name for name, _line in sql_built_at_run_time(sample)] == ["bad"] * 5


def test_sql_is_built_only_from_bound_parameters():
    """No text(), exec_driver_sql(), raw cursor execute or literal_column receives SQL
    made with an f-string, % or + from anything but the allowed fixed identifiers."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for function, line in sql_built_at_run_time(path.read_text(encoding="utf-8")):
            found.setdefault((str(path.relative_to(PACKAGE)), function), []).append(line)
    unexpected = {key: lines for key, lines in found.items() if key not in ALLOWED_SQL_BUILDING}
    assert unexpected == {}
    assert set(found) == set(ALLOWED_SQL_BUILDING)  # the allowance is still needed


LITERAL_SEARCHES = ["' OR 1=1 --", "%", "_", "%%", "\\", "'; DROP TABLE users; --", '" OR ""="']


def test_search_fields_take_their_text_literally(
    app,
    make_user,
    make_token,
    site,  # noqa: F811 (the fixture imported above)
):
    """Quotes, comments and the LIKE wildcards % and _ typed in a search box are searched
    for as written: they find nothing here, as no name contains them, while a part of a
    real name finds it."""
    from procurement.providers.models import Provider
    from procurement.recipients.models import Recipient

    make_user("root", role="admin")

    def names():
        provider = db.session.scalar(sa.select(Provider).order_by(Provider.id))
        person = db.session.scalar(sa.select(Recipient).order_by(Recipient.id))
        return provider.name, person.name, db.session.scalar(sa.select(sa.func.count(Provider.id)))

    provider, person, providers = in_app(app, names)
    officer = Caller(app, "drafter", make_token("drafter"))
    admin = Caller(app, "root", make_token("root"))
    anonymous = app.test_client()
    before = fingerprint(app)

    def found(q: str) -> dict:
        api = {
            "providers API": officer.call("GET", f"/api/v1/providers?q={quote(q)}").json["total"],
            "recipients API": officer.call("GET", f"/api/v1/recipients?q={quote(q)}").json["total"],
        }
        pages = {
            "providers page": provider in officer.call("GET", f"/providers/?q={quote(q)}").text,
            "recipients page": person in officer.call("GET", f"/recipients/?q={quote(q)}").text,
            "users page": "drafter" in admin.call("GET", f"/admin/users?q={quote(q)}").text,
            "public site": provider in anonymous.get(f"/public/?q={quote(q)}").text,
        }
        return api | pages

    control = found(provider[2:6])
    assert control["providers API"] >= 1 and control["providers page"], control
    assert found(person)["recipients API"] >= 1
    assert found("draft")["users page"]
    assert providers > 1
    nothing = {
        "providers API": 0,
        "recipients API": 0,
        "providers page": False,
        "recipients page": False,
        "users page": False,
        "public site": False,
    }
    assert {q: found(q) for q in LITERAL_SEARCHES} == {q: nothing for q in LITERAL_SEARCHES}
    assert changed_since(app, before) == set()
