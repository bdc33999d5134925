"""The store (SPEC 5): migrations, WAL, atomic units of work, compare-and-set, usage counts,
overage periods, the outbox and one active seat per person."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiosqlite
import pytest

import bot.store
from bot.licensing.entities import Seat
from bot.licensing.requests import Person, RequestStatus, SeatRequest
from bot.store.db import Database

T0 = datetime(2026, 11, 30, 20, 10, tzinfo=UTC)


@pytest.fixture
async def db(store_target):
    database = await Database.open(store_target)
    yield database
    await database.close()


async def add_request(db: Database, email: str = "nina@example.com", at: datetime = T0) -> int:
    seat = SeatRequest(Person(email=email), "agent", "premium", ("wfo",), "Support", None, "hi")
    async with db.transaction() as tx:
        request = await tx.requests.add(
            seat, requester_id="U0MGR", email=email, name="Nina", slack_user_id=None, at=at
        )
    return request.id


async def add_seat(
    tx,
    email: str,
    edition: str = "premium",
    seat_type: str = "agent",
    modules: tuple[str, ...] = (),
    at: datetime = T0,
):
    seat = Seat(
        email=email,
        name=email.split("@")[0].title(),
        edition=edition,
        seat_type=seat_type,
        modules=modules,
        department="Support",
    )
    return await tx.assignments.add(
        seat, license_group="Support_Agent_LicenseGroup", assigned_at=at
    )


async def scalar(db: Database, sql: str):
    async with db.read() as tx, tx.connection.execute(sql) as cursor:
        row = await cursor.fetchone()
    return row[0]


# --- connection and migrations ----------------------------------------------------------


async def test_migrations_are_applied_once(tmp_path):
    path = tmp_path / "twice.db"
    first = await Database.open(path)
    assert await first.migrate() == []
    await first.close()
    second = await Database.open(path)
    async with (
        second.read() as tx,
        tx.connection.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ) as cursor,
    ):
        rows = [tuple(r) for r in await cursor.fetchall()]
    await second.close()
    # Every numbered file once, in order (other issues add their own migrations).
    files = sorted(f.name for f in (Path(bot.store.__file__).parent / "migrations").glob("*.sql"))
    assert rows == [(int(name[:3]), name) for name in files]
    assert rows[0] == (1, "001_initial.sql")


async def test_fresh_database_records_the_migrations_it_applied(tmp_path):
    database = await Database.open(tmp_path / "fresh.db")
    try:
        assert await scalar(database, "SELECT COUNT(*) FROM schema_migrations") >= 1
        assert await scalar(database, "SELECT COUNT(*) FROM pools") == 0
    finally:
        await database.close()


async def test_wal_mode_and_busy_timeout(db):
    if db.dialect != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has no journal mode or busy timeout to set")
    assert await scalar(db, "PRAGMA journal_mode") == "wal"
    assert await scalar(db, "PRAGMA busy_timeout") >= 1000
    assert await scalar(db, "PRAGMA foreign_keys") == 1


async def test_ping_and_integrity(db):
    assert await db.ping()
    assert await db.integrity_check() == "ok"


# --- units of work ----------------------------------------------------------------------


async def test_a_change_and_its_audit_row_commit_together(db):
    async with db.transaction() as tx:
        _, after = await tx.pools.set("premium", "agent", "seat", 400, Decimal("150"), T0)
        await tx.audit.add(T0, "U0ADMIN", "pool.set", "pool:premium/agent", None, {"seats": 400})
    async with db.read() as tx:
        state = await tx.pools.state("premium", "agent")
        entries = await tx.audit.recent()
    assert state is not None
    assert state.counts() == "0/400"
    assert state.price == Decimal("150.00")
    assert [(e.actor, e.action, e.subject, e.after) for e in entries] == [
        ("U0ADMIN", "pool.set", "pool:premium/agent", {"seats": 400})
    ]


async def test_a_transaction_that_raises_rolls_back_the_change_and_its_audit_row(db):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.transaction() as tx:
            await tx.pools.set("premium", "agent", "seat", 400, None, T0)
            await tx.audit.add(T0, "U0ADMIN", "pool.set", "pool:premium/agent")
            raise Boom
    async with db.read() as tx:
        assert await tx.pools.state("premium", "agent") is None
        assert await tx.audit.count() == 0
    # the database is still usable afterwards
    async with db.transaction() as tx:
        await tx.pools.set("premium", "agent", "seat", 5, None, T0)
    async with db.read() as tx:
        assert (await tx.pools.state("premium", "agent")).purchased == 5


async def test_pool_set_keeps_the_price_when_none_is_given(db):
    async with db.transaction() as tx:
        await tx.pools.set("premium", "agent", "seat", 400, Decimal("149.99"), T0)
        before, after = await tx.pools.set("premium", "agent", "seat", 420, None, T0)
    assert (before.purchased, after.purchased) == (400, 420)
    assert after.price == Decimal("149.99")


# --- requests: compare-and-set ----------------------------------------------------------


async def test_request_round_trip(db):
    request_id = await add_request(db, email="Nina@Example.com")
    async with db.read() as tx:
        request = await tx.requests.get(request_id)
    assert request.status is RequestStatus.PENDING
    assert request.email == "nina@example.com"
    assert request.modules == ("wfo",)
    assert request.license_group == "Support_Agent_LicenseGroup"
    assert request.created_at == T0


async def test_decide_is_compare_and_set(db):
    request_id = await add_request(db)
    async with db.transaction() as tx:
        first = await tx.requests.decide(request_id, RequestStatus.APPROVED, "U0ADMIN1", T0)
    async with db.transaction() as tx:
        second = await tx.requests.decide(
            request_id, RequestStatus.DENIED, "U0ADMIN2", T0 + timedelta(minutes=1), "no budget"
        )
    async with db.read() as tx:
        request = await tx.requests.get(request_id)
    assert (first, second) == (True, False)
    assert request.status is RequestStatus.APPROVED
    assert request.decided_by == "U0ADMIN1"
    assert request.decided_at == T0
    assert request.decision_reason is None


async def test_decide_unknown_request_changes_nothing(db):
    async with db.transaction() as tx:
        assert not await tx.requests.decide(999, RequestStatus.APPROVED, "U0ADMIN", T0)


async def test_ten_concurrent_decisions_have_one_winner(db):
    request_id = await add_request(db)

    async def attempt(n: int) -> bool:
        status = RequestStatus.APPROVED if n % 2 else RequestStatus.DENIED
        async with db.transaction() as tx:
            return await tx.requests.decide(request_id, status, f"U0ADMIN{n}", T0)

    results = await asyncio.gather(*(attempt(n) for n in range(10)))
    assert results.count(True) == 1
    winner = results.index(True)
    async with db.read() as tx:
        request = await tx.requests.get(request_id)
    assert request.decided_by == f"U0ADMIN{winner}"


async def test_two_databases_on_one_file_have_one_winner(tmp_path):
    path = tmp_path / "shared.db"
    one, two = await asyncio.gather(Database.open(path), Database.open(path))
    try:
        request_id = await add_request(one)

        async def attempt(database: Database, n: int) -> bool:
            async with database.transaction() as tx:
                won = await tx.requests.decide(
                    request_id, RequestStatus.APPROVED, f"U0ADMIN{n}", T0
                )
                await asyncio.sleep(0)  # hold the transaction across a loop turn
                return won

        results = await asyncio.gather(*(attempt(one if n % 2 else two, n) for n in range(10)))
        assert results.count(True) == 1
        async with two.read() as tx:
            request = await tx.requests.get(request_id)
        assert request.status is RequestStatus.APPROVED
        assert request.decided_by == f"U0ADMIN{results.index(True)}"
    finally:
        await one.close()
        await two.close()


async def test_pending_lists_only_pending_requests(db):
    first = await add_request(db, "a@example.com", T0)
    second = await add_request(db, "b@example.com", T0 + timedelta(hours=2))
    async with db.transaction() as tx:
        await tx.requests.decide(first, RequestStatus.CANCELLED, "U0MGR", T0)
    async with db.read() as tx:
        assert [r.id for r in await tx.requests.pending()] == [second]
        assert await tx.requests.pending(created_before=T0 + timedelta(hours=1)) == []


# --- pool usage ---------------------------------------------------------------------------


async def test_pool_usage_counts(db):
    async with db.transaction() as tx:
        await tx.pools.set("premium", "agent", "seat", 10, None, T0)
        await tx.pools.set("premium", "supervisor", "seat", 10, None, T0)
        await tx.pools.set("standard", "agent", "seat", 10, None, T0)
        await tx.pools.set("premium", "wfo", "module", 10, None, T0)
        await tx.pools.set("premium", "qm", "module", 10, None, T0)
        await tx.pools.set("standard", "qm", "module", 10, None, T0)
        await add_seat(tx, "a@example.com", "premium", "agent", ("wfo",))
        await add_seat(tx, "b@example.com", "premium", "agent", ("qm", "wfo"))
        await add_seat(tx, "c@example.com", "premium", "supervisor", ("wfo",))
        await add_seat(tx, "d@example.com", "standard", "agent", ("qm",))
        gone = await add_seat(tx, "e@example.com", "premium", "agent", ("wfo", "qm"))
        assert await tx.assignments.revoke(gone.id, T0 + timedelta(days=1))
    async with db.read() as tx:
        counts = {s.label: s.counts() for s in await tx.pools.all_states()}
    assert counts == {
        "premium agent": "2/10",
        "premium supervisor": "1/10",
        "standard agent": "1/10",
        "premium wfo": "3/10",
        "premium qm": "1/10",
        "standard qm": "1/10",
    }


async def test_revoke_is_compare_and_set(db):
    async with db.transaction() as tx:
        seat = await add_seat(tx, "a@example.com")
        assert await tx.assignments.revoke(seat.id, T0)
        assert not await tx.assignments.revoke(seat.id, T0 + timedelta(hours=1))
        revoked = await tx.assignments.get(seat.id)
    assert revoked.status == "revoked"
    assert revoked.revoked_at == T0


# --- overage periods ----------------------------------------------------------------------


async def test_refresh_overage_opens_updates_closes_and_reopens(db):
    t1, t2, t3, t4 = (T0 + timedelta(days=d) for d in (1, 2, 3, 40))
    async with db.transaction() as tx:
        await tx.pools.set("premium", "agent", "seat", 1, None, T0)
        first = await add_seat(tx, "a@example.com")
        assert await tx.pools.refresh_overage("premium", "agent", T0) is None
        second = await add_seat(tx, "b@example.com")
        assert await tx.pools.refresh_overage("premium", "agent", t1) == "started"
        assert (await tx.pools.state("premium", "agent")).over_since == t1
        third = await add_seat(tx, "c@example.com")
        assert await tx.pools.refresh_overage("premium", "agent", t2) is None
        periods = await tx.pools.overage_periods()
        assert [(p.started_at, p.ended_at, p.peak_overage) for p in periods] == [(t1, None, 2)]
        assert (await tx.pools.state("premium", "agent")).over_since == t1

        await tx.assignments.revoke(second.id, t3)
        await tx.assignments.revoke(third.id, t3)
        assert await tx.pools.refresh_overage("premium", "agent", t3) == "ended"
        assert (await tx.pools.state("premium", "agent")).over_since is None
        assert await tx.pools.refresh_overage("premium", "agent", t3) is None

        await add_seat(tx, "d@example.com", at=t4)
        assert await tx.pools.refresh_overage("premium", "agent", t4) == "started"
        periods = await tx.pools.overage_periods()
        state = await tx.pools.state("premium", "agent")
    assert first.status == "active"
    assert [(p.started_at, p.ended_at, p.peak_overage) for p in periods] == [
        (t1, t3, 2),
        (t4, None, 1),
    ]
    assert state.over_since == t4
    assert state.counts() == "2/1"


async def test_refresh_overage_of_a_missing_pool_is_none(db):
    async with db.transaction() as tx:
        assert await tx.pools.refresh_overage("premium", "agent", T0) is None


async def test_buying_seats_ends_the_overage(db):
    async with db.transaction() as tx:
        await tx.pools.set("premium", "agent", "seat", 1, None, T0)
        await add_seat(tx, "a@example.com")
        await add_seat(tx, "b@example.com")
        assert await tx.pools.refresh_overage("premium", "agent", T0) == "started"
        await tx.pools.set("premium", "agent", "seat", 5, None, T0 + timedelta(hours=1))
        assert await tx.pools.refresh_overage("premium", "agent", T0 + timedelta(hours=1)) == (
            "ended"
        )
        assert (await tx.pools.state("premium", "agent")).over_since is None


# --- outbox -------------------------------------------------------------------------------


async def test_enqueue_with_a_key_is_idempotent(db):
    async with db.transaction() as tx:
        first = await tx.outbox.enqueue(
            "channel",
            "alert.limits",
            T0,
            data={"pool": "premium agent"},
            channel="C0ALERTS",
            key="limits:premium/agent:2026-11-30",
        )
        second = await tx.outbox.enqueue(
            "channel",
            "alert.limits",
            T0 + timedelta(hours=1),
            data={"pool": "other"},
            channel="C0ALERTS",
            key="limits:premium/agent:2026-11-30",
        )
        messages = await tx.outbox.messages()
    assert isinstance(first, int)
    assert second is None
    assert len(messages) == 1
    assert messages[0].data == {"pool": "premium agent"}
    assert messages[0].created_at == T0


async def test_idempotent_across_transactions_and_connections(db, tmp_path):
    async with db.transaction() as tx:
        assert await tx.outbox.enqueue("channel", "t", T0, channel="C1", key="k") is not None
    other = await Database.open(db.path)
    try:
        async with other.transaction() as tx:
            assert await tx.outbox.enqueue("channel", "t", T0, channel="C1", key="k") is None
    finally:
        await other.close()
    async with db.read() as tx:
        assert (await tx.outbox.by_key("k")).template == "t"
        assert await tx.outbox.pending_count() == 1


async def test_messages_without_a_key_are_all_kept(db):
    async with db.transaction() as tx:
        ids = [await tx.outbox.enqueue("dm", "dm.decided", T0, user_id="U1") for _ in range(2)]
        assert await tx.outbox.pending_count() == 2
    assert None not in ids
    assert ids[0] != ids[1]


async def test_claim_leases_a_message(db):
    async with db.transaction() as tx:
        message_id = await tx.outbox.enqueue("channel", "alert", T0, channel="C1", key="k1")
    async with db.transaction() as tx:
        claimed = await tx.outbox.claim(T0)
    async with db.transaction() as tx:
        again = await tx.outbox.claim(T0 + timedelta(seconds=30))
    async with db.transaction() as tx:
        after_lease = await tx.outbox.claim(T0 + timedelta(seconds=61))
    assert [m.id for m in claimed] == [message_id]
    assert again == []
    assert [m.id for m in after_lease] == [message_id]


async def test_concurrent_claims_from_two_connections_do_not_share_a_message(db):
    async with db.transaction() as tx:
        for n in range(5):
            await tx.outbox.enqueue("channel", "alert", T0, channel="C1", key=f"k{n}")
    other = await Database.open(db.path)
    try:

        async def claim(database: Database):
            async with database.transaction() as tx:
                return [m.id for m in await tx.outbox.claim(T0)]

        a, b = await asyncio.gather(claim(db), claim(other))
    finally:
        await other.close()
    assert sorted(a + b) == sorted(set(a + b))
    assert len(a + b) == 5


async def test_delivered_messages_are_not_claimed_and_released_ones_are(db):
    async with db.transaction() as tx:
        delivered = await tx.outbox.enqueue("channel", "a", T0, channel="C1")
        failed = await tx.outbox.enqueue("channel", "b", T0, channel="C1")
        await tx.outbox.claim(T0)
        await tx.outbox.delivered(delivered, T0, "C1", "1700000000.000100")
        await tx.outbox.release(failed, "ratelimited")
        claimed = await tx.outbox.claim(T0 + timedelta(seconds=1))
        messages = {m.id: m for m in await tx.outbox.messages()}
    assert [m.id for m in claimed] == [failed]
    assert messages[delivered].status == "delivered"
    assert messages[delivered].delivered_ts == "1700000000.000100"
    assert messages[failed].attempts == 1


# --- one active seat per person -------------------------------------------------------------


async def test_one_active_seat_per_email(db):
    async with db.transaction() as tx:
        first = await add_seat(tx, "nina@example.com")
    with pytest.raises(aiosqlite.IntegrityError):
        async with db.transaction() as tx:
            await add_seat(tx, "nina@example.com", "standard", "supervisor")
    async with db.transaction() as tx:
        assert (await tx.assignments.active_for_email("nina@example.com")).id == first.id
        assert await tx.assignments.count_active() == 1
        await tx.assignments.revoke(first.id, T0 + timedelta(days=1))
        second = await add_seat(tx, "nina@example.com", "standard", "supervisor")
        history = await tx.assignments.history_for_email("nina@example.com")
    assert [(a.id, a.status) for a in history] == [(second.id, "active"), (first.id, "revoked")]


async def test_email_is_the_identity_whatever_its_case(db):
    # A Slack profile email may be mixed case; the seat must be found, and not doubled.
    async with db.transaction() as tx:
        seat = await add_seat(tx, "Nina@Example.com")
    async with db.read() as tx:
        found = await tx.assignments.active_for_email("Nina@Example.com")
    assert found is not None and found.id == seat.id
    with pytest.raises(aiosqlite.IntegrityError):
        async with db.transaction() as tx:
            await add_seat(tx, "nina@example.com")


async def test_assignment_round_trip(db):
    async with db.transaction() as tx:
        seat = await add_seat(tx, "omar@example.com", "premium", "agent", ("wfo", "chat"))
    assert seat.modules == ("chat", "wfo")
    assert seat.seat == "premium agent +chat +wfo"
    assert seat.assigned_at == T0
    assert seat.last_active_at is None
    assert seat.license_group == "Support_Agent_LicenseGroup"


async def test_list_active_inactive_before(db):
    async with db.transaction() as tx:
        old = await add_seat(tx, "old@example.com", at=T0 - timedelta(days=60))
        await add_seat(tx, "new@example.com", at=T0 - timedelta(days=2))
        listed = await tx.assignments.list_active(inactive_before=T0 - timedelta(days=30))
    assert [a.id for a in listed] == [old.id]


async def test_a_cancel_while_begin_waits_leaves_no_transaction_open(tmp_path):
    """A unit of work cancelled while its BEGIN waits for the write lock (another process
    holds it) must not leave the connection inside the transaction that BEGIN opens once
    aiosqlite's thread gets the lock: the next unit of work would fail to begin."""
    path = tmp_path / "locked.db"
    db = await Database.open(path)
    holder = await aiosqlite.connect(path, isolation_level=None)
    try:
        await holder.execute("BEGIN IMMEDIATE")  # another process's write lock

        async def write() -> None:
            async with db.transaction() as tx:
                await tx.requests.pending()

        task = asyncio.ensure_future(write())
        await asyncio.sleep(0.1)  # let the BEGIN reach SQLite, where it waits for the lock
        assert db._lock.locked() and not task.done()
        task.cancel()
        await holder.execute("ROLLBACK")  # the lock is free: the waiting BEGIN completes
        with pytest.raises(asyncio.CancelledError):
            await task
        request_id = await add_request(db)  # a new unit of work begins and commits
        async with db.read() as tx:
            assert (await tx.requests.get(request_id)) is not None
    finally:
        await holder.close()
        await db.close()


async def test_opening_a_store_in_use_takes_no_write_lock(store_target: Path | str) -> None:
    """A report opens a connection of its own while the service writes: with nothing to
    migrate it neither waits for the write under way nor makes the next one wait."""
    service = await Database.open(store_target)
    try:
        async with service.transaction() as tx:  # holds the write lock meanwhile
            await tx.connection.execute("DELETE FROM pools WHERE edition = 'none'")
            report = await asyncio.wait_for(Database.open(store_target), 5)
            await report.close()
    finally:
        await service.close()
