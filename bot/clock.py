"""Injected time: the domain, the store and the jobs never read the wall clock directly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)  # clock-ok: the one real clock


class FixedClock:
    """A clock that only moves when told to (tests, `jobs run --as-of`)."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at


def as_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def local_date(at: datetime | str, tz: tzinfo) -> date:
    """The calendar date a person in `tz` sees for an instant (an aware datetime, or the
    UTC ISO-8601 text the store keeps). The one place an instant becomes a shown date:
    never cut an ISO string at 10 characters, that is the UTC date."""
    instant = datetime.fromisoformat(at) if isinstance(at, str) else at
    return as_utc(instant).astimezone(tz).date()


def local_day(at: datetime | str | None, tz: tzinfo) -> str:
    """`local_date` as YYYY-MM-DD, or an em dash when there is no instant."""
    return local_date(at, tz).isoformat() if at else "—"
