"""Uploaded contract templates are filled in bounded in time and memory, in a child process.

The test configuration (tests/conftest.py) lowers the limits to 5 seconds and 256 MB.
"""

import io
import multiprocessing
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from procurement.contracts import services, templating
from procurement.contracts.models import Contract, ContractVersion
from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.demo.providers import load_demo_awards
from tests.contracts.test_contracts import template_with, text_of
from tests.test_security import zh

# The reviewer's template: nested loops of 9,000 (81 million passes).
NESTED = (
    "{% for a in 'x' * 9000 %}{% for b in 'x' * 9000 %}{{ provider.name }}{% endfor %}{% endfor %}"
)
# Only time: nothing is written, the passes never end.
SPINNING = "{% for a in 'x' * 9000 %}{% for b in 'x' * 9000 %}{% endfor %}{% endfor %}"
# Only memory: 9,000 pieces of 9,000 characters each, 160 MB of text at once.
SWELLING = "{% for a in 'x' * 9000 %}{{ 'y' * 9000 }}{{ provider.name }}{% endfor %}"
# Harmless on the sample data, 50 million characters on a real provider's name.
SWELLING_ON_REAL_NAMES = "{% for a in provider.name * 500 %}{{ provider.name * 600 }}{% endfor %}"


def refused(app, text: str, name: str = "县局模板") -> tuple[ValidationError, float]:
    started = time.monotonic()
    with pytest.raises(ValidationError) as caught:
        templating.check_template(template_with(text), name=name)
    return caught.value, time.monotonic() - started


def test_nested_loops_are_stopped_within_the_limit_at_upload(ctx):
    ctx.config["CONTRACT_RENDER_SECONDS"] = 1
    error, took = refused(ctx, NESTED)
    assert took < 4
    assert error.fields.keys() == {"file"}
    assert "县局模板" in error.message and "已被停止" in error.message
    assert multiprocessing.active_children() == []  # the child was killed


def test_a_template_that_runs_too_long_is_refused_naming_the_limit(ctx):
    ctx.config["CONTRACT_RENDER_SECONDS"] = 1
    error, took = refused(ctx, SPINNING)
    assert took < 4
    problem = zh(
        ctx,
        "Filling in the template “%(name)s” took longer than %(seconds)s seconds and was stopped.",
        name="县局模板",
        seconds="1",
    )
    assert error.message == zh(
        ctx, "%(problem)s Simplify its loops and upload it again.", problem=problem
    )
    assert error.message.startswith("填写模板“县局模板”超过1秒")


def test_a_template_that_needs_too_much_memory_is_refused(ctx):
    error, took = refused(ctx, SWELLING, name="大模板")
    assert took < 5
    assert error.fields.keys() == {"file"}
    assert error.message.startswith(
        zh(
            ctx,
            "Filling in the template “%(name)s” needed more than %(mb)s MB of memory and was "
            "stopped.",
            name="大模板",
            mb=256,
        )
    )
    assert "256" in error.message


def test_an_ordinary_template_still_renders_in_the_bounded_process(ctx):
    data = template_with("合同编号 {{ contract.number }} 乙方 {{ provider.name }}")
    assert templating.check_template(data, name="普通模板") == ["contract", "provider"]
    context = templating.sample_context()
    context["provider"]["name"] = "阳城县康乐居家养老服务中心"
    assert "乙方 阳城县康乐居家养老服务中心" in text_of(templating.render_uploaded(data, context))


def test_generation_from_an_uploaded_template_is_bounded_and_writes_nothing(
    app, ctx, world, monkeypatch
):
    """A template that passes the upload check on sample data but swells on a real name:
    the contract is not made, the message names the template and its version."""
    template = services.upload_template(
        region_code="140522",
        name="县局修订版",
        filename="v2.docx",
        actor=None,
        stream=io.BytesIO(template_with(SWELLING_ON_REAL_NAMES)),
    )
    assert template.version == 1
    monkeypatch.setattr(services, "generate_all", lambda plan, actor: [])
    load_demo_awards(world["officer"], world["plan"])
    db.session.commit()
    uploads = Path(app.config["UPLOAD_FOLDER"])
    blobs = sorted(p.name for p in uploads.rglob("*"))
    zone = world["plan"].zones[0]
    started = time.monotonic()
    with pytest.raises(Conflict) as caught:
        services.generate_contract(zone, actor=world["officer"])
    assert time.monotonic() - started < 5
    db.session.rollback()
    assert caught.value.code == "template_failed"
    assert caught.value.message.startswith("填写模板“县局修订版（第1版）”需要超过256 MB")
    assert "管理员" in caught.value.message
    assert db.session.scalar(select(func.count()).select_from(Contract)) == 0
    assert db.session.scalar(select(func.count()).select_from(ContractVersion)) == 0
    assert sorted(p.name for p in uploads.rglob("*")) == blobs


def test_a_render_does_not_run_the_main_script_again(tmp_path):
    """Under gunicorn the main module is gunicorn's script; multiprocessing would import it
    again in every child. The bounded children skip it: a script without a main guard
    renders, and its top runs once."""
    import subprocess
    import sys

    script = tmp_path / "serve.py"
    script.write_text(
        "import tempfile\n"
        "print('main module runs', flush=True)\n"
        "from procurement import create_app\n"
        "from procurement.contracts import templating\n"
        "app = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SECRET_KEY': 'x',\n"
        "                  'DATA_KEY': 'y', 'INSTANCE_PATH': tempfile.mkdtemp()})\n"
        "with app.app_context():\n"
        "    data = templating.default_template_bytes()\n"
        "    for _ in range(2):\n"
        "        rendered = templating.render_uploaded(data, templating.sample_context())\n"
        "print('rendered', rendered[:2], flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["main module runs", "rendered b'PK'"]


def test_a_hostile_upload_is_refused_on_the_page_and_nothing_is_kept(app, make_user, yangcheng):
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    from tests.conftest import Client
    from tests.test_security import changed_since, fingerprint, instance_files

    app.config["CONTRACT_RENDER_SECONDS"] = 1
    make_user("root", role="admin")
    client = Client(app)
    client.login("root")
    before, files = fingerprint(app), instance_files(app)
    upload = {
        "name": "循环模板",
        "file": FileStorage(io.BytesIO(template_with(NESTED)), "contract.docx"),
        "csrf_token": client.csrf("/contract-templates/"),
    }
    boundary, body = encode_multipart(MultiDict(upload))
    started = time.monotonic()
    response = client.http.post(
        "/contract-templates/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert time.monotonic() - started < 5
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "填写模板“循环模板”" in page and "已被停止" in page
    assert changed_since(app, before) == set()
    assert instance_files(app) == files
