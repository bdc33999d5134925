"""The outbox: messages written with the change that causes them, delivered after."""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from aiosqlite import Row

from bot.licensing.messages import HomeRefresh, Payload, check_row, decode_row, encode
from bot.store.base import Repository
from bot.store.codec import dumps, from_db, to_db

LEASE = timedelta(seconds=60)


class OutboxTarget(StrEnum):
    """Where a queued message goes: the closed set of side effects the deliverer knows.
    (A StrEnum: the values are the strings stored in `outbox.target`.)"""

    CARD = "card"  # the request's card in the approvals channel: posted, then updated
    THREAD = "thread"  # a reply in the thread of the request's card
    DM = "dm"  # a direct message to `user_id`
    CHANNEL = "channel"  # a message in `channel` (alerts, digests)
    UPDATE = "update"  # re-render an already posted message (data["of"] = its key)
    GENESYS = "genesys"  # a Genesys Cloud provisioning step (bot/genesys/provision.py)
    HOME = "home"  # publish `user_id`'s App Home, built from the store when delivered


class Lane(StrEnum):
    """Interactive messages are claimed and sent before bulk ones, never behind them."""

    INTERACTIVE = "interactive"
    BULK = "bulk"


BULK_TARGETS = frozenset({OutboxTarget.CHANNEL})


def lane_of(target: str) -> Lane:
    return Lane.BULK if target in BULK_TARGETS else Lane.INTERACTIVE


class Failure(StrEnum):
    """Why a message ended undelivered (status 'failed')."""

    PERMANENT = "permanent"  # Slack refused it (channel_not_found, invalid_blocks, ...)
    GONE = "gone"  # the recipient left Slack (user_not_found, account_inactive)


@cache
def _owner_of(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{secrets.token_hex(6)}"


def lease_owner() -> str:
    """This process, as a lease holder: host, pid, and a nonce for this life of the pid."""
    return _owner_of(os.getpid())


def owner_gone(owner: str) -> bool:
    """True only when the lease holder is certainly dead: a process on this host whose pid
    no longer exists, or an earlier life of our own pid (a container restarts its process
    with the same pid). Anything else (alive, another user's, another host) keeps its lease
    until LEASE expires, which is always safe. SQLite is a local file, so every process
    that shares the database runs on this host."""
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner != lease_owner()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    key: str | None
    target: str  # an OutboxTarget value
    template: str
    data: dict[str, Any] = field(default_factory=dict)
    request_id: int | None = None
    channel: str | None = None
    user_id: str | None = None
    status: str = "pending"
    attempts: int = 0
    delivered_channel: str | None = None
    delivered_ts: str | None = None
    created_at: datetime | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None
    lane: str = Lane.INTERACTIVE
    next_attempt_at: datetime | None = None
    post_started_at: datetime | None = None
    last_error: str | None = None
    failure: str | None = None
    failed_at: datetime | None = None
    notified_at: datetime | None = None

    @property
    def payload(self) -> Payload:
        """The stored data as its kind's payload (bot.licensing.messages); UnknownKind (a
        LookupError) for a template that names no kind, PayloadError for data that does
        not fit it."""
        return decode_row(self.target, self.template, self.data)


@dataclass(frozen=True, slots=True)
class Addressed:
    """Where a due message goes, all a claim needs to decide whether to lease it."""

    id: int
    key: str | None
    target: str
    channel: str | None
    user_id: str | None


# What a destination is worked out from: a due message before it is leased, or one leased.
Addressable = Addressed | OutboxMessage


class OutboxRepository(Repository):
    async def enqueue(
        self,
        target: str,
        template: str,
        at: datetime,
        *,
        data: Payload | dict[str, Any] | None = None,
        request_id: int | None = None,
        channel: str | None = None,
        user_id: str | None = None,
        key: str | None = None,
    ) -> int | None:
        """Queue a message; with a key already queued, nothing is added and None returned.
        It is due at once, in the lane its target belongs to. `data` is the message kind's
        payload (stored as JSON by its fields), or already stored data."""
        kind = OutboxTarget(target)  # a closed set: an unknown target fails here, not later
        if isinstance(data, Payload):
            check_row(kind, template, data)  # the payload of its kind, or it fails here
        changed, new_id = await self._run(
            "INSERT INTO outbox (key, target, template, data, request_id, channel, user_id, "
            "created_at, lane, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            (
                key,
                kind.value,
                template,
                _json(data),
                request_id,
                channel,
                user_id,
                to_db(at),
                lane_of(kind).value,
                to_db(at),
            ),
        )
        return new_id if changed == 1 else None

    async def queue_home(self, user_id: str, at: datetime) -> int | None:
        """Queue a refresh of the person's App Home, unless one is queued already and not
        taken yet (a burst of decisions publishes a few times, not once per click): the
        Home is built when it is delivered, so the one queued shows this change too. A
        refresh being sent right now (leased) may have read the store before this change:
        then a new one is queued. Returns the new message's id, or None."""
        waiting = await self._scalar(
            "SELECT COUNT(*) FROM outbox WHERE target = ? AND user_id = ? "
            "AND status = 'pending' AND lease_owner IS NULL",
            (OutboxTarget.HOME.value, user_id),
        )
        if waiting:
            return None
        return await self.enqueue(
            OutboxTarget.HOME, OutboxTarget.HOME.value, at, data=HomeRefresh(), user_id=user_id
        )

    async def claim(
        self,
        at: datetime,
        limit: int = 50,
        *,
        lanes: tuple[str, ...] | None = None,
        accept: Callable[[Addressed], bool] | None = None,
    ) -> list[OutboxMessage]:
        """Lease pending messages that are due (`next_attempt_at <= at`) to this process
        (compare-and-set): interactive before bulk, then by due time, then oldest first, so
        a message waiting out its backoff never stands in front of a new one. Leases of a
        process that died (killed mid-delivery) are taken back first. `lanes` limits the
        claim to those lanes. `accept`, when given, sees each of the first `limit` due
        messages (where it goes, not its data) in that order and says which to lease: the
        others stay free, neither leased nor read, so a claim takes only what its caller
        has room for. Call it inside a transaction."""
        await self.reclaim_orphaned(at)
        where = (
            "status = 'pending' AND (lease_until IS NULL OR lease_until < ?) "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        )
        params: list[Any] = [to_db(at), to_db(at)]
        if lanes:
            where += f" AND lane IN ({', '.join('?' for _ in lanes)})"
            params += list(lanes)
        # FOR UPDATE SKIP LOCKED (PostgreSQL): replicas claiming at once never wait on, or
        # share, a message; SQLite's write transaction already holds the whole file.
        lock = " FOR UPDATE SKIP LOCKED" if self._dialect == "postgresql" else ""
        rows = await self._all(
            f"SELECT id, key, target, channel, user_id FROM outbox WHERE {where} "
            "ORDER BY CASE lane WHEN 'interactive' THEN 0 ELSE 1 END, next_attempt_at, id "
            f"LIMIT ?{lock}",
            [*params, limit],
        )
        due = [Addressed(r["id"], r["key"], r["target"], r["channel"], r["user_id"]) for r in rows]
        chosen = [d.id for d in due if accept is None or accept(d)]
        if not chosen:
            return []
        leased = {
            row["id"]: _message(row)
            for row in await self._all(
                "UPDATE outbox SET lease_until = ?, lease_owner = ? "
                f"WHERE id IN ({', '.join('?' for _ in chosen)}) "
                "AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?) "
                "RETURNING *",
                [to_db(at + LEASE), lease_owner(), *chosen, to_db(at)],
            )
        }
        return [leased[i] for i in chosen if i in leased]

    async def fence(self, message_id: int, at: datetime, *, posting: bool = False) -> bool:
        """Just before sending: renew this process's lease and check the message is still
        pending (not delivered meanwhile by someone whose lease followed an expired one).
        With `posting`, remember that a post was sent: until its answer is seen, a later
        attempt first looks for it in the channel (an ambiguous timeout)."""
        sql = "UPDATE outbox SET lease_until = ?, lease_owner = ?"
        params: list[Any] = [to_db(at + LEASE), lease_owner()]
        if posting:
            sql += ", post_started_at = COALESCE(post_started_at, ?)"
            params.append(to_db(at))
        changed, _ = await self._run(
            sql + " WHERE id = ? AND status = 'pending' AND lease_owner = ?",
            [*params, message_id, lease_owner()],
        )
        return changed == 1

    async def not_posted(self, message_id: int) -> None:
        """Slack answered the post with a definite refusal (429, an error): nothing was
        stored, so the next attempt need not look for it."""
        await self._run("UPDATE outbox SET post_started_at = NULL WHERE id = ?", (message_id,))

    async def reclaim_orphaned(self, at: datetime) -> int:
        """Release the unexpired leases whose holder is dead; returns how many."""
        rows = await self._all(
            "SELECT DISTINCT lease_owner FROM outbox WHERE status = 'pending' "
            "AND lease_until >= ? AND lease_owner IS NOT NULL",
            (to_db(at),),
        )
        released = 0
        for row in rows:
            if owner_gone(row["lease_owner"]):
                changed, _ = await self._run(
                    "UPDATE outbox SET lease_until = NULL, lease_owner = NULL "
                    "WHERE status = 'pending' AND lease_owner = ?",
                    (row["lease_owner"],),
                )
                released += changed
        return released

    async def delivered(
        self, message_id: int, at: datetime, channel: str | None, ts: str | None
    ) -> None:
        await self._run(
            "UPDATE outbox SET status = 'delivered', delivered_at = ?, delivered_channel = ?, "
            "delivered_ts = ?, lease_until = NULL, lease_owner = NULL, attempts = attempts + 1 "
            "WHERE id = ?",
            (to_db(at), channel, ts, message_id),
        )

    async def release(
        self,
        message_id: int,
        error: str,
        *,
        retry_at: datetime | None = None,
        count_attempt: bool = True,
    ) -> None:
        """A failed attempt (or a message waiting for another): back to pending, due again
        at `retry_at` (None: at once)."""
        await self._run(
            "UPDATE outbox SET lease_until = NULL, lease_owner = NULL, "
            "attempts = attempts + ?, last_error = ?, "
            "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
            (
                1 if count_attempt else 0,
                error[:500],
                to_db(retry_at) if retry_at else None,
                message_id,
            ),
        )

    async def give_back(self, message_ids: Sequence[int]) -> None:
        """Claimed but not tried (another worker's turn): pending again as they were, due
        at once, no attempt counted. One statement for the lot."""
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            await self._run(
                "UPDATE outbox SET lease_until = NULL, lease_owner = NULL "
                f"WHERE id IN ({', '.join('?' for _ in chunk)})",
                list(chunk),
            )

    async def fail(self, message_id: int, error: str, failure: str, at: datetime) -> None:
        """End a message undelivered: kept (status 'failed') with why, for admins to see."""
        await self._run(
            "UPDATE outbox SET status = 'failed', failure = ?, failed_at = ?, last_error = ?, "
            "lease_until = NULL, lease_owner = NULL, attempts = attempts + 1 WHERE id = ?",
            (str(failure), to_db(at), error[:500], message_id),
        )

    async def mark_notified(self, message_id: int, at: datetime) -> bool:
        """Admins were told about this failed message; False when they already were."""
        changed, _ = await self._run(
            "UPDATE outbox SET notified_at = ? WHERE id = ? AND notified_at IS NULL",
            (to_db(at), message_id),
        )
        return changed == 1

    async def requeue(self, message_id: int, at: datetime) -> OutboxMessage | None:
        """Put a failed message back in the queue, due now (an admin clicked Retry);
        None when it is not failed (already retried, or delivered)."""
        changed, _ = await self._run(
            "UPDATE outbox SET status = 'pending', failure = NULL, failed_at = NULL, "
            "notified_at = NULL, next_attempt_at = ?, lease_until = NULL, lease_owner = NULL "
            "WHERE id = ? AND status = 'failed'",
            (to_db(at), message_id),
        )
        return await self.get(message_id) if changed == 1 else None

    async def retried_cards(self, request_id: int) -> list[int]:
        """Ids of the request's card messages delivered after a failed attempt: Slack may
        have kept a copy of the failed one (issue 9 item 3)."""
        rows = await self._all(
            "SELECT id FROM outbox WHERE request_id = ? AND target = 'card' "
            "AND status = 'delivered' AND attempts > 1",
            (request_id,),
        )
        return [int(r["id"]) for r in rows]

    async def get(self, message_id: int) -> OutboxMessage | None:
        row = await self._one("SELECT * FROM outbox WHERE id = ?", (message_id,))
        return _message(row) if row else None

    async def failed(self, limit: int = 50) -> list[OutboxMessage]:
        """Messages that ended undelivered, newest first."""
        rows = await self._all(
            "SELECT * FROM outbox WHERE status = 'failed' ORDER BY failed_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [_message(r) for r in rows]

    async def failed_count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM outbox WHERE status = 'failed'"))

    async def by_key(self, key: str) -> OutboxMessage | None:
        row = await self._one("SELECT * FROM outbox WHERE key = ?", (key,))
        return _message(row) if row else None

    async def by_delivery(self, channel: str, ts: str) -> OutboxMessage | None:
        """The delivered message at (channel, ts): what a button in it was rendered from."""
        row = await self._one(
            "SELECT * FROM outbox WHERE delivered_channel = ? AND delivered_ts = ? "
            "ORDER BY id LIMIT 1",
            (channel, ts),
        )
        return _message(row) if row else None

    async def set_data(self, message_id: int, data: Payload | dict[str, Any]) -> None:
        """Change what a message renders from (an alert resolved, a line acted on); an
        `update` message queued after it re-renders the posted message in place."""
        await self._run("UPDATE outbox SET data = ? WHERE id = ?", (_json(data), message_id))

    async def pending_count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"))

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many messages wait, and when the oldest of them was queued."""
        row = await self._one(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'"
        )
        return (int(row[0]), from_db(row[1])) if row else (0, None)

    async def messages(self, *, template: str | None = None) -> list[OutboxMessage]:
        sql, params = "SELECT * FROM outbox", []
        if template:
            sql += " WHERE template = ?"
            params.append(template)
        return [_message(r) for r in await self._all(sql + " ORDER BY id", params)]


def _json(data: Payload | dict[str, Any] | None) -> str:
    return dumps(encode(data) if isinstance(data, Payload) else data or {}) or "{}"


def _message(row: Row) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        key=row["key"],
        target=row["target"],
        template=row["template"],
        data=json.loads(row["data"] or "{}"),
        request_id=row["request_id"],
        channel=row["channel"],
        user_id=row["user_id"],
        status=row["status"],
        attempts=row["attempts"],
        delivered_channel=row["delivered_channel"],
        delivered_ts=row["delivered_ts"],
        created_at=from_db(row["created_at"]),
        lease_until=from_db(row["lease_until"]),
        lease_owner=row["lease_owner"],
        lane=row["lane"],
        next_attempt_at=from_db(row["next_attempt_at"]),
        post_started_at=from_db(row["post_started_at"]),
        last_error=row["last_error"],
        failure=row["failure"],
        failed_at=from_db(row["failed_at"]),
        notified_at=from_db(row["notified_at"]),
    )
