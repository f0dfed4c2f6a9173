"""Supervision rules: complaints recorded, verified and attributed; sanctions proposed,
recorded and lifted (seed 001 §7(4), §8(2)).

The settlement code asks :func:`settlement_suspension` (one contract on one date) or
:func:`active_suspensions` (many contracts today) whether a statement is held.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from procurement.accounts.models import User
from procurement.contracts.models import (
    SANCTION_CLAUSES,
    TERMINATION_REASONS,
    Contract,
    ContractStatus,
)
from procurement.contracts.services import terminate_contract
from procurement.core import audit
from procurement.core.clock import today
from procurement.core.dates import past_date, read_date
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound, ValidationError
from procurement.providers.models import Provider
from procurement.recipients.models import Recipient
from procurement.supervision.models import (
    COMPLAINT_CHANNELS,
    Complaint,
    ComplaintStatus,
    Sanction,
    SanctionKind,
)

MAX_ID = 2**63 - 1
SUMMARY_LIMIT = 4000
NOTE_LIMIT = 4000
# seed 001 §8(2)1(三): three verified complaints attributable to the provider within the term
COMPLAINT_THRESHOLD = 3
COMPLAINT_CLAUSE = "3"
CLAUSES = {str(number): text for number, text in enumerate(SANCTION_CLAUSES, start=1)}
OTHER_CLAUSE = "5"  # 合同约定的其他情形: the note names the contract term

# A complaint is verified once: it is found true (and attributed) or unfounded.
COMPLAINT_TRANSITIONS: dict[str, tuple[frozenset[ComplaintStatus], frozenset[ComplaintStatus]]] = {
    "verify": (
        frozenset({ComplaintStatus.RECEIVED}),
        frozenset({ComplaintStatus.VERIFIED, ComplaintStatus.UNFOUNDED}),
    ),
}
# Contracts under which a sanction may be decided: signed ones (termination has its own rule).
SANCTIONABLE = (ContractStatus.SIGNED, ContractStatus.IN_FORCE, ContractStatus.COMPLETED)


def _text(value: Any) -> str:
    return ("" if value is None else str(value)).strip()


def parse_id(value: Any) -> int | None:
    """A record id from a form or JSON value; ``None`` when it cannot be one."""
    if isinstance(value, bool):
        return None
    text = _text(value)
    number = int(text) if text.isascii() and text.isdecimal() else None
    return number if number is not None and 0 < number <= MAX_ID else None


# ------------------------------------------------------------------ reading


def get_complaint(complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(_("Complaint %(id)s was not found.", id=complaint_id))
    return complaint


def get_sanction(sanction_id: int) -> Sanction:
    sanction = db.session.get(Sanction, sanction_id)
    if sanction is None:
        raise NotFound(_("Sanction %(id)s was not found.", id=sanction_id))
    return sanction


def complaints_query(
    *,
    status: str | None = None,
    provider_id: int | None = None,
    contract_id: int | None = None,
) -> Select:
    """Complaints matching the filters, newest first (region scoping applies on execution)."""
    stmt = (
        select(Complaint)
        .options(
            selectinload(Complaint.provider),
            selectinload(Complaint.contract),
            selectinload(Complaint.recipient),
        )
        .order_by(Complaint.received_on.desc(), Complaint.id.desc())
    )
    if status:
        stmt = stmt.where(Complaint.status == ComplaintStatus(status))
    if provider_id:
        stmt = stmt.where(Complaint.provider_id == provider_id)
    if contract_id:
        stmt = stmt.where(Complaint.contract_id == contract_id)
    return stmt


def sanctions_query(
    *,
    provider_id: int | None = None,
    contract_id: int | None = None,
    kind: str | None = None,
    in_force_on: date | None = None,
) -> Select:
    """Sanctions matching the filters, newest first; ``in_force_on`` keeps those that still
    bind on that date: suspensions not yet lifted, rectifications not yet due."""
    stmt = (
        select(Sanction)
        .options(selectinload(Sanction.provider), selectinload(Sanction.contract))
        .order_by(Sanction.decided_on.desc(), Sanction.id.desc())
    )
    if provider_id:
        stmt = stmt.where(Sanction.provider_id == provider_id)
    if contract_id:
        stmt = stmt.where(Sanction.contract_id == contract_id)
    if kind:
        stmt = stmt.where(Sanction.kind == SanctionKind(kind))
    if in_force_on is not None:
        stmt = stmt.where(
            Sanction.decided_on <= in_force_on,
            or_(
                (Sanction.kind == SanctionKind.SUSPEND_SETTLEMENT)
                & (Sanction.lifted_on.is_(None) | (Sanction.lifted_on > in_force_on)),
                (Sanction.kind == SanctionKind.RECTIFICATION) & (Sanction.deadline >= in_force_on),
            ),
        )
    return stmt


def in_force(sanction: Sanction, on: date) -> bool:
    """Whether the sanction still binds on ``on`` (the rule ``sanctions_query`` filters by)."""
    if sanction.decided_on > on:
        return False
    if sanction.kind is SanctionKind.SUSPEND_SETTLEMENT:
        return sanction.lifted_on is None or sanction.lifted_on > on
    if sanction.kind is SanctionKind.RECTIFICATION:
        return sanction.deadline is not None and sanction.deadline >= on
    return False


def ground_label(kind: SanctionKind | str, ground: str) -> str:
    """The words of a sanction's ground: its §8(2)1 clause, or the §8(2)2 termination reason."""
    if SanctionKind(kind) is SanctionKind.TERMINATE:
        return str(TERMINATION_REASONS.get(ground, ground))
    return CLAUSES.get(ground, ground)


# ------------------------------------------------------------------ complaints


@dataclass
class ComplaintInput:
    provider_id: Any
    received_on: Any
    channel: str
    summary: str
    contract_id: Any = None
    recipient_id: Any = None


def _provider(value: Any, errors: FieldErrors) -> Provider | None:
    if value in (None, ""):
        errors.add("provider_id", _("Choose the provider."))
        return None
    number = parse_id(value)
    provider = db.session.get(Provider, number) if number is not None else None
    if provider is None:
        errors.add("provider_id", _("Provider %(id)s was not found.", id=value))
    return provider


def _contract_of(provider: Provider | None, value: Any, errors: FieldErrors) -> Contract | None:
    """The contract named by ``value``; it must be one of the provider's (and visible)."""
    number = parse_id(value)
    contract = db.session.get(Contract, number) if number is not None else None
    if contract is None:
        errors.add("contract_id", _("Contract %(id)s was not found.", id=value))
        return None
    if provider is not None and contract.provider_id != provider.id:
        errors.add(
            "contract_id",
            _(
                "Contract %(number)s is not a contract of %(provider)s.",
                number=contract.number,
                provider=provider.name,
            ),
        )
        return None
    return contract


def record_complaint(data: ComplaintInput, *, actor: User | None) -> Complaint:
    """Record a complaint against a provider as received (seed 001 §7(4): the bureau
    passes on what recipients say and supervises the service)."""
    errors = FieldErrors()
    provider = _provider(data.provider_id, errors)
    contract = None
    if data.contract_id not in (None, ""):
        contract = _contract_of(provider, data.contract_id, errors)
    owner = contract or provider
    region_code = owner.region_code if owner else None
    recipient = None
    if data.recipient_id not in (None, ""):
        number = parse_id(data.recipient_id)
        recipient = db.session.get(Recipient, number) if number is not None else None
        if recipient is None:
            errors.add("recipient_id", _("Recipient %(id)s was not found.", id=data.recipient_id))
        elif region_code and recipient.region_code != region_code:
            errors.add("recipient_id", _("The recipient is not on the roster of this county."))
    received_on = past_date(data.received_on, "received_on", errors, required=True)
    if data.channel not in COMPLAINT_CHANNELS:
        errors.add("channel", _("Choose how the complaint was received."))
    summary = _text(data.summary)
    if not summary:
        errors.add("summary", _("Say what the complaint is about."))
    elif len(summary) > SUMMARY_LIMIT:
        errors.add("summary", _("Must have at most %(n)s characters.", n=SUMMARY_LIMIT))
    errors.raise_if_any()
    complaint = Complaint(
        region_code=region_code,
        provider_id=provider.id,
        contract_id=contract.id if contract else None,
        recipient_id=recipient.id if recipient else None,
        received_on=received_on,
        channel=data.channel,
        summary=summary,
        status=ComplaintStatus.RECEIVED,
        findings="",
        recorded_by_id=actor.id if actor else None,
    )
    db.session.add(complaint)
    db.session.flush()
    return complaint


def verify_complaint(
    complaint: Complaint,
    *,
    status: str,
    verified_on: Any,
    findings: str,
    attributable: bool | None,
) -> Complaint:
    """Record the verification: true or unfounded, when, what was found, and for a true
    complaint whether the provider is responsible (seed 001 §8(2)1(三) counts only those)."""
    allowed, targets = COMPLAINT_TRANSITIONS["verify"]
    if complaint.status not in allowed:
        raise Conflict(
            _(
                "This complaint was already verified (%(status)s).",
                status=complaint.status.label,
            ),
            code="invalid_state",
        )
    errors = FieldErrors()
    outcome = next((s for s in targets if s.value == status), None)
    if outcome is None:
        errors.add("status", _("Choose whether the complaint was verified or is unfounded."))
    day = past_date(verified_on, "verified_on", errors, required=True)
    if day is not None and day < complaint.received_on:
        errors.add(
            "verified_on",
            _(
                "A complaint is verified after it was received (%(date)s).",
                date=complaint.received_on.isoformat(),
            ),
        )
    findings = _text(findings)
    if not findings:
        errors.add("findings", _("Describe what the verification found."))
    elif len(findings) > NOTE_LIMIT:
        errors.add("findings", _("Must have at most %(n)s characters.", n=NOTE_LIMIT))
    if outcome is ComplaintStatus.VERIFIED and attributable is None:
        errors.add("attributable", _("Say whether the responsibility lies with the provider."))
    errors.raise_if_any()
    complaint.status = outcome
    complaint.verified_on = day
    complaint.findings = findings
    complaint.attributable = bool(attributable) if outcome is ComplaintStatus.VERIFIED else None
    audit.label(complaint, "verify", note=outcome.value)
    db.session.flush()
    return complaint


# ------------------------------------------------------------------ proposals


def counted_complaints(contracts: Iterable[Contract]) -> dict[int, list[Complaint]]:
    """Per contract, the verified complaints attributable to the provider that were received
    within the contract's service term: what seed 001 §8(2)1(三) counts."""
    contracts = list(contracts)
    found: dict[int, list[Complaint]] = {c.id: [] for c in contracts}
    if not contracts:
        return found
    terms = {c.id: (c.service_start, c.service_end) for c in contracts}
    rows = db.session.scalars(
        select(Complaint)
        .where(
            Complaint.contract_id.in_(terms),
            Complaint.status == ComplaintStatus.VERIFIED,
            Complaint.attributable.is_(True),
        )
        .order_by(Complaint.received_on, Complaint.id)
    )
    for complaint in rows:
        start, end = terms[complaint.contract_id]
        if start <= complaint.received_on <= end:
            found[complaint.contract_id].append(complaint)
    return found


@dataclass(frozen=True)
class Proposal:
    """A sanction the rules call for but nobody has recorded yet (computed, never stored)."""

    contract: Contract
    complaints: list[Complaint]
    ground: str = COMPLAINT_CLAUSE

    @property
    def provider(self) -> Provider:
        return self.contract.provider

    @property
    def complaint_ids(self) -> list[int]:
        return [c.id for c in self.complaints]

    @property
    def clause(self) -> str:
        return CLAUSES[self.ground]


def proposals(*, provider_id: int | None = None, contract_id: int | None = None) -> list[Proposal]:
    """Contracts with three or more counted complaints that no recorded sanction cites yet
    (seed 001 §8(2)1(三)); each proposal names those complaints."""
    stmt = select(Contract).where(Contract.status.in_(SANCTIONABLE)).order_by(Contract.number)
    if provider_id:
        stmt = stmt.where(Contract.provider_id == provider_id)
    if contract_id:
        stmt = stmt.where(Contract.id == contract_id)
    contracts = {c.id: c for c in db.session.scalars(stmt)}
    counted = counted_complaints(contracts.values())
    candidates = {cid: rows for cid, rows in counted.items() if len(rows) >= COMPLAINT_THRESHOLD}
    cited = _cited(candidates)
    found = []
    for cid, rows in candidates.items():
        open_rows = [c for c in rows if c.id not in cited.get(cid, set())]
        if len(open_rows) >= COMPLAINT_THRESHOLD:
            found.append(Proposal(contract=contracts[cid], complaints=open_rows))
    return found


def _cited(contract_ids: Iterable[int]) -> dict[int, set[int]]:
    """The complaint ids each contract's recorded sanctions cite."""
    cited: dict[int, set[int]] = {}
    rows = db.session.execute(
        select(Sanction.contract_id, Sanction.complaint_ids).where(
            Sanction.contract_id.in_(list(contract_ids))
        )
    )
    for cid, ids in rows:
        cited.setdefault(cid, set()).update(ids or [])
    return cited


# ------------------------------------------------------------------ sanctions


@dataclass
class SanctionInput:
    contract_id: Any
    kind: str
    ground: str
    decided_on: Any
    provider_id: Any = None  # when given, the contract must be this provider's
    deadline: Any = None
    note: str = ""
    complaint_ids: list[Any] = field(default_factory=list)


def _cited_complaints(
    contract: Contract, ids: list[Any], *, clause_three: bool, errors: FieldErrors
) -> list[int]:
    """The complaints a sanction rests on: verified ones of this contract; a clause (三)
    sanction needs three attributable ones within the term."""
    numbers = []
    for value in ids or []:
        number = parse_id(value)
        if number is None:
            errors.add("complaint_ids", _("Complaint %(id)s was not found.", id=value))
        elif number not in numbers:
            numbers.append(number)
    complaints = []
    for number in numbers:
        complaint = db.session.get(Complaint, number)
        if complaint is None:
            errors.add("complaint_ids", _("Complaint %(id)s was not found.", id=number))
        elif complaint.contract_id != contract.id:
            errors.add(
                "complaint_ids",
                _(
                    "Complaint %(id)s is not about contract %(number)s.",
                    id=number,
                    number=contract.number,
                ),
            )
        elif complaint.status is not ComplaintStatus.VERIFIED:
            errors.add("complaint_ids", _("Complaint %(id)s is not verified.", id=number))
        else:
            complaints.append(complaint)
    if clause_three and "complaint_ids" not in errors.fields:
        counted = {c.id for c in counted_complaints([contract])[contract.id]}
        if len([c for c in complaints if c.id in counted]) < COMPLAINT_THRESHOLD:
            errors.add(
                "complaint_ids",
                _(
                    "Clause (三) needs %(n)d verified complaints attributable to the provider "
                    "and received within the service term.",
                    n=COMPLAINT_THRESHOLD,
                ),
            )
    return numbers


def record_sanction(data: SanctionInput, *, actor: User | None) -> Sanction:
    """Record an interview, a rectification with its deadline, a suspension of settlement
    (seed 001 §8(2)1) or a termination (§8(2)2), which ends the contract with its ground."""
    errors = FieldErrors()
    provider = _provider(data.provider_id, errors) if data.provider_id not in (None, "") else None
    contract = None
    if data.contract_id in (None, ""):
        errors.add("contract_id", _("Choose the contract."))
    else:
        contract = _contract_of(provider, data.contract_id, errors)
    try:
        kind = SanctionKind(data.kind)
    except ValueError:
        kind = None
        errors.add("kind", _("Choose the measure."))
    ground = _text(data.ground)
    if kind is SanctionKind.TERMINATE and ground not in TERMINATION_REASONS:
        errors.add("ground", _("Choose the ground for termination (seed 001 §8(2)2)."))
    elif kind is not None and kind is not SanctionKind.TERMINATE and ground not in CLAUSES:
        errors.add("ground", _("Choose the clause of seed 001 §8(2)1 that applies."))
    decided_on = past_date(data.decided_on, "decided_on", errors, required=True)
    if contract and decided_on and contract.signed_on and decided_on < contract.signed_on:
        errors.add(
            "decided_on",
            _(
                "A sanction under a contract is decided after it was signed (%(date)s).",
                date=contract.signed_on.isoformat(),
            ),
        )
    deadline = read_date(
        data.deadline, "deadline", errors, required=kind is SanctionKind.RECTIFICATION
    )
    if deadline is not None and kind is not SanctionKind.RECTIFICATION:
        errors.add("deadline", _("Only a rectification has a deadline."))
    elif deadline is not None and decided_on is not None and deadline <= decided_on:
        errors.add("deadline", _("The deadline must fall after the decision."))
    note = _text(data.note)
    if len(note) > NOTE_LIMIT:
        errors.add("note", _("Must have at most %(n)s characters.", n=NOTE_LIMIT))
    elif not note and ground in (OTHER_CLAUSE, "other_serious") and "ground" not in errors.fields:
        errors.add("note", _("Describe the findings for this ground."))
    complaint_ids = []
    if contract is not None:
        clause_three = kind is not SanctionKind.TERMINATE and ground == COMPLAINT_CLAUSE
        complaint_ids = _cited_complaints(
            contract, data.complaint_ids, clause_three=clause_three, errors=errors
        )
    if contract and decided_on and kind is SanctionKind.SUSPEND_SETTLEMENT:
        running = settlement_suspension(contract.id, decided_on)
        if running is not None:
            errors.add(
                "kind",
                _(
                    "Settlement of this contract is already suspended (sanction %(id)s).",
                    id=running.id,
                ),
            )
    errors.raise_if_any()
    if kind is not SanctionKind.TERMINATE and contract.status not in SANCTIONABLE:
        raise Conflict(
            _("A %(status)s contract cannot be sanctioned.", status=contract.status.label),
            code="invalid_state",
        )
    sanction = Sanction(
        region_code=contract.region_code,
        provider_id=contract.provider_id,
        contract_id=contract.id,
        kind=kind,
        ground=ground,
        decided_on=decided_on,
        deadline=deadline,
        note=note,
        complaint_ids=complaint_ids,
        decided_by_id=actor.id if actor else None,
    )
    db.session.add(sanction)
    if kind is SanctionKind.TERMINATE:
        _terminate(contract, ground=ground, note=note, on=decided_on)
    db.session.flush()
    return sanction


_TERMINATION_FIELDS = {"reason": "ground", "on": "decided_on", "note": "note"}


def _terminate(contract: Contract, *, ground: str, note: str, on: date) -> None:
    """End the contract through the contracts' own rule, its refusals named as this input's."""
    try:
        terminate_contract(contract, reason=ground, note=note, on=on)
    except ValidationError as error:
        fields = {_TERMINATION_FIELDS.get(k, k): v for k, v in error.fields.items()}
        raise ValidationError(error.message, fields=fields) from None


def lift_suspension(sanction: Sanction, *, lifted_on: Any) -> Sanction:
    """End a suspension of settlement from a date on; held statements may then be settled."""
    if sanction.kind is not SanctionKind.SUSPEND_SETTLEMENT:
        raise Conflict(_("Only a suspension of settlement is lifted."), code="invalid_state")
    if sanction.lifted_on is not None:
        raise Conflict(
            _("This suspension was lifted on %(date)s.", date=sanction.lifted_on.isoformat()),
            code="invalid_state",
        )
    errors = FieldErrors()
    day = past_date(lifted_on, "lifted_on", errors, required=True)
    if day is not None and day < sanction.decided_on:
        errors.add(
            "lifted_on",
            _(
                "A suspension is lifted after it was decided (%(date)s).",
                date=sanction.decided_on.isoformat(),
            ),
        )
    errors.raise_if_any()
    sanction.lifted_on = day
    audit.label(sanction, "lift")
    db.session.flush()
    return sanction


# ------------------------------------------------------------------ for the settlement


def settlement_suspension(contract_id: int, on: date) -> Sanction | None:
    """The suspension of settlement (seed 001 §8(2)1: 暂停资金结算) in force for the contract
    on ``on``, or ``None``.

    A suspension binds from its ``decided_on`` until the day before its ``lifted_on``. While
    one binds, the contract's statements are held: the settlement code refuses to confirm
    them and shows this sanction (its id, date, ground and note) as the reason.
    """
    stmt = sanctions_query(
        contract_id=contract_id, kind=SanctionKind.SUSPEND_SETTLEMENT, in_force_on=on
    )
    return db.session.scalar(stmt.limit(1))


def active_suspensions(contract_ids: Iterable[int]) -> dict[int, Sanction]:
    """For the contracts among ``contract_ids`` whose settlement is suspended today, the
    suspension (see :func:`settlement_suspension`); one query for a whole list of statements."""
    ids = list(contract_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        sanctions_query(kind=SanctionKind.SUSPEND_SETTLEMENT, in_force_on=today()).where(
            Sanction.contract_id.in_(ids)
        )
    )
    found: dict[int, Sanction] = {}
    for sanction in rows:  # newest first: keep the newest per contract
        found.setdefault(sanction.contract_id, sanction)
    return found
