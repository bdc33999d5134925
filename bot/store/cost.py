"""The database-thread time a task causes, so the work after an ack can be charged for it
(bot/ack_first.py): a query runs in its connection's thread, beside the event loop, and on
two cores that time is taken from the acks and from everything else the machine runs.

`charging()` opens an account in the running task's context (tasks it starts share it);
every statement run through a connection that `track()` was applied to adds the CPU
time its thread spent on it; `drain()` takes the sum so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import aiosqlite

_ACCOUNT: ContextVar[list[float] | None] = ContextVar("licensebot_store_time", default=None)


def charging() -> list[float]:
    """The running context's account, opened if it has none."""
    account = _ACCOUNT.get()
    if account is None:
        account = [0.0]
        _ACCOUNT.set(account)
    return account


def drain(account: list[float]) -> float:
    seconds, account[0] = account[0], 0.0
    return seconds


def charge(seconds: float) -> None:
    """Add `seconds` to the running context's account, if it has one."""
    account = _ACCOUNT.get()
    if account is not None:
        account[0] += seconds


def timed(work: Callable[[], Any]) -> Any:
    """Run `work` (in a worker thread: the context is the caller's, as asyncio.to_thread
    copies it) and charge its CPU time."""
    started = time.thread_time()
    try:
        return work()
    finally:
        charge(time.thread_time() - started)


def track(connection: aiosqlite.Connection) -> aiosqlite.Connection:
    """Charge each statement of `connection` to the account of the task that awaits it.
    aiosqlite runs every call through `Connection._execute` (0.20 to 0.22 at least; a
    test checks that statements are charged)."""
    execute = connection._execute

    async def charged(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        spent = [0.0]

        def run() -> Any:
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[0] = time.thread_time() - started

        try:
            return await execute(run)
        finally:
            charge(spent[0])

    connection._execute = charged  # type: ignore[method-assign]
    return connection
