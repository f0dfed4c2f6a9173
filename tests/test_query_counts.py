"""The queries a list or dashboard page makes do not grow with the data (issue 17): each
page is asked at two sizes (the published demo year, then with six more plans of other
years, approved, and forty more people on the roster) and makes the same number of
queries both times."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select

from procurement.accounts.models import User
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.plans import services as plans
from procurement.policies import services as policies
from procurement.recipients import services as recipients
from tests.helpers import in_app
from tests.plans.conftest import plan_input
from tests.public.conftest import site  # noqa: F401 (a fixture)
from tests.recipients.conftest import id_number, recipient_input
from tests.settlements.conftest import care_site  # noqa: F401 (a fixture)

PAGES = [
    "/",
    "/plans/",
    "/providers/",
    "/contracts/",
    "/recipients/",
    "/settlements/",
    "/payments/",
    "/supervision/",
    "/performance/",
    "/jobs",
    "/public/",
]
USERS = ("sx-officer", "sx-finance", "yc-officer")


class Counter:
    def __init__(self, engine) -> None:
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args) -> None:
        self.count += 1


def _counts(app, clients) -> dict[tuple[str, str], int]:
    found = {}
    with app.app_context():
        engine = db.engine
    for user, client in clients.items():
        for page in PAGES:
            client.get(page)  # the first view compiles what it needs
            with Counter(engine) as counted:
                response = client.get(page)
            assert response.status_code == 200, (user, page, response.status_code)
            found[user, page] = counted.count
    return found


def _grow() -> None:
    """Six more years of Yangcheng's plans, each approved, and forty more people."""
    officer = db.session.scalar(select(User).where(User.username == "yc-officer"))
    finance = db.session.scalar(select(User).where(User.username == "yc-finance"))
    set_actor(Actor(officer.id, officer.username, "web", officer.region_code))
    profile = policies.profile_for("140522", 2026)
    for year in (2020, 2021, 2022, 2023, 2024, 2025):
        if policies.profile_for("140522", year) is None:
            policies.copy_profile(profile, year)
        plan = plans.create_plan(
            actor=officer,
            region_code="140522",
            data=plan_input(
                title=f"阳城县{year}年政府购买居家养老服务项目",
                year=year,
                service_start=date(year, 7, 1),
                service_end=date(year, 12, 31),
            ),
        )
        version = plans.submit_plan(plan, actor=officer, note=None, lock_version=None)
        plans.approve_plan(plan, actor=finance, version_number=version.number)
    for n in range(40):
        recipients.register_recipient(
            region_code="140522",
            data=recipient_input(
                id_number=id_number(date(1941, 1, 1), sequence=500 + n),
                name=f"测试{n:02d}",
            ),
        )


@pytest.mark.usefixtures("site")
def test_no_list_or_dashboard_page_makes_more_queries_for_more_data(app, make_user):
    from tests.conftest import Client

    make_user("sx-officer", region_code="140000")
    make_user("sx-finance", role="finance", region_code="140000")
    make_user("yc-officer")
    make_user("yc-finance", role="finance")
    clients = {}
    for user in USERS:
        clients[user] = Client(app)
        clients[user].login(user)
    before = _counts(app, clients)
    in_app(app, _grow)
    after = _counts(app, clients)
    officer = clients["sx-officer"]
    assert "阳城县2020年" in officer.get("/plans/?year=2020").get_data(as_text=True)
    assert "测试00" in officer.get("/recipients/?q=测试00").get_data(as_text=True)
    grown = {key: (before[key], after[key]) for key in before if after[key] > before[key]}
    assert not grown, grown
