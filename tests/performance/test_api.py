"""Acceptance and evaluation through the JSON API: the round trip, refusals by role and
rule, and region scoping."""

from __future__ import annotations

import base64
import io

import pytest
from openpyxl import Workbook

from tests.performance.conftest import TEAM
from tests.performance.test_acceptance import docx_text
from tests.settlements.conftest import at

STAGE = {
    "final": False,
    "period_start": "2026-07-01",
    "period_end": "2026-08-31",
    "accepted_on": "2026-09-03",
    "findings": [
        {
            "kind": "inspection",
            "date": "2026-08-20",
            "description": "查阅服务记录30份。",
            "result": "记录完整",
        }
    ],
    "recipients_invited": 10,
    "recipients_answered": 8,
    "recipients_satisfied": 8,
    "opinion_summary": "满意。",
    "conclusion": "pass",
    "conclusion_text": "合格。",
    "explanation": "首两个月为入户评估和建档期，服务量逐月增加。",
    "team": TEAM,
}


@pytest.fixture
def tokens(site, make_token):
    return {
        name: make_token(name)
        for name in ("drafter", "approver", "yc-finance", "yc-evaluator", "qinshui")
    }


def test_acceptance_round_trip(api, site, tokens):
    contract = site["contracts"][0]
    drafter, approver = tokens["drafter"], tokens["approver"]
    figures = api.get(
        f"/api/v1/contracts/{contract}/acceptance-figures"
        "?period_start=2026-07-01&period_end=2026-08-31",
        token=drafter,
    )
    assert figures.status_code == 200, figures.json
    expected = figures.json
    assert expected["unit"] == "hour" and expected["months"] == 2
    assert expected["confirmed_months"] == ["2026-07", "2026-08"]
    assert expected["contracted_quantity"] == "1600.00"

    bad = api.post(
        f"/api/v1/contracts/{contract}/acceptances",
        json={**STAGE, "recipients_answered": 11},
        token=drafter,
    )
    assert bad.status_code == 422 and "recipients_answered" in bad.json["error"]["fields"]
    created = api.post(f"/api/v1/contracts/{contract}/acceptances", json=STAGE, token=drafter)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["status"] == "draft" and body["drafted_by"] == "drafter"
    assert body["delivered_quantity"] == expected["delivered_quantity"]
    assert body["amount_settled"] == expected["amount_settled"]
    assert body["problems"] == [] and body["certificate_sha256"] is None
    url = f"/api/v1/acceptances/{body['id']}"

    patched = api.patch(
        url,
        json={"opinion_summary": "很满意。", "lock_version": body["lock_version"]},
        token=drafter,
    )
    assert patched.status_code == 200, patched.json
    assert (
        patched.json["opinion_summary"] == "很满意。"
        and patched.json["findings"] == body["findings"]
    )
    stale = api.patch(url, json={"opinion_summary": "x", "lock_version": 1}, token=drafter)
    assert stale.status_code == 409
    no_one = api.patch(
        url,
        json={"recipients_invited": 0, "recipients_answered": 0, "recipients_satisfied": 0},
        token=drafter,
    )
    assert "邀请" in " ".join(no_one.json["problems"])
    api.patch(url, json={"recipients_invited": 10, "recipients_answered": 8}, token=drafter)

    assert api.post(f"{url}/publish", token=drafter).json["error"]["code"] == "invalid_state"
    own = api.post(f"{url}/approve", token=drafter)
    assert own.status_code == 403 and own.json["error"]["code"] == "own_acceptance"
    assert api.post(f"{url}/approve", token=tokens["yc-finance"]).status_code == 403
    approved = api.post(f"{url}/approve", token=approver)
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved" and approved.json["approved_by"] == "approver"
    certificate = api.get(f"{url}/certificate.docx", token=tokens["yc-evaluator"])
    assert certificate.status_code == 200
    assert "{:,.2f}".format(float(expected["delivered_quantity"])) in docx_text(certificate.data)
    published = api.post(f"{url}/publish", token=drafter)
    assert published.status_code == 200 and published.json["published_at"]

    listed = api.get("/api/v1/acceptances?per_page=1&year=2026", token=tokens["yc-finance"]).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]
    assert api.get("/api/v1/acceptances?year=2025", token=drafter).json["total"] == 0

    other = tokens["qinshui"]
    assert api.get(url, token=other).status_code == 404
    assert api.get(f"{url}/certificate.docx", token=other).status_code == 404
    assert api.get("/api/v1/acceptances", token=other).json["total"] == 0
    refused = api.post(f"/api/v1/contracts/{contract}/acceptances", json=STAGE, token=other)
    assert refused.status_code == 404


def survey_base64(answers) -> str:
    book = Workbook()
    book.active.append(["满意度"])
    for answer in answers:
        book.active.append([answer])
    output = io.BytesIO()
    book.save(output)
    return base64.b64encode(output.getvalue()).decode()


def declaration(party, **values):
    return {
        "party": party,
        "evaluator_name": "周评审",
        "evaluator_organisation": "评价事务所",
        "conflict_of_interest": False,
        **values,
    }


def test_evaluation_round_trip(api, site, tokens):
    contract = site["contracts"][0]
    officer, finance, evaluator = tokens["drafter"], tokens["yc-finance"], tokens["yc-evaluator"]
    early = api.post(f"/api/v1/contracts/{contract}/evaluation", token=officer)
    assert early.status_code == 409 and early.json["error"]["code"] == "too_early"
    at(2027, 1, 10)
    assert api.post(f"/api/v1/contracts/{contract}/evaluation", token=finance).status_code == 403
    opened = api.post(f"/api/v1/contracts/{contract}/evaluation", token=officer)
    assert opened.status_code == 201, opened.json
    body = opened.json
    assert body["status"] == "open" and len(body["weights"]) == 4
    assert body["missing_parties"] == ["buyer", "finance", "recipients", "third_party"]
    url = f"/api/v1/evaluations/{body['id']}"

    buyer = {
        "buyer-coverage": "18",
        "buyer-delivery": 27,
        "buyer-quality": 27.0,
        "buyer-complaints": "18",
    }
    wrong = api.post(f"{url}/scores", json=declaration("buyer", scores=buyer), token=finance)
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "wrong_party"
    conflict = api.post(
        f"{url}/scores",
        json=declaration("buyer", scores=buyer, conflict_of_interest=None),
        token=officer,
    )
    assert conflict.status_code == 422
    assert list(conflict.json["error"]["fields"]) == ["conflict_of_interest"]
    over = api.post(
        f"{url}/scores",
        json=declaration("buyer", scores={**buyer, "buyer-quality": "30.01"}),
        token=officer,
    )
    assert over.status_code == 422 and "scores.buyer-quality" in over.json["error"]["fields"]
    entered = api.post(f"{url}/scores", json=declaration("buyer", scores=buyer), token=officer)
    assert entered.status_code == 200, entered.json
    assert entered.json["scores"][0]["total"] == "90.00"
    finance_scores = {"finance-compliance": "36", "finance-records": "27", "finance-budget": "27"}
    api.post(f"{url}/scores", json=declaration("finance", scores=finance_scores), token=finance)
    imported = api.post(
        f"{url}/survey",
        json={
            **{k: v for k, v in declaration("").items() if k != "party"},
            "filename": "满意度.xlsx",
            "file_base64": survey_base64(["非常满意", "满意", "基本满意", "不满意"]),
        },
        token=evaluator,
    )
    assert imported.status_code == 200, imported.json
    recipients = next(s for s in imported.json["scores"] if s["party"] == "recipients")
    assert recipients["total"] == "60.00"
    assert recipients["survey"] == {
        "very_satisfied": 1,
        "satisfied": 1,
        "basic": 1,
        "unsatisfied": 1,
    }
    assert api.post(f"{url}/complete", token=officer).json["error"]["code"] == "incomplete"
    third = {
        "third-quantity": "25",
        "third-quality": "35",
        "third-staff": "20",
        "third-records": "20",
    }
    api.post(f"{url}/scores", json=declaration("third_party", scores=third), token=evaluator)
    survey = {"very_satisfied": 3, "satisfied": 1, "basic": 0, "unsatisfied": 0}
    corrected = api.post(
        f"{url}/scores", json=declaration("recipients", survey=survey), token=officer
    )
    assert next(s for s in corrected.json["scores"] if s["party"] == "recipients")["total"] == (
        "95.00"
    )

    done = api.post(f"{url}/complete", token=officer)
    assert done.status_code == 200, done.json
    # 25% x 90 + 15% x 90 + 40% x 95 + 20% x 100
    assert done.json["total"] == "94.00" and done.json["grade"] == "excellent"
    published = api.post(f"{url}/publish", token=officer)
    assert published.status_code == 200 and published.json["status"] == "published"

    listed = api.get("/api/v1/evaluations?status=published", token=evaluator).json
    assert [e["id"] for e in listed["items"]] == [body["id"]]
    record = api.get(
        f"/api/v1/providers/{site['provider']}/performance-record?year=2026", token=finance
    )
    assert record.status_code == 200 and record.json["total"] == "94.00"
    assert record.json["grade"] == "excellent" and record.json["failures"] == []

    other = tokens["qinshui"]
    assert api.get(url, token=other).status_code == 404
    assert api.get("/api/v1/evaluations", token=other).json["total"] == 0
    assert api.post(f"{url}/publish", token=other).status_code == 404
