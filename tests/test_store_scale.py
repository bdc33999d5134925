"""The store's bulk paths used at scale: `assignments.add_many`, and `pools.all_states`
(one grouped pass) agreeing with `pools.state` (a count per pool)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.licensing.entities import Seat
from bot.store.assignments import NewSeat
from bot.store.db import Database

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_add_many_then_all_states_agree_with_each_pool_state(tmp_path: Path) -> None:
    rng = random.Random(5)
    db = await Database.open(tmp_path / "bulk.db")
    try:
        async with db.transaction() as tx:
            solo = Seat(
                email="Solo@Example.com",
                name="Solo",
                edition="premium",
                seat_type="agent",
                modules=("wfo",),
            )
            first = await tx.assignments.add(solo, license_group=None, assigned_at=T0)
            seats = [
                NewSeat(
                    email=f"P{i}@example.com",
                    name=f"P {i}",
                    edition=rng.choice(("premium", "standard")),
                    seat_type=rng.choice(("agent", "supervisor")),
                    assigned_at=T0 - timedelta(days=i),
                    modules=tuple(sorted(rng.sample(["qm", "wfo", "chat"], rng.randint(0, 2)))),
                    slack_user_id=f"U{i}" if i % 3 else None,
                    last_active_at=T0 - timedelta(days=i // 2) if i % 5 else None,
                )
                for i in range(300)
            ]
            assert await tx.assignments.add_many(seats) == 300
            for edition in ("premium", "standard", "partner"):
                for item, kind in (
                    ("agent", "seat"),
                    ("supervisor", "seat"),
                    ("executive", "seat"),
                    ("qm", "module"),
                    ("wfo", "module"),
                    ("chat", "module"),
                ):
                    await tx.pools.set(edition, item, kind, 40, None, T0)
        async with db.transaction() as tx:
            assert await tx.assignments.revoke(first.id + 7, T0)
        async with db.read() as tx:
            added = await tx.assignments.get(first.id + 1)
            last = await tx.assignments.get(first.id + 300)
            everything = await tx.pools.all_states()
            one_by_one = [await tx.pools.state(p.edition, p.item) for p in everything]
            active = await tx.assignments.list_active()
    finally:
        await db.close()
    assert added is not None and added.email == "p0@example.com" and added.status == "active"
    assert added.modules == seats[0].modules and added.last_active_at is None
    assert last is not None and last.email == "p299@example.com"
    assert last.slack_user_id == "U299" and last.assigned_at == T0 - timedelta(days=299)
    assert everything == one_by_one and len(everything) == 18
    assert sum(p.used for p in everything if p.item in ("agent", "supervisor")) == len(active)
    assert any(p.used == 0 for p in everything)
