"""Whose turn it is to write (bot/store/turn.py, issue 11): the ack path's replay-guard
write waits for the transaction running now, never for the ones queued behind it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.guard import ReplayGuard, Verdict
from bot.store.activity import ActivityRepository
from bot.store.assignments import NewSeat
from bot.store.db import Database
from bot.store.turn import WriteTurn

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)


class ObservedTurn(WriteTurn):
    """WriteTurn, telling when an urgent turn has to wait."""

    def __init__(self) -> None:
        super().__init__()
        self.urgent_queued = asyncio.Event()

    async def acquire(self, *, urgent: bool = False) -> None:
        if urgent and self.locked():
            self.urgent_queued.set()
        await super().acquire(urgent=urgent)


async def test_urgent_turns_go_before_the_queue_and_the_rest_in_order() -> None:
    turn = WriteTurn()
    order: list[str] = []

    async def take(name: str, *, urgent: bool = False) -> None:
        await turn.acquire(urgent=urgent)
        order.append(name)
        turn.release()

    await turn.acquire()  # a transaction running now
    waiting = [asyncio.create_task(take(f"tx{n}")) for n in range(3)]
    await asyncio.sleep(0)
    ack = asyncio.create_task(take("ack", urgent=True))
    await asyncio.sleep(0)
    assert order == [] and turn.locked()
    turn.release()
    await asyncio.gather(ack, *waiting)
    assert order == ["ack", "tx0", "tx1", "tx2"]
    assert not turn.locked()


async def test_a_cancelled_waiter_neither_keeps_nor_loses_the_turn() -> None:
    turn = WriteTurn()
    await turn.acquire()
    gone = asyncio.create_task(turn.acquire())
    after = asyncio.create_task(turn.acquire(urgent=True))
    await asyncio.sleep(0)
    gone.cancel()
    turn.release()
    await after  # handed on past the cancelled waiter
    assert turn.locked()
    turn.release()
    assert not turn.locked()
    with pytest.raises(asyncio.CancelledError):
        await gone
    with pytest.raises(RuntimeError, match="not held"):
        turn.release()


async def test_the_replay_guard_writes_before_the_queued_transactions(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "turn.db")
    turn = db._lock = ObservedTurn()  # the store's own lock, observed
    guard = ReplayGuard(db, wall=lambda: T0.timestamp())
    release = asyncio.Event()
    try:
        finished: list[str] = []
        running = asyncio.Event()

        async def long_job() -> None:
            async with db.transaction() as tx:
                await tx.pools.set("premium", "agent", "seat", 5, None, T0)
                running.set()
                await release.wait()
            finished.append("job")

        async def queued(n: int) -> None:
            async with db.transaction() as tx:
                await tx.pools.set("premium", "agent", "seat", 10 + n, None, T0)
            finished.append(f"tx{n}")

        async def ack() -> None:
            verdict = await guard.admit("v0=abc", int(T0.timestamp()), None, False)
            finished.append(f"ack {verdict.value}")

        job = asyncio.create_task(long_job())
        await running.wait()
        behind = [asyncio.create_task(queued(n)) for n in range(3)]
        await asyncio.sleep(0)
        acked = asyncio.create_task(ack())
        # The guard's fast path found the file locked: its write waits for an urgent turn
        # (after opening its own connection, in that connection's thread).
        async with asyncio.timeout(10):
            await turn.urgent_queued.wait()
        assert finished == []
        release.set()
        await asyncio.gather(job, acked, *behind)
        assert finished[:2] == ["job", "ack accept"]
        assert finished[2:] == ["tx0", "tx1", "tx2"]
        replayed = await guard.admit("v0=abc", int(T0.timestamp()), None, False)
        assert replayed is Verdict.REPLAY
    finally:
        release.set()  # a failed check above must not leave the job holding the turn
        await guard.close()
        await db.close()


async def test_a_holder_active_again_is_not_marked_asked(tmp_path: Path) -> None:
    """The inactive job finds holders in a snapshot and asks them in a write after it:
    one who came back in between is not asked."""
    db = await Database.open(tmp_path / "ask.db")
    try:
        idle_since = T0 - timedelta(days=90)
        async with db.transaction() as tx:
            await tx.assignments.add_many(
                [
                    NewSeat("idle@example.com", "Idle", "premium", "agent", idle_since),
                    NewSeat("back@example.com", "Back", "premium", "agent", idle_since),
                ]
            )
        async with db.transaction() as tx:
            seats = {s.email: s.id for s in await tx.assignments.list_active()}
            assert await tx.activity.set_last_active(seats["back@example.com"], T0)
            activity: ActivityRepository = tx.activity
            cutoff = T0 - timedelta(days=30)
            assert await activity.mark_asked(seats["idle@example.com"], cutoff, T0)
            assert not await activity.mark_asked(seats["idle@example.com"], cutoff, T0)
            assert not await activity.mark_asked(seats["back@example.com"], cutoff, T0)
    finally:
        await db.close()
