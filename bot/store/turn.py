"""Whose turn it is to write on SQLite: one writer at a time, the ack path first.

`Database` serialises its transactions with this lock. The replay guard's ack-path write
(one small INSERT) takes an urgent turn: it waits for the transaction running now, never
for the ones queued behind it. With an ordinary lock (or SQLite's busy handler, which
polls every 25-100 ms) a steady queue of transactions left it waiting for seconds while
the scheduled jobs ran beside 50 commands in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar


class WriteTurn:
    """A FIFO lock with a second, earlier queue for urgent turns."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._waiting: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._held

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held and not self._urgent and not self._waiting:
            self._held = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._waiting
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn as the waiter was cancelled: pass it on
            elif turn in queue:
                queue.remove(turn)
            raise

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("WriteTurn released while not held")
        for queue in (self._urgent, self._waiting):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # held on, by the next in line
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        await self.acquire(urgent=True)
        try:
            yield
        finally:
            self.release()


_HOLDING: ContextVar[bool] = ContextVar("licensebot_holds_store", default=False)


def holds_store() -> bool:
    """Whether the running task holds, or is taking, what the ack path may have to wait
    for: the write turn (SQLite), a pooled connection and the write lock (PostgreSQL).
    bot/ack_first.py never holds such a step back (it would hold the acks back too)."""
    return _HOLDING.get()


@contextmanager
def holding() -> Iterator[None]:
    """Around the taking of the store's shared resource and all the use of it: the step
    that resumes once it is handed over already counts as holding it."""
    token = _HOLDING.set(True)
    try:
        yield
    finally:
        _HOLDING.reset(token)
