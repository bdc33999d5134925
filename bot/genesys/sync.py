"""Reading the org (users with their activity, who holds which license) and comparing it
with the ledger: activity per email and drift (SPEC 8)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.genesys.client import GenesysClient
from bot.licensing.catalog import Catalog
from bot.licensing.entities import Assignment
from bot.licensing.messages import DriftLine, GenesysDrift
from bot.store.genesys import GenesysState

UNMANAGED = "unmanaged"
MISSING = "missing"
DELETED = "deleted"
INACTIVE = "inactive"
KIND_ORDER = (UNMANAGED, MISSING, DELETED, INACTIVE)


@dataclass
class Org:
    """What one read of Genesys Cloud found."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> user
    holders: dict[str, set[str]] = field(default_factory=dict)  # user id -> license ids
    requests: int = 0

    def by_email(self) -> dict[str, dict[str, Any]]:
        """Lower-case email -> user; an active user wins over an inactive or deleted one
        with the same address."""
        rank = {"active": 0, "inactive": 1, "deleted": 2}
        found: dict[str, dict[str, Any]] = {}
        for user in self.users.values():
            email = str(user.get("email") or "").lower()
            if not email:
                continue
            old = found.get(email)
            if old is None or rank.get(user.get("state", ""), 3) < rank.get(
                old.get("state", ""), 3
            ):
                found[email] = user
        return found


async def read_org(client: GenesysClient, *, user_page: int = 500, license_page: int = 100) -> Org:
    """Every user (any state, with dateLastLogin and lastTokenIssued) and every license
    holder, paged to the end. Pages are yielded to the event loop between requests."""
    before = client.stats.requests
    org = Org()
    async for page in client.users(state="any", page_size=user_page):
        for user in page:
            org.users[str(user["id"])] = user
        await asyncio.sleep(0)
    org.holders = await client.license_holders(page_size=license_page)
    org.requests = client.stats.requests - before
    return org


def last_activity(user: dict[str, Any]) -> datetime | None:
    """The latest of the last password login and the last token issued: SSO users never
    update dateLastLogin, but every login of theirs issues a token."""
    found = [
        _instant(user.get("dateLastLogin")),
        _instant((user.get("lastTokenIssued") or {}).get("dateIssued")),
    ]
    known = [f for f in found if f is not None]
    return max(known) if known else None


def activity_by_email(org: Org) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for email, user in org.by_email().items():
        if user.get("state", "active") != "active":
            continue
        at = last_activity(user)
        if at is not None:
            found[email] = at
    return found


@dataclass(frozen=True)
class DriftRow:
    kind: str  # unmanaged | missing | deleted | inactive
    email: str
    name: str
    user_id: str | None = None
    assignment_id: int | None = None
    seat: str = ""
    licenses: tuple[str, ...] = ()  # unmanaged: held; missing: expected but not held
    detail: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.email}"

    def line(self) -> DriftLine:
        """The row as a line of the drift summary's payload."""
        return DriftLine(
            kind=self.kind,
            email=self.email,
            name=self.name,
            user_id=self.user_id,
            assignment_id=self.assignment_id,
            seat=self.seat,
            licenses=tuple(self.licenses),
            detail=self.detail,
            key=self.key,
        )


def compare(
    seats: Iterable[Assignment],
    states: dict[int, GenesysState],
    org: Org,
    catalog: Catalog,
) -> list[DriftRow]:
    """What Genesys and the ledger disagree on, for the licenses the catalog maps."""
    mapped = catalog.genesys_mapped_ids()
    users = org.by_email()
    rows: list[DriftRow] = []
    ledger_emails: set[str] = set()
    for seat in seats:
        ledger_emails.add(seat.email.lower())
        expected = catalog.genesys_licenses(seat.edition, seat.seat_type, seat.modules)
        if not expected:
            continue  # ledger only
        user = users.get(seat.email.lower())
        state = states.get(seat.id)
        if user is None or user.get("state") == DELETED:
            waiting = state is not None and state.state == "waiting_user"
            rows.append(
                DriftRow(
                    DELETED if user is not None else MISSING,
                    seat.email,
                    seat.name,
                    str(user["id"]) if user else None,
                    seat.id,
                    seat.seat,
                    expected,
                    "deleted in Genesys Cloud, still holds the seat here"
                    if user is not None
                    else (
                        "waiting for the Genesys user (not created yet)"
                        if waiting
                        else "no Genesys user with this email"
                    ),
                )
            )
            continue
        user_id = str(user["id"])
        if user.get("state") == INACTIVE:
            rows.append(
                DriftRow(
                    INACTIVE,
                    seat.email,
                    seat.name,
                    user_id,
                    seat.id,
                    seat.seat,
                    expected,
                    "deactivated in Genesys Cloud, still holds the seat here",
                )
            )
            continue
        held = org.holders.get(user_id, set())
        lacking = tuple(i for i in expected if i not in held)
        if lacking:
            rows.append(
                DriftRow(
                    MISSING,
                    seat.email,
                    seat.name,
                    user_id,
                    seat.id,
                    seat.seat,
                    lacking,
                    f"not held in Genesys Cloud: {', '.join(lacking)}",
                )
            )
    for user_id, held in org.holders.items():
        ours = sorted(held & mapped)
        if not ours:
            continue
        user = org.users.get(user_id, {})
        email = str(user.get("email") or "").lower()
        if email and email in ledger_emails:
            continue
        rows.append(
            DriftRow(
                UNMANAGED,
                email or f"(user {user_id})",
                str(user.get("name") or email or user_id),
                user_id,
                None,
                "",
                tuple(ours),
                f"holds {', '.join(ours)} in Genesys Cloud with no seat here",
            )
        )
    rows.sort(key=lambda r: (KIND_ORDER.index(r.kind), r.email))
    return rows


def digest(rows: list[DriftRow]) -> str:
    """A short fingerprint of the drift: the summary is posted again only when it changes."""
    text = json.dumps([(r.kind, r.email, r.licenses) for r in rows], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    from bot.clock import as_utc

    return as_utc(at)


SUMMARY_ROWS = 15  # rows with buttons in the summary; the rest are counted


def drift_data(rows: list[DriftRow]) -> GenesysDrift:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.kind] = counts.get(row.kind, 0) + 1
    return GenesysDrift(
        total=len(rows), counts=counts, rows=tuple(r.line() for r in rows[:SUMMARY_ROWS])
    )
