"""Money: parsing, display with thousands separators, and amounts in capitals (人民币大写)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
GROUP_UNITS = ("", "万", "亿", "万亿")


def parse_amount(value: object) -> Decimal:
    """An amount of yuan with at most two decimals; raise ValueError otherwise."""
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ValueError(f"not an amount with at most two decimals: {value!r}")
    return amount.quantize(CENT)


def format_amount(amount: Decimal | str | None) -> str:
    """``Decimal('161280')`` (or ``"161280.00"``) -> ``'161,280.00'``; None -> ``'—'``."""
    if amount is None or amount == "":
        return "—"
    return f"{Decimal(str(amount)).quantize(CENT, ROUND_HALF_UP):,.2f}"


def _four_digits(number: int) -> str:
    """Capitals for 0 < number < 10000, with inner zero runs written as one 零."""
    text, zero = "", False
    for position in range(3, -1, -1):
        digit = number // 10**position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[digit] + SMALL_UNITS[position]
    return text


def amount_in_capitals(amount: Decimal | int | str) -> str:
    """Chinese financial capitals (facts.md).

    126000 -> 壹拾贰万陆仟元整; 1680.32 -> 壹仟陆佰捌拾元零叁角贰分.
    """
    value = Decimal(str(amount)).quantize(CENT, ROUND_HALF_UP)
    if value < 0:
        return "负" + amount_in_capitals(-value)
    fen_total = int(value * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if yuan >= 10**16:
        raise ValueError("amount too large")

    text = ""
    if yuan:
        groups = []
        rest = yuan
        while rest:
            groups.append(rest % 10000)
            rest //= 10000
        need_zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or group < 1000):
                text += "零"
            text += _four_digits(group) + GROUP_UNITS[index]
            need_zero = False
        text += "元"
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if yuan and (yuan % 10 == 0 or jiao == 0):
        text += "零"  # the zeros between the yuan digits and the first non-zero decimal
    if jiao:
        text += DIGITS[jiao] + "角"
    if fen:
        text += DIGITS[fen] + "分"
    else:
        text += "整"
    return text
