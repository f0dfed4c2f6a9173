"""run_action: one service call per request, committed or rolled back, and said so."""

from flask import get_flashed_messages

from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.core.errors import ValidationError
from procurement.core.forms import run_action
from procurement.regions.models import Region


def _region_name(code="140522"):
    return db.session.get(Region, code).name


def test_a_done_action_is_committed_and_its_success_told(app):
    with app.test_request_context("/"):
        set_actor(Actor(None, "test", "system"))

        def rename():
            db.session.get(Region, "140522").name = "改名县"
            return "改名县"

        done = run_action(rename, success=lambda name: f"{name}已保存")
        assert done.ok and done.result == "改名县"
        assert get_flashed_messages(with_categories=True) == [("success", "改名县已保存")]
        db.session.expire_all()
        assert _region_name() == "改名县"


def test_a_refusal_is_rolled_back_and_each_message_told_once(app):
    with app.test_request_context("/"):
        set_actor(Actor(None, "test", "system"))
        before = _region_name()

        def refuse():
            db.session.get(Region, "140522").name = "半途县"
            raise ValidationError("名称不对", fields={"name": ["名称不对"], "code": ["代码不对"]})

        done = run_action(refuse, success="不应出现")
        assert not done.ok and done.error.fields["code"] == ["代码不对"]
        assert get_flashed_messages(with_categories=True) == [
            ("error", "名称不对"),
            ("error", "代码不对"),
        ]
        assert _region_name() == before


def test_a_refusal_without_fields_is_told_once(app):
    with app.test_request_context("/"):
        done = run_action(lambda: (_ for _ in ()).throw(ValidationError("不行")))
        assert not done.ok
        assert get_flashed_messages() == ["不行"]


def test_a_refusal_the_caller_shows_itself_is_not_flashed(app):
    with app.test_request_context("/"):
        done = run_action(
            lambda: (_ for _ in ()).throw(ValidationError("不行")), show_refusal=False
        )
        assert done.error.message == "不行" and get_flashed_messages() == []
