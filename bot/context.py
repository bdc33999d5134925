"""What listeners and jobs are given: settings, rules, store, Slack client, clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.ack_first import AckFirst
from bot.clock import Clock
from bot.db_health import StoreHealth
from bot.delivery import Deliverer
from bot.services.ledger import Rules
from bot.settings import Settings
from bot.slack import AdminDirectory, DmChannels
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
        self._tasks: set[asyncio.Task[Any]] = set()

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Count `task` from now until it ends (and hold it: the loop holds tasks weakly)."""
        self._count += 1
        self._idle.clear()
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._count -= 1
        if self._count == 0:
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
    deliveries: Coalescer = field(default_factory=Coalescer)
    ack_first: AckFirst = field(default_factory=AckFirst)
    finance: AdminDirectory | None = None  # members of LICENSEBOT_FINANCE_GROUP (SPEC 10)

    @property
    def dm_channels(self) -> DmChannels:
        """The DM channels the outbox remembers: one set per process."""
        return self.deliverer.slack.dm_channels

    async def is_finance(self, user_id: str) -> bool:
        return self.finance is not None and await self.finance.is_admin(user_id)

    genesys: Any = None  # GenesysClient (bot/genesys), None in ledger-only mode
    store_health: StoreHealth = field(default_factory=StoreHealth)

    async def deliver(self) -> None:
        """After a listener's change: its cards, replies, DMs and updates go out first,
        never behind queued alerts; then the bulk ones it caused, unless a flush is
        sending bulk already (Deliverer.bulk_after_change). Listeners delivering at
        once share the running interactive delivery and one more after it (which finds
        what they queued): fifty decisions at once are one claim of the outbox at a time,
        not fifty claiming and handing back each other's messages."""

        async def interactive(_: str) -> None:
            await self.deliverer.deliver_interactive()

        await self.deliveries.run("interactive", interactive)
        await self.deliverer.bulk_after_change()
