"""Under-delivery: the entitled elders of a contract who got less than their entitlement
in a month, or nothing (issue 14 item 6; seed 001 §3(3), seed 000 §2(3)).

Whom a contract owes: the people on the roster living in its townships who are entitled
for the whole month by the policy's rules (``recipients.entitlement``), in a month of the
contract's service period. What it owes each: the profile's hours of the month (hours
model), or the month's share of the visits a year, in whole visits (visits model). What
it delivered: what settlement pays for under that contract (time refused for a reason,
an unreviewed flag included, is not counted as delivered until it is paid).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import case, func, or_, select

from procurement.contracts.models import Contract, ContractStatus
from procurement.core.clock import today
from procurement.core.db import db
from procurement.recipients.entitlement import MonthStatus, month_start, next_month
from procurement.recipients.models import Recipient, RecipientMove
from procurement.regions.models import Region
from procurement.settlements import rules, settling
from procurement.settlements.models import ServiceRecord, Settlement

# Contracts that owe service (a draft does not yet).
OWING = (
    ContractStatus.SIGNED,
    ContractStatus.IN_FORCE,
    ContractStatus.COMPLETED,
    ContractStatus.TERMINATED,
)


@dataclass(frozen=True)
class Shortfall:
    """One entitled person who got less than the month's entitlement."""

    recipient_id: int
    name: str
    id_masked: str
    township: str  # its name
    owed: int  # minutes (hours model) or visits
    delivered: int

    @property
    def missing(self) -> int:
        return self.owed - self.delivered

    @property
    def unserved(self) -> bool:
        return self.delivered == 0


@dataclass
class ContractShortfall:
    """A contract's month: whom it owed, and who got less or nothing."""

    contract_id: int
    contract_number: str
    provider_id: int
    provider_name: str
    month: date
    unit: str  # "hour" (owed and delivered in minutes) or "visit"
    entitled: int = 0
    short: int = 0  # got some, but less than owed
    unserved: int = 0  # got nothing
    owed: int = 0
    delivered: int = 0  # within what was owed
    people: list[Shortfall] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return self.owed - self.delivered

    @property
    def not_fully_served(self) -> int:
        return self.short + self.unserved

    def count(self, row, owed: int, delivered: int, *, people: bool = True) -> None:
        """Count one entitled person of a roster row (``_roster``): owed, what of it was
        delivered, and, when short, who (with ``people``)."""
        got = min(delivered, owed)
        self.entitled += 1
        self.owed += owed
        self.delivered += got
        if got >= owed:
            return
        if got == 0:
            self.unserved += 1
        else:
            self.short += 1
        if people:
            width = len(rules.RECIPIENT_COLUMNS)
            self.people.append(
                Shortfall(row[0], row[width], row[width + 1], row[width + 2], owed, got)
            )

    def unserved_first(self) -> None:
        self.people.sort(key=lambda s: not s.unserved)  # stable: roster order kept


def _owed(terms: rules.Terms) -> int:
    if terms.hourly:
        return terms.cap_minutes or 0
    return (terms.visits_per_year or 0) // 12


def _in_term(terms: rules.Terms, month: date) -> bool:
    return month_start(terms.start) <= month <= terms.end


def _delivered(
    contract_id: int, month: date, hourly: bool, since: date | None = None
) -> dict[int, int]:
    """Per person, what settlement pays for under the contract in ``month`` (or in the
    months from ``since`` to ``month``)."""
    record = ServiceRecord
    measure = (
        func.sum(record.paid_minutes)
        if hourly
        else func.sum(case((record.paid_minutes > 0, 1), else_=0))
    )
    months = record.month == month if since is None else record.month.between(since, month)
    rows = db.session.execute(
        select(record.recipient_id, measure)
        .where(record.contract_id == contract_id, months)
        .group_by(record.recipient_id)
        .execution_options(unscoped=True)  # the records of a contract found in scope
    )
    return {rid: int(amount or 0) for rid, amount in rows}


def contract_shortfall(contract: Contract, month: date, *, people: bool = True):
    """The contract's under-delivery in ``month``; with ``people``, who (short ones by
    township and name, the unserved first)."""
    month = month_start(month)
    terms = rules.Terms.of(contract)
    result = ContractShortfall(
        contract.id,
        contract.number,
        contract.provider_id,
        contract.provider.name,
        month,
        terms.unit,
    )
    if contract.status not in OWING or not _in_term(terms, month):
        return result
    roster, standing = _roster(contract, terms, month)
    delivered = _delivered(contract.id, month, terms.hourly)
    owed = _owed(terms)
    living = _living_in(roster, standing, terms, month)
    for row in roster:
        if row[0] not in living:
            continue  # moved away, or not yet moved in
        status, died_on = standing.of(row[0], month, terms.profile)
        if status != MonthStatus.ENTITLED or died_on is not None:
            continue  # not owed this month, or not for the whole of it
        result.count(row, owed, delivered.get(row[0], 0), people=people)
    result.unserved_first()
    return result


def _roster(contract: Contract, terms: rules.Terms, through: date):
    """The people in service by ``through`` who live, or lived before or after a move, in
    the contract's townships (with their names, masked ID numbers and the names of their
    roster townships), and their standing with their moves (see ``_living_in``)."""
    zone = list(terms.townships)
    moved = select(RecipientMove.recipient_id).where(
        or_(RecipientMove.from_township.in_(zone), RecipientMove.to_township.in_(zone))
    )
    columns = (*rules.RECIPIENT_COLUMNS, Recipient.name, Recipient.id_masked)
    roster = db.session.execute(
        select(*columns, Region.name)
        .join(Region, Region.code == Recipient.township_code)
        .where(
            Recipient.region_code == contract.region_code,
            or_(Recipient.township_code.in_(zone), Recipient.id.in_(moved)),
            Recipient.service_start <= through,
        )
        .order_by(Recipient.township_code, Recipient.name, Recipient.id)
    ).all()
    width = len(rules.RECIPIENT_COLUMNS)
    people = [row[0] for row in roster]
    return roster, rules.Standing((row[:width] for row in roster), settling.moves_of(people))


def _living_in(roster, standing: rules.Standing, terms: rules.Terms, month: date) -> set[int]:
    """Who lived in the contract's townships in ``month`` (a move counts from the month
    after it, seed 000 §3(1)): whom the contract owes that month."""
    if not roster:
        return set()
    people = pd.Series([row[0] for row in roster], dtype="int64")
    moments = pd.Series([pd.Timestamp(month)] * len(people))
    townships = standing.townships_on(people, moments)
    return {
        rid
        for rid, code in zip(people.tolist(), townships.tolist(), strict=True)
        if code in terms.townships
    }


def visits_year_to_date(contract: Contract, through: date) -> ContractShortfall | None:
    """Visits model (seed 000 §2(3)): the year's visits are a floor the provider owes
    each person. From the first month of the contract's term in ``through``'s year up to
    ``through``, each person is owed the year's visits times the months they were
    entitled for the whole month, over 12 (rounded up), and delivered what settlement
    paid under the contract; ``month`` of the result is the first month counted. None
    for the hours model, whose entitlement lapses each month."""
    terms = rules.Terms.of(contract)
    if terms.hourly:
        return None
    through = month_start(through)
    first = max(month_start(terms.start), date(through.year, 1, 1))
    result = ContractShortfall(
        contract.id,
        contract.number,
        contract.provider_id,
        contract.provider.name,
        first,
        terms.unit,
    )
    if contract.status not in OWING or through < first:
        return result
    months = []
    month = first
    while month <= min(through, terms.end):
        months.append(month)
        month = next_month(month)
    roster, standing = _roster(contract, terms, through)
    delivered = _delivered(contract.id, through, hourly=False, since=first)
    per_year = terms.visits_per_year or 0
    living = {m: _living_in(roster, standing, terms, m) for m in months}
    for row in roster:
        entitled = sum(
            1
            for m in months
            if row[0] in living[m]
            and standing.of(row[0], m, terms.profile) == (MonthStatus.ENTITLED, None)
        )
        if not entitled:
            continue
        result.count(row, -(-per_year * entitled // 12), delivered.get(row[0], 0))
    result.unserved_first()
    return result


# What a statement keeps of its month's under-delivery (``Settlement.shortfall``).
SUMMARY = ("entitled", "short", "unserved", "owed", "delivered")


def shortfall_summary(contract: Contract, month: date) -> dict[str, int]:
    """The contract's under-delivery in ``month`` without the people, as a statement
    keeps it when it is computed (a zone's whole roster is read for it)."""
    found = contract_shortfall(contract, month, people=False)
    return {name: getattr(found, name) for name in SUMMARY}


def shortfall_totals(settlement: Settlement) -> ContractShortfall:
    """The statement's month of its contract, without the people: as computed with the
    statement (computed now for a statement computed before that was kept)."""
    kept = settlement.shortfall
    if kept is None:
        return contract_shortfall(settlement.contract, settlement.month, people=False)
    contract = settlement.contract
    found = ContractShortfall(
        contract.id,
        contract.number,
        contract.provider_id,
        contract.provider.name,
        settlement.month,
        settlement.unit,
    )
    for name in SUMMARY:
        setattr(found, name, int(kept[name]))
    return found


def month_shortfalls(
    month: date, *, provider_id: int | None = None, people: bool = False
) -> list[ContractShortfall]:
    """Every visible contract owing service in ``month``, by provider and contract."""
    query = (
        select(Contract)
        .where(Contract.status.in_(OWING))
        .order_by(Contract.provider_id, Contract.number)
    )
    if provider_id is not None:
        query = query.where(Contract.provider_id == provider_id)
    month = month_start(month)
    return [
        contract_shortfall(contract, month, people=people)
        for contract in db.session.scalars(query)
        if month_start(contract.service_start) <= month <= contract.service_end
    ]


def not_fully_served(shortfalls: Iterable[ContractShortfall]) -> int:
    return sum(s.not_fully_served for s in shortfalls)


@dataclass(frozen=True)
class MonthDelivery:
    """A month's under-delivery in brief, from its statements as they were computed."""

    not_fully_served: int  # entitled people who got less than owed, or nothing
    without_statement: int  # contracts owing service that month with no records at all


def month_in_brief(month: date) -> MonthDelivery:
    """The visible statements' kept under-delivery of ``month`` (no roster is read: a
    dashboard's figure), and how many owing contracts have no statement that month."""
    month = month_start(month)
    kept = db.session.execute(
        select(Settlement.id, Settlement.contract_id, Settlement.shortfall).where(
            Settlement.month == month
        )
    ).all()
    short = 0
    for settlement_id, _contract_id, figures in kept:
        if figures is None:  # computed before the figures were kept
            figures = vars(shortfall_totals(db.session.get_one(Settlement, settlement_id)))
        short += int(figures["short"]) + int(figures["unserved"])
    after = next_month(month)
    owing = db.session.scalars(
        select(Contract.id).where(
            Contract.status.in_(OWING),
            Contract.service_start < after,
            Contract.service_end >= month,
        )
    ).all()
    with_statement = {contract_id for _s, contract_id, _f in kept}
    return MonthDelivery(short, sum(1 for c in owing if c not in with_statement))


def last_ended_month() -> date:
    """The month reports speak of by default: the last one that has ended (China time)."""
    return month_start(today().replace(day=1) - timedelta(days=1))
