"""Load test: the main pages of an officer and of finance, and the public site, served by
gunicorn on 127.0.0.1 over data scaled to a province, measured with wrk.

Issue targets: at 16 concurrent connections the officer's and finance's main pages answer
with p99 under 300 ms; public pages reach at least a quarter of the requests per second of
a bare Flask "hello world" served the same way in the same run.

Run: .venv/bin/python benchmarks/load.py [--folder DIR] [--seconds 5]
It needs wrk (apt-get install wrk). With --folder, the data built in DIR is kept and reused
by the next run with the same --folder; otherwise it is built in a temporary folder.

The data: the Yangcheng demo plan with its three signed contracts, a roster of 100,000
people and a month of 1,000,000 service records imported through the product's importer;
a second county with 100 zones (one township each) awarded to 100 of 200 qualified
providers, its contracts generated and published with their award notices. The officer and
finance users measured work at the province level (山西省), so they see all of it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import service_records  # noqa: E402 - the roster and record builder of the import benchmark

COUNTY = "149901"
ZONES = 100
PROVIDERS = 200
PASSWORD = "Load-test-2026"
CONNECTIONS = 16
TIMEOUT_SECONDS = 2  # an answer later than this counts as a failure
WORKERS = 4
HELLO = """
from flask import Flask
app = Flask(__name__)

@app.route("/")
def hello():
    return "Hello, World!"
"""


def build(folder: Path, people: int, records: int) -> None:
    service_records.build(folder, people)
    service_records.write_files(folder, records, 10)
    print(f"  importing {records:,} service records ...", flush=True)
    imported = service_records.measured(folder, "csv")
    print(f"  imported {imported['accepted']:,} in {imported['seconds']:.1f} s", flush=True)
    (folder / "records.csv").unlink()

    from contracts import build_world, qualified_provider
    from sqlalchemy import select

    from procurement.accounts import services as accounts
    from procurement.awards.models import Award
    from procurement.contracts import services as contracts
    from procurement.core import clock
    from procurement.core.audit import Actor, set_actor
    from procurement.core.db import db
    from procurement.demo.care import sign_demo_contracts
    from procurement.plans.models import PurchasePlan
    from procurement.public import services as public

    app = service_records.app_for(folder)
    with app.app_context():
        set_actor(Actor(None, "benchmark", "cli"))
        clock.pin(datetime(2026, 6, 26, 2, 0, tzinfo=clock.CHINA).astimezone(clock.UTC))
        plan, officer = build_world(COUNTY, ZONES, providers_count=ZONES)
        plan = db.session.get(PurchasePlan, plan.id)
        for n in range(ZONES, PROVIDERS):
            qualified_provider(COUNTY, n, plan, officer)
        made = contracts.generate_all(plan, actor=officer)
        sign_demo_contracts(officer, plan, date(2026, 6, 26))
        for award in db.session.scalars(select(Award).where(Award.plan_id == plan.id)):
            public.publish_award(award, actor=officer)
        for contract in made:
            public.publish_contract(contract, actor=officer)
        for role in ("officer", "finance"):
            accounts.create_user(
                username=f"province_{role}",
                display_name=f"省级{role}",
                role=role,
                region_code="140000",
                password=PASSWORD,
            )
        db.session.commit()
        counts = {
            "plans": len(db.session.scalars(select(PurchasePlan)).all()),
            "contracts": len(made) + 3,
        }
    (folder / "built.json").write_text(json.dumps({"people": people, "records": records, **counts}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving ``app`` on a free port of 127.0.0.1, the same way for every app."""

    def __init__(self, app: str, folder: Path, env: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config", str(ROOT / "gunicorn.conf.py"),
            "--workers", str(WORKERS), "--bind", f"127.0.0.1:{self.port}",
            "--log-level", "warning", app,
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn
            command, cwd=folder, env={**os.environ, **(env or {})}, start_new_session=True
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)  # let every worker finish importing the app

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def login(url: str, username: str) -> str:
    """The session cookie of a real login through the form (CSRF token included)."""
    jar = CookieJar()
    opener = build_opener(HTTPCookieProcessor(jar))
    page = opener.open(f"{url}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urlencode({"csrf_token": token, "username": username, "password": PASSWORD})
    opener.open(f"{url}/login", body.encode()).read()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookies


def wrk(url: str, seconds: int, cookie: str | None = None) -> dict:
    """wrk's figures for one URL: requests per second and latency percentiles (ms)."""
    command = [
        "wrk",
        "-t",
        str(min(2, CONNECTIONS)),
        "-c",
        str(CONNECTIONS),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{TIMEOUT_SECONDS}s",
        "--latency",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for percentile in ("50", "99"):
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", out).groups()
        figures[f"p{percentile}"] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    statuses = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    # timeouts (no answer within TIMEOUT_SECONDS) and broken connections are failures
    # too: wrk leaves them out of its rates and percentiles
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    figures["errors"] = (int(statuses.group(1)) if statuses else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    figures["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    if figures["requests"] == 0:
        figures["errors"] = max(figures["errors"], 1)  # nothing answered at all
    return figures


def pages(folder: Path) -> dict[str, list[tuple[str, str]]]:
    """The main pages per user, with the ids of this data's records."""
    from sqlalchemy import func, select

    from procurement.contracts.models import Contract
    from procurement.core.db import db
    from procurement.plans.models import PurchasePlan
    from procurement.providers.models import Provider
    from procurement.public.models import Publication, PublicationKind
    from procurement.recipients.models import Recipient
    from procurement.settlements.models import RecordImport, Settlement

    app = service_records.app_for(folder)
    with app.app_context():
        big_plan = db.session.scalar(select(PurchasePlan).where(PurchasePlan.region_code == COUNTY))
        yangcheng = db.session.scalar(
            select(PurchasePlan).where(PurchasePlan.region_code == "140522")
        )
        statement = db.session.scalar(select(Settlement).order_by(Settlement.records.desc()))
        batch = db.session.scalar(select(RecordImport).order_by(RecordImport.rows.desc()))
        contract = db.session.scalar(select(Contract).where(Contract.region_code == "140522"))
        provider = db.session.scalar(select(Provider).order_by(Provider.id))
        recipient = db.session.scalar(select(func.max(Recipient.id)))
        month = statement.month.strftime("%Y-%m")
        published = db.session.scalar(
            select(Publication.object_id).where(Publication.kind == PublicationKind.CONTRACT)
        )
    officer = [
        ("dashboard", "/"),
        ("plans", "/plans/"),
        ("plan with 100 zones", f"/plans/{big_plan.id}"),
        ("selection of 100 zones", f"/plans/{big_plan.id}/selection/"),
        ("providers", "/providers/"),
        ("provider", f"/providers/{provider.id}"),
        ("contracts", "/contracts/"),
        ("contract", f"/contracts/{contract.id}"),
        ("recipients (100,000)", "/recipients/"),
        ("recipient", f"/recipients/{recipient}"),
        ("monthly changes", "/recipients/changes"),
        ("statements", "/settlements/"),
        ("statement (a third of a million records)", f"/settlements/{statement.id}"),
        ("record imports", "/settlements/imports"),
        ("import report (1,000,000 rows)", f"/settlements/imports/{batch.id}"),
        ("flags", "/settlements/flags"),
        ("flagged records", f"/settlements/flags/{contract.provider_id}/{month}"),
        ("supervision", "/supervision/"),
        ("performance", "/performance/"),
    ]
    finance = [
        ("dashboard", "/"),
        ("plans", "/plans/"),
        ("plan", f"/plans/{yangcheng.id}"),
        ("statements", "/settlements/"),
        ("statement", f"/settlements/{statement.id}"),
    ]
    public = [
        ("public index", "/public/"),
        ("public plan", f"/public/plans/{big_plan.id}"),
        ("public contract", f"/public/contracts/{published}"),
        ("public search", "/public/?q=%E6%B5%8B%E8%AF%95"),
    ]
    return {"province_officer": officer, "province_finance": finance, "public": public}


def render_costs(folder: Path, targets: dict) -> dict[tuple[str, str], float]:
    """What each page costs to render: the median of five renders in this process."""
    app = service_records.app_for(folder, WTF_CSRF_ENABLED=False)
    costs = {}
    for user, paths in targets.items():
        if user == "public":
            continue
        client = app.test_client()
        client.post("/login", data={"username": user, "password": PASSWORD})
        for label, path in paths:
            client.get(path)  # the process's first view compiles templates and statements
            times = []
            for _ in range(5):
                began = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - began) * 1000)
            costs[user, label] = sorted(times)[2]
    return costs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--only", help="measure only the pages whose label contains this")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "built.json").exists():
        began = time.perf_counter()
        print("building the data ...", flush=True)
        build(folder, args.people, args.records)
        print(f"built in {time.perf_counter() - began:.0f} s", flush=True)
    print(f"data: {json.loads((folder / 'built.json').read_text())}")
    targets = pages(folder)
    if args.only:
        targets = {
            user: [(label, path) for label, path in paths if args.only in label]
            for user, paths in targets.items()
        }
    rendering = render_costs(folder, targets)

    (folder / "hello.py").write_text(HELLO)
    hello = Server("hello:app", folder)
    try:
        wrk(hello.url + "/", 1)  # warm up
        bare = wrk(hello.url + "/", args.seconds * 2)
    finally:
        hello.stop()
    print(f"\nhello world: {bare['rps']:.0f} requests/s, p99 {bare['p99']:.1f} ms "
          f"({WORKERS} gunicorn workers, wrk {CONNECTIONS} connections)")  # fmt: skip

    env = {
        "PROCUREMENT_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "PROCUREMENT_SECRET_KEY": "benchmark",
        "PROCUREMENT_DATA_KEY": "benchmark-data-key",
        "PROCUREMENT_UPLOAD_FOLDER": str(folder / "uploads"),
    }
    server = Server("procurement:create_app()", ROOT, env)
    worst = {}
    try:
        for user, paths in targets.items():
            cookie = login(server.url, user) if user != "public" else None
            print(f"\n{user}:")
            print(f"  {'page':44} {'render ms':>9} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
            for label, path in paths:
                wrk(server.url + path, 1, cookie)  # warm up
                figures = wrk(server.url + path, args.seconds, cookie)
                flag = f" {figures['errors']} FAILED" if figures["errors"] else ""
                render = rendering.get((user, label))
                render = f"{render:9.1f}" if render is not None else " " * 9
                print(f"  {label:44} {render} {figures['rps']:7.1f} {figures['p50']:8.1f} "
                      f"{figures['p99']:8.1f}{flag}")  # fmt: skip
                worst.setdefault(user, []).append(figures)
    finally:
        server.stop()

    if args.only:
        return
    failed = sum(f["errors"] for user in worst for f in worst[user])
    print(f"\nfailed requests (errors, timeouts over {TIMEOUT_SECONDS} s): {failed}")
    p99 = max(f["p99"] for user in ("province_officer", "province_finance") for f in worst[user])
    public_rps = min(f["rps"] for f in worst["public"])
    print("\n(render ms: one page's cost, median of 5 in one process, no concurrency)")
    ratio = public_rps / bare["rps"]
    met = p99 < 300 and not failed
    print(f"\nworst p99 of the officer's and finance's pages: {p99:.0f} ms (target < 300, "
          f"nothing failed) {'OK' if met else 'NOT MET'}")  # fmt: skip
    print(f"slowest public page: {public_rps:.0f} requests/s = {ratio:.2f} of hello world "
          f"(target >= 0.25) {'OK' if ratio >= 0.25 else 'UNDER TARGET'}")  # fmt: skip
    if not args.folder:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
