"""The acceptance and evaluation pages: figures before saving, four eyes, the certificate,
publication; each party's form only for its role; another county sees nothing."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook

from procurement.core.db import db
from procurement.performance import acceptance as acceptance_rules
from procurement.performance.models import Acceptance, Evaluation
from tests.helpers import in_app
from tests.performance.test_acceptance import docx_text
from tests.settlements.conftest import at

STAGE_FORM = {
    "final": "stage",
    "period_start": "2026-07-01",
    "period_end": "2026-08-31",
    "accepted_on": "2026-09-03",
    "findings-0-kind": "spot_check",
    "findings-0-date": "2026-08-25",
    "findings-0-description": "入户回访10户，服务时长与记录一致。",
    "findings-0-result": "无问题",
    "recipients_invited": "12",
    "recipients_answered": "10",
    "recipients_satisfied": "9",
    "opinion_summary": "服务对象对上门服务总体满意。",
    "conclusion": "pass",
    "conclusion_text": "履约情况符合合同约定。",
    "explanation": "首两个月为入户评估和建档期，服务量逐月增加。",
    "team-0-name": "赵振国",
    "team-0-role": "阳城县民政局 股长",
    "team-1-name": "钱立民",
    "team-1-role": "阳城县财政局 干部",
    "team-2-name": "孙晓燕",
    "team-2-role": "凤城镇 民政办主任",
}


def figures_for(app, contract_id):
    from datetime import date

    from procurement.contracts.models import Contract

    def work():
        contract = db.session.get(Contract, contract_id)
        return acceptance_rules.acceptance_figures(contract, date(2026, 7, 1), date(2026, 8, 31))

    return in_app(app, work)


def new_acceptance(client, contract_id, **changes):
    return client.post(
        f"/performance/contracts/{contract_id}/acceptances/new", {**STAGE_FORM, **changes}
    )


def test_index_lists_the_contracts_with_filters(client, site):
    client.login("yc-auditor")
    page = client.get("/performance/").get_data(as_text=True)
    assert all(f"140522-2026-0{n}" in page for n in (1, 2, 3))
    assert 'data-test="new-acceptance"' not in page  # an auditor only reads
    assert "140522-2026-01" in client.get(f"/performance/?plan={site['plan']}").get_data(
        as_text=True
    )
    assert "140522-2026-01" not in client.get("/performance/?year=2025").get_data(as_text=True)


def test_acceptance_from_figures_to_publication(app, client, site):
    contract = site["contracts"][0]
    expected = figures_for(app, contract)
    client.login("drafter")
    url = f"/performance/contracts/{contract}/acceptances/new"
    form = client.get(url)
    assert form.status_code == 200 and 'data-test="figures"' in form.get_data(as_text=True)

    preview = new_acceptance(client, contract, preview="1")
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert f"{expected.contracted_quantity:,.2f}" in text
    assert f"{expected.delivered_quantity:,.2f}" in text
    assert f"{expected.amount_settled:,.2f}" in text
    assert in_app(app, lambda: db.session.query(Acceptance).count()) == 0

    refused = new_acceptance(client, contract, recipients_answered="13")
    assert refused.status_code == 422
    assert 'id="recipients_answered-error"' in refused.get_data(as_text=True)
    blank_row = new_acceptance(client, contract, **{"findings-1-description": "x"})
    assert blank_row.status_code == 422
    assert 'id="findings-1-kind-error"' in blank_row.get_data(as_text=True)

    saved = new_acceptance(client, contract)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    page_url = saved.headers["Location"]
    page = client.get(page_url).get_data(as_text=True)
    assert "入户回访10户" in page and 'data-test="approval-problems"' not in page

    own = client.post(f"{page_url}/approve", page=page_url)
    assert own.status_code == 422
    assert "须由另一名经办人批准" in own.get_data(as_text=True)
    early = client.post(f"{page_url}/publish", page=page_url)
    assert early.status_code == 422

    client.logout()
    client.login("approver")
    assert client.post(f"{page_url}/approve", page=page_url).status_code == 302
    page = client.get(page_url).get_data(as_text=True)
    assert 'data-test="certificate"' in page
    document = client.get(f"{page_url}/certificate.docx")
    assert document.status_code == 200 and document.mimetype.endswith("document")
    text = docx_text(document.data)
    assert f"{expected.delivered_quantity:,.2f}" in text and "赵振国" in text
    assert client.post(f"{page_url}/publish", page=page_url).status_code == 302
    assert 'data-test="acceptance-status">' in client.get(page_url).get_data(as_text=True)
    acceptance_id = int(page_url.rsplit("/", 1)[-1])
    status = in_app(app, lambda: db.session.get(Acceptance, acceptance_id).status.value)
    assert status == "published"


def test_editing_a_draft(app, client, site):
    contract = site["contracts"][1]
    client.login("drafter")
    page_url = new_acceptance(client, contract).headers["Location"]
    edit = client.get(f"{page_url}/edit").get_data(as_text=True)
    assert "入户回访10户" in edit and 'value="赵振国"' in edit
    changed = client.post(
        f"{page_url}/edit", {**STAGE_FORM, "opinion_summary": "改过的意见摘要", "lock_version": "1"}
    )
    assert changed.status_code == 302
    assert "改过的意见摘要" in client.get(page_url).get_data(as_text=True)
    stale = client.post(f"{page_url}/edit", {**STAGE_FORM, "lock_version": "1"})
    assert stale.status_code == 422


def scores_form(party, token, **values):
    data = {f"{party}-csrf_token": token, f"{party}-evaluator_name": "周评审"}
    data[f"{party}-evaluator_organisation"] = "评价事务所"
    data[f"{party}-conflict_of_interest"] = "no"
    for key, value in values.items():
        data[f"{party}-{key}"] = value
    return data


def survey_file(answers) -> io.BytesIO:
    book = Workbook()
    book.active.append(["满意度"])
    for answer in answers:
        book.active.append([answer])
    output = io.BytesIO()
    book.save(output)
    output.seek(0)
    return output


def test_evaluation_pages_each_role_sees_its_own_form(app, client, site):
    contract = site["contracts"][0]
    at(2027, 1, 10)
    client.login("drafter")
    opened = client.post(f"/performance/contracts/{contract}/evaluation", page="/performance/")
    assert opened.status_code == 302
    url = opened.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    forms = set(re.findall(r'data-test="form-(\w+)"', page))
    assert forms == {"buyer", "recipients"}

    token = client.csrf(url)
    bad = client.post(
        f"{url}/scores/buyer",
        scores_form("buyer", token, indicator_0="18", indicator_1="27", indicator_2="31"),
        page=url,
    )
    assert bad.status_code == 422
    assert 'id="buyer-indicator_2-error"' in bad.get_data(as_text=True)
    conflict = client.post(
        f"{url}/scores/buyer",
        {
            **scores_form("buyer", token, indicator_0="18", indicator_1="27", indicator_2="27"),
            "buyer-indicator_3": "18",
            "buyer-conflict_of_interest": "yes",
        },
        page=url,
    )
    assert conflict.status_code == 422
    assert 'id="buyer-conflict_of_interest-error"' in conflict.get_data(as_text=True)
    done = client.post(
        f"{url}/scores/buyer",
        scores_form(
            "buyer", token, indicator_0="18", indicator_1="27", indicator_2="27", indicator_3="18"
        ),
        page=url,
    )
    assert done.status_code == 302
    assert client.post(f"{url}/complete", page=url).status_code == 422  # others missing
    client.logout()

    client.login("yc-finance")
    page = client.get(url).get_data(as_text=True)
    assert set(re.findall(r'data-test="form-(\w+)"', page)) == {"finance"}
    token = client.csrf(url)
    wrong = client.post(
        f"{url}/scores/buyer",
        scores_form(
            "buyer", token, indicator_0="1", indicator_1="1", indicator_2="1", indicator_3="1"
        ),
        page=url,
    )
    assert wrong.status_code == 403
    finance = scores_form("finance", token, indicator_0="36", indicator_1="27", indicator_2="27")
    assert client.post(f"{url}/scores/finance", finance, page=url).status_code == 302
    client.logout()

    client.login("yc-evaluator")
    page = client.get(url).get_data(as_text=True)
    assert set(re.findall(r'data-test="form-(\w+)"', page)) == {"recipients", "third_party"}
    token = client.csrf(url)
    upload = scores_form("recipients", token)
    upload["recipients-file"] = (survey_file(["非常满意", "满意"]), "满意度调查.xlsx")
    response = client.post(
        f"{url}/scores/recipients", upload, page=url, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    third = scores_form(
        "third_party",
        token,
        indicator_0="22.5",
        indicator_1="31.5",
        indicator_2="18",
        indicator_3="18",
    )
    assert client.post(f"{url}/scores/third_party", third, page=url).status_code == 302
    assert client.post(f"{url}/complete", page=url).status_code == 403  # officers complete
    client.logout()

    client.login("approver")
    assert client.post(f"{url}/complete", page=url).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="evaluation-result"' in page and "90.00" in page
    assert client.post(f"{url}/publish", page=url).status_code == 302
    evaluation_id = int(url.rsplit("/", 1)[-1])
    found = in_app(app, lambda: db.session.get(Evaluation, evaluation_id).status.value)
    assert found == "published"


def test_another_county_sees_nothing(app, client, site):
    contract = site["contracts"][0]
    client.login("drafter")
    page_url = new_acceptance(client, contract).headers["Location"]
    client.logout()
    at(2027, 1, 10)
    client.login("approver")
    url = client.post(
        f"/performance/contracts/{contract}/evaluation", page="/performance/"
    ).headers["Location"]
    client.logout()

    client.login("qinshui")
    assert "140522-2026-01" not in client.get("/performance/").get_data(as_text=True)
    assert client.get(page_url).status_code == 404
    assert client.get(f"{page_url}/certificate.docx").status_code == 404
    assert client.post(f"{page_url}/approve", page="/performance/").status_code == 404
    assert client.get(url).status_code == 404
    assert client.get(f"/performance/contracts/{contract}/acceptances/new").status_code == 404
    status = in_app(app, lambda: db.session.query(Acceptance).one().status.value)
    assert status == "draft"
