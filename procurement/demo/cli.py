"""``flask --app procurement demo load``: the Yangcheng demonstration data, idempotent."""

from __future__ import annotations

import json
import os
import secrets
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from procurement.accounts import services as accounts
from procurement.accounts.models import User
from procurement.core import clock
from procurement.core.audit import Actor, set_actor
from procurement.core.clock import today
from procurement.core.db import db
from procurement.demo.timeline import play_demo_year
from procurement.plans.catalogue import load_shipped_catalogues
from procurement.policies.presets import load_presets
from procurement.regions.services import load_reference_regions

demo_cli = AppGroup("demo", help="Demonstration data for Yangcheng County.")

DEMO_USERS = [
    ("admin", "系统管理员", "admin", "140000"),
    ("yc_officer", "阳城县民政局经办人", "officer", "140522"),
    ("yc_leader", "阳城县民政局分管副局长", "officer", "140522"),
    ("yc_finance", "阳城县财政局审核人", "finance", "140522"),
    ("yc_evaluator", "绩效评价人员", "evaluator", "140522"),
    ("yc_auditor", "审计人员", "auditor", "140522"),
    ("qs_officer", "沁水县民政局经办人", "officer", "140521"),
]


def _logins_file() -> Path:
    return Path(current_app.instance_path) / "demo_logins.json"


def _demo_password() -> str:
    return "Yc-" + secrets.token_urlsafe(9)


def load_demo_users() -> dict[str, str]:
    """Create the demo accounts that are missing; return every demo login and password."""
    path = _logins_file()
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for username, name, role, region in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            known[username] = _demo_password()
            accounts.create_user(
                username=username,
                display_name=name,
                role=role,
                region_code=region,
                password=known[username],
            )
        elif username not in known:
            known[username] = _demo_password()  # the file was lost: issue a new password
            accounts.set_password(user, known[username])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(known, handle, ensure_ascii=False, indent=1)
    return known


# seed 001 annex 2: the three zones of Yangcheng 2026
YANGCHENG_ZONES = [
    ("第一片区", ["140522100", "140522107", "140522108", "140522109"], 200),
    (
        "第二片区",
        ["140522101", "140522102", "140522103", "140522201", "140522104", "140522111"],
        240,
    ),
    ("第三片区", ["140522202", "140522105", "140522205", "140522106", "140522110"], 160),
]
YANGCHENG_PLAN_TITLE = "阳城县2026年政府购买居家养老服务项目"


def load_demo_plan(approve_at: datetime | None = None) -> bool:
    """The Yangcheng 2026 plan with its three zones, submitted by the officer and approved
    by finance (at ``approve_at``, else now) (idempotent); returns whether it was created."""
    from datetime import date

    from procurement.plans import services as plans
    from procurement.plans.models import PurchasePlan

    if db.session.scalar(
        select(PurchasePlan.id).where(
            PurchasePlan.region_code == "140522", PurchasePlan.title == YANGCHENG_PLAN_TITLE
        )
    ):
        return False
    officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
    finance = db.session.scalar(select(User).where(User.username == "yc_finance"))
    set_actor(Actor(officer.id, officer.username, "cli", officer.region_code))
    data = plans.PlanInput(
        title=YANGCHENG_PLAN_TITLE,
        year=2026,
        purchase_method="competitive_consultation",
        service_start=date(2026, 7, 1),
        service_end=date(2026, 12, 31),
        quality_standard=(
            "每人每月4小时免费居家养老服务，分次进行；补贴标准每小时不超过35元，当月使用，"
            "不能滚存；所有服务记录录入晋城市智慧养老服务平台（阳民字〔2026〕11号）。"
        ),
        zones=[plans.ZoneInput(name, codes, people) for name, codes, people in YANGCHENG_ZONES],
        item_codes=[item.code for item in plans.catalogue("140522")],
    )
    plan = plans.create_plan(actor=officer, region_code="140522", data=data)
    for kind, description, source, amount in (
        ("assessment", "低保家庭60-79周岁老年人能力评估", "superior_subsidy", "24000.00"),
        ("evaluation", "第三方绩效评价", "local_finance", "30000.00"),
        ("training", "居家养老服务人员培训", "welfare_lottery", "12000.00"),
    ):
        plans.add_budget_line(
            plan,
            kind=kind,
            description=description,
            funding_source=source,
            amount=amount,
            lock_version=None,
        )
    version = plans.submit_plan(plan, actor=officer, note="请审核。", lock_version=None)
    set_actor(Actor(finance.id, finance.username, "cli", finance.region_code))
    with clock.pinned(approve_at) if approve_at else nullcontext():
        plans.approve_plan(
            plan,
            actor=finance,
            version_number=version.number,
            comment="同意。资金纳入年度部门预算。",
        )
    return True


def demo_officer_and_plan():
    from procurement.plans.models import PurchasePlan

    officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
    set_actor(Actor(officer.id, officer.username, "cli", officer.region_code))
    plan = db.session.scalar(
        select(PurchasePlan).where(
            PurchasePlan.region_code == "140522", PurchasePlan.title == YANGCHENG_PLAN_TITLE
        )
    )
    return officer, plan


@demo_cli.command("load")
def load():
    """Load regions, policy profiles, demo users and the demo year as far as today has
    reached (safe to run again; a later run catches up with the clock)."""
    set_actor(Actor(None, "demo", "cli"))
    regions = load_reference_regions()
    profiles = load_presets()
    items = load_shipped_catalogues()
    logins = load_demo_users()
    played = play_demo_year()
    db.session.commit()
    click.echo(
        f"regions added: {regions}; policy profiles added: {profiles}; "
        f"catalogue items added: {items}; demo plan added: {'yes' if played.plan else 'no'}; "
        f"providers added: {played.providers}; zones awarded: {played.awarded}; "
        f"contracts signed: {played.signed}; recipients added: {played.recipients}; "
        f"service records imported: {played.records}; "
        f"months settled so far: {played.months_settled}; "
        f"2026 accepted, evaluated and published, 2027 plan drafted: "
        f"{'yes' if played.year_end else 'no'}"
    )
    click.echo(
        f"demo clock: {today().isoformat()} (China time); every demo date is on or before it."
    )
    click.echo("")
    click.echo("演示账号 (demo logins; passwords are kept in instance/demo_logins.json):")
    for username, name, role, region in DEMO_USERS:
        click.echo(f"  {username:<14} {logins[username]:<18} {role:<10} {region} {name}")
    click.echo("")
    click.echo("Open http://127.0.0.1:5000 and log in with one of them.")
