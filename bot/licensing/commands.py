"""The `/license` commands (SPEC 2): their usage lines and the parsed forms the listeners get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.licensing.requests import Person, SeatChange, SeatRequest

REPORT_KINDS = ("status", "assignments", "modules", "grace", "billing", "audit", "reconcile")

USAGE: dict[str, str] = {
    "help": "/license help",
    "request": "/license request <@person|email> <seat-type> <edition> [+module ...] "
    "[dept:<Department>] [start:<YYYY-MM-DD>] [until:<YYYY-MM-DD>] [reason ...]",
    "change": "/license change <@person|email> <seat-type> <edition> [+module ...] "
    "[-module ...] [until:<YYYY-MM-DD>] [reason ...]",
    "offboard": "/license offboard <@person|email> [reason ...]",
    "requests": "/license requests",
    "cancel": "/license cancel <request-id>",
    "pool": "/license pool",
    "pool set": "/license pool set <edition> <seat-type|module> <seats> [price:<amount>]",
    "assign": "/license assign <@person|email> <seat-type> <edition> [+module ...] "
    "[dept:<Department>] [until:<YYYY-MM-DD>]",
    "revoke": "/license revoke <@person|email>",
    "users": "/license users [inactive|<edition>|<seat-type>]",
    "check": "/license check <@person|email>",
    "audit": "/license audit [<@person|email>] [from:<YYYY-MM-DD>] [to:<YYYY-MM-DD>]",
    "report": "/license report <status|assignments|modules|grace|billing|audit|reconcile> "
    "[<@person|email>] [from:<YYYY-MM-DD>] [to:<YYYY-MM-DD>]",
    "trial": "/license trial start <YYYY-MM-DD> | convert | status",
    "extend": "/license extend <@person|email> <YYYY-MM-DD>",
    "quota": "/license quota",
    "quota set": "/license quota set <Department> <edition> <seat-type|module> <seats>",
    "drift": "/license drift",
}
ADMIN_ONLY = frozenset(
    {"pool", "pool set", "assign", "revoke", "users", "check", "audit", "report", "trial"}
    | {"extend", "quota", "quota set"}
    | {"drift"}
)


@dataclass(frozen=True)
class Help:
    name: str = "help"


@dataclass(frozen=True)
class OpenRequestModal:
    name: str = "request"


@dataclass(frozen=True)
class FileRequest:
    request: SeatRequest
    name: str = "request"


@dataclass(frozen=True)
class ListRequests:
    name: str = "requests"


@dataclass(frozen=True)
class CancelRequest:
    request_id: int
    name: str = "cancel"


@dataclass(frozen=True)
class ShowPools:
    name: str = "pool"


@dataclass(frozen=True)
class SetPool:
    edition: str
    item: str
    seats: int
    price: Decimal | None = None
    name: str = "pool set"


@dataclass(frozen=True)
class Assign:
    request: SeatRequest
    name: str = "assign"


@dataclass(frozen=True)
class Revoke:
    person: Person
    name: str = "revoke"


@dataclass(frozen=True)
class ListUsers:
    filter: str | None = None  # "inactive", an edition or a seat type
    name: str = "users"


@dataclass(frozen=True)
class Check:
    person: Person
    name: str = "check"


@dataclass(frozen=True)
class ShowAudit:
    person: Person | None = None
    since: date | None = None
    until: date | None = None
    name: str = "audit"


@dataclass(frozen=True)
class Report:
    kind: str
    person: Person | None = None
    since: date | None = None
    until: date | None = None
    name: str = "report"


@dataclass(frozen=True)
class Trial:
    action: str  # start | convert | status
    start: date | None = None
    name: str = "trial"


@dataclass(frozen=True)
class FileChange:
    change: SeatChange
    name: str = "change"


@dataclass(frozen=True)
class Offboard:
    person: Person
    reason: str = ""
    name: str = "offboard"


@dataclass(frozen=True)
class Extend:
    person: Person
    until: date
    name: str = "extend"


@dataclass(frozen=True)
class ShowQuotas:
    name: str = "quota"


@dataclass(frozen=True)
class SetQuota:
    department: str
    edition: str
    item: str
    seats: int
    name: str = "quota set"


@dataclass(frozen=True)
class ShowDrift:
    """What Genesys Cloud and the ledger disagree on (SPEC 8)."""

    name: str = "drift"


Command = (
    Help
    | OpenRequestModal
    | FileRequest
    | ListRequests
    | CancelRequest
    | ShowPools
    | SetPool
    | Assign
    | Revoke
    | ListUsers
    | Check
    | ShowAudit
    | Report
    | Trial
    | FileChange
    | Offboard
    | Extend
    | ShowQuotas
    | SetQuota
    | ShowDrift
)
