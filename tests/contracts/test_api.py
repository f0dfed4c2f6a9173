"""Selection and contracts through the API."""

import base64

from sqlalchemy import select

from procurement.core.clock import today
from procurement.core.db import db
from procurement.demo.providers import _pdf
from procurement.providers.models import Provider


def test_bid_award_generate_sign_through_the_api(app, api, world, make_user, make_token):
    plan_id, zone_id = world["plan"].id, world["plan"].zones[0].id
    kangle = db.session.scalar(
        select(Provider.id).where(Provider.credit_code == "52140522MJ0A1B2C37")
    )
    xiyanghong = db.session.scalar(
        select(Provider.id).where(Provider.credit_code == "92140522MA0T8U9W1P")
    )
    db.session.commit()
    make_user("api_officer")
    token = make_token("api_officer")
    base = f"/api/v1/plans/{plan_id}"
    for provider_id, price, score in ((kangle, "33.00", "88"), (xiyanghong, "30.00", "95")):
        response = api.post(
            f"{base}/zones/{zone_id}/bids",
            token=token,
            json={"provider_id": provider_id, "unit_price": price, "technical_score": score},
        )
        assert response.status_code == 201, response.json
    ranking = api.get(f"{base}/zones/{zone_id}/candidates", token=token).json["items"]
    assert [(r["provider_id"], r["rank"]) for r in ranking] == [(kangle, 1), (xiyanghong, None)]
    refused = api.post(
        f"{base}/zones/{zone_id}/award",
        token=token,
        json={"provider_id": xiyanghong, "rationale": "报价最低"},
    )
    assert refused.status_code == 422 and refused.json["error"]["code"] == "not_qualified"
    award = api.post(
        f"{base}/zones/{zone_id}/award",
        token=token,
        json={"provider_id": kangle, "rationale": "综合得分第一"},
    )
    assert award.status_code == 201 and "中标" in award.json["notice_title"]
    again = api.post(
        f"{base}/zones/{zone_id}/award",
        token=token,
        json={"provider_id": kangle, "rationale": "再次"},
    )
    assert again.status_code == 409

    contract = api.post(f"{base}/zones/{zone_id}/contract", token=token)
    assert contract.status_code == 201
    body = contract.json
    assert (body["number"], body["amount"], body["amount_in_capitals"]) == (
        "140522-2026-01",
        "158400.00",
        "壹拾伍万捌仟肆佰元整",
    )
    document = api.get(f"/api/v1/contracts/{body['id']}/document.docx", token=token)
    assert document.status_code == 200 and document.data[:2] == b"PK"
    unsigned = api.post(
        f"/api/v1/contracts/{body['id']}/sign",
        token=token,
        json={
            "signed_on": today().isoformat(),
            "scan_filename": "s.pdf",
            "scan_base64": base64.b64encode(b"not a pdf").decode(),
        },
    )
    assert unsigned.status_code == 422 and "scan" in unsigned.json["error"]["fields"]
    signing = {
        "signed_on": today().isoformat(),
        "scan_filename": "s.pdf",
        "scan_base64": base64.b64encode(_pdf("signed")).decode(),
    }
    url = f"/api/v1/contracts/{body['id']}/sign"
    no_reason = api.post(url, token=token, json=signing)  # the award notice is not public
    assert no_reason.status_code == 422
    assert "中标公告尚未发布" in no_reason.json["error"]["fields"]["signing_reason"][0]
    reason = "中标公告因网站维护延迟发布，经局务会同意先行签订。"
    signed = api.post(url, token=token, json=signing | {"signing_reason": reason})
    assert signed.status_code == 200 and signed.json["status"] == "signed"
    assert signed.json["signing_reason"] == reason
    assert api.get(f"/api/v1/contracts/{body['id']}", token=token).json["signing_reason"] == reason
    no_ground = api.post(
        f"/api/v1/contracts/{body['id']}/terminate",
        token=token,
        json={"reason": "", "on": "2026-09-01"},
    )
    assert no_ground.status_code == 422
    execution = api.get(f"{base}/execution", token=token).json["rows"]
    assert execution[0]["committed"] == "158400.00"
