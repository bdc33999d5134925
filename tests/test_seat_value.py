"""One seat value flows from the rules' check through the grant to the store (issue 8):
`evaluate_seat` and `grant_seat` take a `Seat`, and the stored assignment is that seat.
Use cases tested as functions of a real SQLite file and a fixed time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.licensing.catalog import load_catalog
from bot.licensing.entities import Seat
from bot.licensing.policy import Policy
from bot.services.ledger import Rules, evaluate_seat, grant_seat
from bot.store.db import Database

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
SEAT = Seat(
    email="Nina@Example.com",
    name="Nina Park",
    slack_user_id="U0NINA",
    edition="premium",
    seat_type="agent",
    modules=("wfo",),
    department="Support",
    ends_on=date(2027, 3, 31),
)


async def test_the_seat_checked_is_the_seat_granted_and_stored(tmp_path: Path) -> None:
    rules = Rules(Policy(), load_catalog(None), ZoneInfo("UTC"))
    db = await Database.open(tmp_path / "seat.db")
    try:
        async with db.transaction() as tx:
            await tx.pools.set("premium", "agent", "seat", 1, None, NOW)
            await tx.pools.set("premium", "wfo", "module", 1, None, NOW)
            impact = await evaluate_seat(tx, rules, SEAT, NOW)
            assert impact.allowed, impact.reasons
            granted = await grant_seat(tx, SEAT, actor="U0ADMIN", now=NOW, request_id=None)
        async with db.read() as tx:
            stored = await tx.assignments.get(granted.id)
            again = await evaluate_seat(tx, rules, SEAT, NOW)
    finally:
        await db.close()
    assert stored is not None
    assert (stored.email, stored.name, stored.slack_user_id) == (
        "nina@example.com",
        "Nina Park",
        "U0NINA",
    )
    assert (stored.edition, stored.seat_type, stored.modules) == ("premium", "agent", ("wfo",))
    assert (stored.department, stored.ends_on) == ("Support", date(2027, 3, 31))
    assert stored.license_group == "Support_Agent_LicenseGroup"
    # The same value checked again: its holder has it now, and both pools are full.
    assert not again.allowed
    assert any(
        "Nina@Example.com already holds a premium agent +wfo seat" in r for r in again.reasons
    )
