"""The replay guard: signed Slack requests and event ids already taken (migration 006)."""

from __future__ import annotations

from datetime import datetime

from bot.store.base import Repository
from bot.store.codec import to_db


class ReplayGuardRepository(Repository):
    async def first_sight(self, key: str, now: datetime, expires_at: datetime) -> bool:
        """Remember `key` until `expires_at`; True if it was not remembered already (a key
        whose time has passed but is not pruned yet counts as not remembered). One indexed
        insert: cheap enough for the ack path."""
        changed, _ = await self._run(
            "INSERT INTO replay_guard (key, expires_at) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at "
            "WHERE replay_guard.expires_at < ?",
            (key, to_db(expires_at), to_db(now)),
        )
        return changed == 1

    async def first_sights(self, keys: list[tuple[str, datetime]], now: datetime) -> set[str]:
        """`first_sight` for many distinct keys in one statement: the keys not remembered
        before. (Many requests arriving together share one statement and one commit.)"""
        if not keys:
            return set()
        values = ", ".join("(?, ?)" for _ in keys)
        params: list[str | None] = []
        for key, until in keys:
            params += [key, to_db(until)]
        params.append(to_db(now))
        rows = await self._all(
            f"INSERT INTO replay_guard (key, expires_at) VALUES {values} "
            "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at "
            "WHERE replay_guard.expires_at < ? RETURNING key",
            params,
        )
        return {row[0] for row in rows}

    async def seen(self, key: str, now: datetime) -> bool:
        found = await self._scalar(
            "SELECT 1 FROM replay_guard WHERE key = ? AND expires_at >= ?", (key, to_db(now))
        )
        return found is not None

    async def prune(self, now: datetime) -> int:
        changed, _ = await self._run("DELETE FROM replay_guard WHERE expires_at < ?", (to_db(now),))
        return changed
