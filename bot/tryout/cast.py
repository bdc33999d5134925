"""The demo workspace of `licensebot try`: its people, channels and starting pools."""

from __future__ import annotations

from dataclasses import dataclass

TEAM_ID = "T0TRY"
TEAM_NAME = "Acme Contact Center (try)"
BOT_USER_ID = "U0LICENSEBOT"
BOT_ID = "B0LICENSEBOT"
APP_ID = "A0LICENSEBOT"


@dataclass(frozen=True)
class Member:
    """One person of the demo workspace."""

    name: str  # the handle typed after `as` and `@`
    user_id: str
    real_name: str
    title: str
    admin: bool = False
    finance: bool = False

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"

    @property
    def role(self) -> str:
        if self.admin:
            return "license admin"
        if self.finance:
            return "finance"
        return self.title


CAST: tuple[Member, ...] = (
    Member("ada", "U0ADA", "Ada Lovelace", "license admin", admin=True),
    Member("grace", "U0GRACE", "Grace Hopper", "license admin", admin=True),
    Member("maya", "U0MAYA", "Maya Patel", "support manager"),
    Member("nina", "U0NINA", "Nina Novak", "new hire, support"),
    Member("omar", "U0OMAR", "Omar Haddad", "new hire, sales"),
    Member("finn", "U0FINN", "Finn Berg", "finance", finance=True),
)

# id -> name, as the channels are called in the demo workspace
APPROVALS = "C0APPROVALS"
ALERTS = "C0ALERTS"
GENERAL = "C0GENERAL"
CHANNELS: dict[str, str] = {
    APPROVALS: "license-approvals",
    ALERTS: "license-alerts",
    GENERAL: "general",
}

ADMIN_GROUP = "S0ADMINS"
FINANCE_GROUP = "S0FINANCE"
FINANCE_THRESHOLD = "200"  # monthly cost from which finance approves too (SPEC 10)

# `/license pool set ...` typed by the first admin when the database has no pools yet.
POOLS: tuple[str, ...] = (
    "premium agent 10 price:150",
    "premium supervisor 3 price:175",
    "standard agent 20 price:95",
    "premium wfo 5 price:35",
    "premium qm 5 price:25",
    "standard qm 8 price:25",
)


def groups() -> dict[str, list[str]]:
    return {
        ADMIN_GROUP: [m.user_id for m in CAST if m.admin],
        FINANCE_GROUP: [m.user_id for m in CAST if m.finance],
    }


def by_name(name: str) -> Member | None:
    name = name.strip().lstrip("@").lower()
    for member in CAST:
        if member.name == name or member.user_id.lower() == name:
            return member
    return None
