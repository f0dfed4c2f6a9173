import pytest

from procurement.core.identifiers import InvalidIdentifier, parse_credit_code

# shared/docs/facts.md
VALID = [
    "91350100M000100Y43",
    "91110000600037341L",
    "91110108551385082Q",
    "911101066976941872",
    "53100000500019795A",
    "12100000400009127B",
]


@pytest.mark.parametrize("code", VALID)
def test_valid_credit_codes_pass_their_check_character(code):
    parsed = parse_credit_code(code)
    assert parsed.check_ok and parsed.expected_check == code[-1]


def test_what_the_code_says_about_itself():
    assert parse_credit_code("53100000500019795A").authority_label == "民政"
    assert parse_credit_code("53100000500019795A").organisation_type_label == "基金会"
    assert parse_credit_code("91110000600037341L").organisation_type_label == "企业"
    assert parse_credit_code("12100000400009127B").organisation_type_label == "事业单位"
    assert parse_credit_code("91110108551385082Q").division_code == "110108"


def test_an_early_pilot_code_is_readable_but_fails_its_check():
    parsed = parse_credit_code("91350211M0000XUF46")
    assert not parsed.check_ok


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4Z", "characters"),
        ("91350100M000100Y4", "length"),
        ("9135010OM000100Y43", "characters"),
        ("91I50100M000100Y43", "characters"),
        ("91AB0100M000100Y43", "division"),
        ("", "length"),
    ],
)
def test_impossible_codes_are_refused_with_the_reason(code, reason):
    with pytest.raises(InvalidIdentifier) as refused:
        parse_credit_code(code)
    assert refused.value.reason == reason


def test_lower_case_and_spaces_are_normalised():
    assert parse_credit_code(" 91350100m000100y43 ").code == "91350100M000100Y43"


# ------------------------------------------------------------------ resident ID numbers

from datetime import date  # noqa: E402

from procurement.core.identifiers import mask_id_number, parse_id_number  # noqa: E402


@pytest.mark.parametrize(
    ("number", "sex", "birth"),
    [
        ("11010519491231002X", "female", date(1949, 12, 31)),
        ("440524188001010014", "male", date(1880, 1, 1)),
        ("360426199101010071", "male", date(1991, 1, 1)),
        ("11010219840406970X", "female", date(1984, 4, 6)),
        ("140522194506150028", "female", date(1945, 6, 15)),
    ],
)
def test_valid_id_numbers_give_sex_and_birth_date(number, sex, birth):
    parsed = parse_id_number(number)
    assert (parsed.sex, parsed.birth_date) == (sex, birth)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("140522194506150027", "check"),
        ("14052219450615002", "length"),
        ("1405221945061500A8", "characters"),
        ("140522194502300028", "birth_date"),
        ("11010519491231002x", None),  # lower-case x is accepted
    ],
)
def test_invalid_id_numbers_name_the_reason(number, reason):
    if reason is None:
        assert parse_id_number(number).number.endswith("X")
        return
    with pytest.raises(InvalidIdentifier) as refused:
        parse_id_number(number)
    assert refused.value.reason == reason


def test_id_numbers_are_masked():
    assert mask_id_number("140522194506150028") == "140522**********28"


def test_vectorised_id_check_agrees_with_the_parser():
    from procurement.core.identifiers import InvalidIdentifier, parse_id_number, valid_id_numbers

    samples = [
        "11010519491231002X", "440524188001010014", "360426199101010071", "11010219840406970X",
        "140522194506150028", " 11010519491231002x ", "11010519491231002Y", "110105194912310021",
        "11010518791231002X", "110105194902300028", "1101051949123100", "",
        "１１０１０５１９４９１２３１００２X", "11010519491231A02X", "140522194506150020",
    ]  # fmt: skip

    def parses(raw):
        try:
            parse_id_number(raw)
        except InvalidIdentifier:
            return False
        return True

    cleaned, valid = valid_id_numbers(samples)
    assert list(valid) == [parses(s) for s in samples]
    assert cleaned[5] == "11010519491231002X"
