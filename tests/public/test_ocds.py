"""The OCDS 1.1 release package of a plan: valid offline against the OCDS schemas with
the extensions merged in, and built only from what is published."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft4Validator, FormatChecker
from sqlalchemy import select

from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.payments import services as payments
from procurement.payments.models import Payment
from procurement.plans.models import PurchasePlan
from procurement.public import services as publishing
from procurement.public.models import PublicationKind
from procurement.public.ocds import CREDIT_CODE_SCHEME, DEFAULT_OCID_PREFIX, LOTS_EXTENSION
from procurement.settlements.models import Settlement
from tests.helpers import in_app
from tests.public.conftest import EXTENSION, confirm_july, ocds_registry, pay_in_full

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("uri", raises=ValueError)
def _uri(value) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is None or bool(parts.scheme and parts.netloc)


def validate(package: dict) -> None:
    schema, registry = ocds_registry()
    validator = Draft4Validator(schema, registry=registry, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(package), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20]
    )


def package_of(app, plan_id: int) -> dict:
    response = app.test_client().get(f"/public/plans/{plan_id}/ocds.json")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def test_the_package_validates_against_ocds_1_1_with_the_extensions(app, site):
    package = package_of(app, site["plan"])
    validate(package)
    assert package["version"] == "1.1"
    assert package["extensions"][0] == LOTS_EXTENSION
    assert package["extensions"][1] == "http://localhost/public/ocds/extension/extension.json"
    assert package["uri"] == f"http://localhost/public/plans/{site['plan']}/ocds.json"


def test_a_broken_package_does_not_validate(app, site):
    """The validation really checks (also the extension's fields)."""
    package = package_of(app, site["plan"])
    contract = package["releases"][0]["contracts"][0]
    contract["implementation"]["performanceEvaluation"]["grade"] = "splendid"
    with pytest.raises(AssertionError, match="splendid"):
        validate(package)
    package = package_of(app, site["plan"])
    package["releases"][0]["tender"]["lots"][0]["status"] = "finished"
    with pytest.raises(AssertionError, match="finished"):
        validate(package)


def test_the_release_describes_the_plan_from_its_published_parts(app, site):
    release = package_of(app, site["plan"])["releases"][0]
    assert release["ocid"] == f"{DEFAULT_OCID_PREFIX}-140522-2026-{site['plan']}"
    assert release["tag"] == ["planning", "tender", "award", "contract", "implementation"]
    approved = in_app(
        app, lambda: db.session.get(PurchasePlan, site["plan"]).approved_version.total
    )
    assert release["planning"]["budget"]["amount"] == {"amount": 570000.0, "currency": "CNY"}
    assert approved == Decimal("570000.00")  # services 168,000 + 201,600 + 134,400; others

    tender = release["tender"]
    assert [lot["title"] for lot in tender["lots"]] == ["第一片区", "第二片区", "第三片区"]
    assert tender["lots"][0]["description"] == "凤城镇、河北镇、蟒河镇、东冶镇"
    assert [lot["value"]["amount"] for lot in tender["lots"]] == [168000.0, 201600.0, 134400.0]
    assert tender["value"]["amount"] == 504000.0
    assert tender["procurementMethod"] == "limited"  # 竞争性磋商
    assert len(tender["items"]) >= 10 and all(item["description"] for item in tender["items"])

    parties = {party["id"]: party for party in release["parties"]}
    assert parties["140522-civil-affairs"]["roles"] == ["buyer", "procuringEntity"]
    assert parties["140522-civil-affairs"]["name"] == "阳城县民政局"
    assert parties["140522-finance"]["roles"] == ["payer"]
    suppliers = [p for p in release["parties"] if "supplier" in p["roles"]]
    assert {p["identifier"]["scheme"] for p in suppliers} == {CREDIT_CODE_SCHEME}
    assert {p["name"] for p in suppliers} == set(site["provider_names"])

    # every award notice is published; only two of the three contracts are
    assert [a["relatedLots"] for a in release["awards"]] == [["lot-1"], ["lot-2"], ["lot-3"]]
    assert all(a["suppliers"][0]["id"] in parties for a in release["awards"])
    assert [c["id"] for c in release["contracts"]] == [
        f"contract-{cid}" for cid in site["contracts"][:2]
    ]
    first = release["contracts"][0]
    assert first["status"] == "active"
    assert first["dateSigned"] == "2026-06-25T00:00:00+08:00"
    assert first["value"] == {"amount": 158400.0, "currency": "CNY"}
    assert {d["documentType"] for d in first["documents"]} == {"contractSigned", "contractNotice"}


def test_implementation_holds_payments_the_certificate_and_the_evaluation(app, site):
    release = package_of(app, site["plan"])["releases"][0]
    first, second = release["contracts"]
    assert "implementation" not in second  # nothing paid or published for it yet

    transactions = first["implementation"]["transactions"]
    amount = in_app(app, lambda: db.session.get(Settlement, site["statement"]).amount)
    assert transactions == [
        {
            "id": f"payment-{site['payment']}",
            "date": "2026-09-05T00:00:00+08:00",
            "value": {"amount": float(amount), "currency": "CNY"},
            "payer": {"id": "140522-finance", "name": "阳城县财政局"},
            "payee": {"id": transactions[0]["payee"]["id"], "name": site["provider_names"][0]},
        }
    ]
    payee = next(p for p in release["parties"] if p["id"] == transactions[0]["payee"]["id"])
    assert payee["roles"] == ["supplier", "payee"]

    [certificate] = first["implementation"]["documents"]
    assert certificate["documentType"] == "completionCertificate"
    assert certificate["format"] == "application/pdf"
    assert certificate["url"].endswith(f"/public/acceptances/{site['acceptance']}/certificate")
    assert app.test_client().get(urlsplit(certificate["url"]).path).status_code == 200

    evaluation = first["implementation"]["performanceEvaluation"]
    assert evaluation["total"] == 87.6 and evaluation["grade"] == "good"
    assert [p["party"] for p in evaluation["parties"]] == [
        "buyer",
        "finance",
        "recipients",
        "third_party",
    ]
    assert sum(p["weightedScore"] for p in evaluation["parties"]) == pytest.approx(87.6)
    assert evaluation["parties"][3]["organization"] == "晋城市某评估中心"


def transactions_of(app, site) -> list[dict]:
    release = package_of(app, site["plan"])["releases"][0]
    return [
        t for c in release["contracts"] for t in c.get("implementation", {}).get("transactions", [])
    ]


def test_transactions_are_payments_not_confirmations(app, site):
    """A confirmed statement that is not paid yet is no transaction; partial payments are
    one transaction each, dated on the day the money was paid."""

    def confirm_second():
        return confirm_july(db.session.get(Contract, site["contracts"][1])).id

    second = in_app(app, confirm_second)
    assert [t["id"] for t in transactions_of(app, site)] == [f"payment-{site['payment']}"]

    def pay_in_two_parts():
        statement = db.session.get(Settlement, second)
        finance = payments.get_payment(site["payment"]).recorded_by
        half = (statement.amount / 2).quantize(Decimal("0.01"))
        for amount in (half, statement.amount - half):
            payments.record_payment(
                statement,
                actor=finance,
                paid_on="2026-09-05",
                amount=str(amount),
                voucher_number=f"记-{amount}",
                payee_account="6222",
            )
        return statement.amount

    amount = in_app(app, pay_in_two_parts)
    package = package_of(app, site["plan"])
    validate(package)
    second_contract = package["releases"][0]["contracts"][1]
    paid = second_contract["implementation"]["transactions"]
    assert len(paid) == 2
    assert sum(Decimal(str(t["value"]["amount"])) for t in paid) == amount


def test_a_reversed_payment_is_no_longer_published(app, site):
    def reverse():
        payment = payments.get_payment(site["payment"])
        payments.reverse_payment(
            payment,
            actor=payment.recorded_by,
            paid_on="2026-09-05",
            voucher_number="红-1",
            note="错付",
        )

    in_app(app, reverse)
    assert transactions_of(app, site) == []

    def pay_again():
        return pay_in_full(db.session.get(Settlement, site["statement"])).id

    again = in_app(app, pay_again)
    assert [t["id"] for t in transactions_of(app, site)] == [f"payment-{again}"]
    assert in_app(app, lambda: len(db.session.scalars(select(Payment)).all())) == 3


def test_withdrawing_takes_records_out_of_the_package(app, site):
    def withdraw_contract():
        publishing.withdraw_record(PublicationKind.CONTRACT, site["contracts"][0])

    in_app(app, withdraw_contract)
    package = package_of(app, site["plan"])
    validate(package)
    release = package["releases"][0]
    assert [c["id"] for c in release["contracts"]] == [f"contract-{site['contracts'][1]}"]
    assert "implementation" not in release["tag"]


def test_the_ocid_prefix_is_configurable(app, site):
    app.config["OCDS_PREFIX"] = "ocds-abc123"
    release = package_of(app, site["plan"])["releases"][0]
    assert release["ocid"].startswith("ocds-abc123-140522-2026-")


def test_a_plan_with_nothing_published_has_no_package(app, care_site):
    assert app.test_client().get(f"/public/plans/{care_site['plan']}/ocds.json").status_code == 404
    assert app.test_client().get(f"/public/plans/{care_site['plan']}").status_code == 404


def test_the_api_returns_the_same_package(app, api, site, make_user, make_token):
    make_user("auditor-1", role="auditor", region_code="140522")
    response = api.get(f"/api/v1/plans/{site['plan']}/ocds", token=make_token("auditor-1"))
    assert response.status_code == 200
    assert response.get_json() == package_of(app, site["plan"])


def test_the_extension_is_served_and_documented(app, site):
    http = app.test_client()
    metadata = http.get("/public/ocds/extension/extension.json").get_json()
    assert metadata["schemas"] == ["release-schema.json"]
    assert metadata["compatibility"] == ["1.1"]
    assert metadata["documentationUrl"]["en"].endswith("/public/ocds/extension/README.md")
    served = http.get("/public/ocds/extension/release-schema.json")
    assert served.status_code == 200
    on_disk = json.loads((EXTENSION / "release-schema.json").read_text(encoding="utf-8"))
    assert json.loads(served.get_data(as_text=True)) == on_disk
    assert http.get("/public/ocds/extension/README.md").status_code == 200
    assert http.get("/public/ocds/extension/secret.py").status_code == 404
