"""Demonstration care data for Yangcheng: signed contracts, a roster of synthetic
recipients (valid synthetic ID numbers), and two months of platform service records
with some of each flag, imported through the real importer."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from io import BytesIO

from sqlalchemy import func, select

from procurement.accounts.models import User
from procurement.contracts import services as contracts
from procurement.contracts.models import Contract, ContractStatus
from procurement.core.db import db
from procurement.core.identifiers import id_check_character
from procurement.demo.providers import _pdf
from procurement.plans.models import PurchasePlan
from procurement.policies.services import profile_for
from procurement.recipients.entitlement import eligibility
from procurement.recipients.identity import sealed
from procurement.recipients.models import (
    Application,
    ApplicationStatus,
    ExitReason,
    Recipient,
)
from procurement.settlements import importer, reading
from procurement.settlements.models import RecordImport

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "秀英桂兰玉兰淑珍凤英建国建华志强德胜福田金花春梅海燕文明永红保平立新长生来顺"
VILLAGES = ("东关村", "西街社区", "南庄村", "北坡村", "河东村", "上庄村", "下河村", "新村")
DEMO_MONTHS = (date(2026, 7, 1), date(2026, 8, 1))
DEMO_CATEGORIES = (("extreme_poverty", 0.3), ("minimum_living", 0.7))


def synthetic_id_number(rng: random.Random, birth: date, female: bool, area="140522") -> str:
    """A well-formed number (right check character); the 17th digit gives the sex."""
    sex_digit = rng.randrange(0, 10, 2) if female else rng.randrange(1, 10, 2)
    first17 = f"{area}{birth:%Y%m%d}{rng.randrange(0, 100):02d}{sex_digit}"
    return first17 + id_check_character(first17)


# Said only when signed out of order (contracts.services.signing_exceptions): the demo
# year publishes its notices first and signs before the service, so never there.
OUT_OF_ORDER_REASON = "中标公告发布前，经局务会研究同意按采购文件约定先行签订。"


def sign_demo_contracts(officer: User, plan: PurchasePlan, signed_on: date) -> int:
    """Sign and start the plan's draft contracts (the scan is a stand-in PDF); a signing
    out of order states its reason, as the officer must."""
    signed = 0
    for contract in db.session.scalars(select(Contract).where(Contract.plan_id == plan.id)):
        if contract.status == ContractStatus.DRAFT:
            out_of_order = contracts.signing_exceptions(contract, signed_on)
            contracts.sign_contract(
                contract,
                signed_on=signed_on,
                filename="signed.pdf",
                stream=BytesIO(_pdf(f"signed {contract.number}")),
                actor=officer,
                signing_reason=OUT_OF_ORDER_REASON if out_of_order else None,
            )
            contracts.start_contract(contract)
            signed += 1
    return signed


def load_demo_recipients(officer: User, count: int = 600, seed: int = 2026) -> int:
    """A roster of ``count`` synthetic elders across Yangcheng's townships (idempotent)."""
    if db.session.scalar(select(func.count(Recipient.id)).where(Recipient.region_code == "140522")):
        return 0
    from procurement.regions.services import get_region, townships_of

    rng = random.Random(seed)
    profile = profile_for("140522", 2026)
    townships = [t.code for t in townships_of(get_region("140522"))]
    made: list[tuple[Recipient, bool]] = []
    for index in range(count):
        category = rng.choices(
            [c for c, _w in DEMO_CATEGORIES], weights=[w for _c, w in DEMO_CATEGORIES]
        )[0]
        age = rng.randint(60, 79) if category != "extreme_poverty" else rng.randint(60, 92)
        if category == "minimum_living" and rng.random() < 0.4:
            age = rng.randint(80, 95)
        birth = date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
        female = rng.random() < 0.55
        number = synthetic_id_number(rng, birth, female)
        level = rng.choice((0, 1, 1, 2, 2, 3, 4))
        recipient = Recipient(
            **sealed(number),
            region_code="140522",
            name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            sex="female" if female else "male",
            birth_date=birth,
            township_code=townships[index % len(townships)],
            village=rng.choice(VILLAGES),
            address="",
            phone=f"139{rng.randrange(10**7, 10**8)}",
            category=category,
            capability_level=level,
            assessed_on=date(2026, 5, rng.randint(1, 28)),
            assessor="阳城县第三方评估机构",
            long_term_care=rng.random() < 0.03,
            registered_in_county=True,
            lives_in_county=True,
        )
        made.append((recipient, eligibility(recipient, profile, date(2026, 7, 1)).eligible))
    db.session.add_all(recipient for recipient, _eligible in made)
    db.session.flush()  # one insert of the roster: the applications need its ids
    for index, (recipient, eligible) in enumerate(made):
        _demo_application(recipient, index, officer, eligible)
    db.session.flush()
    return len(made)


def _demo_application(recipient: Recipient, index: int, officer: User, eligible: bool) -> None:
    """Most applied in May and were approved in June (service from July); some later,
    some still open or rejected; a few have left."""
    applied = date(2026, 5, 6) + timedelta(days=index % 20)
    application = Application(
        region_code=recipient.region_code,
        recipient_id=recipient.id,
        applied_on=applied,
        village_checked_on=applied + timedelta(days=7),
        village_passed=True,
        township_reviewed_on=applied + timedelta(days=12),
        township_passed=True,
    )
    if index % 25 == 24:  # still waiting for the village (some overdue)
        application.applied_on = date(2026, 11, 2) + timedelta(days=index % 5)
        application.village_checked_on = application.township_reviewed_on = None
        application.village_passed = application.township_passed = None
        application.status = ApplicationStatus.AWAITING_VILLAGE
    elif not eligible or index % 25 == 23:
        application.status = ApplicationStatus.REJECTED
        application.decided_on = applied + timedelta(days=20)
        application.decision_reason = (
            "不符合本县服务对象条件（低保家庭60-79周岁老年人须经评估为失能）。"
            if not eligible
            else "经核查，申请人家庭不属于低保家庭。"
        )
        application.decided_by_id = officer.id
    else:
        decided = applied + timedelta(days=20 if index % 10 else 60)  # a tenth in July
        application.status = ApplicationStatus.APPROVED
        application.decided_on = decided
        application.decided_by_id = officer.id
        recipient.service_start = date(
            decided.year + decided.month // 12, decided.month % 12 + 1, 1
        )
    db.session.add(application)
    if recipient.service_start and index % 40 == 5:
        recipient.exit_reason, recipient.exit_date = ExitReason.DEATH, date(2026, 8, 12)
        recipient.exit_note = "村委会报告，8月12日去世。"
    elif recipient.service_start and index % 40 == 6:
        recipient.exit_reason, recipient.exit_date = ExitReason.MOVED_AWAY, date(2026, 7, 20)
        recipient.exit_note = "随子女迁往晋城市区居住。"


def demo_records_csv(plan: PurchasePlan, month: date, seed: int = 7) -> bytes:
    """The platform's export for one month: ordinary visits and a few of each flag."""
    rng = random.Random(seed + month.month)
    contracts_by_township = {}
    for contract in db.session.scalars(select(Contract).where(Contract.plan_id == plan.id)):
        for code in contract.township_codes:
            contracts_by_township[code] = contract
    items = [link.service_item.code for link in plan.items]
    people = db.session.scalars(
        select(Recipient)
        .where(Recipient.region_code == plan.region_code, Recipient.service_start.is_not(None))
        .order_by(Recipient.id)
    ).all()
    from procurement.recipients.identity import decrypt

    rows = []
    serial = 0

    def add(person_number, contract, worker, start, minutes, township=None, item=None):
        nonlocal serial
        serial += 1
        rows.append(
            [
                f"{month:%Y%m}-{serial:05d}",
                person_number,
                contract.provider.credit_code,
                worker,
                item or rng.choice(items),
                start.strftime("%Y-%m-%d %H:%M:%S"),
                (start + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S"),
                township or person.township_code,
            ]
        )

    for n, person in enumerate(people):
        contract = contracts_by_township.get(person.township_code)
        if contract is None:
            continue
        number = decrypt(person.id_cipher)
        worker = f"W{contract.provider_id:02d}{n // 3:03d}"  # each worker serves three people
        day = 2 + (n // 3) % 6
        visits = 3 if n % 9 else 4  # every ninth person gets more than 4 hours
        for v in range(visits):
            start = datetime(month.year, month.month, day + 7 * v, 8 + (n % 3) * 3, 0)
            add(number, contract, worker, start, 80)
        if n == 3:  # the same worker in another home at the same time
            add(number, contract, worker, datetime(month.year, month.month, 27, 9, 0), 60)
            other = people[n + 1]
            moment = datetime(month.year, month.month, 27, 9, 30)
            add(decrypt(other.id_cipher), contract, worker, moment, 60, other.township_code)
        if n == 10:  # a duplicate of the first visit
            start = datetime(month.year, month.month, day, 8 + (n % 3) * 3, 0)
            add(number, contract, worker, start, 80)
        if n == 12:
            add(number, contract, worker, datetime(month.year, month.month, 26, 10, 0), 10)
        if n == 14:
            add(number, contract, worker, datetime(month.year, month.month, 26, 7, 0), 540)
        if n == 16:
            add(number, contract, worker, datetime(month.year, month.month, 28, 8, 0), 240)
        if n == 18:  # the platform wrote a township of another zone for an elder of this one
            foreign = next(c for c in contracts_by_township if c not in contract.township_codes)
            add(number, contract, worker, datetime(month.year, month.month, 29, 14, 0), 60, foreign)
        if n == 20:  # another zone's provider bills this elder, writing its own township
            other = next(c for c in contracts_by_township.values() if c.id != contract.id)
            moment = datetime(month.year, month.month, 29, 16, 0)
            stranger = f"W{other.provider_id:02d}999"
            add(number, other, stranger, moment, 60, other.township_codes[0])
        if person.exit_reason == ExitReason.DEATH and person.exit_date.month == month.month:
            add(number, contract, worker, datetime(month.year, month.month, 25, 9, 0), 60)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(reading.COLUMNS))
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def load_demo_records(officer: User, plan: PurchasePlan, months=DEMO_MONTHS) -> int:
    """Import the demo months through the real importer (idempotent: by the file's hash)."""
    imported = 0
    for month in months:
        data = demo_records_csv(plan, month)
        digest = reading.file_digest(data)
        if db.session.scalar(select(RecordImport.id).where(RecordImport.sha256 == digest)):
            continue
        frame = reading.read_csv(data)
        batch = importer.import_records(
            frame,
            source="csv",
            filename=f"智慧养老平台服务记录-{month:%Y%m}.csv",
            sha256=digest,
            region_code=plan.region_code,
            actor=officer,
        )
        imported += batch.accepted
    return imported
