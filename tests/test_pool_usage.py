"""Per-pool counts kept as seats change (issue 11, bot/store/usage.py): every write path
— a single grant, a bulk import, a revoke, a change of pool or modules — leaves the seats
in use and the 30-day flows equal to a count of the seats themselves; the migration fills
them for a ledger that had none. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import bot
from bot.licensing.entities import Seat
from bot.store.assignments import NewSeat
from bot.store.codec import to_db
from bot.store.db import Database
from bot.store.reports import Flow
from bot.store.unit import Store

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
DAY = timedelta(days=1)
POOLS = [
    ("premium", "agent", "seat"),
    ("premium", "supervisor", "seat"),
    ("standard", "agent", "seat"),
    ("premium", "wfo", "module"),
    ("premium", "qm", "module"),
    ("standard", "qm", "module"),
]


@pytest.fixture
async def db(store_target: Path | str):
    database = await Database.open(store_target)
    async with database.transaction() as tx:
        for edition, item, kind in POOLS:
            await tx.pools.set(edition, item, kind, 100, None, T0)
    yield database
    await database.close()


def seat(email: str, edition: str, seat_type: str, modules: tuple[str, ...] = ()) -> Seat:
    return Seat(email=email, name=email, edition=edition, seat_type=seat_type, modules=modules)


async def counted(tx: Store) -> dict[str, int]:
    """Each pool's use as the store reports it."""
    return {s.label: s.used for s in await tx.pools.all_states()}


async def recounted(tx: Store) -> dict[str, int]:
    """Each pool's use counted from the active seats themselves."""
    found: Counter[str] = Counter()
    for held in await tx.assignments.list_active():
        found[f"{held.edition} {held.seat_type}"] += 1
        for module in held.modules:
            found[f"{held.edition} {module}"] += 1
    return {f"{edition} {item}": found[f"{edition} {item}"] for edition, item, _ in POOLS}


async def assert_in_step(db: Database) -> dict[str, int]:
    async with db.read() as tx:
        store, truth = await counted(tx), await recounted(tx)
        assert store == truth
        assert await tx.assignments.count_active() == len(await tx.assignments.list_active())
        assert await tx.reports.count_active(edition="premium") == sum(
            n for label, n in truth.items() if label in ("premium agent", "premium supervisor")
        )
        assert await tx.reports.module_holders() == {
            tuple(label.split(" ")): n  # type: ignore[misc]
            for label, n in truth.items()
            if label.endswith((" wfo", " qm")) and n
        }
        by_edition = await tx.reports.active_by_edition()
    assert by_edition == {
        e: n
        for e, n in {
            "premium": truth["premium agent"] + truth["premium supervisor"],
            "standard": truth["standard agent"],
        }.items()
        if n
    }
    return store


async def test_every_write_path_keeps_the_counts_in_step(db: Database) -> None:
    async with db.transaction() as tx:
        a = await tx.assignments.add(
            seat("a@example.com", "premium", "agent", ("wfo",)),
            license_group=None,
            assigned_at=T0,
        )
        b = await tx.assignments.add(
            seat("b@example.com", "premium", "agent", ("qm", "wfo")),
            license_group=None,
            assigned_at=T0,
        )
        await tx.assignments.add_many(
            [
                NewSeat(f"bulk{n}@example.com", "Bulk", "standard", "agent", T0, ("qm",) * (n % 2))
                for n in range(7)
            ]
        )
    assert await assert_in_step(db) == {
        "premium agent": 2,
        "premium supervisor": 0,
        "standard agent": 7,
        "premium wfo": 2,
        "premium qm": 1,
        "standard qm": 3,
    }

    async with db.transaction() as tx:
        # Moved to another pool with other modules: leaves the old pools, joins the new.
        assert await tx.assignments.change(
            b.id,
            edition="premium",
            seat_type="supervisor",
            modules=("qm",),
            license_group=None,
            ends_on=date(2027, 1, 31),
        )
        assert await tx.assignments.revoke(a.id, T0 + timedelta(hours=1))
        # A revoked seat cannot be revoked or changed again: nothing moves twice.
        assert not await tx.assignments.revoke(a.id, T0 + timedelta(hours=2))
        assert not await tx.assignments.change(
            a.id,
            edition="standard",
            seat_type="agent",
            modules=("qm",),
            license_group=None,
            ends_on=None,
        )
    assert await assert_in_step(db) == {
        "premium agent": 0,
        "premium supervisor": 1,
        "standard agent": 7,
        "premium wfo": 0,
        "premium qm": 1,
        "standard qm": 3,
    }


async def test_a_rolled_back_grant_counts_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.assignments.add(
                seat("a@example.com", "premium", "agent", ("wfo",)),
                license_group=None,
                assigned_at=T0,
            )
            assert (await counted(tx))["premium wfo"] == 1  # seen inside the transaction
            raise RuntimeError("the decision failed")
    assert (await assert_in_step(db))["premium wfo"] == 0


async def test_the_migration_counts_the_seats_already_held(store_target: Path | str) -> None:
    """A ledger from before the counts (its rows written as the old code wrote them):
    the migration fills them from its seats."""
    database = await Database.open(store_target)
    try:
        async with database.transaction() as tx:
            for edition, item, kind in POOLS:
                await tx.pools.set(edition, item, kind, 100, None, T0)
            for table in ("pool_usage", "pool_flow_days"):
                await tx.connection.execute(f"DROP TABLE {table}")
            await tx.connection.execute("DELETE FROM schema_migrations WHERE version = 12")
            for n, (email, edition, seat_type, status, revoked, modules) in enumerate(
                [
                    ("x@example.com", "premium", "agent", "active", None, ("wfo", "qm")),
                    ("y@example.com", "standard", "agent", "active", None, ("qm",)),
                    ("z@example.com", "premium", "agent", "revoked", T0, ("wfo",)),
                ],
                start=1,
            ):
                await tx.connection.execute(
                    "INSERT INTO assignments (id, email, name, edition, seat_type, status, "
                    "assigned_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (n, email, email, edition, seat_type, status, to_db(T0 - DAY), to_db(revoked)),
                )
                for module in modules:
                    await tx.connection.execute(
                        "INSERT INTO assignment_modules (assignment_id, module) VALUES (?, ?)",
                        (n, module),
                    )
    finally:
        await database.close()
    database = await Database.open(store_target)
    try:
        assert await assert_in_step(database) == {
            "premium agent": 1,
            "premium supervisor": 0,
            "standard agent": 1,
            "premium wfo": 1,
            "premium qm": 1,
            "standard qm": 1,
        }
        async with database.read() as tx:
            flows = await tx.reports.pool_flows(T0 - 30 * DAY, T0 + DAY)
        assert flows[("premium", "agent")] == Flow(2, 1)
        assert flows[("premium", "wfo")] == Flow(2, 1)
        assert flows[("standard", "qm")] == Flow(1, 0)
    finally:
        await database.close()


async def test_the_flows_of_any_window_are_those_of_the_seats(db: Database) -> None:
    """Whole days from the daily counts and the partial days at both ends seat by seat
    add up to a count of the seats, whatever the window: one day, two, thirty."""
    times = [
        T0 - timedelta(days=d, hours=h, seconds=s)
        for d in range(6)
        for h, s in ((0, 0), (5, 1), (11, 59), (23, 30))
    ]
    ids = []
    async with db.transaction() as tx:
        for n, at in enumerate(times):
            held = await tx.assignments.add(
                seat(
                    f"s{n}@example.com",
                    ("premium", "standard")[n % 2],
                    "agent",
                    ("qm",) * (n % 3 == 0),
                ),
                license_group=None,
                assigned_at=at,
            )
            ids.append(held.id)
            if n % 4 == 1:
                assert await tx.assignments.revoke(held.id, at + timedelta(hours=n))
        assert await tx.assignments.change(
            ids[0],
            edition="premium",
            seat_type="supervisor",
            modules=("wfo",),
            license_group=None,
            ends_on=None,
        )
        seats = [await tx.assignments.get(i) for i in ids]
    windows = [
        (T0 - timedelta(hours=3), T0),
        (T0 - timedelta(days=1, hours=2), T0 - timedelta(hours=1)),
        (times[5], times[17]) if times[5] < times[17] else (times[17], times[5]),
        (T0 - timedelta(days=30), T0 + timedelta(days=1)),
        (times[9], times[9]),
    ]
    for since, until in windows:
        async with db.read() as tx:
            found = await tx.reports.pool_flows(since, until)
        expected: Counter[tuple[str, str, str]] = Counter()
        lo, hi = to_db(since), to_db(until)
        for held in seats:
            assert held is not None
            for item in (held.seat_type, *held.modules):
                if lo <= to_db(held.assigned_at) <= hi:
                    expected[("added", held.edition, item)] += 1
                if held.revoked_at and lo <= to_db(held.revoked_at) <= hi:
                    expected[("removed", held.edition, item)] += 1
        got = {
            (what, edition, item): n
            for (edition, item), flow in found.items()
            for what, n in (("added", flow.added), ("removed", flow.removed))
            if n
        }
        assert got == dict(expected), (since, until)
        assert got  # every window above holds some seat


def _writes_counted_columns(source: str) -> bool:
    if re.search(r"(INSERT INTO|DELETE FROM) (assignments|assignment_modules)\b", source):
        return True
    if re.search(r"UPDATE assignment_modules\b", source):
        return True
    # An UPDATE's SET clause, up to its WHERE or the end of the string literal.
    for assigned in re.findall(r"UPDATE assignments\b(?: AS a)? SET (.*?)(?:WHERE|\")", source):
        if re.search(r"\b(status|edition|seat_type|assigned_at|revoked_at)\s*=", assigned):
            return True
    return False


def test_seats_and_their_modules_are_written_only_where_the_counts_are_kept() -> None:
    """A write elsewhere would leave the counts behind: the counted columns of seats and
    their modules are written by bot/store/assignments.py alone."""
    root = Path(bot.__file__).parent
    found = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path != root / "store" / "assignments.py" and _writes_counted_columns(path.read_text())
    ]
    assert found == []
    assert _writes_counted_columns((root / "store" / "assignments.py").read_text())
    assert _writes_counted_columns('"UPDATE assignments SET edition = ? WHERE id = ?"')
    assert not _writes_counted_columns(
        '"UPDATE assignments SET snoozed_until = ? WHERE status = ?"'
    )
