"""The settlement rules and the fraud flags, vectorised over a month's service records.

One place decides, for every record of a contract and month, which flags it carries
and how much of its time is paid, with the reason for what is not (seed 001 §7(2)(3),
§8(2)2(2); domain.md §6). The importer, a flag review and a recomputation all call
``evaluate``; nothing else computes pay.

Order of the reasons (the first that applies is the record's reason):
the person's standing that month (not started, exited, died, ineligible, long-term
care), the contract's zone (the township the person lived in on the visit's date: the
roster's, or before a recorded move the one moved from; never the one the platform
wrote), the contract's items, an item long-term-care insurance already pays an insured
person for (seed 000 §2(3), where the profile does not exclude insured people), an
unreviewed or confirmed flag, and last the entitlement (Yangcheng: 4 h a month, no
carry-over; Xinjiang: visits a year).

The entitlement is the person's, not the contract's: whatever the number of contracts
that serve one person in a month, their visits take it in the order they happened
(earliest first), and what a confirmed statement already paid is taken first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from procurement.contracts.models import Contract
from procurement.policies.models import EntitlementModel, PolicyProfile
from procurement.recipients.entitlement import MonthStatus, entitlement, exit_takes_effect
from procurement.recipients.models import ExitReason, Recipient
from procurement.settlements.models import Flag, Review, Unpaid

# Flags that hold a record's pay until an officer reviews it. Visits outside the zone,
# or after a death or an exit, are never paid, so they need no review to be refused.
HOLDING_FLAGS = int(
    Flag.WORKER_OVERLAP | Flag.DUPLICATE | Flag.TOO_SHORT | Flag.TOO_LONG | Flag.WHOLE_ENTITLEMENT
)
STANDING_REASONS = {
    MonthStatus.NOT_STARTED: Unpaid.NOT_REGISTERED,
    MonthStatus.EXITED: Unpaid.EXITED,
    MonthStatus.DIED: Unpaid.DIED,
    MonthStatus.INELIGIBLE: Unpaid.INELIGIBLE,
    MonthStatus.LONG_TERM_CARE: Unpaid.LONG_TERM_CARE,
}
RECIPIENT_COLUMNS = (
    Recipient.id,
    Recipient.birth_date,
    Recipient.category,
    Recipient.capability_level,
    Recipient.long_term_care,
    Recipient.registered_in_county,
    Recipient.lives_in_county,
    Recipient.service_start,
    Recipient.exit_reason,
    Recipient.exit_date,
    Recipient.township_code,
    # read only under a profile that requires a third-party assessment (seed 000 §2(1))
    Recipient.assessed_on,
    Recipient.assessor,
    Recipient.assessment_valid_until,
)
ASSESSMENT = slice(11, 14)


MOVE_COLUMNS = ["recipient_id", "from_township", "to_township", "effective_from"]


@dataclass(frozen=True)
class Terms:
    """What one contract pays for, and how (from the contract and its plan's profile)."""

    contract_id: int
    provider_id: int
    region_code: str
    townships: frozenset[str]
    items: frozenset[str]
    start: date
    end: date  # the day before termination, for a terminated contract
    profile: PolicyProfile
    hourly: bool
    rate: Decimal  # per hour or per visit, capped by the profile
    cap_minutes: int | None  # per person and month (hours model)
    visits_per_year: int | None
    min_minutes: int
    max_minutes: int
    must_split: bool
    # Items long-term-care insurance pays for: not paid again for an insured person
    # (seed 000 §2(3)); under a profile that excludes insured people they never get here.
    ltc_items: frozenset[str] = frozenset()

    @property
    def rate_fen(self) -> int:
        return int(self.rate * 100)

    @property
    def unit(self) -> str:
        return "hour" if self.hourly else "visit"

    def visits_share(self, year: int) -> int:
        """Visits model: the visits a person may be paid under this contract in ``year``,
        the year's visits prorated by the months of the contract's term in that year
        (rounded up): a half-year contract pays 18 of 36, as its budget was reckoned."""
        first = max(self.start, date(year, 1, 1))
        last = min(self.end, date(year, 12, 31))
        if last < first:
            return 0
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        return -(-(self.visits_per_year or 0) * months // 12)

    @classmethod
    def of(cls, contract: Contract) -> Terms:
        plan = contract.plan
        profile = plan.policy_profile
        hourly = profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH
        cap = profile.hourly_rate_cap if hourly else profile.unit_price_per_visit
        rate = min(contract.unit_price, cap) if cap is not None else contract.unit_price
        end = contract.service_end
        if contract.terminated_on is not None:
            end = min(end, date.fromordinal(contract.terminated_on.toordinal() - 1))
        return cls(
            contract_id=contract.id,
            provider_id=contract.provider_id,
            region_code=contract.region_code,
            townships=frozenset(contract.township_codes),
            items=frozenset(link.service_item.code for link in plan.items),
            start=contract.service_start,
            end=end,
            profile=profile,
            hourly=hourly,
            rate=rate,
            cap_minutes=int(profile.hours_per_month * 60) if hourly else None,
            visits_per_year=None if hourly else profile.visits_per_year,
            min_minutes=profile.min_visit_minutes,
            max_minutes=profile.max_visit_minutes,
            must_split=profile.visits_must_be_split,
            ltc_items=frozenset(
                link.service_item.code for link in plan.items if link.service_item.ltc_covered
            ),
        )


def line_amount_fen(paid_minutes, paid_visits, rate_fen, hourly):
    """The amount of one person's month in fen: hours x rate rounded half up, or visits x
    price. Works on numbers and on numpy arrays alike (rates and units included)."""
    rate = np.asarray(rate_fen, dtype=np.int64)
    by_the_hour = (np.asarray(paid_minutes, dtype=np.int64) * rate * 2 + 60) // 120
    by_the_visit = np.asarray(paid_visits, dtype=np.int64) * rate
    return np.where(hourly, by_the_hour, by_the_visit)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


class Standing:
    """Each person's standing per month, from the one set of entitlement rules.

    Many people share the same facts (category, level, age, flags), so the rules run
    once per distinct set of facts rather than once per person.
    """

    def __init__(self, rows: Iterable[tuple], moves: pd.DataFrame | None = None) -> None:
        self.people = {row[0]: row for row in rows}
        self._cache: dict[tuple, tuple[MonthStatus, date | None]] = {}
        # recipient_id, from_township, to_township, effective_from: see townships_on
        self.moves = moves if moves is not None else pd.DataFrame(columns=MOVE_COLUMNS)

    def of(self, recipient_id: int, month: date, profile: PolicyProfile):
        row = self.people[recipient_id]
        (_id, birth, category, level, ltc, registered, lives, start, reason, exit_date) = row[:10]
        age_key = (month.year - birth.year) * 12 + month.month - birth.month, birth.day > 1
        key: tuple = (profile, month, age_key, category, level, ltc, registered, lives)
        key += (start, reason, exit_date)
        assessment = (tuple(row[ASSESSMENT]) + (None, None, None))[:3]
        if profile.requires_assessment:
            key += assessment
        found = self._cache.get(key)
        if found is None:
            person = _Facts(*row[:10], *assessment)
            standing = entitlement(person, profile, month)
            found = self._cache[key] = (standing.status, standing.died_on)
        return found

    def insured(self) -> dict[int, bool]:
        """recipient_id -> whether the person receives long-term-care insurance."""
        return {rid: bool(row[4]) for rid, row in self.people.items()}

    def townships(self) -> dict[int, str | None]:
        """recipient_id -> the township the roster holds for the person."""
        return {rid: row[10] if len(row) > 10 else None for rid, row in self.people.items()}

    def townships_on(self, recipient_ids: pd.Series, moments: pd.Series) -> pd.Series:
        """The township each person lived in at each moment: the roster's, unless they
        moved (``RecipientMove``): from a move's ``effective_from`` the township moved
        to, before the first move the one moved from."""
        home = recipient_ids.map(self.townships())
        moves = self.moves[self.moves["recipient_id"].isin(set(recipient_ids.tolist()))]
        if not len(moves):
            return home
        moves = moves.assign(
            recipient_id=moves["recipient_id"].astype(np.int64),
            effective_from=pd.to_datetime(moves["effective_from"]).astype("datetime64[s]"),
        ).sort_values("effective_from")
        visits = pd.DataFrame(
            {
                "recipient_id": recipient_ids.to_numpy(dtype=np.int64),
                "at": moments.to_numpy().astype("datetime64[s]"),
                "position": np.arange(len(recipient_ids)),
            }
        ).sort_values("at")
        joined = pd.merge_asof(
            visits,
            moves[["recipient_id", "effective_from", "to_township"]],
            left_on="at",
            right_on="effective_from",
            by="recipient_id",
            direction="backward",
        ).sort_values("position", ignore_index=True)
        before_any = moves.drop_duplicates("recipient_id").set_index("recipient_id")
        found = joined["to_township"].fillna(
            joined["recipient_id"].map(before_any["from_township"])
        )
        return pd.Series(
            found.fillna(home.reset_index(drop=True)).to_numpy(), index=recipient_ids.index
        )

    def exits(self) -> pd.DataFrame:
        """recipient_id -> the moment from which visits are flagged (death or exit)."""
        rows = []
        for rid, row in self.people.items():
            reason, exit_date = row[8], row[9]
            if exit_date is None:
                continue
            effective = exit_takes_effect(ExitReason(reason), exit_date)
            rows.append((rid, reason == ExitReason.DEATH, pd.Timestamp(effective)))
        return pd.DataFrame(rows, columns=["recipient_id", "death", "exit_from"])


@dataclass
class _Facts:
    """The attributes of a Recipient that the entitlement rules read."""

    id: int
    birth_date: date
    category: str
    capability_level: int | None
    long_term_care: bool
    registered_in_county: bool
    lives_in_county: bool
    service_start: date | None
    exit_reason: str | None
    exit_date: date | None
    assessed_on: date | None = None
    assessor: str | None = None
    assessment_valid_until: date | None = None


def evaluate(
    records: pd.DataFrame,
    terms: dict[int, Terms],
    standing: Standing,
    prior_visits: dict[tuple[int, int, int], int] | None = None,
    prior_minutes: dict[tuple[int, date], int] | None = None,
) -> pd.DataFrame:
    """Flags, paid minutes and unpaid reason of every record.

    ``records`` holds all records of the contract-months concerned, with the columns
    contract_id, provider_id, record_id, recipient_id, worker_id, item_code,
    township_code, started_at, ended_at (datetime64), minutes, month (date) and review.
    ``prior_visits`` gives, for the visits model, the visits already paid to a person in
    the same year outside these months, per contract: {(recipient_id, year, contract_id):
    count}; ``prior_minutes``, for the hours model, the minutes a person's month already
    paid under statements that finance confirmed: {(recipient_id, month): minutes}.
    Returns a frame on the same index with flags, paid_minutes and unpaid_reason.
    """
    n = len(records)
    out = pd.DataFrame(index=records.index)
    if n == 0:
        return out.assign(flags=[], paid_minutes=[], unpaid_reason=[])
    contract = records["contract_id"]
    minutes = records["minutes"].to_numpy(dtype=np.int64)
    start = records["started_at"]

    def per_contract(attribute: str) -> np.ndarray:
        return contract.map({cid: getattr(t, attribute) for cid, t in terms.items()}).to_numpy()

    flags = np.zeros(n, dtype=np.int64)
    flags |= np.where(minutes < per_contract("min_minutes"), int(Flag.TOO_SHORT), 0)
    flags |= np.where(minutes > per_contract("max_minutes"), int(Flag.TOO_LONG), 0)
    cap = pd.to_numeric(pd.Series(per_contract("cap_minutes"))).to_numpy(dtype=float)
    whole = per_contract("must_split").astype(bool) & (minutes >= cap)  # NaN: never
    flags |= np.where(whole, int(Flag.WHOLE_ENTITLEMENT), 0)

    home = standing.townships_on(records["recipient_id"], start)
    in_zone = _pairs_in(contract, home, terms, "townships")
    flags |= np.where(in_zone, 0, int(Flag.OUTSIDE_ZONE))
    mismatch = (records["township_code"] != home).to_numpy()
    flags |= np.where(mismatch, int(Flag.TOWNSHIP_MISMATCH), 0)
    contracts_in_month = records.groupby(["recipient_id", "month"])["contract_id"].transform(
        "nunique"
    )
    flags |= np.where(contracts_in_month.to_numpy() > 1, int(Flag.OTHER_CONTRACT), 0)
    item_ok = _pairs_in(contract, records["item_code"], terms, "items")
    insured = records["recipient_id"].map(standing.insured()).fillna(False).to_numpy(bool)
    paid_by_ltc = insured & _pairs_in(contract, records["item_code"], terms, "ltc_items")

    exits = standing.exits()
    if len(exits):
        joined = records[["recipient_id"]].merge(exits, on="recipient_id", how="left")
        after = (start.to_numpy() >= joined["exit_from"].to_numpy()) & joined[
            "exit_from"
        ].notna().to_numpy()
        death = joined["death"].fillna(False).to_numpy(dtype=bool)
        flags |= np.where(after & death, int(Flag.AFTER_DEATH), 0)
        flags |= np.where(after & ~death, int(Flag.AFTER_EXIT), 0)

    flags |= _overlaps(records, ["recipient_id"], int(Flag.DUPLICATE))
    flags |= _overlaps(records, ["provider_id", "worker_id"], int(Flag.WORKER_OVERLAP))

    # The person's standing in the month (one rules call per distinct person-month).
    keys = records[["recipient_id", "month", "contract_id"]].drop_duplicates(
        ["recipient_id", "month"]
    )
    profiles = {cid: t.profile for cid, t in terms.items()}
    statuses, cutoffs = [], []
    for rid, month, cid in zip(
        keys["recipient_id"].tolist(),
        keys["month"].dt.date.tolist(),
        keys["contract_id"].tolist(),
        strict=True,
    ):
        status, died_on = standing.of(rid, month, profiles[cid])
        statuses.append(status)  # a StrEnum: compares equal to its value
        cutoffs.append(died_on)
    died_on = pd.to_datetime(pd.Series(cutoffs, dtype=object)).to_numpy(dtype="datetime64[s]")
    keys = keys.assign(status=statuses, died_on=died_on)
    joined = records[["recipient_id", "month"]].merge(
        keys[["recipient_id", "month", "status", "died_on"]],
        on=["recipient_id", "month"],
        how="left",
    )
    status = joined["status"].to_numpy(dtype=object)
    died_during = joined["died_on"].notna().to_numpy() & (
        start.to_numpy() >= joined["died_on"].to_numpy()
    )

    review = records["review"].to_numpy(dtype=object)
    holding = (flags & HOLDING_FLAGS) != 0
    conditions = [status == s.value for s in STANDING_REASONS]
    choices = [reason.value for reason in STANDING_REASONS.values()]
    conditions += [
        died_during,
        ~in_zone,
        ~item_ok,
        paid_by_ltc,
        holding & (review == Review.CONFIRMED.value),
        holding & (review != Review.CLEARED.value),
    ]
    choices += [
        Unpaid.DIED.value,
        Unpaid.OUTSIDE_ZONE.value,
        Unpaid.ITEM_NOT_IN_CONTRACT.value,
        Unpaid.LTC_COVERED_ITEM.value,
        Unpaid.FLAG_CONFIRMED.value,
        Unpaid.FLAG_PENDING.value,
    ]
    reason = np.select(conditions, choices, default="")
    payable = reason == ""

    paid = np.zeros(n, dtype=np.int64)
    hourly = per_contract("hourly").astype(bool)
    _pay_hours(records, payable & hourly, cap, minutes, paid, reason, prior_minutes or {})
    _pay_visits(records, payable & ~hourly, terms, prior_visits or {}, minutes, paid, reason)

    out["flags"] = flags
    out["paid_minutes"] = paid
    out["unpaid_reason"] = pd.Series(
        np.where(reason == "", None, reason), index=records.index, dtype=object
    )
    return out


def _pairs_in(contract: pd.Series, values: pd.Series, terms: dict[int, Terms], attr: str):
    allowed = pd.MultiIndex.from_tuples(
        [(cid, v) for cid, t in terms.items() for v in getattr(t, attr)] or [(-1, "")]
    )
    return pd.MultiIndex.from_arrays([contract, values]).isin(allowed)


def _overlaps(records: pd.DataFrame, by: list[str], flag: int) -> np.ndarray:
    """Flag each record that starts before an earlier record of the same group ended, and
    the record it overlaps when that is the one just before it."""
    order = records.sort_values([*by, "started_at", "record_id"], kind="stable")
    same = np.ones(len(order), dtype=bool)
    for column in by:
        values = order[column].to_numpy()
        same[1:] &= values[1:] == values[:-1]
    same[0] = False
    ends = order["ended_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    starts = order["started_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    group = np.cumsum(~same)
    running = pd.Series(ends).groupby(group).cummax().to_numpy()
    previous_end = np.empty_like(running)
    previous_end[0] = np.iinfo(np.int64).min
    previous_end[1:] = running[:-1]
    overlapping = same & (starts < previous_end)
    overlapped = np.zeros_like(overlapping)
    overlapped[:-1] = overlapping[1:] & (starts[1:] < ends[:-1])
    result = np.zeros(len(records), dtype=np.int64)
    positions = records.index.get_indexer(order.index)
    result[positions] = np.where(overlapping | overlapped, flag, 0)
    return result


def _pay_hours(records, mask, cap, minutes, paid, reason, prior) -> None:
    """Within the person's month, in the order the visits happened, whatever the contract,
    after what confirmed statements already paid; no carry-over. Time cut because the
    person's other contracts took the entitlement says so."""
    if not mask.any():
        return
    chosen = records.loc[
        mask, ["recipient_id", "month", "started_at", "record_id", "contract_id", "provider_id"]
    ]
    order = chosen.sort_values(["recipient_id", "month", "started_at", "provider_id", "record_id"])
    positions = records.index.get_indexer(order.index)
    own = minutes[positions]
    person_month = [order["recipient_id"].to_numpy(), order["month"].to_numpy()]
    used = pd.Series(own).groupby(person_month).cumsum().to_numpy() - own
    used_here = (
        pd.Series(own).groupby([*person_month, order["contract_id"].to_numpy()]).cumsum() - own
    ).to_numpy()
    before = np.zeros(len(order), dtype=np.int64)
    if prior:
        before[:] = [
            prior.get((rid, month.date()), 0)
            for rid, month in zip(order["recipient_id"], order["month"], strict=True)
        ]
    limit = cap[positions].astype(np.int64)
    granted = np.clip(limit - before - used, 0, own)
    paid[positions] = granted
    cut = granted < own
    alone_over = used_here + own > limit  # this contract's visits alone pass the entitlement
    reason[positions] = np.where(
        cut,
        np.where(alone_over, Unpaid.OVER_ENTITLEMENT.value, Unpaid.USED_ELSEWHERE.value),
        reason[positions],
    )


def _pay_visits(records, mask, terms, prior, minutes, paid, reason) -> None:
    """Each visit paid at the unit price, in the order of the visits: up to the visits of
    the year per person, whatever the contract, and under each contract up to its share
    of them (``Terms.visits_share``). The year's visits are a floor the provider owes
    (seed 000 §2(3)); paying beyond the contract's share would pay beyond its budget."""
    if not mask.any():
        return
    chosen = records.loc[mask, ["recipient_id", "contract_id", "started_at", "record_id"]]
    order = chosen.sort_values(["recipient_id", "started_at", "contract_id", "record_id"])
    positions = records.index.get_indexer(order.index)
    people = order["recipient_id"].to_numpy()
    contracts = order["contract_id"].to_numpy()
    years = order["started_at"].dt.year.to_numpy()
    before_person: dict[tuple[int, int], int] = {}
    for (rid, year, _cid), count in prior.items():
        before_person[(rid, year)] = before_person.get((rid, year), 0) + count
    triples = list(zip(people.tolist(), years.tolist(), contracts.tolist(), strict=True))
    before_all = np.array([before_person.get((r, y), 0) for r, y, _c in triples], np.int64)
    before_here = np.array([prior.get(t, 0) for t in triples], dtype=np.int64)
    rank_here = order.groupby([people, years, contracts]).cumcount().to_numpy() + 1
    year_limit = np.array([terms[c].visits_per_year or 0 for _r, _y, c in triples], np.int64)
    share = np.array([terms[c].visits_share(y) for _r, y, c in triples], dtype=np.int64)
    within_share = before_here + rank_here <= share
    # the person's year counts the visits paid: one beyond a contract's share takes none
    rank_all = pd.Series(within_share.astype(np.int64)).groupby([people, years]).cumsum()
    within = within_share & (before_all + rank_all.to_numpy() <= year_limit)
    paid[positions] = np.where(within, minutes[positions], 0)
    reason[positions] = np.where(within, reason[positions], Unpaid.OVER_VISITS.value)


@dataclass
class MonthTotals:
    records: int
    flagged: int
    recipients: int
    minutes: int
    paid_minutes: int
    paid_visits: int
    amount_fen: int


def person_lines(
    records: pd.DataFrame, evaluated: pd.DataFrame, terms: dict[int, Terms]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each person's month per (contract_id, month): visits, minutes, paid minutes and
    visits, and the amount in fen (the statement's lines); and what is not paid them per
    reason: records and minutes."""
    minutes = records["minutes"].to_numpy(dtype=np.int64)
    paid = evaluated["paid_minutes"].to_numpy(dtype=np.int64)
    keys = {
        "contract_id": records["contract_id"].to_numpy(),
        "month": records["month"].to_numpy(),
        "recipient_id": records["recipient_id"].to_numpy(),
    }
    frame = pd.DataFrame(
        {
            **keys,
            "minutes": minutes,
            "paid_minutes": paid,
            "paid_visits": (paid > 0).astype(np.int64),
            "flagged": (evaluated["flags"].to_numpy() != 0).astype(np.int64),
        }
    )
    lines = (
        frame.groupby(list(keys), sort=False)
        .agg(
            visits=("minutes", "size"),
            minutes=("minutes", "sum"),
            paid_minutes=("paid_minutes", "sum"),
            paid_visits=("paid_visits", "sum"),
            flagged=("flagged", "sum"),
        )
        .reset_index()
    )
    rate_fen = lines["contract_id"].map({c: t.rate_fen for c, t in terms.items()}).to_numpy()
    hourly = lines["contract_id"].map({c: t.hourly for c, t in terms.items()}).to_numpy(bool)
    lines["amount_fen"] = line_amount_fen(
        lines["paid_minutes"], lines["paid_visits"], rate_fen, hourly
    )
    reasons = evaluated["unpaid_reason"]
    unpaid = reasons.notna().to_numpy()
    unpaid_frame = (
        pd.DataFrame(
            {
                **{k: v[unpaid] for k, v in keys.items()},
                "reason": reasons.to_numpy()[unpaid],
                "unpaid_minutes": (minutes - paid)[unpaid],
            }
        )
        .groupby([*keys, "reason"], sort=False)
        .agg(records=("unpaid_minutes", "size"), minutes=("unpaid_minutes", "sum"))
        .reset_index()
    )
    return lines, unpaid_frame


def totals(
    records: pd.DataFrame, evaluated: pd.DataFrame, terms: dict[int, Terms]
) -> dict[tuple[int, date], MonthTotals]:
    """Per (contract_id, month): the statement's totals."""
    return month_totals(person_lines(records, evaluated, terms)[0])


def month_totals(lines: pd.DataFrame) -> dict[tuple[int, date], MonthTotals]:
    """Per (contract_id, month): the statement's totals, from its ``person_lines``."""
    sums = lines.groupby(["contract_id", "month"], sort=False).agg(
        records=("visits", "sum"),
        flagged=("flagged", "sum"),
        recipients=("visits", "size"),
        minutes=("minutes", "sum"),
        paid_minutes=("paid_minutes", "sum"),
        paid_visits=("paid_visits", "sum"),
        amount_fen=("amount_fen", "sum"),
    )
    found: dict[tuple[int, date], MonthTotals] = {}
    for key, row in sums.iterrows():
        contract_month = (int(key[0]), pd.Timestamp(key[1]).date())  # type: ignore[index]
        found[contract_month] = MonthTotals(*(int(row[name]) for name in MONTH_FIGURES))
    return found


MONTH_FIGURES = (
    "records",
    "flagged",
    "recipients",
    "minutes",
    "paid_minutes",
    "paid_visits",
    "amount_fen",
)
