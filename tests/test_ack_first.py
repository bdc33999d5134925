"""Acks first (bot/ack_first.py, issue 11): while requests arrive, the work after an ack
takes at most a share of the event loop, charged for its steps and for the database
time they cause; it is never held back while it holds the store's write turn; with
nothing arriving it runs unpaced. The clock is injected: a step "costs" what it moves the
clock by."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.ack_first import AckFirst
from bot.store.cost import charging, drain
from bot.store.db import Database

T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def spend(self, seconds: float) -> None:
        self.t += seconds


def steps(clock: Clock, done: list[int], count: int, cost: float) -> Coroutine[Any, Any, str]:
    """Work of `count` steps, each moving the clock by `cost`, then yielding."""

    async def work() -> str:
        for n in range(count):
            clock.spend(cost)
            done.append(n)
            await asyncio.sleep(0)
        return "finished"

    return work()


async def held(first: AckFirst, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`work`, paced, started under `first` and run until a step of it is held back."""
    task = asyncio.create_task(first.paced(work))
    await until(lambda: first.waiting == 1, "a step held back")
    return task


async def until(ready: Callable[[], bool], what: str) -> None:
    """Turns of the event loop (not time) until `ready()`."""
    for _ in range(1000):
        if ready():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


async def test_work_runs_unpaced_when_nothing_arrives() -> None:
    clock = Clock()
    first = AckFirst(now=clock)
    done: list[int] = []
    assert await first.paced(steps(clock, done, 20, 0.05)) == "finished"
    assert done == list(range(20))
    assert first.delay() == 0.0


async def test_work_waits_for_credit_while_a_request_waits_for_its_ack() -> None:
    clock = Clock()
    first = AckFirst(now=clock)
    done: list[int] = []
    with first.arriving():
        task = await held(first, steps(clock, done, 10, 0.004))
        # CREDIT_S, refilled at SHARE as the steps move the clock, then overdrawn.
        ran = len(done)
        assert first.CREDIT_S / 0.004 <= ran < 10
        wait = first.delay()
        assert wait > 0
        clock.spend(wait)  # the credit is back: the held step goes, and only it
        first.wake()
        await until(lambda: len(done) == ran + 1, "the held step ran")
        await until(lambda: first.waiting == 1, "the next step held back")
        assert len(done) == ran + 1 and not task.done()
    clock.spend(first.QUIET_S)
    first.wake()
    # Nothing arriving nor waiting for QUIET_S: the rest is not paced.
    assert await task == "finished"
    assert done == list(range(10))


async def test_a_paced_step_never_holds_up_an_ack_path_step() -> None:
    """What the ack path runs (unpaced) goes on while paced work is held back."""
    clock = Clock()
    first = AckFirst(now=clock)
    done: list[int] = []
    with first.arriving():
        work = await held(first, steps(clock, done, 10, 0.02))
        acked: list[int] = []

        async def ack(n: int) -> None:
            await asyncio.sleep(0)
            acked.append(n)

        await asyncio.gather(*(ack(n) for n in range(50)))
        assert len(acked) == 50 and done == [0]
    clock.spend(1.0)
    first.wake()
    assert await work == "finished"


def test_credit_refills_at_the_share_and_debt_is_bounded() -> None:
    clock = Clock()
    first = AckFirst(now=clock)
    with first.arriving():
        first.spent(0.030)  # 10 ms credit, 20 ms debt
        assert first.delay() == pytest.approx(0.020 / first.SHARE + 1e-4)
        clock.spend(0.010 / first.SHARE)
        assert first.delay() == pytest.approx(0.010 / first.SHARE + 1e-4)
        first.spent(1000.0)  # one enormous step
        assert first.delay() == pytest.approx(first.DEBT_S / first.SHARE + 1e-4)


def test_quiet_time_is_not_charged() -> None:
    clock = Clock()
    first = AckFirst(now=clock)
    first.spent(5.0)  # a long report while nobody asked for anything
    with first.arriving():
        assert first.delay() == 0.0


async def test_a_step_handed_the_write_turn_is_never_held_back(tmp_path: Path) -> None:
    """The turn is handed to a paced task that has not run since: holding it back would
    hold every writer (the ack path's replay check among them) behind the pacing."""
    clock = Clock()
    first = AckFirst(now=clock)
    db = await Database.open(tmp_path / "turn.db")
    wrote: list[str] = []
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:  # unpaced: the store's write turn, till `release`
        async with db.transaction():
            wrote.append("holder in")
            holding.set()
            await release.wait()

    async def writer() -> None:
        async with db.transaction() as tx:
            clock.spend(0.050)  # overdraws the credit, inside the turn
            await tx.connection.execute("SELECT 1")
            wrote.append("committed")

    held = asyncio.create_task(holder())
    task = asyncio.create_task(first.paced(writer()))
    try:
        # The database thread answers in its own time: waited for, not counted in turns
        # (the timeouts only end a failing run; nothing is timed).
        await asyncio.wait_for(holding.wait(), 30)
        with first.arriving():
            await until(lambda: bool(db._lock._waiting), "the writer queued for the turn")
            first.spent(1.0)  # no credit left, and the clock stands still
            release.set()  # the turn goes to the paced writer
            await asyncio.wait_for(held, 30)
            await asyncio.wait_for(asyncio.shield(task), 30)  # inside its turn, unpaced
            assert wrote == ["holder in", "committed"] and not db._lock.locked()
    finally:
        for running in (held, task):
            running.cancel()
        await asyncio.gather(held, task, return_exceptions=True)
        await db.close()


async def test_a_cancel_while_held_back_reaches_the_work() -> None:
    clock = Clock()
    first = AckFirst(now=clock)
    seen: list[str] = []

    async def work() -> None:
        try:
            clock.spend(0.050)
            await asyncio.sleep(0)
            seen.append("not reached")
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    with first.arriving():
        task = await held(first, work())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert seen == ["cancelled"]
    assert first.waiting == 0


async def test_paced_work_is_charged_for_its_database_time(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "cost.db")
    try:
        account = charging()
        drain(account)
        async with db.read() as tx:
            await tx.connection.execute_fetchall(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 300000) SELECT count(*) FROM n"
            )
        # Counting to 300,000 takes the reader's thread tens of milliseconds: charged to
        # this task, although the event loop spent next to nothing on it.
        assert drain(account) > 0.005
    finally:
        await db.close()


COUNT_TO = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
    "SELECT count(*) FROM n"
)


async def test_a_long_read_pauses_in_its_thread_a_write_never(tmp_path: Path) -> None:
    """Database.pace_reads: a read's statement asks how long to pause as it runs (the
    thread's CPU so far), a write transaction's never (it holds the write lock)."""
    db = await Database.open(tmp_path / "paced.db")
    asked: list[float] = []

    def pause_for(ran: float) -> float:
        asked.append(ran)
        return 0.0001

    try:
        await db.pace_reads(pause_for)
        async with db.transaction() as tx:
            await tx.connection.execute_fetchall(COUNT_TO)
        assert asked == []
        async with db.read() as tx:
            [(count,)] = await tx.connection.execute_fetchall(COUNT_TO)
        assert count == 300000
        assert len(asked) >= 10 and all(ran >= 0 for ran in asked)
    finally:
        await db.close()


def test_a_read_pauses_only_while_requests_arrive() -> None:
    clock = Clock()
    first = AckFirst(now=clock)
    assert first.pause_for(0.0005) == 0.0
    with first.arriving():
        assert first.pause_for(0.0005) == pytest.approx(0.0005 * (1 / first.SHARE - 1))
        assert first.pause_for(1.0) == first.MAX_PAUSE_S
