"""What stands between the request URL and Bolt: junk, forgeries, replays, other teams.

- `SlackEndpoint` serves `POST /slack/events`. It checks the signature itself (a
  non-numeric timestamp is a forgery, 401, not a crash), refuses a body that is not what
  Slack sends (invalid JSON, a `payload=` that is not a JSON object, a JSON list or
  `null`: 400), and refuses a signature it has already accepted (401, no effect) before
  handing the request to Bolt. Slack's own retries of an event (`X-Slack-Retry-Num`, same
  `event_id`) are answered 200 and come to nothing: the first delivery had its effect.
- `ReplayGuard` remembers accepted signatures (for Slack's 5-minute window) and event ids
  (for Slack's retry hour) in the store, so a replay is refused across restarts and
  replicas. One indexed `INSERT ... ON CONFLICT` per request on the ack path: on SQLite
  run at once on a connection that never waits (a fraction of a millisecond), or, when
  another connection holds the write lock, grouped with the requests arriving together
  and written by the database thread; expired rows are pruned now and then.
- `team_guard` is Bolt middleware (HTTP and Socket Mode): a request from no team, or from
  another team than the one the bot token belongs to (auth.test), is refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

import aiosqlite
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_team_id
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.db_health import StoreHealth, is_storage_error
from bot.store.db import BUSY_TIMEOUT_MS, Database
from bot.store.replays import ReplayGuardRepository, connect_now, first_sights_now

log = logging.getLogger(__name__)

SIGNATURE_WINDOW = timedelta(minutes=5)  # Slack's (and Bolt's) timestamp tolerance
SKEW = timedelta(minutes=1)  # remembered a little longer than the window, for clock skew
EVENT_RETRY_WINDOW = timedelta(hours=1)  # Slack retries an event for about 5 minutes
PRUNE_EVERY_SECONDS = 60.0
MAX_BATCH = 400  # keys per statement stay well under SQLite's bound-parameter limit

INVALID = {"error": "invalid request"}  # Bolt's own answer to a bad signature
NOT_INSTALLED = "this app is not installed in that workspace: nothing was changed."

WallClock = Callable[[], float]


class Verdict(Enum):
    ACCEPT = "accept"
    REPLAY = "replay"  # a signature already accepted: refused
    RETRY = "retry"  # Slack delivering an event again: acknowledged, no effect


@dataclass
class ReplayGuard:
    """Signatures and event ids already taken. Time is the wall clock: a signature's
    timestamp is Slack's real time, whatever clock the app's domain runs on."""

    db: Database
    health: StoreHealth = field(default_factory=StoreHealth)
    wall: WallClock = time.time
    _pruned_at: float = 0.0
    # Used only while the store cannot be written (read-only file, full disk): replays
    # are still refused within this process, and the request goes on to be told so.
    _memory: dict[str, float] = field(default_factory=dict)
    _queue: list[tuple[list[tuple[str, datetime]], asyncio.Future[list[bool]]]] = field(
        default_factory=list
    )
    _writer: asyncio.Task[None] | None = None
    _own: aiosqlite.Connection | None = None
    _now: sqlite3.Connection | None = None  # `_remember_now`'s

    async def _connection(self) -> aiosqlite.Connection:
        if self._own is None:
            self._own = await aiosqlite.connect(self.db.path, isolation_level=None)
            await self._own.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # As the store's own connection (bot/store/db.py): WAL, a commit is not synced
            # to disk each time (an fsync per ack-path write cost 10-80 ms on a busy disk);
            # what a crash of the process leaves is kept, as for every other write.
            await self._own.execute("PRAGMA synchronous = NORMAL")
        return self._own

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._own is not None:
            await self._own.close()
            self._own = None
        if self._now is not None:
            self._now.close()
            self._now = None

    async def admit(
        self, signature: str, timestamp: int, event_id: str | None, retry: bool
    ) -> Verdict:
        now = datetime.fromtimestamp(self.wall(), UTC)
        signed_at = datetime.fromtimestamp(timestamp, UTC)
        keys = [("sig:" + signature, signed_at + SIGNATURE_WINDOW + SKEW)]
        if event_id:
            keys.append(("event:" + event_id, now + EVENT_RETRY_WINDOW))
        fresh = await self._remember(keys)
        if not fresh[0]:
            return Verdict.RETRY if retry and event_id else Verdict.REPLAY
        if event_id and not fresh[1]:
            return Verdict.RETRY
        return Verdict.ACCEPT

    async def first_event(self, event_id: str) -> bool:
        """Whether an Events API event id is seen for the first time (Socket Mode, where
        there is no signature: Slack's redeliveries carry the same event id)."""
        now = datetime.fromtimestamp(self.wall(), UTC)
        return (await self._remember([("event:" + event_id, now + EVENT_RETRY_WINDOW)]))[0]

    async def _remember(self, keys: list[tuple[str, datetime]]) -> list[bool]:
        """Remember the keys at once when SQLite's write lock is free (`_remember_now`);
        else queue them for the next group write and wait for it: requests arriving
        together share one statement and one commit (and one turn of the store's lock)
        instead of a transaction each on the ack path."""
        fresh = self._remember_now(keys)
        if fresh is not None:
            return fresh
        done: asyncio.Future[list[bool]] = asyncio.get_running_loop().create_future()
        self._queue.append((keys, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        return await done

    async def _write_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            now_s = self.wall()
            now = datetime.fromtimestamp(now_s, UTC)
            try:
                results = await self._write(batch, now, now_s)
            except Exception as error:
                if not is_storage_error(error):
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                    continue
                self.health.failed(error, now)
                results = [self._remember_in_memory(keys, now_s) for keys, _ in batch]
            for (_, done), fresh in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(fresh)

    async def _write(
        self,
        batch: list[tuple[list[tuple[str, datetime]], asyncio.Future[list[bool]]]],
        now: datetime,
        now_s: float,
    ) -> list[list[bool]]:
        distinct: dict[str, datetime] = {}
        for keys, _ in batch:
            for key, until in keys:
                distinct.setdefault(key, until)
        prune = now_s - self._pruned_at >= PRUNE_EVERY_SECONDS
        if prune:
            self._pruned_at = now_s
        if not _is_sqlite_file(self.db):
            # Another store (PostgreSQL): a transaction of its own; rows lock, not files.
            async with self.db.transaction() as tx:
                guard = tx.replays
                new = await guard.first_sights(list(distinct.items()), now)
                if prune:
                    await guard.prune(now)
        else:
            # Autocommit statements on the guard's own SQLite connection, in the store's
            # next turn to write: the ack path waits for the transaction running now, not
            # for those queued behind it (nor for SQLite's busy handler to poll its way
            # past them). Another process holding the file's lock is waited for as usual.
            guard = ReplayGuardRepository(await self._connection())
            async with self.db.urgent_turn():
                new = await guard.first_sights(list(distinct.items()), now)
                if prune:
                    await guard.prune(now)
        # A key twice in one batch (a replay sent together with the original): only its
        # first request counts as the first sight.
        results = []
        for keys, _ in batch:
            fresh = []
            for key, _until in keys:
                fresh.append(key in new)
                new.discard(key)
            results.append(fresh)
        return results

    def _remember_now(self, keys: list[tuple[str, datetime]]) -> list[bool] | None:
        """One small statement in this thread, on a connection that does not wait: the
        ack does not wait for the database thread's turn (nor for the event loop to take
        its answer). None when it cannot be done that way now: another connection holds the
        write lock, the store refuses writes, prune time, or not a SQLite file; the queued
        write then waits for the lock, or handles the refusal."""
        now_s = self.wall()
        if not _is_sqlite_file(self.db) or now_s - self._pruned_at >= PRUNE_EVERY_SECONDS:
            return None
        try:
            if self._now is None:
                self._now = connect_now(self.db.path)
            new = first_sights_now(self._now, keys, datetime.fromtimestamp(now_s, UTC))
        except sqlite3.Error:
            return None
        return [key in new for key, _ in keys]

    def _remember_in_memory(self, keys: list[tuple[str, datetime]], now_s: float) -> list[bool]:
        for key in [k for k, until in self._memory.items() if until < now_s]:
            del self._memory[key]
        fresh = []
        for key, until in keys:
            fresh.append(key not in self._memory)
            self._memory.setdefault(key, until.timestamp())
        return fresh


def _is_sqlite_file(db: object) -> bool:
    return isinstance(db, Database) and getattr(db, "dialect", "sqlite") == "sqlite"


class BadBody(ValueError):
    pass


def bolt_request_of(request: web.Request, body: str) -> AsyncBoltRequest:
    """The request Bolt will dispatch, its body parsed once (by Bolt's own parse_body), or
    BadBody when the body is not a JSON object (Bolt would crash on it with a 500)."""
    try:
        bolt = AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    except ValueError as error:  # JSONDecodeError (a ValueError)
        raise BadBody(f"not JSON: {error}") from None
    except (AttributeError, TypeError):  # Bolt reads its context from a body not an object
        raise BadBody("JSON, not an object") from None
    if not isinstance(bolt.body, dict):
        raise BadBody(f"a JSON {type(bolt.body).__name__}, not an object")
    return bolt


class SlackEndpoint:
    """The aiohttp handler of `POST /slack/events`."""

    def __init__(
        self,
        app: AsyncApp,
        signing_secret: str,
        guard: ReplayGuard,
        acking: Callable[[], AbstractContextManager[None]] = nullcontext,
        observe: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self._guard = guard
        self._acking = acking  # counts the requests not acked yet (bot.ack_first.AckFirst)
        self._observe = observe  # the ack latency: arrival to the HTTP response

    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            with self._acking():
                return await self._handle(request)
        finally:
            self._observe(time.perf_counter() - started)

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return web.json_response(INVALID, status=401)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body = None
        if body is None or not self._verifier.is_valid(body, timestamp, signature):
            return web.json_response(INVALID, status=401)
        try:
            bolt_request = bolt_request_of(request, body)
        except BadBody as error:
            log.info("refused a signed request: body is %s", error)
            return web.json_response({"error": "malformed body"}, status=400)
        parsed = bolt_request.body
        event_id = parsed.get("event_id") if parsed.get("type") == "event_callback" else None
        verdict = await self._guard.admit(
            signature,
            int(timestamp),
            event_id if isinstance(event_id, str) else None,
            retry="X-Slack-Retry-Num" in request.headers,
        )
        if verdict is Verdict.REPLAY:
            log.warning("refused a replayed request (signature already accepted)")
            return web.json_response(INVALID, status=401)
        if verdict is Verdict.RETRY:
            return web.Response(status=200, text="")
        response = await self._app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)


TeamOf = Callable[[], Awaitable[str | None]]


def team_guard(team_of: TeamOf) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Bolt middleware: serve only the workspace the bot token belongs to."""

    async def only_our_team(
        body: dict,
        next: Callable[[], Awaitable[None]],  # noqa: A002 - Bolt's argument name
    ) -> BoltResponse | None:
        ours = await team_of()
        theirs = extract_team_id(body) if isinstance(body, dict) else None
        if theirs and (ours is None or theirs == ours):
            await next()
            return None
        log.warning("refused a request from team %s (this app serves %s)", theirs, ours)
        if body.get("command"):
            return BoltResponse(
                status=200,
                body=json.dumps({"response_type": "ephemeral", "text": NOT_INSTALLED}),
                headers={"content-type": ["application/json"]},
            )
        return BoltResponse(status=200, body="")

    return only_our_team


def socket_event_guard(guard: ReplayGuard) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Bolt middleware: over Socket Mode (no signatures, so `SlackEndpoint` is not in the
    way), an event Slack delivers again (same event id) comes to nothing the second time."""

    async def once_per_event(
        req: AsyncBoltRequest,
        body: dict,
        next: Callable[[], Awaitable[None]],  # noqa: A002 - Bolt's argument name
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if (
            req.mode == "socket_mode"
            and body.get("type") == "event_callback"
            and isinstance(event_id, str)
            and not await guard.first_event(event_id)
        ):
            return BoltResponse(status=200, body="")
        await next()
        return None

    return once_per_event
