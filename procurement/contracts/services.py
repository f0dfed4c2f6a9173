"""Zoned contracts: generation from the award, signing, amendments, termination."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from procurement.accounts.models import User
from procurement.awards.services import award_of, buyer_name
from procurement.contracts import templating
from procurement.contracts.models import (
    TERMINATION_REASONS,
    TRANSITIONS,
    Contract,
    ContractStatus,
    ContractTemplate,
    ContractVersion,
)
from procurement.core import audit
from procurement.core.clock import CHINA, today, utcnow
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound, ValidationError
from procurement.core.files import read_blob, sniff, store_blob
from procurement.core.i18n import stored_language
from procurement.core.money import amount_in_capitals, format_amount, parse_amount
from procurement.plans.budget import months_in_period
from procurement.plans.models import LineKind, PlanZone, PurchasePlan
from procurement.policies.models import EntitlementModel, PolicyProfile
from procurement.public.models import PublicationKind
from procurement.regions.services import get_region, townships_of

CENT = Decimal("0.01")
REASON_LIMIT = 2000
COMMITTED = (ContractStatus.SIGNED, ContractStatus.IN_FORCE, ContractStatus.COMPLETED)
# A clause list the profile leaves empty: the contract says it is to be agreed.
TO_BE_AGREED = ["（一）由双方另行约定。"]
DISPUTE_TEXT = "因本合同引起的争议，双方协商解决；协商不成的，依法向甲方所在地人民法院提起诉讼。"


def get_contract(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(_("Contract %(id)s was not found.", id=contract_id))
    return contract


def contract_of(zone: PlanZone) -> Contract | None:
    return db.session.scalar(select(Contract).where(Contract.zone_id == zone.id))


# ------------------------------------------------------------------ templates


def active_template(region_code: str) -> ContractTemplate | None:
    """The newest uploaded contract template of the region or the nearest above it."""
    region = get_region(region_code)
    candidates = region.lineage
    templates = db.session.scalars(
        select(ContractTemplate)
        .where(ContractTemplate.kind == "contract", ContractTemplate.region_code.in_(candidates))
        .order_by(ContractTemplate.version.desc())
    ).all()
    for code in candidates:
        own = [t for t in templates if t.region_code == code]
        if own:
            return own[0]
    return None


def upload_template(
    *, region_code: str, name: str, filename: str, stream: IO[bytes], actor: User | None
) -> ContractTemplate:
    """A new version of the region's contract template, checked before it is kept."""
    data = stream.read(10 * 1024 * 1024 + 1)
    if not data or sniff(data[:8]) is None or not filename.lower().endswith(".docx"):
        raise ValidationError(_("Upload a Word document (.docx)."), field="file")
    if len(data) > 10 * 1024 * 1024:
        raise ValidationError(_("The file is larger than %(mb)d MB.", mb=10), field="file")
    real = [
        context(contract, len(contract.versions))
        for contract in db.session.scalars(select(Contract).order_by(Contract.id.desc()).limit(3))
    ]
    fields = templating.check_template(data, real, name=(name or "").strip() or filename)
    version = (
        db.session.scalar(
            select(func.max(ContractTemplate.version)).where(
                ContractTemplate.region_code == region_code, ContractTemplate.kind == "contract"
            )
        )
        or 0
    ) + 1
    template = ContractTemplate(
        region_code=region_code,
        kind="contract",
        version=version,
        name=(name or "").strip()[:120] or filename,
        filename=Path(filename).name[:200],
        sha256=store_blob(data),
        fields=fields,
        uploaded_by_id=actor.id if actor else None,
        uploaded_at=utcnow(),
    )
    db.session.add(template)
    db.session.flush()
    return template


def _template_in_force(region_code: str) -> tuple[ContractTemplate | None, bytes]:
    """The template used now, and its bytes (the shipped default when none was uploaded)."""
    template = active_template(region_code)
    data = read_blob(template.sha256) if template else templating.default_template_bytes()
    return template, data


# ------------------------------------------------------------------ terms


def zone_budget(plan: PurchasePlan, zone: PlanZone) -> Decimal | None:
    """The zone's service budget in the approved version (what a contract may commit)."""
    if plan.approved_version is None:
        return None
    lines = plan.approved_version.snapshot["budget_lines"]
    return sum(
        (
            Decimal(line["amount"])
            for line in lines
            if line["zone_id"] == zone.id and line["kind"] == LineKind.SERVICE.value
        ),
        Decimal("0.00"),
    )


def contract_amount(
    plan: PurchasePlan, unit_price: Decimal, recipients: int, start: date, end: date
) -> tuple[Decimal, str]:
    """The total a contract commits, from the entitlement of the plan's policy profile."""
    profile = plan.policy_profile
    months = months_in_period(start, end)
    if profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH:
        amount = unit_price * profile.hours_per_month * recipients * months
        unit = "小时"
    else:
        amount = unit_price * profile.visits_per_year * recipients * months / 12
        unit = "次"
    return amount.quantize(CENT, ROUND_HALF_UP), unit


def _check_budget(contract: Contract, amount: Decimal) -> None:
    budget = zone_budget(contract.plan, contract.zone)
    if budget is not None and amount > budget:
        raise ValidationError(
            _(
                "The contract amount %(amount)s exceeds the zone's approved budget of %(budget)s "
                "yuan; an approved plan adjustment must cover it first.",
                amount=format_amount(amount),
                budget=format_amount(budget),
            ),
            field="amount",
            code="over_budget",
        )


def township_names(contract: Contract) -> list[str]:
    """The names of the townships the contract covers now (amendments may change them)."""
    names = {t.code: t.name for t in townships_of(contract.plan.region)}
    return [names.get(code, code) for code in contract.township_codes]


def settlement_text(profile: PolicyProfile) -> str:
    """The settlement clause from the profile's parts; a part it leaves empty is to be
    agreed (no locality's platform or deadline by default)."""
    period = profile.settlement_period
    per_person = (
        "每人每月" if profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH else "每人每年"
    )
    opening = f"按{period}结算。" if period else "结算周期由双方另行约定。"
    when = f"于{profile.records_deadline}" if profile.records_deadline else "按约定时间"
    records = f"上{period}服务记录" if period else "上一结算周期的服务记录"
    platform = f"（与{profile.settlement_platform}一致）" if profile.settlement_platform else ""
    return (
        f"{opening}乙方{when}提交{records}{platform}，"
        f"甲方依据核定的服务对象、服务标准和单价审核后结算；超出{per_person}服务标准、"
        "超过单价上限、服务对象不符合条件或不在本片区的服务不予结算；"
        "暂停结算期间的结算单暂缓支付。"
    )


def context(contract: Contract, version_number: int) -> dict:
    """The documented template fields of one contract version."""
    plan, zone, provider = contract.plan, contract.zone, contract.provider
    names = township_names(contract)
    profile = plan.policy_profile
    if profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH:
        standard = (
            f"每人每月{profile.hours_per_month.normalize()}小时"
            f"{'（分次进行）' if profile.visits_must_be_split else ''}，"
            "当月使用，不能滚存。"
        )
    else:
        standard = f"每人每年不少于{profile.visits_per_year}次上门服务。"
    return {
        "contract": {
            "number": contract.number,
            "version": version_number,
            "signed_date": contract.signed_on.isoformat() if contract.signed_on else "",
            "signing_reason": contract.signing_reason or "",
        },
        "buyer": {"name": buyer_name(plan), "region": plan.region.full_name},
        "provider": {
            "name": provider.name,
            "credit_code": provider.credit_code,
            "address": provider.address,
            "contact_name": provider.contact_name,
            "legal_representative": provider.legal_representative,
            "contact_phone": provider.contact_phone,
        },
        "plan": {
            "title": plan.title,
            "year": plan.year,
            "purchase_method": plan.purchase_method.label,
            "policy_document": profile.source_document or profile.name,
        },
        "zone": {
            "name": zone.name,
            "townships_text": "、".join(names),
            "township_count": len(names),
        },
        "service": {
            "recipients": contract.recipients,
            "standard": standard,
            "items_text": "、".join(link.service_item.name for link in plan.items),
            "quality_standard": plan.quality_standard or "按服务规范执行。",
        },
        "period": {
            "start": contract.service_start.isoformat(),
            "end": contract.service_end.isoformat(),
            "months": months_in_period(contract.service_start, contract.service_end),
        },
        "price": {
            "unit": contract.unit,
            "unit_price": f"{contract.unit_price:.2f}",
            "amount": format_amount(contract.amount),
            "amount_in_capitals": amount_in_capitals(contract.amount),
        },
        "settlement": settlement_text(profile),
        "dispute_resolution": DISPUTE_TEXT,
        "clauses": {
            "sanctions": list(profile.sanction_clauses or TO_BE_AGREED),
            "termination": list(profile.termination_clauses or TO_BE_AGREED),
        },
    }


def _new_version(
    contract: Contract,
    *,
    reason: str,
    actor: User | None,
    template: tuple[ContractTemplate | None, bytes] | None = None,
) -> ContractVersion:
    """Render and keep the next document version (``template`` saves a look-up in batches)."""
    number = len(contract.versions) + 1
    uploaded, template_bytes = template or _template_in_force(contract.region_code)
    # An uploaded template renders in a bounded child process; the shipped one is trusted.
    render = templating.render_uploaded if uploaded else templating.render
    try:
        with stored_language():
            document = render(template_bytes, context(contract, number))
    except templating.LimitExceeded as exceeded:
        name = (
            _("%(name)s, version %(version)s", name=uploaded.name, version=uploaded.version)
            if uploaded
            else _("default template")
        )
        raise Conflict(
            _(
                "%(problem)s An administrator must upload a corrected version of the "
                "contract template.",
                problem=templating.limit_problem(exceeded, name),
            ),
            code="template_failed",
        ) from None
    except (templating.RenderFailed, templating.SecurityError) as failure:
        raise Conflict(
            _(
                "The contract template in force cannot be filled in (%(error)s): an "
                "administrator must upload a corrected version.",
                error=str(failure),
            ),
            code="template_failed",
        ) from None
    version = ContractVersion(
        contract_id=contract.id,
        region_code=contract.region_code,
        number=number,
        reason=reason,
        amount=contract.amount,
        terms={
            "recipients": contract.recipients,
            "township_codes": contract.township_codes,
            "service_start": contract.service_start.isoformat(),
            "service_end": contract.service_end.isoformat(),
            "unit_price": f"{contract.unit_price:.2f}",
            "amount": f"{contract.amount:.2f}",
        },
        template_id=uploaded.id if uploaded else None,
        template_sha256=uploaded.sha256 if uploaded else "default",
        sha256=store_blob(document),
        created_by_id=actor.id if actor else None,
        created_at=utcnow(),
    )
    contract.versions.append(version)
    db.session.flush()
    return version


def _number(plan: PurchasePlan, zone: PlanZone) -> str:
    """County-year-zone (140522-2026-01); a county's second plan of a year adds its id
    (140522-2026-P7-01), so that numbers never clash."""
    number = f"{plan.region_code}-{plan.year}-{zone.position + 1:02d}"
    taken = db.session.scalar(select(Contract.plan_id).where(Contract.number == number))
    if taken is not None and taken != plan.id:
        number = f"{plan.region_code}-{plan.year}-P{plan.id}-{zone.position + 1:02d}"
    return number


def generate_contract(
    zone: PlanZone,
    *,
    actor: User | None,
    template: tuple[ContractTemplate | None, bytes] | None = None,
) -> Contract:
    """The zone's contract from its award and the template in force (a draft)."""
    plan = zone.plan
    award = award_of(zone)
    if award is None:
        raise Conflict(_("%(zone)s has no award yet.", zone=zone.name), code="not_awarded")
    if contract_of(zone) is not None:
        raise Conflict(_("%(zone)s already has a contract.", zone=zone.name), code="exists")
    amount, unit = contract_amount(
        plan, award.bid.unit_price, zone.expected_recipients, plan.service_start, plan.service_end
    )
    contract = Contract(
        number=_number(plan, zone),
        plan_id=plan.id,
        zone_id=zone.id,
        award_id=award.id,
        provider_id=award.provider_id,
        region_code=plan.region_code,
        status=ContractStatus.DRAFT,
        unit_price=award.bid.unit_price,
        unit=unit,
        recipients=zone.expected_recipients,
        township_codes=zone.township_codes,
        service_start=plan.service_start,
        service_end=plan.service_end,
        amount=amount,
    )
    contract.plan, contract.zone = plan, zone
    _check_budget(contract, amount)
    db.session.add(contract)
    db.session.flush()
    with stored_language():
        reason = _("Generated from the award")
    _new_version(contract, reason=reason, actor=actor, template=template)
    return contract


def generate_all(
    plan: PurchasePlan, *, actor: User | None, progress: Callable[..., None] | None = None
) -> list[Contract]:
    """Every awarded zone of the plan that has no contract yet gets one (a job: see
    ``procurement.jobs.kinds``; ``progress("documents", done, total)`` as it goes)."""
    template = _template_in_force(plan.region_code)
    due = [z for z in plan.zones if award_of(z) is not None and contract_of(z) is None]
    made = []
    for zone in due:
        made.append(generate_contract(zone, actor=actor, template=template))
        if progress is not None:
            progress("documents", len(made), len(due))
    return made


def document_bytes(contract: Contract, number: int | None = None) -> bytes:
    version = (
        contract.document
        if number is None
        else next((v for v in contract.versions if v.number == number), None)
    )
    if version is None:
        raise NotFound(_("Version %(n)s was not found.", n=number))
    return read_blob(version.sha256)


def _transition(contract: Contract, action: str) -> None:
    allowed, target = TRANSITIONS[action]
    if contract.status not in allowed:
        raise Conflict(
            _(
                "A %(status)s contract cannot be %(action)s.",
                status=contract.status.label,
                action=_ACTION_WORDS[action](),
            ),
            code="invalid_state",
        )
    if target is not None:
        contract.status = target


_ACTION_WORDS = {
    "sign": lambda: _("signed"),
    "start": lambda: _("put in force"),
    "complete": lambda: _("completed"),
    "terminate": lambda: _("terminated"),
    "amend": lambda: _("amended"),
}


def signing_exceptions(contract: Contract, signed_on: date) -> list[str]:
    """What is out of order in signing on ``signed_on``: after the service started (the
    provider served without a contract), or before the award notice was published
    (实施条例 art. 43: the result is announced, then the contract signed). Each needs a
    stated reason."""
    from procurement.public.services import publication_of  # publishing builds on contracts

    found = []
    if signed_on > contract.service_start:
        found.append(
            _(
                "it is signed after the service started on %(date)s",
                date=contract.service_start.isoformat(),
            )
        )
    notice = publication_of(PublicationKind.AWARD, contract.award_id)
    if notice is None or notice.withdrawn_at is not None:
        found.append(_("the award notice has not been published"))
    else:
        published_on = notice.published_at.astimezone(CHINA).date()
        if signed_on < published_on:
            found.append(
                _(
                    "it is signed before the award notice was published on %(date)s",
                    date=published_on.isoformat(),
                )
            )
    return found


def sign_contract(
    contract: Contract,
    *,
    signed_on: Any,
    filename: str,
    stream: IO[bytes],
    actor: User | None,
    signing_reason: str | None = None,
) -> Contract:
    """Record the signature: the signed scan (PDF or image) and the date are required; a
    signing out of order (signing_exceptions) also needs its reason, which is kept."""
    errors = FieldErrors()
    data = stream.read(20 * 1024 * 1024 + 1) if stream else b""
    content_type = sniff(data[:16]) if data else None
    if not data:
        errors.add("scan", _("Upload the scan of the signed contract."))
    elif len(data) > 20 * 1024 * 1024:
        errors.add("scan", _("The file is larger than %(mb)d MB.", mb=20))
    elif content_type not in ("application/pdf", "image/png", "image/jpeg"):
        errors.add("scan", _("Only PDF, PNG and JPEG files are accepted."))
    if not isinstance(signed_on, date):
        try:
            signed_on = date.fromisoformat(str(signed_on))
        except ValueError:
            errors.add("signed_on", _("Must be a date such as 2026-01-31."))
            signed_on = None
    if isinstance(signed_on, date) and signed_on > today():
        errors.add(
            "signed_on", _("The date %(date)s lies in the future.", date=signed_on.isoformat())
        )
    awarded_on = contract.award.decided_at.astimezone(CHINA).date()
    if isinstance(signed_on, date) and signed_on < awarded_on:
        errors.add(
            "signed_on",
            _("A contract is signed after the award (%(date)s).", date=awarded_on.isoformat()),
        )
    signing_reason = (signing_reason or "").strip()
    if len(signing_reason) > REASON_LIMIT:
        errors.add("signing_reason", _("Must have at most %(n)s characters.", n=REASON_LIMIT))
    if "signed_on" not in errors.fields and not signing_reason:
        exceptions = signing_exceptions(contract, signed_on)
        if exceptions:
            errors.add(
                "signing_reason",
                _(
                    "State the reason for signing on %(date)s: %(problems)s.",
                    date=signed_on.isoformat(),
                    problems=_("; ").join(exceptions),
                ),
            )
    errors.raise_if_any()
    _transition(contract, "sign")
    contract.signed_on = signed_on
    contract.signing_reason = signing_reason or None
    contract.signed_scan_sha256 = store_blob(data)
    contract.signed_scan_type = content_type
    audit.label(contract, "sign", note=signing_reason or None)
    db.session.flush()
    return contract


def start_contract(contract: Contract) -> Contract:
    _transition(contract, "start")
    audit.label(contract, "start")
    db.session.flush()
    return contract


def complete_contract(contract: Contract) -> Contract:
    _transition(contract, "complete")
    audit.label(contract, "complete")
    db.session.flush()
    return contract


def terminate_contract(contract: Contract, *, reason: str, note: str, on: Any) -> Contract:
    """End a contract early for one of the grounds of seed 001 §8(2)2, with its date."""
    errors = FieldErrors()
    if reason not in TERMINATION_REASONS:
        errors.add("reason", _("Choose the ground for termination (seed 001 §8(2)2)."))
    if not isinstance(on, date):
        try:
            on = date.fromisoformat(str(on))
        except ValueError:
            errors.add("on", _("Must be a date such as 2026-01-31."))
            on = None
    if on is not None and contract.signed_on and on < contract.signed_on:
        errors.add(
            "on",
            _(
                "A contract ends after it was signed (%(date)s).",
                date=contract.signed_on.isoformat(),
            ),
        )
    if reason == "other_serious" and not (note or "").strip():
        errors.add("note", _("Describe the findings for this ground."))
    errors.raise_if_any()
    _transition(contract, "terminate")
    contract.terminated_on = on
    contract.termination_reason = reason
    contract.termination_note = (note or "").strip()[:2000] or None
    audit.label(contract, "terminate", note=reason)
    db.session.flush()
    return contract


def amend_contract(
    contract: Contract,
    *,
    reason: str,
    recipients: Any = None,
    service_end: Any = None,
    township_codes: list[str] | None = None,
    amount: Any = None,
    actor: User | None,
) -> ContractVersion:
    """Change amount, period, townships or recipients with a reason; a new document version.

    Everything is checked before anything changes. The amount follows the new terms
    unless it is given; it never exceeds the zone's approved budget."""
    _transition(contract, "amend")
    errors = FieldErrors()
    reason = (reason or "").strip()
    if not reason:
        errors.add("reason", _("Give the reason for the amendment."))
    new_recipients, new_end, new_townships, new_amount = (
        contract.recipients,
        contract.service_end,
        contract.township_codes,
        None,
    )
    if recipients not in (None, ""):
        text = str(recipients)
        if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= 100000:
            errors.add(
                "recipients", _("Expected recipients must be between 1 and %(n)d.", n=100000)
            )
        else:
            new_recipients = int(text)
    if service_end not in (None, ""):
        try:
            new_end = (
                service_end
                if isinstance(service_end, date)
                else date.fromisoformat(str(service_end))
            )
        except ValueError:
            errors.add("service_end", _("Must be a date such as 2026-01-31."))
        else:
            if new_end < contract.service_start:
                errors.add("service_end", _("The service period ends before it starts."))
            elif months_in_period(contract.service_start, new_end) > 36:
                errors.add(
                    "service_end",
                    _("A purchase of services runs for at most three years (财政部令第102号)."),
                )
    if township_codes is not None:
        county = {t.code for t in townships_of(contract.plan.region)}
        elsewhere = {
            code
            for other in db.session.scalars(
                select(Contract).where(
                    Contract.plan_id == contract.plan_id,
                    Contract.id != contract.id,
                    Contract.status != ContractStatus.TERMINATED,
                )
            )
            for code in other.township_codes
        }
        if not township_codes or any(code not in county for code in township_codes):
            errors.add(
                "township_codes",
                _("Townships must belong to %(county)s.", county=contract.plan.region.name),
            )
        elif elsewhere & set(township_codes):
            errors.add(
                "township_codes",
                _("A township is already served under another contract of this plan."),
            )
        else:
            new_townships = sorted(set(township_codes))
    if amount not in (None, ""):
        try:
            new_amount = parse_amount(amount)
            if new_amount <= 0:
                raise ValueError
        except ValueError:
            errors.add(
                "amount", _("Must be an amount in yuan with at most two decimals, such as 1234.50.")
            )
    errors.raise_if_any()
    terms_changed = (new_recipients, new_end) != (contract.recipients, contract.service_end)
    if new_amount is None:
        new_amount = contract.amount
        if terms_changed:
            new_amount, _unit = contract_amount(
                contract.plan, contract.unit_price, new_recipients, contract.service_start, new_end
            )
    _check_budget(contract, new_amount)
    contract.recipients, contract.service_end = new_recipients, new_end
    contract.township_codes, contract.amount = new_townships, new_amount
    audit.label(contract, "amend", note=reason[:200])
    return _new_version(contract, reason=reason, actor=actor)


# ------------------------------------------------------------------ batch and PDF


def pdf_converter() -> str | None:
    """LibreOffice's command when installed (PDFs are made only then)."""
    return shutil.which("soffice") or shutil.which("libreoffice")


# LibreOffice refuses a second conversion that shares a running one's user profile: each
# process converts one batch at a time, with a profile of its own.
_CONVERTING = threading.Lock()
PDF_TIMEOUT_SECONDS = 120
# Documents converted by one LibreOffice start: its start costs about a second, each
# document about a tenth, so a plan's hundred contracts take four starts, not a hundred.
PDF_BATCH = 25


def to_pdf(docx: bytes, name: str = "") -> bytes:
    return to_pdfs([docx], [name])[0]


def to_pdfs(
    documents: list[bytes],
    names: list[str],
    progress: Callable[[int], None] | None = None,
) -> list[bytes]:
    """PDF copies of .docx documents, in order, converted in batches of ``PDF_BATCH``
    (``progress(done)`` after each batch); ``names`` name them in a failure."""
    converter = pdf_converter()
    if converter is None:
        raise ValidationError(_("PDF needs LibreOffice, which is not installed on this server."))
    profile = Path(tempfile.gettempdir()) / f"procurement-lo-profile-{os.getpid()}"
    pdfs: list[bytes] = []
    for first in range(0, len(documents), PDF_BATCH):
        batch = documents[first : first + PDF_BATCH]
        with _CONVERTING, tempfile.TemporaryDirectory() as folder:
            sources = [Path(folder) / f"{first + n:05d}.docx" for n in range(len(batch))]
            for source, docx in zip(sources, batch, strict=True):
                source.write_bytes(docx)
            try:
                subprocess.run(  # noqa: S603 - fixed arguments, our own files
                    [
                        converter,
                        f"-env:UserInstallation={profile.as_uri()}",
                        "--headless",
                        "--convert-to",
                        "pdf",
                        "--outdir",
                        folder,
                        *map(str, sources),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=PDF_TIMEOUT_SECONDS,
                )
            except (subprocess.SubprocessError, OSError) as error:
                raise ValidationError(
                    _("LibreOffice could not convert the document to PDF.")
                ) from error
            for n, source in enumerate(sources):
                made = source.with_suffix(".pdf")
                if not made.is_file():  # LibreOffice skips a file it cannot open, silently
                    raise ValidationError(
                        _("LibreOffice could not convert %(name)s to PDF.", name=names[first + n])
                    )
                pdfs.append(made.read_bytes())
        if progress is not None:
            progress(len(pdfs))
    return pdfs


def plan_archive(
    plan: PurchasePlan,
    contracts: list[Contract],
    *,
    with_pdf: bool,
    progress: Callable[..., None] | None = None,
) -> BytesIO:
    """Every contract of a plan as one zip (and PDFs when LibreOffice is there)."""
    documents = []
    for done, contract in enumerate(contracts, start=1):
        documents.append(document_bytes(contract))
        if progress is not None:
            progress("documents", done, len(contracts))
    pdfs: list[bytes] = []
    if with_pdf:
        pdfs = to_pdfs(
            documents,
            [contract.number for contract in contracts],
            None if progress is None else lambda done: progress("pdf", done, len(contracts)),
        )
    output = BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, (contract, data) in enumerate(zip(contracts, documents, strict=True)):
            stem = f"{contract.number}-{contract.zone.name}"
            archive.writestr(f"{stem}.docx", data)
            if with_pdf:
                archive.writestr(f"{stem}.pdf", pdfs[n])
    output.seek(0)
    return output


def contracts_of(plan: PurchasePlan) -> list[Contract]:
    return list(
        db.session.scalars(
            select(Contract).where(Contract.plan_id == plan.id).order_by(Contract.number)
        )
    )


COMMITMENT_TERMS = (
    Contract.zone_id,
    Contract.status,
    Contract.amount,
    Contract.service_start,
    Contract.service_end,
    Contract.terminated_on,
)


def committed_amount(contract: Contract) -> Decimal:
    """What a contract commits: its amount once signed; a terminated one, the share of its
    months up to the termination. (A row of ``COMMITMENT_TERMS`` will do for a contract.)"""
    if contract.status in COMMITTED:
        return contract.amount
    if contract.status is ContractStatus.TERMINATED and contract.terminated_on:
        served = months_in_period(contract.service_start, contract.terminated_on)
        total = months_in_period(contract.service_start, contract.service_end)
        share = Decimal(min(served, total)) / Decimal(total)
        return (contract.amount * share).quantize(CENT, ROUND_HALF_UP)
    return Decimal("0.00")


def committed_by_zone(plan: PurchasePlan) -> dict[int | None, Decimal]:
    """Contract amounts committed per zone (budget execution)."""
    totals: dict[int | None, Decimal] = {}
    terms = select(*COMMITMENT_TERMS).where(Contract.plan_id == plan.id)
    for contract in db.session.execute(terms):  # columns: a hundred zones, no records
        totals[contract.zone_id] = totals.get(contract.zone_id, Decimal("0.00")) + (
            committed_amount(contract)
        )
    return totals
