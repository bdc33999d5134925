"""The outbox: messages written with the change that causes them, delivered after."""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from aiosqlite import Row

from bot.store.base import Repository
from bot.store.codec import from_db, to_db

LEASE = timedelta(seconds=60)


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
    target: str  # card | thread | dm | channel
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


class OutboxRepository(Repository):
    async def enqueue(
        self,
        target: str,
        template: str,
        at: datetime,
        *,
        data: dict[str, Any] | None = None,
        request_id: int | None = None,
        channel: str | None = None,
        user_id: str | None = None,
        key: str | None = None,
    ) -> int | None:
        """Queue a message; with a key already queued, nothing is added and None returned."""
        changed, new_id = await self._run(
            "INSERT INTO outbox (key, target, template, data, request_id, channel, user_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (
                key,
                target,
                template,
                json.dumps(data or {}, sort_keys=True, default=str),
                request_id,
                channel,
                user_id,
                to_db(at),
            ),
        )
        return new_id if changed == 1 else None

    async def claim(self, at: datetime, limit: int = 50) -> list[OutboxMessage]:
        """Lease pending messages to this process (compare-and-set), oldest first. Leases
        of a process that died (killed mid-delivery) are taken back first."""
        await self.reclaim_orphaned(at)
        if self._dialect == "postgresql":
            return await self._claim_postgres(at, limit)
        rows = await self._all(
            "SELECT * FROM outbox WHERE status = 'pending' AND (lease_until IS NULL OR "
            "lease_until < ?) ORDER BY id LIMIT ?",
            (to_db(at), limit),
        )
        claimed = []
        for row in rows:
            changed, _ = await self._run(
                "UPDATE outbox SET lease_until = ?, lease_owner = ? WHERE id = ? "
                "AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?)",
                (to_db(at + LEASE), lease_owner(), row["id"], to_db(at)),
            )
            if changed == 1:
                claimed.append(_message(row))
        return claimed

    # --- PostgreSQL dialect branch (several replicas on one database) ---------------
    async def _claim_postgres(self, at: datetime, limit: int) -> list[OutboxMessage]:
        """One statement: lease the oldest free messages, skipping rows another replica's
        claim holds locked right now (FOR UPDATE SKIP LOCKED), so replicas never wait on,
        or share, a message."""
        rows = await self._all(
            "UPDATE outbox SET lease_until = ?, lease_owner = ? WHERE id IN ("
            "SELECT id FROM outbox WHERE status = 'pending' AND (lease_until IS NULL OR "
            "lease_until < ?) ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING *",
            (to_db(at + LEASE), lease_owner(), to_db(at), limit),
        )
        return sorted((_message(r) for r in rows), key=lambda m: m.id)

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

    async def release(self, message_id: int, error: str, *, give_up: bool = False) -> None:
        """A failed attempt: back to pending for the next run (or failed for good)."""
        await self._run(
            "UPDATE outbox SET lease_until = NULL, lease_owner = NULL, attempts = attempts + 1, "
            "last_error = ?, status = ? WHERE id = ?",
            (error[:500], "failed" if give_up else "pending", message_id),
        )

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

    async def set_data(self, message_id: int, data: dict[str, Any]) -> None:
        """Change what a message renders from (an alert resolved, a line acted on); an
        `update` message queued after it re-renders the posted message in place."""
        await self._run(
            "UPDATE outbox SET data = ? WHERE id = ?",
            (json.dumps(data, sort_keys=True, default=str), message_id),
        )

    async def pending_count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"))

    async def messages(self, *, template: str | None = None) -> list[OutboxMessage]:
        sql, params = "SELECT * FROM outbox", []
        if template:
            sql += " WHERE template = ?"
            params.append(template)
        return [_message(r) for r in await self._all(sql + " ORDER BY id", params)]


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
    )
