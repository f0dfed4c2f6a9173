"""A live server and a real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from procurement import create_app
from procurement.core.db import db
from procurement.jobs.queue import job_queue
from tests.conftest import BASE_CONFIG

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _chromium() -> str | None:
    explicit = os.environ.get("PROCUREMENT_CHROMIUM")
    if explicit:
        return explicit
    return next((path for name in CHROMIUM_CANDIDATES if (path := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chromium_path():
    path = _chromium()
    if path is None:
        if os.environ.get("PROCUREMENT_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (PROCUREMENT_REQUIRE_BROWSER) but was not found")
        pytest.skip("no Chromium on this machine: apt-get install chromium fonts-noto-cjk")
    return path


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@dataclass
class QueuedServer:
    url: str
    release: Callable[[], None]  # let the held job's work begin


@pytest.fixture
def queued_server(app, monkeypatch):
    """Start the app as deployed by default: jobs on the embedded SQLite queue, run by a
    worker thread of the web process. ``queued_server(module, name)`` holds the job's work
    (``module.name``) until the test calls ``release()`` (or 30 s pass), so that its page
    is seen waiting or running however busy the machine."""
    started = []

    def start(module, name: str) -> QueuedServer:
        work = getattr(module, name)
        released = threading.Event()

        def held(*args, **kwargs):
            released.wait(30)
            return work(*args, **kwargs)

        monkeypatch.setattr(module, name, held)
        served = create_app(
            {
                **BASE_CONFIG,
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "INSTANCE_PATH": app.instance_path,
                "JOBS_IMMEDIATE": False,
                "JOBS_BACKEND": "sqlite",
                "JOBS_EMBEDDED_WORKERS": 1,
            }
        )
        server = make_server("127.0.0.1", 0, served, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((served, server, thread, released))
        return QueuedServer(f"http://127.0.0.1:{server.server_port}", released.set)

    yield start
    for served, server, thread, released in started:
        released.set()
        server.shutdown()
        thread.join(5)
        with served.app_context():
            job_queue().stop()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request, tmp_path):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        artifacts = os.environ.get("PROCUREMENT_TEST_ARTIFACTS", "test-artifacts")
        os.makedirs(artifacts, exist_ok=True)
        page.screenshot(path=os.path.join(artifacts, f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
