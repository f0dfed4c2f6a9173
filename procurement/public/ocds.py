"""Open data: one OCDS 1.1 release package per purchase plan, built only from what is public.

A plan is one contracting process (ocid = prefix-county-year-plan); its zones are the
lots (the OCDS Lots extension), the service catalogue items are the tender's items, and
each published award and contract is one award and one contract of the process.
Payments (transactions) are the money finance disbursed (资金拨付), not the statements it
confirmed; the acceptance certificate is a ``completionCertificate`` document; the
evaluation is carried by this project's own small extension (``ocds_extension/``, served
under /public/ocds/extension/).

Identifiers: suppliers are identified by their unified social credit code (统一社会信用
代码, GB 32100-2015) under the scheme ``CN-USCC``. org-id.guide lists registers for
some kinds of Chinese organisation but none for the code that, since 2015, every
organisation carries whatever its registration authority (market regulation, civil
affairs, public institutions): a provider may be a company or a 民办非企业单位, so one
scheme naming the code itself is the honest choice. The buyer and the payer are the
county's bureaus, identified within the release by the county's GB/T 2260 code.

The ocid prefix must be registered with the OCDS Data Support Team before publishing
for real; set ``OCDS_PREFIX``. The default below marks data that is not yet registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from procurement.awards.models import Award
from procurement.awards.services import buyer_name, civil_affairs_office
from procurement.contracts.models import Contract, ContractStatus
from procurement.contracts.services import contract_amount, township_names
from procurement.core.db import db
from procurement.core.errors import NotFound, ValidationError
from procurement.core.i18n import stored_language
from procurement.payments.models import Payment
from procurement.performance.models import Acceptance, Evaluation
from procurement.plans.exports import DOCX
from procurement.plans.models import PurchaseMethod, PurchasePlan
from procurement.providers.models import Provider
from procurement.public.links import public_link
from procurement.public.models import Publication, PublicationKind
from procurement.public.queries import (
    LIVE,
    certificate_type,
    newest,
    party_scores,
    published,
    zone_budgets,
)
from procurement.regions.models import Region

DEFAULT_OCID_PREFIX = "ocds-jjyl00"
CREDIT_CODE_SCHEME = "CN-USCC"
CURRENCY = "CNY"
ZERO = Decimal("0.00")
LOTS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_lots_extension/v1.1.5/extension.json"
)
EXTENSION_DIR = Path(__file__).with_name("ocds_extension")
EXTENSION_FILES = {
    "extension.json": "application/json",
    "release-schema.json": "application/json",
    "README.md": "text/markdown",
}

# Chinese procurement methods on OCDS's closed method codelist; the Chinese name goes
# into procurementMethodDetails. 竞争性谈判/磋商 and 询价 negotiate with at least three
# suppliers the buyer chose or drew from a list: "limited" in OCDS terms.
METHODS = {
    PurchaseMethod.OPEN_TENDER: "open",
    PurchaseMethod.INVITED_TENDER: "selective",
    PurchaseMethod.COMPETITIVE_NEGOTIATION: "limited",
    PurchaseMethod.COMPETITIVE_CONSULTATION: "limited",
    PurchaseMethod.SINGLE_SOURCE: "direct",
    PurchaseMethod.REQUEST_FOR_QUOTATION: "limited",
    PurchaseMethod.FRAMEWORK_AGREEMENT: "open",
}
# OCDS "terminated" covers both a contract that ran its course and one ended early.
CONTRACT_STATUS = {
    ContractStatus.SIGNED: "active",
    ContractStatus.IN_FORCE: "active",
    ContractStatus.COMPLETED: "terminated",
    ContractStatus.TERMINATED: "terminated",
}


def ocid_prefix() -> str:
    return current_app.config.get("OCDS_PREFIX") or DEFAULT_OCID_PREFIX


def ocid(plan: PurchasePlan) -> str:
    return f"{ocid_prefix()}-{plan.region_code}-{plan.year}-{plan.id}"


def finance_name(plan: PurchasePlan) -> str:
    return f"{plan.region.name}财政局"


@dataclass
class Process:
    """What is public about one plan: its published awards and contracts, and for those
    contracts the payments made, published acceptances and evaluation."""

    plan: PurchasePlan
    awards: list[tuple[Award, Publication]]
    contracts: list[tuple[Contract, Publication]]
    payments: dict[int, list[Payment]] = field(default_factory=dict)
    acceptances: dict[int, list[tuple[Acceptance, Publication]]] = field(default_factory=dict)
    evaluations: dict[int, tuple[Evaluation, Publication]] = field(default_factory=dict)
    withdrawn_at: datetime | None = None

    @property
    def last_modified(self) -> datetime:
        """When any of it last changed: the package's publishedDate and Last-Modified."""
        version = self.plan.approved_version
        moments = [version.decided_at if version else None, self.withdrawn_at]
        for _award, publication in self.awards:
            moments.append(publication.published_at)
        for contract, publication in self.contracts:
            moments += [publication.published_at, contract.updated_at, contract.document.created_at]
        for rows in self.payments.values():
            moments += [p.recorded_at for p in rows]
        for rows in self.acceptances.values():
            moments += [moment for a, p in rows for moment in (a.updated_at, p.published_at)]
        for evaluation, publication in self.evaluations.values():
            moments += [evaluation.updated_at, publication.published_at]
        return newest(*moments) or self.plan.updated_at


def public_process(plan_id: int) -> Process:
    """The public part of a plan; 404 unless something of it is published."""
    plan = db.session.get(PurchasePlan, plan_id)
    if plan is None or plan.approved_version is None:
        raise NotFound()
    if not db.session.scalar(select(func.count()).where(Publication.plan_id == plan.id, LIVE)):
        raise NotFound()
    awards = db.session.execute(
        published(Award, PublicationKind.AWARD)
        .where(Award.plan_id == plan.id)
        .options(joinedload(Award.provider), joinedload(Award.zone))
        .order_by(Award.id)
    ).all()
    contracts = db.session.execute(
        published(Contract, PublicationKind.CONTRACT)
        .where(Contract.plan_id == plan.id)
        .options(
            selectinload(Contract.versions),
            joinedload(Contract.provider),
            joinedload(Contract.zone),
        )
        .order_by(Contract.number)
    ).all()
    process = Process(plan, [tuple(r) for r in awards], [tuple(r) for r in contracts])
    ids = [contract.id for contract, _p in process.contracts]
    for payment in standing_payments(ids):
        process.payments.setdefault(payment.contract_id, []).append(payment)
    for acceptance, publication in db.session.execute(
        published(Acceptance, PublicationKind.ACCEPTANCE)
        .where(Acceptance.contract_id.in_(ids))
        .order_by(Acceptance.period_end)
    ):
        process.acceptances.setdefault(acceptance.contract_id, []).append((acceptance, publication))
    for evaluation, publication in db.session.execute(
        published(Evaluation, PublicationKind.EVALUATION).where(Evaluation.contract_id.in_(ids))
    ):
        process.evaluations[evaluation.contract_id] = (evaluation, publication)
    process.withdrawn_at = db.session.scalar(
        select(func.max(Publication.withdrawn_at)).where(Publication.plan_id == plan.id)
    )
    return process


def standing_payments(contract_ids: list[int]) -> list[Payment]:
    """The payments of the contracts that stand: a reversed payment and its reversal
    cancel out and are left out, so the public sees the money that was actually paid."""
    reversed_ids = select(Payment.reverses_id).where(Payment.reverses_id.is_not(None))
    return list(
        db.session.scalars(
            select(Payment)
            .where(
                Payment.contract_id.in_(contract_ids),
                Payment.reverses_id.is_(None),
                Payment.id.not_in(reversed_ids),
            )
            .order_by(Payment.paid_on, Payment.id)
        )
    )


# ------------------------------------------------------------------ building blocks


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _day(day: date, end: bool = False) -> str:
    """A business date as an OCDS date-time in China's time zone."""
    return f"{day.isoformat()}T{'23:59:59' if end else '00:00:00'}+08:00"


def _period(start: date, end: date) -> dict:
    return {
        "startDate": _day(start),
        "endDate": _day(end, end=True),
        "durationInDays": (end - start).days + 1,
    }


def _value(amount: Decimal) -> dict:
    return {"amount": float(amount), "currency": CURRENCY}


def _supplier_id(provider: Provider) -> str:
    return f"{CREDIT_CODE_SCHEME}-{provider.credit_code}"


def _reference(party: dict) -> dict:
    return {"id": party["id"], "name": party["name"]}


class _Builder:
    """Turns a Process into the release (one method per OCDS section)."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.plan = process.plan
        self.ocid = ocid(self.plan)
        region = self.plan.region
        address = {"region": region.full_name, "countryName": "中国"}
        self.buyer = {
            "id": f"{self.plan.region_code}-civil-affairs",
            "name": buyer_name(self.plan),
            "address": address,
            "roles": ["buyer", "procuringEntity"],
        }
        self.payer = {
            "id": f"{self.plan.region_code}-finance",
            "name": finance_name(self.plan),
            "address": address,
            "roles": ["payer"],
        }
        self.suppliers: dict[int, dict] = {}

    def supplier(self, provider: Provider, *roles: str) -> dict:
        party = self.suppliers.setdefault(
            provider.id,
            {
                "id": _supplier_id(provider),
                "name": provider.name,
                "identifier": {
                    "scheme": CREDIT_CODE_SCHEME,
                    "id": provider.credit_code,
                    "legalName": provider.name,
                },
                "roles": ["supplier"],
            },
        )
        party["roles"] += [role for role in roles if role not in party["roles"]]
        return _reference(party)

    def release(self) -> dict:
        awards = [self.award(award, publication) for award, publication in self.process.awards]
        contracts = [self.contract(c, publication) for c, publication in self.process.contracts]
        tags = ["planning", "tender"]
        tags += ["award"] if awards else []
        tags += ["contract"] if contracts else []
        if any("implementation" in contract for contract in contracts):
            tags.append("implementation")
        last = self.process.last_modified
        release = {
            "ocid": self.ocid,
            "id": f"{self.ocid}-{last.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            "date": _when(last),
            "tag": tags,
            "initiationType": "tender",
            "language": "zh",
            "buyer": _reference(self.buyer),
            "planning": self.planning(),
            "tender": self.tender(),
            "awards": awards,
            "contracts": contracts,
        }
        release["parties"] = [self.buyer, self.payer, *self.suppliers.values()]
        return _compact(release)

    def planning(self) -> dict:
        plan, version = self.plan, self.plan.approved_version
        profile = plan.policy_profile
        return {
            "rationale": profile.source_document or profile.name,
            "budget": {
                "id": f"{plan.id}-v{version.number}",
                "description": _(
                    "Version %(n)d of the plan, approved by finance", n=version.number
                ),
                "amount": _value(version.total),
                "project": plan.title,
                "projectID": str(plan.id),
            },
            "documents": [
                {
                    "id": f"plan-{plan.id}",
                    "documentType": "procurementPlan",
                    "title": plan.title,
                    "url": public_link("public.plan", plan_id=plan.id),
                    "format": "text/html",
                    "language": "zh",
                }
            ],
        }

    def tender(self) -> dict:
        plan = self.plan
        zones = plan.approved_version.snapshot["zones"]
        approved = zone_budgets(plan)
        awarded = {award.zone_id for award, _p in self.process.awards}
        period = _period(plan.service_start, plan.service_end)
        lots = [
            {
                "id": _lot(zone["id"]),
                "title": zone["name"],
                "description": "、".join(zone["townships"]),
                "status": "complete" if zone["id"] in awarded else "active",
                "value": _value(approved.get(zone["id"], ZERO)),
                "contractPeriod": period,
            }
            for zone in zones
        ]
        return _compact(
            {
                "id": f"{self.ocid}-tender",
                "title": plan.title,
                "description": plan.quality_standard or None,
                "status": "complete" if len(awarded) == len(zones) else "active",
                "procuringEntity": _reference(self.buyer),
                "items": [
                    {"id": link.service_item.code, "description": link.service_item.name}
                    for link in plan.items
                ],
                "value": _value(sum(approved.values(), ZERO)),
                "procurementMethod": METHODS[plan.purchase_method],
                "procurementMethodDetails": plan.purchase_method.label,
                "mainProcurementCategory": "services",
                "awardCriteria": "ratedCriteria",
                "contractPeriod": period,
                "lots": lots,
            }
        )

    def award(self, award: Award, publication: Publication) -> dict:
        plan = self.plan
        value, _unit = contract_amount(
            plan,
            award.bid.unit_price,
            award.zone.expected_recipients,
            plan.service_start,
            plan.service_end,
        )
        return {
            "id": _award_id(award.id),
            "title": award.notice_title,
            "description": award.notice_text,
            "status": "active",
            "date": _when(award.decided_at),
            "value": _value(value),
            "suppliers": [self.supplier(award.provider)],
            "relatedLots": [_lot(award.zone_id)],
            "contractPeriod": _period(plan.service_start, plan.service_end),
            "documents": [
                {
                    "id": f"award-{award.id}-notice",
                    "documentType": "awardNotice",
                    "title": award.notice_title,
                    "url": public_link("public.award", award_id=award.id),
                    "datePublished": _when(publication.published_at),
                    "format": "text/html",
                    "language": "zh",
                }
            ],
        }

    def contract(self, contract: Contract, publication: Publication) -> dict:
        version = contract.document
        end = contract.terminated_on or contract.service_end
        entry = {
            "id": f"contract-{contract.id}",
            "awardID": _award_id(contract.award_id),
            "title": publication.title,
            "description": _(
                "%(zone)s: %(townships)s. %(price)s yuan per %(unit)s.",
                zone=contract.zone.name,
                townships="、".join(township_names(contract)),
                price=f"{contract.unit_price:.2f}",
                unit=contract.unit,
            )
            + (
                " " + _("Reason for the signing date: %(reason)s", reason=contract.signing_reason)
                if contract.signing_reason
                else ""
            ),
            "status": CONTRACT_STATUS[contract.status],
            "period": _period(contract.service_start, end),
            "value": _value(contract.amount),
            "dateSigned": _day(contract.signed_on) if contract.signed_on else None,
            "documents": [
                {
                    "id": f"contract-{contract.id}-v{version.number}",
                    "documentType": "contractSigned",
                    "title": _(
                        "Contract %(number)s, version %(n)d",
                        number=contract.number,
                        n=version.number,
                    ),
                    "url": public_link("public.contract_document", contract_id=contract.id),
                    "dateModified": _when(version.created_at),
                    "format": DOCX,
                    "language": "zh",
                },
                {
                    "id": f"contract-{contract.id}-notice",
                    "documentType": "contractNotice",
                    "title": publication.title,
                    "url": public_link("public.contract", contract_id=contract.id),
                    "datePublished": _when(publication.published_at),
                    "format": "text/html",
                    "language": "zh",
                },
            ],
        }
        entry["implementation"] = self.implementation(contract) or None
        return _compact(entry)

    def implementation(self, contract: Contract) -> dict:
        process = self.process
        payments = process.payments.get(contract.id, [])
        payee = self.supplier(contract.provider, "payee") if payments else None
        evaluation = process.evaluations.get(contract.id)
        return _compact(
            {
                "transactions": [
                    {
                        "id": f"payment-{p.id}",
                        "date": _day(p.paid_on),
                        "value": _value(p.amount),
                        "payer": _reference(self.payer),
                        "payee": payee,
                    }
                    for p in payments
                ],
                "documents": [
                    self.certificate(acceptance, publication)
                    for acceptance, publication in process.acceptances.get(contract.id, [])
                ],
                "performanceEvaluation": self.evaluation(*evaluation) if evaluation else None,
            }
        )

    def certificate(self, acceptance: Acceptance, publication: Publication) -> dict:
        kind = certificate_type(acceptance.certificate_sha256)
        url = (
            public_link("public.acceptance_certificate", acceptance_id=acceptance.id)
            if kind
            else public_link("public.acceptance", acceptance_id=acceptance.id)
        )
        conclusion = acceptance.conclusion.label if acceptance.conclusion else ""
        return _compact(
            {
                "id": f"acceptance-{acceptance.id}",
                "documentType": "completionCertificate",
                "title": _(
                    "Acceptance certificate, %(start)s to %(end)s",
                    start=acceptance.period_start.isoformat(),
                    end=acceptance.period_end.isoformat(),
                ),
                "description": f"{conclusion} {acceptance.conclusion_text}".strip(),
                "url": url,
                "datePublished": _when(publication.published_at),
                "format": kind or "text/html",
                "language": "zh",
            }
        )

    def evaluation(self, evaluation: Evaluation, publication: Publication) -> dict | None:
        if evaluation.total is None or not evaluation.grade:
            return None  # not completed: nothing to state
        return {
            "id": f"evaluation-{evaluation.id}",
            "date": _when(evaluation.completed_at or publication.published_at),
            "total": float(evaluation.total),
            "grade": evaluation.grade,
            "url": public_link("public.evaluation", evaluation_id=evaluation.id),
            "parties": [
                {
                    "party": row.party,
                    "organization": row.organisation or None,
                    "weight": float(row.weight),
                    "score": float(row.score),
                    "weightedScore": float(row.weighted),
                }
                for row in party_scores(evaluation)
            ],
        }


def _compact(section: dict) -> dict:
    """Leave out empty fields: OCDS prefers an absent field to a null or an empty list."""
    return {key: value for key, value in section.items() if value not in (None, [], {})}


def _lot(zone_id: int) -> str:
    return f"lot-{zone_id}"


def _award_id(award_id: int) -> str:
    return f"award-{award_id}"


def release_package(process: Process) -> dict:
    """The OCDS 1.1 release package of a plan (texts in the stored language, Chinese)."""
    plan = process.plan
    return _package(
        [_release(process)],
        uri=public_link("public.plan_ocds", plan_id=plan.id),
        publisher=buyer_name(plan),
    )


def published_plans(year: int) -> list[int]:
    """The plans of ``year`` in the user's region with something public, oldest first;
    refused when there are none (the field ``year`` named)."""
    found = list(
        db.session.scalars(
            select(PurchasePlan.id)
            .where(
                PurchasePlan.year == year,
                select(Publication.id).where(Publication.plan_id == PurchasePlan.id, LIVE).exists(),
            )
            .order_by(PurchasePlan.id)
        )
    )
    if not found:
        raise ValidationError(_("Nothing of %(year)d is published yet.", year=year), field="year")
    return found


def year_package(
    year: int,
    *,
    uri: str,
    publisher: Region,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """One release package of every plan of ``year`` in ``publisher``'s region with
    something public (the bulk download); ``uri`` names the package, ``progress(done,
    total)`` is told of each plan described."""
    plan_ids = published_plans(year)
    releases = []
    for done, plan_id in enumerate(plan_ids, start=1):
        releases.append(_release(public_process(plan_id)))
        if progress is not None:
            progress(done, len(plan_ids))
    return _package(releases, uri=uri, publisher=civil_affairs_office(publisher))


def _release(process: Process) -> dict:
    with stored_language():
        return _Builder(process).release()


def _package(releases: list[dict], *, uri: str, publisher: str) -> dict:
    package = {
        "uri": uri,
        "version": "1.1",
        "extensions": [LOTS_EXTENSION, public_link("public.ocds_extension", name="extension.json")],
        "publishedDate": max(release["date"] for release in releases),
        "publisher": {"name": publisher},
        "releases": releases,
    }
    if current_app.config.get("OCDS_LICENSE"):
        package["license"] = current_app.config["OCDS_LICENSE"]
    return package
