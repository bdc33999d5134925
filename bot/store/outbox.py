"""The outbox: messages written with the change that causes them, delivered after."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiosqlite import Row

from bot.store.base import Repository
from bot.store.codec import from_db, to_db

LEASE = timedelta(seconds=60)


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
        """Lease pending messages to this process (compare-and-set), oldest first."""
        rows = await self._all(
            "SELECT * FROM outbox WHERE status = 'pending' AND (lease_until IS NULL OR "
            "lease_until < ?) ORDER BY id LIMIT ?",
            (to_db(at), limit),
        )
        claimed = []
        for row in rows:
            changed, _ = await self._run(
                "UPDATE outbox SET lease_until = ? WHERE id = ? AND status = 'pending' "
                "AND (lease_until IS NULL OR lease_until < ?)",
                (to_db(at + LEASE), row["id"], to_db(at)),
            )
            if changed == 1:
                claimed.append(_message(row))
        return claimed

    async def delivered(
        self, message_id: int, at: datetime, channel: str | None, ts: str | None
    ) -> None:
        await self._run(
            "UPDATE outbox SET status = 'delivered', delivered_at = ?, delivered_channel = ?, "
            "delivered_ts = ?, lease_until = NULL, attempts = attempts + 1 WHERE id = ?",
            (to_db(at), channel, ts, message_id),
        )

    async def release(self, message_id: int, error: str, *, give_up: bool = False) -> None:
        """A failed attempt: back to pending for the next run (or failed for good)."""
        await self._run(
            "UPDATE outbox SET lease_until = NULL, attempts = attempts + 1, last_error = ?, "
            "status = ? WHERE id = ?",
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
    )
