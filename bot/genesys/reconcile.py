"""`report reconcile` (SPEC 8): per license, purchased, held in the ledger, held in
Genesys Cloud, and the month's billable usage, with each difference and its likely cause."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.genesys.client import GenesysClient
from bot.reports.table import Table
from bot.services.ledger import Rules
from bot.store.db import Database

HEADER = [
    "license_id",
    "license",
    "seats",
    "purchased",
    "ledger_held",
    "genesys_held",
    "billable_month",
    "differences",
]


@dataclass(frozen=True)
class Line:
    license_id: str
    name: str
    seats: str
    purchased: int
    ledger: int
    genesys: int
    billable: int | None

    def differences(self) -> list[str]:
        found = []
        if self.genesys > self.ledger:
            found.append(
                f"Genesys holds {self.genesys - self.ledger} more than the ledger: licenses "
                "given by hand in Genesys or by a role (unmanaged: adopt or remove them, "
                "see /license drift)"
            )
        elif self.ledger > self.genesys:
            found.append(
                f"the ledger holds {self.ledger - self.genesys} more than Genesys: new hires "
                "waiting for their Genesys user, refused assignments, or licenses removed by "
                "hand (missing: see /license drift)"
            )
        if self.purchased and self.genesys > self.purchased:
            found.append(
                f"{self.genesys - self.purchased} held over the {self.purchased} purchased: "
                "billed as overage in arrears (buy seats or reclaim)"
            )
        elif self.genesys < self.purchased:
            found.append(f"{self.purchased - self.genesys} purchased seats idle in Genesys")
        if self.billable is not None:
            if self.billable > self.genesys:
                found.append(
                    f"billable {self.billable} > held {self.genesys}: users who held it "
                    "earlier this month are billed for the month (named users)"
                )
            elif self.billable < self.genesys:
                found.append(
                    f"billable {self.billable} < held {self.genesys}: holders who have not "
                    "logged in this month are not billed yet"
                )
        return found


async def reconcile_table(
    db: Database,
    rules: Rules,
    client: GenesysClient,
    now: datetime,
    *,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    wait: float = 3.0,
) -> Table:
    catalog = rules.catalog
    today = now.astimezone(rules.tz).date()
    start = today.replace(day=1)
    definitions = {
        str(d.get("id")): str(d.get("name") or d.get("description") or "")
        for d in await client.license_definitions()
    }
    holders = await client.license_holders()
    usage = await client.billable_usage(start, today, wait=wait)
    genesys: dict[str, int] = {}
    for held in holders.values():
        for license_id in held:
            genesys[license_id] = genesys.get(license_id, 0) + 1
    ledger: dict[str, int] = {}
    purchased: dict[str, int] = {}
    async with db.read() as tx:
        for seat in await tx.assignments.list_active():
            for license_id in catalog.genesys_licenses(seat.edition, seat.seat_type, seat.modules):
                ledger[license_id] = ledger.get(license_id, 0) + 1
        for pool in await tx.pools.all_states():
            key = pool.item if pool.item in catalog.modules else f"{pool.edition}.{pool.item}"
            for license_id in catalog.genesys.get(key, ()):
                purchased[license_id] = purchased.get(license_id, 0) + pool.purchased
    seats: dict[str, list[str]] = {}
    for key, ids in catalog.genesys.items():
        label = key.replace(".", " ") if "." in key else f"+{key}"
        for license_id in ids:
            seats.setdefault(license_id, []).append(label)
    table = Table("reconcile", list(HEADER))
    differing = 0
    listed = sorted(set(seats) | {i for i in usage if i in genesys or i in seats})
    for license_id in listed:
        line = Line(
            license_id,
            definitions.get(license_id, ""),
            ", ".join(seats.get(license_id, [])) or "not mapped in the catalog",
            purchased.get(license_id, 0),
            ledger.get(license_id, 0),
            genesys.get(license_id, 0),
            usage.get(license_id),
        )
        found = line.differences()
        differing += bool(found)
        table.rows.append(
            [
                line.license_id,
                line.name,
                line.seats,
                line.purchased,
                line.ledger,
                line.genesys,
                line.billable,
                "; ".join(found) or "agree",
            ]
        )
    table.summary = (
        f"{len(listed)} license{'s' if len(listed) != 1 else ''} for {start.isoformat()} to "
        f"{today.isoformat()}, {differing} with differences"
    )
    return table
