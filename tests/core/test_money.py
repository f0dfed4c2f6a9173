from decimal import Decimal

import pytest

from procurement.core.money import amount_in_capitals, format_amount, parse_amount

# shared/docs/facts.md, "Amounts in capitals"
FACTS = [
    ("1409.50", "壹仟肆佰零玖元伍角"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
    ("107000.53", "壹拾万柒仟元零伍角叁分"),
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("126000.00", "壹拾贰万陆仟元整"),
]


@pytest.mark.parametrize(("amount", "expected"), FACTS)
def test_capitals_match_the_reference_vectors(amount, expected):
    result = amount_in_capitals(Decimal(amount))
    assert result in {expected, expected + "整"}


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角整"),
        ("10", "壹拾元整"),
        ("100000000", "壹亿元整"),
        ("100010000", "壹亿零壹万元整"),
        ("1000001", "壹佰万零壹元整"),
        ("161280.00", "壹拾陆万壹仟贰佰捌拾元整"),
        ("2000000", "贰佰万元整"),
        ("10.20", "壹拾元零贰角整"),
    ],
)
def test_capitals_zero_runs_and_units(amount, expected):
    assert amount_in_capitals(amount) == expected


def test_amounts_display_with_thousands_separators():
    assert format_amount(Decimal("161280")) == "161,280.00"
    assert format_amount(Decimal("35")) == "35.00"
    assert format_amount("2000000.00") == "2,000,000.00"
    assert format_amount(None) == "—"


@pytest.mark.parametrize("bad", ["1.234", "abc", "NaN", "Infinity", ""])
def test_parse_amount_refuses_more_than_two_decimals_and_non_numbers(bad):
    with pytest.raises(ValueError):
        parse_amount(bad)


def test_parse_amount_accepts_separators():
    assert parse_amount("1,234.5") == Decimal("1234.50")
