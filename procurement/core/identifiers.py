"""National identifiers with check characters (shared/docs/facts.md)."""

from __future__ import annotations

from dataclasses import dataclass

# Unified social credit code (统一社会信用代码), GB 32100-2015
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

AUTHORITIES = {
    "1": "机构编制",
    "5": "民政",
    "9": "工商/市场监管",
    "N": "农业",
    "Y": "其他",
}
ORGANISATION_TYPES = {
    "11": "机关",
    "12": "事业单位",
    "13": "群众团体",
    "19": "其他",
    "51": "社会团体",
    "52": "民办非企业单位",
    "53": "基金会",
    "59": "其他",
    "91": "企业",
    "92": "个体工商户",
    "93": "农民专业合作社",
    "N1": "集体经济组织",
    "N2": "集体经济组织",
    "N3": "集体经济组织",
}


class InvalidIdentifier(ValueError):
    """The text cannot be an identifier of this kind at all; ``reason`` says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class CreditCode:
    code: str
    check_ok: bool
    expected_check: str
    authority: str | None
    organisation_type: str | None
    division_code: str

    @property
    def authority_label(self) -> str:
        return AUTHORITIES.get(self.code[0], "未知")

    @property
    def organisation_type_label(self) -> str:
        return ORGANISATION_TYPES.get(self.code[:2], "未知")


def credit_check_character(first17: str) -> str:
    total = sum(
        CREDIT_ALPHABET.index(ch) * w for ch, w in zip(first17, CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(raw: str) -> CreditCode:
    """Read a credit code; raise InvalidIdentifier when it cannot be one at all.

    A code of the right shape whose check character is wrong is returned with
    ``check_ok=False``: early pilot codes exist that fail it, and an officer may
    keep such a code with an acknowledged warning (facts.md).
    """
    code = (raw or "").strip().upper()
    if len(code) != 18:
        raise InvalidIdentifier("length", str(len(code)))
    bad = sorted({ch for ch in code if ch not in CREDIT_ALPHABET})
    if bad:
        raise InvalidIdentifier("characters", "".join(bad))
    if not code[2:8].isdigit():
        raise InvalidIdentifier("division", code[2:8])
    expected = credit_check_character(code[:17])
    return CreditCode(
        code=code,
        check_ok=code[17] == expected,
        expected_check=expected,
        authority=AUTHORITIES.get(code[0]),
        organisation_type=ORGANISATION_TYPES.get(code[:2]),
        division_code=code[2:8],
    )
