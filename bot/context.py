"""What listeners and jobs are given: settings, rules, store, Slack client, clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.db_health import StoreHealth
from bot.delivery import Deliverer
from bot.services.ledger import Rules
from bot.settings import Settings
from bot.slack import AdminDirectory
from bot.store.db import Database

log = logging.getLogger(__name__)


class Inflight:
    """Counts listener work still running after its ack, so shutdown and tests can wait
    for it deterministically instead of sleeping. An error escaping a listener is logged
    here: Bolt would otherwise turn an error raised just after ack() into a 404."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        except Exception:
            log.exception("listener failed after its ack")
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self) -> None:
        while self._count:
            await self._idle.wait()


class Coalescer:
    """Runs `work(key)` at most once at a time per key. Calls for a key that arrive while it
    runs fold into one more run after it, and return when that run is done: a burst of
    App Home opens publishes a person's Home a few times, not once per open. (After a
    decision the Home is refreshed by the outbox, coalesced in the store.)"""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[None]] = {}
        self._again: set[str] = set()

    async def run(self, key: str, work: Callable[[str], Awaitable[None]]) -> None:
        running = self._running.get(key)
        if running is not None:
            self._again.add(key)
            await asyncio.shield(running)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._running[key] = done
        try:
            while True:
                self._again.discard(key)
                await work(key)
                if key not in self._again:
                    break
        finally:
            del self._running[key]
            done.set_result(None)


@dataclass
class Deps:
    settings: Settings
    rules: Rules
    db: Database
    client: AsyncWebClient
    clock: Clock
    admins: AdminDirectory
    inflight: Inflight
    deliverer: Deliverer
    homes: Coalescer = field(default_factory=Coalescer)
    finance: AdminDirectory | None = None  # members of LICENSEBOT_FINANCE_GROUP (SPEC 10)

    async def is_finance(self, user_id: str) -> bool:
        return self.finance is not None and await self.finance.is_admin(user_id)

    genesys: Any = None  # GenesysClient (bot/genesys), None in ledger-only mode
    store_health: StoreHealth = field(default_factory=StoreHealth)

    async def deliver(self) -> None:
        """After a listener's change: its cards, replies, DMs and updates go out first,
        never behind queued alerts (see Deliverer.after_change)."""
        await self.deliverer.after_change()
