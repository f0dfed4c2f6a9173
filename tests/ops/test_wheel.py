"""A built wheel carries everything the application needs: it serves pages away from a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SERVE_LOGIN_PAGE = """
import sys
import procurement
from procurement import create_app
from procurement.contracts.templating import DEFAULT_TEMPLATE
from procurement.performance.certificate import CERTIFICATE_TEMPLATE

assert procurement.__file__.startswith(sys.argv[1]), procurement.__file__
assert DEFAULT_TEMPLATE.is_file() and CERTIFICATE_TEMPLATE.is_file()
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "wheel-test"})
assert app.instance_path == sys.argv[2], app.instance_path
client = app.test_client()
login = client.get("/login")
assert login.status_code == 200, login.status_code
assert "登录" in login.get_data(as_text=True)
assert client.get("/static/css/app.css").status_code == 200
print("served")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = folder.glob("procurement-*.whl")
    return built


def test_wheel_carries_templates_static_files_and_contract_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "procurement/templates/base.html",
        "procurement/templates/accounts/login.html",
        "procurement/static/css/app.css",
        "procurement/contract_templates/home_care_contract.docx",
        "procurement/contract_templates/acceptance_certificate.docx",
        "procurement/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
        "procurement/migrations/env.py",
    ):
        assert needed in names, needed


def test_installed_wheel_serves_the_login_page_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            wheel,
        ],
        check=True,
        capture_output=True,
    )
    instance = tmp_path / "instance"
    result = subprocess.run(
        [sys.executable, "-c", SERVE_LOGIN_PAGE, str(target), str(instance)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PROCUREMENT_INSTANCE_PATH": str(instance)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "served" in result.stdout
