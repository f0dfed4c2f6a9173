"""The plan's rules at service level, on both sides of each boundary."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import current_app

from procurement.accounts import services as accounts
from procurement.core.db import db
from procurement.core.errors import Conflict, PermissionDenied, ValidationError
from procurement.plans import execution as plan_execution
from procurement.plans import services
from procurement.plans.budget import months_in_period
from procurement.plans.models import Decision, LineKind, PlanStatus, PurchasePlan
from tests.conftest import PASSWORD
from tests.plans.conftest import plan_input


@pytest.fixture
def people(ctx, yangcheng):
    def user(name, role):
        return accounts.create_user(
            username=name, display_name=name, role=role, region_code="140522", password=PASSWORD
        )

    found = {
        "officer": user("officer", "officer"),
        "finance": user("finance", "finance"),
        "finance2": user("finance2", "finance"),
    }
    db.session.flush()
    return found


def _plan(people, **overrides):
    return services.create_plan(
        actor=people["officer"], region_code="140522", data=plan_input(**overrides)
    )


def _service_line(plan, zone_name):
    return next(
        line
        for line in plan.budget_lines
        if line.kind is LineKind.SERVICE and line.zone.name == zone_name
    )


def test_service_lines_follow_the_yangcheng_formula(people):
    plan = _plan(people)
    # seed 001 §3(3): people x 4 h x 35 yuan x 6 months (July-December)
    assert _service_line(plan, "第一片区").amount == Decimal("168000.00")
    assert _service_line(plan, "第二片区").amount == Decimal("201600.00")
    assert _service_line(plan, "第三片区").amount == Decimal("134400.00")
    assert plan.total == Decimal("504000.00")
    assert plan.status is PlanStatus.DRAFT
    assert services.uncovered_townships(plan) == []


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 7, 1), date(2026, 12, 31), 6),
        (date(2026, 1, 1), date(2026, 12, 31), 12),
        (date(2026, 3, 15), date(2026, 3, 15), 1),
        (date(2026, 12, 31), date(2027, 1, 1), 2),
    ],
)
def test_months_in_the_service_period(start, end, months):
    assert months_in_period(start, end) == months


def test_period_warning_starts_after_one_year_and_error_after_three(people):
    assert services.period_warnings(date(2026, 1, 1), date(2026, 12, 31)) == []
    assert services.period_warnings(date(2026, 1, 1), date(2027, 1, 1)) != []
    _plan(people, title="三年", service_start=date(2026, 1, 1), service_end=date(2028, 12, 31))
    with pytest.raises(ValidationError) as refused:
        _plan(people, title="超期", service_start=date(2026, 1, 1), service_end=date(2029, 1, 1))
    assert "service_end" in refused.value.fields


def test_end_before_start_is_refused_and_nothing_is_written(people):
    with pytest.raises(ValidationError) as refused:
        _plan(people, service_start=date(2026, 7, 1), service_end=date(2026, 6, 30))
    assert "service_end" in refused.value.fields
    from procurement.plans.models import PurchasePlan

    assert db.session.scalar(sa.select(sa.func.count(PurchasePlan.id))) == 0


def test_a_township_outside_the_county_is_refused(people):
    zones = [services.ZoneInput("第一片区", ["140522100", "140521100"], 10)]
    with pytest.raises(ValidationError) as refused:
        _plan(people, zones=zones)
    assert "140521100" in refused.value.fields["zones.0.township_codes"][0]


def test_a_township_in_two_zones_is_refused(people):
    zones = [
        services.ZoneInput("甲", ["140522100"], 10),
        services.ZoneInput("乙", ["140522101", "140522100"], 10),
    ]
    with pytest.raises(ValidationError) as refused:
        _plan(people, zones=zones)
    assert "凤城镇" in refused.value.fields["zones.1.township_codes"][0]


def test_a_township_in_a_zone_of_an_overlapping_plan_is_refused_naming_it(people):
    _plan(people)  # 2026-07-01 to 2026-12-31, all fifteen townships
    one_day_overlap = dict(
        title="补充计划",
        service_start=date(2026, 1, 1),
        service_end=date(2026, 7, 1),
        zones=[services.ZoneInput("补充片区", ["140522201", "140522110"], 10)],
    )
    with pytest.raises(ValidationError) as refused:
        _plan(people, **one_day_overlap)
    messages = refused.value.fields["zones.0.township_codes"]
    assert len(messages) == 2
    assert "演礼镇" in messages[0] and "第三片区" in messages[0]
    assert "阳城县2026年政府购买居家养老服务项目" in messages[0]
    assert "寺头乡" in messages[1] and "第二片区" in messages[1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PurchasePlan)) == 1


def test_a_township_in_an_adjacent_period_is_allowed(people):
    _plan(people)
    before = _plan(
        people,
        title="上半年计划",
        service_start=date(2026, 1, 1),
        service_end=date(2026, 6, 30),
    )
    assert before.zones[0].township_codes == ["140522100", "140522107", "140522108", "140522109"]


def test_an_adjustment_cannot_stretch_a_plan_over_another(people):
    first = _plan(people, service_start=date(2026, 1, 1), service_end=date(2026, 6, 30))
    second = _plan(people, title="下半年计划")  # from 2026-07-01
    services.submit_plan(second, actor=people["officer"], note=None, lock_version=None)
    services.approve_plan(second, actor=people["finance"], version_number=1)
    services.adjust_plan(second, lock_version=None)
    with pytest.raises(ValidationError) as refused:
        services.update_plan(
            second,
            plan_input(title="下半年计划", service_start=date(2026, 6, 30)),
            lock_version=None,
        )
    assert "凤城镇" in refused.value.fields["zones.0.township_codes"][0]
    assert first.title in refused.value.fields["zones.0.township_codes"][0]
    assert second.service_start == date(2026, 7, 1)
    # keeping its own period (it never clashes with itself) is fine
    services.update_plan(second, plan_input(title="下半年计划"), lock_version=None)


@pytest.mark.parametrize(
    ("recipients", "ok"),
    [(0, False), (1, True), (100000, True), (100001, False), (-5, False), ("12a", False)],
)
def test_recipient_count_bounds(people, recipients, ok):
    zones = [services.ZoneInput("甲", ["140522100"], recipients)]
    if ok:
        assert _plan(people, zones=zones).zones[0].expected_recipients == recipients
    else:
        with pytest.raises(ValidationError) as refused:
            _plan(people, zones=zones)
        assert "zones.0.recipients" in refused.value.fields


def test_zone_names_must_be_present_and_distinct(people):
    with pytest.raises(ValidationError) as refused:
        _plan(
            people,
            zones=[
                services.ZoneInput("甲", ["140522100"], 1),
                services.ZoneInput("甲", ["140522101"], 1),
                services.ZoneInput(" ", ["140522102"], 1),
            ],
        )
    assert {"zones.1.name", "zones.2.name"} <= set(refused.value.fields)


def test_unknown_items_and_missing_zones_are_refused(people):
    with pytest.raises(ValidationError) as refused:
        _plan(people, item_codes=["life-meal", "massage"], zones=[])
    assert "item_codes" in refused.value.fields and "zones" in refused.value.fields


def test_uncovered_townships_are_listed(people):
    plan = _plan(people, zones=[services.ZoneInput("甲", ["140522100", "140522101"], 5)])
    uncovered = {t.code for t in services.uncovered_townships(plan)}
    assert len(uncovered) == 13 and "140522100" not in uncovered


@pytest.mark.parametrize(
    ("amount", "ok"),
    [
        ("1200.50", True),
        ("1200.505", False),
        ("-1", False),
        ("abc", False),
        ("0", True),
        ("1000000000.00", True),
        ("1000000000.01", False),
    ],
)
def test_added_line_amount_precision_and_range(people, amount, ok):
    plan = _plan(people)
    call = lambda: services.add_budget_line(  # noqa: E731
        plan,
        kind="training",
        description="培训",
        funding_source="welfare_lottery",
        amount=amount,
        lock_version=None,
    )
    if ok:
        assert call().amount == Decimal(amount).quantize(Decimal("0.01"))
    else:
        with pytest.raises(ValidationError) as refused:
            call()
        assert "amount" in refused.value.fields


def test_overriding_a_service_line_needs_a_reason_and_survives_recomputation(people):
    plan = _plan(people)
    line = _service_line(plan, "第一片区")
    with pytest.raises(ValidationError) as refused:
        services.update_budget_line(
            line, amount="150000.00", funding_source="local_finance", lock_version=None
        )
    assert "override_reason" in refused.value.fields
    services.update_budget_line(
        line,
        amount="150000.00",
        funding_source="local_finance",
        override_reason="部分服务对象已纳入长护险",
        lock_version=None,
    )
    assert line.overridden and line.computed_amount == Decimal("168000.00")
    zones = plan_input().zones
    zones[0].recipients = 210
    services.update_plan(plan, plan_input(zones=zones), lock_version=None)
    assert line.computed_amount == Decimal("176400.00")
    assert line.amount == Decimal("150000.00")  # the override stays, with its reason
    services.update_budget_line(
        line,
        amount="176400.00",
        funding_source="local_finance",
        override_reason="ignored",
        lock_version=None,
    )
    assert not line.overridden and line.override_reason is None


def test_submit_approve_and_lock(people):
    plan = _plan(people)
    version = services.submit_plan(
        plan, actor=people["officer"], note="请审核", lock_version=plan.lock_version
    )
    assert (version.number, plan.status) == (1, PlanStatus.SUBMITTED)
    assert version.snapshot["total"] == "504000.00"
    with pytest.raises(Conflict):
        services.update_plan(plan, plan_input(title="改"), lock_version=None)
    services.approve_plan(plan, actor=people["finance"], version_number=1, comment="同意")
    assert plan.status is PlanStatus.APPROVED and plan.approved_version is version
    assert version.decision is Decision.APPROVED
    with pytest.raises(Conflict):
        services.add_budget_line(
            plan,
            kind="training",
            description="x",
            funding_source="local_finance",
            amount="1",
            lock_version=None,
        )


def test_only_finance_decides_and_never_on_its_own_plan(people):
    plan = _plan(people)
    services.submit_plan(plan, actor=people["officer"], note=None, lock_version=None)
    with pytest.raises(PermissionDenied):
        services.approve_plan(plan, actor=people["officer"], version_number=1)
    drafted_by_finance = services.create_plan(
        actor=people["finance"],
        region_code="140522",
        data=plan_input(
            title="财政起草", service_start=date(2026, 1, 1), service_end=date(2026, 6, 30)
        ),
    )
    services.submit_plan(drafted_by_finance, actor=people["officer"], note=None, lock_version=None)
    with pytest.raises(PermissionDenied) as refused:
        services.approve_plan(drafted_by_finance, actor=people["finance"], version_number=1)
    assert refused.value.code == "own_plan"
    services.approve_plan(drafted_by_finance, actor=people["finance2"], version_number=1)


def test_approving_a_version_other_than_the_pending_one_is_refused(people):
    plan = _plan(people)
    services.submit_plan(plan, actor=people["officer"], note=None, lock_version=None)
    services.return_plan(plan, actor=people["finance"], version_number=1, comment="人数偏高")
    services.submit_plan(plan, actor=people["officer"], note=None, lock_version=None)
    with pytest.raises(Conflict) as refused:
        services.approve_plan(plan, actor=people["finance"], version_number=1)
    assert refused.value.code == "stale"
    assert plan.status is PlanStatus.SUBMITTED


def test_return_needs_a_comment_then_revision_shows_the_difference(people):
    plan = _plan(people)
    services.submit_plan(plan, actor=people["officer"], note=None, lock_version=None)
    with pytest.raises(ValidationError):
        services.return_plan(plan, actor=people["finance"], version_number=1, comment="  ")
    services.return_plan(
        plan, actor=people["finance"], version_number=1, comment="第一片区人数偏高，请核实"
    )
    assert plan.status is PlanStatus.RETURNED
    zones = plan_input().zones
    zones[0].recipients = 180
    services.update_plan(plan, plan_input(zones=zones), lock_version=None)
    services.submit_plan(plan, actor=people["officer"], note="已核实", lock_version=None)
    base = services.last_reviewed_version(plan)
    assert base.number == 1
    changes = services.diff_snapshots(base.snapshot, plan.pending_version.snapshot)
    described = {(c.item, c.before, c.after) for c in changes}
    assert ("第一片区 · recipients", "200", "180") in described
    assert ("total", "504,000.00", "487,200.00") in described


def test_an_adjustment_keeps_the_approved_version_in_force_until_approved(people):
    plan = _plan(people)
    services.submit_plan(plan, actor=people["officer"], note=None, lock_version=None)
    first = services.approve_plan(plan, actor=people["finance"], version_number=1)
    services.adjust_plan(plan, lock_version=None)
    assert plan.status is PlanStatus.ADJUSTING and plan.approved_version is first
    services.add_budget_line(
        plan,
        kind="platform",
        description="平台运维",
        funding_source="local_finance",
        amount="8000",
        lock_version=None,
    )
    services.submit_plan(plan, actor=people["officer"], note="增加平台运维", lock_version=None)
    assert plan.approved_version is first
    second = services.approve_plan(plan, actor=people["finance"], version_number=2)
    assert plan.approved_version is second and second.total == Decimal("512000.00")
    with pytest.raises(Conflict):
        services.adjust_plan(plan, lock_version=0)


def test_a_stale_lock_version_is_refused(people):
    plan = _plan(people)
    seen = plan.lock_version
    services.add_budget_line(
        plan,
        kind="training",
        description="培训",
        funding_source="local_finance",
        amount="100",
        lock_version=seen,
    )
    db.session.flush()
    with pytest.raises(Conflict) as refused:
        services.update_plan(plan, plan_input(title="新标题"), lock_version=seen)
    assert refused.value.code == "stale"


def test_execution_shows_approved_and_registered_commitments(people, monkeypatch):
    plan = _plan(people)
    services.add_budget_line(
        plan,
        kind="evaluation",
        description="第三方评估",
        funding_source="local_finance",
        amount="30000",
        lock_version=None,
    )
    services.submit_plan(plan, actor=people["officer"], note=None, lock_version=None)
    services.approve_plan(plan, actor=people["finance"], version_number=1)
    zone_one = plan.zones[0]
    source = lambda p: {zone_one.id: Decimal("160000.00")} if p.id == plan.id else {}  # noqa: E731
    wired = plan_execution.sources()
    with monkeypatch.context() as patch:
        patch.setitem(
            current_app.extensions,
            plan_execution.EXTENSION,
            replace(wired, commitments=(source,)),
        )
        rows = plan_execution.execution(plan, "片区外")
    by_label = {row.label: row for row in rows}
    assert by_label["第一片区"].approved == Decimal("168000.00")
    assert by_label["第一片区"].committed == Decimal("160000.00")
    assert by_label["片区外"].approved == Decimal("30000.00")
    assert plan_execution.totals(rows, "合计").approved == Decimal("534000.00")


def test_execution_keeps_confirmed_and_paid_apart(people, monkeypatch):
    """Issue 14: a confirmation is not a payment; each has its own column and total."""
    plan = _plan(people)
    services.submit_plan(plan, actor=people["officer"], note=None, lock_version=None)
    services.approve_plan(plan, actor=people["finance"], version_number=1)
    zone_one = plan.zones[0]
    confirmed = lambda p: {zone_one.id: Decimal("5000.00")}  # noqa: E731
    paid = lambda p: {zone_one.id: Decimal("3000.00"), None: Decimal("0.00")}  # noqa: E731
    wired = plan_execution.sources()
    with monkeypatch.context() as patch:
        patch.setitem(
            current_app.extensions,
            plan_execution.EXTENSION,
            replace(wired, settlements=(confirmed,), payments=(paid,)),
        )
        rows = plan_execution.execution(plan, "片区外")
    first = next(row for row in rows if row.zone_id == zone_one.id)
    assert (first.confirmed, first.paid) == (Decimal("5000.00"), Decimal("3000.00"))
    total = plan_execution.totals(rows, "合计")
    assert (total.confirmed, total.paid) == (Decimal("5000.00"), Decimal("3000.00"))
    assert rows[-1].label == "片区外"  # a source's key None adds the row outside zones


def test_exports_open_and_carry_the_totals(people):
    from docx import Document
    from openpyxl import load_workbook

    plan = _plan(people)
    from procurement.plans import exports

    book = load_workbook(exports.plan_workbook(plan))
    values = [cell.value for row in book.worksheets[1].iter_rows() for cell in row]
    assert Decimal("504000.00") in [
        Decimal(str(v)) for v in values if isinstance(v, float | int | Decimal)
    ]
    assert "伍拾万肆仟元整" in values
    document = Document(exports.plan_document(plan))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = " ".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "504,000.00" in text and "伍拾万肆仟元整" in text
    assert "凤城镇" in cells and "第三片区" in cells
