"""Generating the contracts of 100 zones against rendering the template 100 times with bare
docxtpl, side by side in one run (issue: at most 1.5 times); then the plan's contracts with
their PDF copies made the way an officer makes them, as two jobs (generate, then the zip
with PDFs), in documents per second against bare docxtpl plus one LibreOffice conversion of
the same hundred files in one start.

Run: .venv/bin/python benchmarks/contracts.py
It builds its own data in a temporary SQLite database: a county with 100 townships, an
approved plan with 100 zones, one qualified provider awarded every zone.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docxtpl import DocxTemplate
from flask_migrate import upgrade

from procurement import create_app
from procurement.accounts import services as accounts
from procurement.awards import services as awards
from procurement.contracts import services as contracts
from procurement.contracts import templating
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.core.identifiers import credit_check_character
from procurement.demo.providers import _clean_history, _pdf
from procurement.plans import services as plans
from procurement.plans.models import ServiceItem
from procurement.policies.presets import PRESETS
from procurement.policies.services import create_profile
from procurement.providers import services as providers
from procurement.regions.models import Region, RegionLevel
from procurement.regions.services import load_reference_regions

ZONES = 100
COUNTY = "149901"


def build_world(county: str = COUNTY, zones: int = ZONES, providers_count: int = 1):
    """A county of ``zones`` townships, an approved plan with one zone each, and
    ``providers_count`` qualified providers awarded the zones in turn."""
    load_reference_regions()
    prefecture = county[:4] + "00"
    if db.session.get(Region, prefecture) is None:
        db.session.add(
            Region(
                code=prefecture, name="测试市", level=RegionLevel.PREFECTURE, parent_code="140000"
            )
        )
    db.session.add(
        Region(code=county, name="测试县", level=RegionLevel.COUNTY, parent_code=prefecture)
    )
    db.session.flush()
    for n in range(zones):
        db.session.add(
            Region(
                code=f"{county}{n + 100:03d}",
                name=f"测试{n + 1}镇",
                level=RegionLevel.TOWNSHIP,
                parent_code=county,
            )
        )
    profile = create_profile(region_code=county, year=2026, values=PRESETS[0]["values"])
    db.session.add(
        ServiceItem(
            region_code=county,
            policy_profile_id=profile.id,
            year=2026,
            code="life-meal",
            category="生活照料服务",
            name="助餐服务",
            description="上门做饭或送餐。",
        )
    )
    db.session.flush()
    officer = accounts.create_user(
        username=f"officer{county}",
        display_name="经办人",
        role="officer",
        region_code=county,
        password="Bench-2026",
    )
    finance = accounts.create_user(
        username=f"finance{county}",
        display_name="财政",
        role="finance",
        region_code=county,
        password="Bench-2026",
    )
    plan = plans.create_plan(
        actor=officer,
        region_code=county,
        data=plans.PlanInput(
            title="基准测试计划",
            year=2026,
            purchase_method="open_tender",
            service_start=date(2026, 7, 1),
            service_end=date(2026, 12, 31),
            zones=[
                plans.ZoneInput(f"第{n + 1}片区", [f"{county}{n + 100:03d}"], 100)
                for n in range(zones)
            ],
            item_codes=["life-meal"],
        ),
    )
    plans.submit_plan(plan, actor=officer, note=None, lock_version=None)
    plans.approve_plan(plan, actor=finance, version_number=1)
    registered = [qualified_provider(county, n, plan, officer) for n in range(providers_count)]
    for n, zone in enumerate(plan.zones):
        provider = registered[n % len(registered)]
        awards.save_bid(zone, provider, unit_price="33.00", technical_score="90")
        awards.award_zone(zone, provider, actor=officer, rationale="基准")
    db.session.commit()
    return plan, officer


def qualified_provider(county: str, n: int, plan, officer):
    """A provider of ``county`` with a clean record, checked for ``plan``."""
    first17 = f"9114{county[2:6]}MA{n:07d}"
    provider = providers.register_provider(
        region_code=county,
        data=providers.ProviderInput(
            name=f"基准养老服务有限公司{n + 1}",
            credit_code=first17 + credit_check_character(first17),
            registration_authority="market_regulation",
            registration_date="2016-08-25",
        ),
    )
    providers.store_document(
        provider,
        actor=officer,
        kind="declaration",
        title="声明",
        filename="d.pdf",
        stream=BytesIO(_pdf(f"d{n}")),
    )
    providers.add_qualification(provider, {"name": "营业执照", "issued_on": "2016-08-25"})
    for kind, values in _clean_history(False):
        providers.add_record(provider, kind, values)
    providers.add_price(provider, {"service": "助洁", "unit": "小时", "price": "35"})
    providers.run_check(provider, actor=officer, as_of=date(2026, 6, 15), plan=plan)
    return provider


def bare_docxtpl(template_bytes: bytes, context: dict, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        template = DocxTemplate(BytesIO(template_bytes))
        template.render(context, templating.environment(), autoescape=True)
        template.save(BytesIO())
    return time.perf_counter() - started


def bare_libreoffice(documents: list[bytes]) -> float:
    """One LibreOffice start converting every document, as a person would at the shell."""
    converter = contracts.pdf_converter()
    assert converter is not None
    with tempfile.TemporaryDirectory() as folder:
        sources = [Path(folder) / f"{n:05d}.docx" for n in range(len(documents))]
        for source, data in zip(sources, documents, strict=True):
            source.write_bytes(data)
        profile = Path(folder) / "profile"
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own files
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
        )
        elapsed = time.perf_counter() - started
        assert all(source.with_suffix(".pdf").exists() for source in sources)
    return elapsed


def as_jobs(plan, officer) -> tuple[float, float, list[tuple]]:
    """The plan's contracts generated by one job and zipped with PDFs by another, through
    the job runner (queued and run at once: JOBS_IMMEDIATE), with the progress reported."""
    from procurement.jobs import queue, runner
    from procurement.jobs.models import Job, JobStatus

    reported: list[tuple] = []
    report = queue.JobQueue.report

    def keep(self, job_id, stage, done, total):
        reported.append((stage, done, total))
        report(self, job_id, stage, done, total)

    queue.JobQueue.report = keep  # type: ignore[method-assign]
    seconds = []
    try:
        for kind in ("contracts.generate", "contracts.archive"):
            started = time.perf_counter()
            job = runner.submit(
                kind,
                f"{kind}:{plan.id}",
                {"plan_id": plan.id},
                user=officer,
                region_code=plan.region_code,
            )
            job = db.session.get(Job, job.id)
            assert job.status == JobStatus.DONE, (kind, job.status, job.error)
            seconds.append(time.perf_counter() - started)
    finally:
        queue.JobQueue.report = report  # type: ignore[method-assign]
    return seconds[0], seconds[1], reported


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="contracts-bench-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "INSTANCE_PATH": str(folder),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "JOBS_IMMEDIATE": True,
        }
    )
    with app.app_context():
        upgrade()
        set_actor(Actor(None, "benchmark", "cli"))
        plan, officer = build_world()
        template_bytes = templating.default_template_bytes()
        # One contract made first gives the real context for the bare renders.
        first = contracts.generate_contract(plan.zones[0], actor=officer)
        sample = contracts.context(first, 1)
        db.session.commit()
        ours, bare = [], []
        for _round in range(3):
            bare.append(bare_docxtpl(template_bytes, sample, ZONES))
            started = time.perf_counter()
            made = contracts.generate_all(plan, actor=officer)
            db.session.commit()
            ours.append(time.perf_counter() - started)
            assert len(made) == ZONES - 1, len(made)
            # Undo, so that the next round generates again.
            from procurement.contracts.models import ContractVersion

            for contract in made:
                db.session.query(ContractVersion).filter_by(contract_id=contract.id).delete()
                db.session.delete(contract)
            db.session.commit()
        ours_per = statistics.median(ours) / (ZONES - 1)
        bare_per = statistics.median(bare) / ZONES
        print(f"contracts generated per round: {ZONES - 1} (plus 1 made before timing)")
        print(
            f"generate_all, median of 3: {statistics.median(ours):.2f} s "
            f"= {ours_per * 1000:.1f} ms per contract"
        )
        print(
            f"bare docxtpl, median of 3: {statistics.median(bare):.2f} s "
            f"= {bare_per * 1000:.1f} ms per render"
        )
        print(f"ratio: {ours_per / bare_per:.2f} (target at most 1.5)")

        if contracts.pdf_converter() is None:
            print("LibreOffice is not installed: no PDF figures")
            return
        generating, zipping, reported = as_jobs(plan, officer)
        made = contracts.contracts_of(plan)
        documents = [contracts.document_bytes(c) for c in made]
        converting = bare_libreoffice(documents)
        rendering = bare_docxtpl(template_bytes, sample, len(made))
        ours_total, bare_total = generating + zipping, rendering + converting
        pdf_steps = [step for step in reported if step[0] == "pdf"]
        print(f"\n{len(made)} contracts with their PDF copies, as an officer makes them:")
        print(
            f"  job 'generate': {generating:.2f} s; job 'zip with PDFs': {zipping:.2f} s "
            f"(progress reported {len(reported)} times, PDFs at {[s[1] for s in pdf_steps]})"
        )
        print(
            f"  ours: {ours_total:.2f} s = {len(made) / ours_total:.1f} documents/s "
            f"(a .docx and its PDF)"
        )
        print(
            f"  bare: docxtpl {rendering:.2f} s + one LibreOffice start for all "
            f"{converting:.2f} s = {bare_total:.2f} s = {len(made) / bare_total:.1f} documents/s"
        )
        print(f"  ratio: {ours_total / bare_total:.2f}")


if __name__ == "__main__":
    main()
