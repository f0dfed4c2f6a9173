"""National identifiers with check characters (shared/docs/facts.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

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


# Resident identity card number (居民身份证号码), GB 11643-1999
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: date
    sex: str  # "male" or "female", from the 17th digit
    address_code: str


def id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def parse_id_number(raw: str) -> IdNumber:
    """Read an 18-character ID number; raise InvalidIdentifier with the reason.

    The address code is not checked against a county table: such tables reject most
    elderly people born before their county's current code existed (facts.md).
    """
    number = (raw or "").strip().upper()
    if len(number) != 18:
        raise InvalidIdentifier("length", str(len(number)))
    if not (number[:17].isascii() and number[:17].isdecimal()) or number[17] not in ID_CHECK:
        raise InvalidIdentifier("characters", number)
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier("birth_date", number[6:14]) from None
    if birth.year < 1880:
        raise InvalidIdentifier("birth_date", number[6:14])
    expected = id_check_character(number[:17])
    if number[17] != expected:
        raise InvalidIdentifier("check", expected)
    return IdNumber(
        number=number,
        birth_date=birth,
        sex="male" if int(number[16]) % 2 else "female",
        address_code=number[:6],
    )


def mask_id_number(number: str) -> str:
    """140522194506150028 -> 140522**********28 (shown to roles without the full view)."""
    return number[:6] + "*" * 10 + number[-2:] if len(number) == 18 else "*" * len(number)


def valid_id_numbers(numbers) -> tuple[list[str], np.ndarray]:
    """``parse_id_number`` for many numbers at once: (normalised numbers, valid mask).

    The same rules, vectorised for imports of millions of rows: 18 characters, 17 digits
    and a check character that matches, a real birth date from 1880 on.
    """
    cleaned = [(n or "").strip().upper() for n in numbers]
    shaped = np.array([len(n) == 18 and n.isascii() for n in cleaned], dtype=bool)
    valid = np.zeros(len(cleaned), dtype=bool)
    if not shaped.any():
        return cleaned, valid
    chosen = [n for n, ok in zip(cleaned, shaped, strict=True) if ok]
    codes = np.frombuffer("".join(chosen).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    digits = codes[:, :17].astype(np.int64) - ord("0")
    all_digits = ((digits >= 0) & (digits <= 9)).all(axis=1)
    expected = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)[
        (np.where(all_digits[:, None], digits, 0) * np.array(ID_WEIGHTS)).sum(axis=1) % 11
    ]
    births = pd.to_datetime(pd.Series([n[6:14] for n in chosen]), format="%Y%m%d", errors="coerce")
    born = births.notna().to_numpy() & (births.dt.year.fillna(0).to_numpy() >= 1880)
    valid[shaped] = all_digits & (codes[:, 17] == expected) & born
    return cleaned, valid
