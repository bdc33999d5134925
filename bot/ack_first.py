"""Acks first: the event loop's time goes to requests waiting for their ack, and the work
after an ack (a listener's reply, reads, decisions, deliveries; the scheduled jobs) takes
at most a share of it while requests keep arriving.

A request is counted from its arrival to its ack (`AckFirst.arriving`, HTTP). Paced work
(`AckFirst.paced`: a listener once it has acked, the scheduled jobs, the outbox's
background deliveries) is a coroutine whose every step, from one `await` to the next, is
timed, and charged too for the database-thread time its statements took
(bot/store/cost.py): while requests arrive, those steps may spend `SHARE` of the wall
time (a credit that refills at that rate, up to `CREDIT_S`); past it, the next step
waits until the credit is back or the requests have stopped (`QUIET_S` with none
arriving, none waiting for its ack). A long read pauses in its own thread likewise
(`pause_for`, Database.pace_reads). When nothing arrives the work runs unpaced.

Why a share and not a queue: a burst of 50 slash commands is acked first and answered
right after, but a sustained stream of them never leaves the loop idle, and work that
only ran when idle would wait for the stream to end (the last design: it waited up to
1 s, then competed with the acks at full weight). A share bounds both sides: acks keep
at least 1 - SHARE of the loop, the work progresses at SHARE at worst.

A step that holds, or has just been handed, what the ack path's replay check may wait
for is never held back (bot/store/turn.py `holds_store`): SQLite's write turn, a
PostgreSQL pooled connection and its write lock.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from bot.store.cost import charging, drain
from bot.store.turn import holds_store

T = TypeVar("T")

Now = Callable[[], float]


class AckFirst:
    SHARE = 0.05  # of the loop (and database threads) paced work takes while requests arrive
    CREDIT_S = 0.010  # the most paced work may run at once before pacing starts
    DEBT_S = 0.050  # the most debt carried: a step waits DEBT_S / SHARE (1 s) at most
    QUIET_S = 0.005  # no request arriving nor waiting for this long: not paced
    MAX_PAUSE_S = 0.020  # a paced read's longest pause at once (bot/store/db.py)

    def __init__(self, now: Now = time.perf_counter) -> None:
        self._now = now  # the clock: injected, and tests move it (`wake`)
        self.acking = 0
        self._last_arrival = float("-inf")
        self._credit = self.CREDIT_S
        self._at = now()
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None

    @property
    def waiting(self) -> int:
        """Paced steps held back now."""
        return sum(1 for waiter in self._waiting if not waiter.done())

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """A request from its arrival to its ack."""
        self.acking += 1
        self._last_arrival = self._now()
        try:
            yield
        finally:
            self.acking -= 1
            self._last_arrival = self._now()
            if not self.acking and self._waiting:
                self._schedule()

    def paced(
        self, work: Coroutine[Any, Any, T], *, after: asyncio.Future[Any] | None = None
    ) -> Coroutine[Any, Any, T]:
        """`work`, its steps paced; with `after`, only the steps once `after` is done (a
        listener's own steps up to its ack are the ack path: never held back)."""
        return _run(_Paced(work, self, after))

    def delay(self) -> float:
        """Seconds before a paced step may run: 0 now. Pure arithmetic on the clock."""
        t = self._now()
        self._refill(t)
        if self._quiet(t) or self._credit > 0:
            return 0.0
        until_credit = -self._credit / self.SHARE + 1e-4
        if self.acking:
            return until_credit
        return max(0.0, min(until_credit, self._last_arrival + self.QUIET_S - t))

    def pause_for(self, ran: float) -> float:
        """How long a paced read that just ran `ran` seconds of CPU in a database thread
        should sleep there, so that it takes SHARE of a core while requests arrive (0
        when none does). Called from that thread: it only reads."""
        if self._quiet(self._now()):
            return 0.0
        return min(self.MAX_PAUSE_S, ran * (1 / self.SHARE - 1))

    def spent(self, seconds: float) -> None:
        """A step ran for `seconds` (with the database time it caused): charged to the
        credit while requests arrive, never beyond DEBT_S of debt (the most a step is held
        back is DEBT_S / SHARE)."""
        t = self._now()
        self._refill(t)
        if not self._quiet(t):
            self._credit = max(-self.DEBT_S, self._credit - seconds)
        if self._waiting:
            self._schedule()

    def wake(self) -> None:
        """Look again now whether a held step may go (the timers run on the event loop's
        clock: a test that moves the injected clock says so here)."""
        if self._waiting:
            self._schedule()

    def _quiet(self, t: float) -> bool:
        return not self.acking and t - self._last_arrival >= self.QUIET_S

    def _refill(self, t: float) -> None:
        self._credit = min(self.CREDIT_S, self._credit + (t - self._at) * self.SHARE)
        self._at = t

    def _turn(self) -> asyncio.Future[None] | None:
        """None: go now; else a future done when this step may run (first come, first
        served among the steps held back)."""
        if not self._waiting and self.delay() == 0.0:
            return None
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._schedule()
        return waiter

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        wait = self.delay()
        if wait == 0:
            self._timer = loop.call_soon(self._release)
        else:
            self._timer = loop.call_later(wait, self._release)

    def _release(self) -> None:
        """One held step goes (it charges its cost, which schedules the next)."""
        self._timer = None
        while self._waiting and self.delay() == 0.0:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        if self._waiting:
            self._schedule()


async def _run(paced: _Paced[T]) -> T:
    return await paced


class _Paced(Generic[T]):
    """Drives `work` as `await` would, timing each of its steps and holding a step back
    while `AckFirst` says so. What `work` awaits (futures, bare yields) goes to the task
    unchanged; a cancel, or anything thrown in, goes on to `work`."""

    def __init__(
        self, work: Coroutine[Any, Any, T], first: AckFirst, after: asyncio.Future[Any] | None
    ) -> None:
        self._work = work
        self._first = first
        self._after = after

    def __await__(self) -> Generator[Any, Any, T]:
        work, first, after = self._work, self._first, self._after
        account = charging()  # the database-thread time its statements take
        value: Any = None
        error: BaseException | None = None
        while True:
            charged = after is None or after.done()
            if charged and error is None and not holds_store():
                turn = first._turn()
                if turn is not None:
                    try:
                        yield from turn.__await__()
                    except GeneratorExit:  # dropped while held back: the next one goes
                        work.close()
                        first.wake()
                        raise
                    except BaseException as raised:  # cancelled while held back
                        turn.cancel()
                        error = raised
            started = first._now()
            try:
                yielded = work.send(value) if error is None else work.throw(error)
            except StopIteration as stop:
                return stop.value
            finally:
                if charged:
                    first.spent(first._now() - started + drain(account))
            value, error = None, None
            try:
                value = yield yielded
            except GeneratorExit:
                work.close()
                raise
            except BaseException as raised:
                error = raised
