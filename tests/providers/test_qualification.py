"""Every qualification criterion on both sides of its boundary."""

from datetime import date

import pytest

from procurement.core.errors import ValidationError
from procurement.providers import services
from procurement.providers.models import RegistrationAuthority
from procurement.providers.qualification import annual_report_deadline, years_before
from tests.providers.conftest import CHECK_DATE, make_provider, results


def check(provider, officer, day=CHECK_DATE):
    return services.run_check(provider, actor=officer, as_of=day)


def test_a_clean_provider_is_qualified(officer):
    result = check(make_provider(officer), officer)
    assert result.qualified, result.criteria
    assert set(results(result).values()) == {"pass"}
    assert result.window_start == date(2023, 6, 15) and result.lookback_years == 3


def test_the_window_edges():
    assert years_before(date(2026, 6, 15), 3) == date(2023, 6, 15)
    assert years_before(date(2028, 2, 29), 3) == date(2025, 2, 28)
    assert annual_report_deadline(2024, RegistrationAuthority.MARKET_REGULATION) == date(
        2025, 6, 30
    )
    assert annual_report_deadline(2024, RegistrationAuthority.CIVIL_AFFAIRS) == date(2025, 5, 31)


@pytest.mark.parametrize(
    ("decided", "inside"),
    [
        ("2023-06-15", True),  # exactly three years before: counts
        ("2023-06-14", False),  # a day earlier: outside the window
        ("2026-06-15", True),  # on the check date
    ],
)
def test_major_violation_window_edges(officer, decided, inside):
    provider = make_provider(officer)
    services.add_record(
        provider, "violation", {"decision_date": decided, "violation_kind": "licence_revocation"}
    )
    outcome = results(check(provider, officer))["major_violation"]
    assert outcome == ("fail" if inside else "pass")


def test_a_violation_after_the_check_date_is_not_considered(officer):
    provider = make_provider(officer)
    services.add_record(
        provider, "violation", {"decision_date": "2026-07-01", "violation_kind": "criminal_penalty"}
    )
    assert results(check(provider, officer))["major_violation"] == "pass"


@pytest.mark.parametrize(("amount", "major"), [("2000000.00", True), ("1999999.99", False)])
def test_a_fine_is_major_from_two_million(officer, amount, major):
    provider = make_provider(officer)
    services.add_record(
        provider,
        "violation",
        {"decision_date": "2025-01-10", "violation_kind": "fine", "fine_amount": amount},
    )
    assert results(check(provider, officer))["major_violation"] == ("fail" if major else "pass")


def test_an_officer_override_decides_with_a_reason(officer):
    provider = make_provider(officer)
    with pytest.raises(ValidationError) as refused:
        services.add_record(
            provider,
            "violation",
            {
                "decision_date": "2025-01-10",
                "violation_kind": "suspension",
                "major_override": False,
            },
        )
    assert "major_override_reason" in refused.value.fields
    services.add_record(
        provider,
        "violation",
        {
            "decision_date": "2025-01-10",
            "violation_kind": "suspension",
            "major_override": False,
            "major_override_reason": "停业整顿系疫情防控统一要求，非违法所致",
        },
    )
    assert results(check(provider, officer))["major_violation"] == "pass"


def test_no_declaration_means_missing_evidence(officer):
    result = check(make_provider(officer, declaration=False), officer)
    assert results(result)["major_violation"] == "missing" and not result.qualified


@pytest.mark.parametrize(
    ("settled", "outcome"), [(None, "fail"), ("2026-06-16", "fail"), ("2026-06-15", "fail")]
)
def test_arrears_fail_when_unsettled_and_when_in_the_window(officer, settled, outcome):
    provider = make_provider(officer)
    values = {"period_start": "2025-10-01", "period_end": "2025-12-31", "payment_status": "arrears"}
    if settled and settled <= "2026-06-15":
        values["settled_on"] = settled
    services.add_record(provider, "tax", values)
    result = check(provider, officer)
    assert results(result)["tax"] == outcome
    assert results(result)["social_security"] == "pass"


def test_arrears_before_the_window_do_not_count(officer):
    provider = make_provider(officer)
    services.add_record(
        provider,
        "social_security",
        {
            "period_start": "2022-01-01",
            "period_end": "2023-06-14",
            "payment_status": "arrears",
            "settled_on": "2023-07-01",
        },
    )
    assert results(check(provider, officer))["social_security"] == "pass"
    services.add_record(
        provider,
        "social_security",
        {
            "period_start": "2022-01-01",
            "period_end": "2023-06-15",
            "payment_status": "arrears",
            "settled_on": "2023-07-01",
        },
    )
    assert results(check(provider, officer))["social_security"] == "fail"


def test_no_tax_record_is_missing_evidence(officer):
    result = check(make_provider(officer, records=False), officer)
    assert results(result)["tax"] == "missing" and results(result)["social_security"] == "missing"


def test_registration_after_the_check_date_or_deregistered_fails(officer):
    early = make_provider(officer)
    assert results(check(early, officer, date(2016, 8, 25)))["registration"] == "pass"
    assert results(check(early, officer, date(2016, 8, 24)))["registration"] == "fail"
    gone = make_provider(
        officer, credit_code="91140500MA0P6Q7R89", status="deregistered", status_date="2026-06-15"
    )
    assert results(check(gone, officer))["registration"] == "fail"
    assert results(check(gone, officer, date(2026, 6, 14)))["registration"] == "pass"


@pytest.mark.parametrize(("expires", "outcome"), [("2026-06-15", "pass"), ("2026-06-14", "fail")])
def test_required_qualification_expiry_edge(officer, expires, outcome):
    provider = make_provider(officer)
    services.add_qualification(
        provider, {"name": "食品经营许可证", "issued_on": "2021-06-15", "expires_on": expires}
    )
    assert results(check(provider, officer))["qualifications"] == outcome


def test_an_optional_expired_qualification_does_not_fail(officer):
    provider = make_provider(officer)
    services.add_qualification(
        provider,
        {"name": "旧证", "issued_on": "2010-01-01", "expires_on": "2015-01-01", "required": False},
    )
    assert results(check(provider, officer))["qualifications"] == "pass"


def test_annual_report_due_in_the_window_must_be_filed(officer):
    provider = make_provider(officer, records=False)
    for kind in ("tax", "social_security"):
        services.add_record(
            provider, kind, {"period_start": "2023-01-01", "period_end": "2026-05-31"}
        )
    # Deadlines 2023-06-30 (2022 report), 2024-06-30, 2025-06-30 fall in [2023-06-15, 2026-06-15]
    for year in (2023, 2024):
        services.add_record(
            provider, "annual_report", {"report_year": year, "filed_on": f"{year + 1}-06-01"}
        )
    result = check(provider, officer)
    assert results(result)["annual_reports"] == "fail"
    assert "2022" in next(c["reason"] for c in result.criteria if c["code"] == "annual_reports")
    services.add_record(provider, "annual_report", {"report_year": 2022, "filed_on": "2023-07-10"})
    assert results(check(provider, officer))["annual_reports"] == "pass"  # late, but filed
    # Due on 2026-06-30, after the check date: the 2025 report is not yet required.
    assert "2025" not in next(
        c["reason"] for c in check(provider, officer).criteria if c["code"] == "annual_reports"
    )


@pytest.mark.parametrize(("until", "outcome"), [("2026-06-15", "fail"), ("2026-06-14", "pass")])
def test_credit_listing_counts_up_to_its_last_day(officer, until, outcome):
    provider = make_provider(officer)
    services.add_record(
        provider, "credit_listing", {"listed_from": "2025-06-15", "listed_until": until}
    )
    assert results(check(provider, officer))["credit"] == outcome


def test_a_listing_starting_after_the_check_date_does_not_count(officer):
    provider = make_provider(officer)
    services.add_record(provider, "credit_listing", {"listed_from": "2026-06-16"})
    assert results(check(provider, officer))["credit"] == "pass"


def test_no_price_list_is_missing(officer):
    result = check(make_provider(officer, prices=False), officer)
    assert results(result)["price_list"] == "missing" and not result.qualified


def test_checks_are_kept_unchanged_and_a_rerun_makes_a_new_one(officer):
    from procurement.core.db import db

    provider = make_provider(officer)
    first = check(provider, officer)
    services.add_record(provider, "credit_listing", {"listed_from": "2026-01-01"})
    second = check(provider, officer)
    assert first.qualified and not second.qualified
    assert first.id != second.id
    first.qualified = False
    with pytest.raises(RuntimeError, match="never changed"):
        db.session.flush()


def test_a_renewed_qualification_replaces_the_expired_one(officer):
    provider = make_provider(officer)
    services.add_qualification(
        provider, {"name": "食品经营许可证", "issued_on": "2019-01-01", "expires_on": "2024-01-01"}
    )
    assert results(check(provider, officer))["qualifications"] == "fail"
    services.add_qualification(
        provider, {"name": "食品经营许可证", "issued_on": "2024-01-01", "expires_on": "2029-01-01"}
    )
    assert results(check(provider, officer))["qualifications"] == "pass"


def test_only_optional_qualifications_is_missing(officer):
    from procurement.providers.models import ProviderQualification

    provider = make_provider(officer)
    for item in provider.qualifications:
        item.required = False
    assert all(not q.required for q in provider.qualifications)
    assert isinstance(provider.qualifications[0], ProviderQualification)
    assert results(check(provider, officer))["qualifications"] == "missing"


def test_old_arrears_still_unpaid_fail(officer):
    provider = make_provider(officer)
    services.add_record(
        provider,
        "tax",
        {"period_start": "2019-01-01", "period_end": "2020-12-31", "payment_status": "arrears"},
    )
    assert results(check(provider, officer))["tax"] == "fail"


def test_a_large_fine_is_major_whatever_its_recorded_kind(officer):
    provider = make_provider(officer)
    services.add_record(
        provider,
        "violation",
        {"decision_date": "2025-03-01", "violation_kind": "other", "fine_amount": "5000000"},
    )
    assert results(check(provider, officer))["major_violation"] == "fail"


def test_settling_arrears_clears_the_unsettled_failure(officer):
    provider = make_provider(officer)
    record = services.add_record(
        provider,
        "tax",
        {"period_start": "2019-01-01", "period_end": "2019-12-31", "payment_status": "arrears"},
    )
    assert results(check(provider, officer))["tax"] == "fail"
    with pytest.raises(ValidationError):
        services.settle_arrears(record, "2018-12-31")  # before the period
    services.settle_arrears(record, "2020-03-01")
    assert results(check(provider, officer))["tax"] == "pass"  # settled before the window
