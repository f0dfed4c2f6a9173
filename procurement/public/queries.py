"""Reading what is public: live publications, the records behind them, filters, freshness.

Everything the public site, the Atom feed and the OCDS package show goes through here,
so that "public" means one thing: a publication that was not withdrawn. Nothing here
reads a recipient: the public sees organisations, amounts and aggregates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, and_, func, select
from werkzeug.datastructures import MultiDict

from procurement.core.db import db
from procurement.core.errors import NotFound
from procurement.core.files import blob_path, sniff
from procurement.performance.evaluation import party_label, score_of, weight_of, weighted_parties
from procurement.performance.models import Evaluation
from procurement.plans.execution import execution
from procurement.plans.models import PurchasePlan
from procurement.providers.models import Provider
from procurement.public.models import Publication, PublicationKind
from procurement.public.services import publication_of
from procurement.regions.models import Region

LIVE = Publication.withdrawn_at.is_(None)
POINT = Decimal("0.01")


def live_publication(kind: PublicationKind, object_id: int) -> Publication:
    """The publication of a record that is public now; 404 otherwise (never published,
    or withdrawn), so that the public cannot tell the two apart."""
    found = publication_of(kind, object_id)
    if found is None or found.withdrawn_at is not None:
        raise NotFound()
    return found


def published(model, kind: PublicationKind) -> Select:
    """SELECT (record, publication) for the rows of ``model`` whose publication is live."""
    return select(model, Publication).join(
        Publication,
        and_(Publication.kind == kind, Publication.object_id == model.id, LIVE),
    )


def live_publications() -> Select:
    return (
        select(Publication)
        .where(LIVE)
        .order_by(Publication.published_at.desc(), Publication.id.desc())
    )


def newest(*moments: datetime | None) -> datetime | None:
    """The latest of some timestamps (None when there are none), for Last-Modified."""
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def last_change(*conditions) -> datetime | None:
    """When the publications matching ``conditions`` last changed (published or withdrawn)."""
    row = db.session.execute(
        select(func.max(Publication.published_at), func.max(Publication.withdrawn_at)).where(
            *conditions
        )
    ).one()
    return newest(*row)


# ------------------------------------------------------------------ filters


@dataclass(frozen=True)
class Filters:
    """The public search: free text (title or provider), kind, year, region."""

    q: str = ""
    kind: PublicationKind | None = None
    year: int | None = None
    region: Region | None = None

    @classmethod
    def from_args(cls, args: MultiDict) -> Filters:
        """Read the query string leniently: a value that is not understood filters nothing."""
        year = args.get("year", "")
        code = args.get("region", "").strip()
        region = db.session.get(Region, code) if code.isascii() and code.isdigit() else None
        return cls(
            q=args.get("q", "").strip()[:100],
            kind=next((k for k in PublicationKind if k.value == args.get("kind")), None),
            year=int(year) if year.isascii() and year.isdigit() and len(year) == 4 else None,
            region=region,
        )

    def args(self) -> dict[str, str]:
        """The filters as query arguments (for links such as the pager's)."""
        values = {
            "q": self.q,
            "kind": self.kind.value if self.kind else "",
            "year": str(self.year or ""),
            "region": self.region.code if self.region else "",
        }
        return {key: value for key, value in values.items() if value}

    def apply(self, stmt: Select) -> Select:
        if self.q:
            providers = select(Provider.id).where(Provider.name.icontains(self.q, autoescape=True))
            stmt = stmt.where(
                Publication.title.icontains(self.q, autoescape=True)
                | Publication.provider_id.in_(providers)
            )
        if self.kind:
            stmt = stmt.where(Publication.kind == self.kind)
        if self.year:
            stmt = stmt.where(Publication.year == self.year)
        if self.region:
            stmt = stmt.where(Publication.region_code.startswith(self.region.scope.prefix))
        return stmt


@dataclass(frozen=True)
class Choices:
    """What the filters may choose from: the years and regions that have publications."""

    years: list[int]
    regions: list[Region]


def choices() -> Choices:
    years = db.session.scalars(
        select(Publication.year).where(LIVE).distinct().order_by(Publication.year.desc())
    ).all()
    codes = select(Publication.region_code).where(LIVE).distinct()
    regions = db.session.scalars(
        select(Region).where(Region.code.in_(codes)).order_by(Region.code)
    ).all()
    return Choices(list(years), list(regions))


@dataclass(frozen=True)
class RegionYear:
    region: Region
    year: int
    counts: dict[PublicationKind, int]


def by_region_and_year() -> list[RegionYear]:
    """How many records of each kind each region published per year (newest year first)."""
    rows = db.session.execute(
        select(Publication.region_code, Publication.year, Publication.kind, func.count())
        .where(LIVE)
        .group_by(Publication.region_code, Publication.year, Publication.kind)
    ).all()
    regions = {
        r.code: r
        for r in db.session.scalars(
            select(Region).where(Region.code.in_({code for code, *_rest in rows}))
        )
    }
    table: dict[tuple[str, int], dict[PublicationKind, int]] = {}
    for code, year, kind, count in rows:
        table.setdefault((code, year), {})[kind] = count
    return [
        RegionYear(regions[code], year, counts)
        for (code, year), counts in sorted(
            table.items(), key=lambda item: (-item[0][1], item[0][0])
        )
    ]


def names(publications: list[Publication]) -> tuple[dict[int, Provider], dict[str, Region]]:
    """The providers and regions of some publications, in two queries."""
    provider_ids = {p.provider_id for p in publications if p.provider_id}
    region_codes = {p.region_code for p in publications}
    providers = db.session.scalars(select(Provider).where(Provider.id.in_(provider_ids)))
    regions = db.session.scalars(select(Region).where(Region.code.in_(region_codes)))
    return {p.id: p for p in providers}, {r.code: r for r in regions}


# ------------------------------------------------------------------ records shown


def zone_budgets(plan: PurchasePlan) -> dict[int, Decimal]:
    """Each zone's approved budget (the version in force): what its lot is worth."""
    return {row.zone_id: row.approved for row in execution(plan, "") if row.zone_id}


def certificate_type(digest: str | None) -> str | None:
    """The content type of a stored certificate (None when there is none to serve)."""
    if not digest:
        return None
    try:
        with blob_path(digest).open("rb") as handle:
            return sniff(handle.read(16))
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class PartyScore:
    """One party's part of an evaluation as published: organisation, never the evaluator."""

    party: str
    label: str
    organisation: str
    weight: Decimal
    score: Decimal
    weighted: Decimal


def party_scores(evaluation: Evaluation) -> list[PartyScore]:
    """Each scoring party's score and its weighted share of the total (profile order)."""
    rows = []
    for party in weighted_parties(evaluation):
        score, weight = score_of(evaluation, party), Decimal(weight_of(evaluation, party))
        if score is None:
            continue
        rows.append(
            PartyScore(
                party=party,
                label=party_label(party),
                organisation=score.evaluator_organisation,
                weight=weight,
                score=score.total,
                weighted=(score.total * weight / 100).quantize(POINT, ROUND_HALF_UP),
            )
        )
    return rows
