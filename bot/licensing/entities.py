"""Entities of the domain: what the store holds, as plain values the views render.

The store maps its rows to these; every module imports them from here, never from the
store (tests/test_architecture.py).
Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


def _stamp(at: datetime | None) -> str | None:
    """The audit log's text for an instant (the store's codec writes the same)."""
    return None if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Seat:
    """A seat to give: who is to hold it and what it is. One value flows from the rules'
    check (`evaluate_seat`) through the grant (`grant_seat`) to the store, instead of the
    same eight keywords passed through three layers."""

    email: str
    name: str
    edition: str
    seat_type: str
    modules: tuple[str, ...] = ()
    slack_user_id: str | None = None
    department: str | None = None
    ends_on: date | None = None  # the last day of a time-bound seat (SPEC 9)


@dataclass(frozen=True)
class Assignment:
    id: int
    email: str
    name: str
    slack_user_id: str | None
    edition: str
    seat_type: str
    modules: tuple[str, ...]
    department: str | None
    license_group: str | None
    status: str
    assigned_at: datetime
    revoked_at: datetime | None
    last_active_at: datetime | None
    snoozed_until: datetime | None
    request_id: int | None
    ends_on: date | None = None

    @property
    def seat(self) -> str:
        extras = "".join(f" +{m}" for m in self.modules)
        return f"{self.edition} {self.seat_type}{extras}"

    def snapshot(self) -> dict[str, Any]:
        """What the audit log records about a seat: enough to rebuild the assignments
        (id, holder, seat, status and its times) by replaying the log."""
        return {
            "id": self.id,
            "name": self.name,
            "slack_user_id": self.slack_user_id,
            "request_id": self.request_id,
            "assigned_at": _stamp(self.assigned_at),
            "revoked_at": _stamp(self.revoked_at),
            "email": self.email,
            "edition": self.edition,
            "seat_type": self.seat_type,
            "modules": list(self.modules),
            "department": self.department,
            "license_group": self.license_group,
            "status": self.status,
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
        }


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: Any
    after: Any


@dataclass(frozen=True)
class AuditFilter:
    """Entries about a person (their email, their requests) or done by them, in a range."""

    email: str | None = None
    slack_user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class OpenAlert:
    summary: str
    opened_at: datetime | None
    channel: str | None  # where its message was posted, once delivered
    ts: str | None


@dataclass(frozen=True)
class Alert:
    key: str
    job: str
    kind: str
    subject: str
    period: str
    summary: str
    opened_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    channel: str | None = None  # where its message was posted, once delivered
    ts: str | None = None
    delivery: str | None = None  # pending | delivered | failed

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class Quota:
    department: str
    edition: str
    item: str
    seats: int
    used: int = 0

    @property
    def label(self) -> str:
        return f"{self.edition} {self.item}"
