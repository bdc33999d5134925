"""Whose turn it is to write on SQLite: one writer at a time, the ack path first.

`Database` serialises its transactions with this lock. The replay guard's ack-path write
(one small INSERT) takes an urgent turn: it waits for the transaction running now, never
for the ones queued behind it. With an ordinary lock (or SQLite's busy handler, which
polls every 25-100 ms) a steady queue of transactions left it waiting for seconds while
the scheduled jobs ran beside 50 commands in flight.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any


class WriteTurn:
    """A FIFO lock with a second, earlier queue for urgent turns. It knows which task
    holds it, from the moment the turn is handed over (`holds_write`)."""

    def __init__(self) -> None:
        self._held = False
        self._holder: asyncio.Task[Any] | None = None
        self._urgent: deque[tuple[asyncio.Future[None], asyncio.Task[Any] | None]] = deque()
        self._waiting: deque[tuple[asyncio.Future[None], asyncio.Task[Any] | None]] = deque()

    def locked(self) -> bool:
        return self._held

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held and not self._urgent and not self._waiting:
            self._held = True
            self._hold(asyncio.current_task())
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._waiting
        entry = (turn, asyncio.current_task())
        queue.append(entry)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn as the waiter was cancelled: pass it on
            elif entry in queue:
                queue.remove(entry)
            raise

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("WriteTurn released while not held")
        for queue in (self._urgent, self._waiting):
            while queue:
                turn, task = queue.popleft()
                if not turn.done():
                    self._hold(task)
                    turn.set_result(None)  # held on, by the next in line
                    return
        self._held = False
        self._hold(None)

    def _hold(self, task: asyncio.Task[Any] | None) -> None:
        if self._holder is not None:
            _HOLDERS.discard(self._holder)
        self._holder = task
        if task is not None:
            _HOLDERS.add(task)

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


_HOLDERS: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()  # of a WriteTurn
_WRITING: ContextVar[bool] = ContextVar("licensebot_holds_write", default=False)


def holds_write() -> bool:
    """Whether the running task holds the store's write turn (SQLite: from the moment it
    is handed the turn, before it has run again) or is inside a write transaction
    (PostgreSQL). bot/ack_first.py never holds back such a step: other writers, the ack
    path's replay check among them, would wait for it."""
    return _WRITING.get() or asyncio.current_task() in _HOLDERS


@contextmanager
def writing() -> Iterator[None]:
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)
