"""The demo is one coherent year: loaded on a given day, nothing in it is dated after
that day, and every step comes after the one it depends on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from procurement.awards.models import Award
from procurement.contracts.models import Contract
from procurement.core import clock
from procurement.core.db import db
from procurement.demo.timeline import YEAR_END
from procurement.performance.models import Acceptance, Evaluation
from procurement.plans.models import PurchasePlan
from procurement.providers.models import Provider
from procurement.public.models import Publication, PublicationKind
from procurement.settlements.models import ServiceRecord, Settlement

# Columns that hold a planned or validity date, which may lie ahead of today by nature.
PLANNED = {
    ("purchase_plans", "service_end"),
    ("contracts", "service_end"),
    ("acceptances", "period_end"),
    ("provider_qualifications", "expires_on"),
    ("compliance_records", "listed_until"),
}
# Each demo load is slow (the year's records): load once per clock for all the checks.
CLOCKS = {
    "year in progress": datetime(2026, 12, 5, 9, 0, tzinfo=clock.CHINA),
    "year over": datetime(2027, 2, 1, 9, 0, tzinfo=clock.CHINA),
}


def china_day(moment: datetime) -> date:
    return moment.astimezone(clock.CHINA).date()


def month_end(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1)


@pytest.fixture(scope="module", params=list(CLOCKS), ids=list(CLOCKS))
def demo(request, tmp_path_factory, database):
    """The demo loaded by ``flask demo load`` with the clock on the given day."""
    from procurement import create_app
    from tests.conftest import BASE_CONFIG, _fresh_url

    moment = CLOCKS[request.param]
    folder = tmp_path_factory.mktemp(f"demo-{request.param.replace(' ', '-')}")
    instance = folder / "instance"
    instance.mkdir()
    app = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": _fresh_url(database, folder),
            "INSTANCE_PATH": str(instance),
        }
    )
    with app.app_context():  # the schema's reference rows, dated when the tests started
        installed = _latest_dates()
        db.session.remove()
    clock.pin(moment.astimezone(UTC))
    try:
        result = app.test_cli_runner().invoke(args=["demo", "load"])
        assert result.exit_code == 0, result.output
        assert clock.utcnow() == moment.astimezone(UTC)  # the demo gave the clock back
        with app.app_context():
            now = moment.astimezone(UTC)
            yield {
                "now": now,
                "today": china_day(moment),
                "output": result.output,
                "installed": installed,
            }
            db.session.remove()
            db.engine.dispose()
    finally:
        clock.pin(None)


def _dated_columns():
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.Date | sa.DateTime) or getattr(
                column.type, "impl", None
            ).__class__ in (sa.Date, sa.DateTime):
                yield table, column


def _latest_dates() -> dict[tuple[str, str], date | datetime | None]:
    return {
        (table.name, column.name): db.session.execute(sa.select(sa.func.max(column))).scalar()
        for table, column in _dated_columns()
    }


def test_nothing_is_dated_after_the_day_the_demo_is_loaded(demo):
    late = []
    for (table, column), latest in _latest_dates().items():
        if (table, column) in PLANNED:
            continue
        if latest is None or latest == demo["installed"][(table, column)]:
            continue  # nothing, or only what the installation wrote before the demo
        if isinstance(latest, datetime):
            if latest.tzinfo is None:  # a local wall-clock time (platform records)
                latest = latest.replace(tzinfo=clock.CHINA)
            if latest > demo["now"]:
                late.append(f"{table}.{column} = {latest.isoformat()}")
        elif isinstance(latest, date) and latest > demo["today"]:
            # a plan's service starts in the future only for next year's draft
            if (table, column) == ("purchase_plans", "service_start"):
                continue
            late.append(f"{table}.{column} = {latest.isoformat()}")
    assert late == []


def test_the_plan_is_approved_before_bids_and_awards(demo):
    plan = db.session.scalar(sa.select(PurchasePlan).where(PurchasePlan.year == 2026))
    approved = plan.approved_version
    assert approved is not None
    assert approved.submitted_at <= approved.decided_at <= demo["now"]
    for award in db.session.scalars(sa.select(Award)):
        assert approved.decided_at < award.decided_at


def test_contracts_are_signed_after_the_notice_and_before_the_service(demo):
    contracts = db.session.scalars(sa.select(Contract).order_by(Contract.id)).all()
    assert len(contracts) == 3
    for contract in contracts:
        notice = db.session.scalar(
            sa.select(Publication).where(
                Publication.kind == PublicationKind.AWARD,
                Publication.object_id == contract.award_id,
            )
        )
        published = db.session.scalar(
            sa.select(Publication).where(
                Publication.kind == PublicationKind.CONTRACT, Publication.object_id == contract.id
            )
        )
        assert china_day(contract.award.decided_at) <= china_day(notice.published_at)
        assert china_day(notice.published_at) <= contract.signed_on < contract.service_start
        assert contract.signed_on <= china_day(published.published_at) <= demo["today"]
        assert contract.signing_reason is None


def test_records_and_statements_follow_the_months(demo):
    for contract in db.session.scalars(sa.select(Contract)):
        first, last = db.session.execute(
            sa.select(
                sa.func.min(ServiceRecord.started_at), sa.func.max(ServiceRecord.ended_at)
            ).where(ServiceRecord.contract_id == contract.id)
        ).one()
        assert first.date() >= contract.service_start and last.date() <= contract.service_end
        assert last.replace(tzinfo=clock.CHINA) <= demo["now"]
    months = set()
    for statement in db.session.scalars(sa.select(Settlement)):
        months.add(statement.month)
        assert month_end(statement.month) < china_day(statement.computed_at)
        if statement.confirmed_at is not None:
            assert month_end(statement.month) < china_day(statement.confirmed_at)
            assert statement.confirmed_at <= demo["now"]
    ended = {m for m in months if month_end(m) < demo["today"]}
    assert months == ended and len(months) >= 4  # July to October at least


def test_acceptance_and_evaluation_only_once_the_period_is_over(demo):
    acceptances = db.session.scalars(sa.select(Acceptance)).all()
    evaluations = db.session.scalars(sa.select(Evaluation)).all()
    if demo["now"] < YEAR_END:
        assert acceptances == [] and evaluations == []
        assert "2027 plan drafted: no" in demo["output"]
        return
    assert len(acceptances) == 3 and len(evaluations) == 3
    for acceptance in acceptances:
        contract = db.session.get(Contract, acceptance.contract_id)
        assert contract.service_end < acceptance.accepted_on <= demo["today"]
        assert acceptance.published_at <= demo["now"]
    for evaluation in evaluations:
        assert evaluation.published_at <= demo["now"]
    assert db.session.scalar(sa.select(PurchasePlan.id).where(PurchasePlan.year == 2027))


def test_providers_are_checked_by_the_bid_deadline(demo):
    from procurement.providers.models import QualificationCheck

    for check in db.session.scalars(sa.select(QualificationCheck)):
        assert check.as_of <= date(2026, 6, 15)
        assert check.checked_at <= demo["now"]
    assert db.session.scalar(sa.select(sa.func.count(Provider.id))) == 7


def test_acceptances_do_not_contradict_their_figures(demo):
    """Issue 14 item 7: a 合格 under the threshold is explained; the contract whose records
    could not be proven fails, as its evaluation does; no fixed 'all met' paragraph."""
    from procurement.performance import acceptance as acceptance_rules
    from procurement.performance.models import Conclusion
    from tests.performance.test_acceptance import docx_text

    if demo["now"] < YEAR_END:
        return
    acceptances = db.session.scalars(sa.select(Acceptance).order_by(Acceptance.id)).all()
    for acceptance in acceptances:
        figures = acceptance_rules.figures_of(acceptance)
        if acceptance_rules.explanation_reasons(
            figures, acceptance.conclusion, acceptance.contract
        ):
            assert acceptance.explanation
        text = docx_text(acceptance_rules.certificate_bytes(acceptance))
        assert "均达到合同约定" not in text and "验收意见：经核查，本期合同约定服务" in text
        if acceptance.explanation:
            assert f"合格结论的说明：{acceptance.explanation}" in text
        assert (
            acceptance_rules.disagreeing_evaluation(acceptance.contract, acceptance.conclusion)
            is None
        )
    first, _second, third = acceptances
    assert first.conclusion is Conclusion.PASS and first.explanation
    assert third.conclusion is Conclusion.FAIL and third.confirmed_flags > 0
