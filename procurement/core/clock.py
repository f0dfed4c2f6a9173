"""The one clock: every "now" and "today" comes from here so tests can pin them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
_pinned: datetime | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return _pinned if _pinned is not None else datetime.now(UTC)


def today() -> date:
    """Today's business date in China (UTC+8), which is what deadlines count in."""
    return utcnow().astimezone(CHINA).date()


def pin(moment: datetime | None) -> None:
    """Fix the clock at ``moment`` (tests only); ``None`` releases it."""
    global _pinned
    if moment is not None and moment.tzinfo is None:
        raise ValueError("pin() needs a timezone-aware datetime")
    _pinned = moment


@contextmanager
def pinned(moment: datetime) -> Iterator[None]:
    """Run a block with the clock at ``moment``, then put back whatever held before (the
    demo replays its year step by step this way, inside a pinned test too)."""
    global _pinned
    if moment.tzinfo is None:
        raise ValueError("pinned() needs a timezone-aware datetime")
    before = _pinned
    _pinned = moment
    try:
        yield
    finally:
        _pinned = before
