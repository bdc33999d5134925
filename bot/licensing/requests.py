"""The seat request: its states, the only transitions allowed, and license group names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.licensing.entities import Seat
from bot.licensing.errors import LicenseError


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.PENDING: frozenset(
        {
            RequestStatus.APPROVED,
            RequestStatus.DENIED,
            RequestStatus.CANCELLED,
            RequestStatus.EXPIRED,
        }
    ),
}


def can_transition(current: RequestStatus, target: RequestStatus) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


class RequestKind(StrEnum):
    NEW = "new"  # a seat for someone who holds none
    CHANGE = "change"  # a different seat type, edition or modules for a holder (SPEC 9)
    OFFBOARD = "offboard"  # a holder has left: their seat ends (SPEC 9)


class Stage(StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"


@dataclass(frozen=True)
class Person:
    """Who a seat is for: a Slack user, an email address, or both once resolved."""

    email: str | None = None
    slack_user_id: str | None = None
    name: str | None = None

    def describe(self) -> str:
        if self.slack_user_id:
            return f"<@{self.slack_user_id}>"
        return self.email or "?"


@dataclass(frozen=True)
class SeatRequest:
    """What was asked for, validated against the catalog."""

    person: Person
    seat_type: str
    edition: str
    modules: tuple[str, ...] = ()
    department: str | None = None
    start_date: date | None = None
    reason: str = ""
    until: date | None = None


@dataclass(frozen=True)
class SeatChange:
    """`/license change`: the seat a holder should have instead (SPEC 9)."""

    person: Person
    seat_type: str
    edition: str
    add: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    until: date | None = None
    reason: str = ""

    def modules_from(self, current: tuple[str, ...]) -> tuple[str, ...]:
        """The modules after the change: what is held, plus +added, minus -dropped."""
        kept = [m for m in current if m not in self.drop]
        return tuple(sorted(set(kept) | set(self.add)))


@dataclass
class LicenseRequest:
    """A stored request."""

    id: int
    requester_id: str
    email: str
    name: str
    slack_user_id: str | None
    seat_type: str
    edition: str
    modules: tuple[str, ...]
    department: str | None
    start_date: date | None
    reason: str
    status: RequestStatus
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    card_channel: str | None = None
    card_ts: str | None = None
    nudged_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    kind: RequestKind = RequestKind.NEW
    assignment_id: int | None = None
    until_date: date | None = None
    stage: Stage = Stage.ADMIN
    stage_approved_by: str | None = None
    stage_approved_at: datetime | None = None
    escalated_stage: str | None = None

    @property
    def license_group(self) -> str | None:
        return license_group(self.department, self.seat_type) if self.department else None

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    def seat(self) -> Seat:
        """The seat this request asks for (a new seat; a change's new shape)."""
        return Seat(
            email=self.email,
            name=self.name,
            slack_user_id=self.slack_user_id,
            edition=self.edition,
            seat_type=self.seat_type,
            modules=self.modules,
            department=self.department,
            ends_on=self.until_date,
        )

    @property
    def title(self) -> str:
        """How cards and replies name it: "Seat request", "Seat change", "Offboarding"."""
        return {
            RequestKind.NEW: "Seat request",
            RequestKind.CHANGE: "Seat change",
            RequestKind.OFFBOARD: "Offboarding",
        }[self.kind]


DEPARTMENT_MAX = 40
DEPARTMENT_RE = re.compile(rf"^[A-Za-z0-9]{{1,{DEPARTMENT_MAX}}}$")
NAMING_HELP = (
    f"department names are letters and digits only (at most {DEPARTMENT_MAX}), "
    "e.g. `dept:Support` "
    "gives `Support_Agent_LicenseGroup`"
)


def normalize_department(value: str) -> str:
    """Validate a department and capitalise it for the group name."""
    if len(value) > DEPARTMENT_MAX:
        raise LicenseError(
            f"department `{value}` breaks the naming convention: it is {len(value)} "
            f"characters long, at most {DEPARTMENT_MAX} are allowed; {NAMING_HELP}"
        )
    if not DEPARTMENT_RE.match(value):
        raise LicenseError(f"department `{value}` breaks the naming convention: {NAMING_HELP}")
    return value[0].upper() + value[1:]


def license_group(department: str, seat_type: str) -> str:
    """`<Department>_<Role>_LicenseGroup`, e.g. `Support_Agent_LicenseGroup`."""
    return f"{normalize_department(department)}_{seat_type.capitalize()}_LicenseGroup"
