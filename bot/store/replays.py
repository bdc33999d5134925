"""The replay guard: signed Slack requests and event ids already taken (migration 006)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from bot.store.base import Repository
from bot.store.codec import to_db

_FIRST_SIGHTS = (
    "INSERT INTO replay_guard (key, expires_at) VALUES {values} "
    "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at "
    "WHERE replay_guard.expires_at < ? RETURNING key"
)


def _first_sights_sql(keys: list[tuple[str, datetime]], now: datetime) -> tuple[str, list]:
    params: list[str | None] = []
    for key, until in keys:
        params += [key, to_db(until)]
    params.append(to_db(now))
    return _FIRST_SIGHTS.format(values=", ".join("(?, ?)" for _ in keys)), params


def connect_now(path: Path) -> sqlite3.Connection:
    """A connection for `first_sights_now`: never waits for the write lock, commits as the
    store does (WAL, synchronous=NORMAL), leaves checkpoints to the store's connections."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    return connection


def first_sights_now(
    connection: sqlite3.Connection, keys: list[tuple[str, datetime]], now: datetime
) -> set[str]:
    """`ReplayGuardRepository.first_sights` on a plain SQLite connection, in the calling
    thread: one small statement, for a connection that never waits for the write lock
    (timeout 0: sqlite3.OperationalError "database is locked" instead)."""
    if not keys:
        return set()
    sql, params = _first_sights_sql(keys, now)
    return {row[0] for row in connection.execute(sql, params).fetchall()}


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
        sql, params = _first_sights_sql(keys, now)
        rows = await self._all(sql, params)
        return {row[0] for row in rows}

    async def seen(self, key: str, now: datetime) -> bool:
        found = await self._scalar(
            "SELECT 1 FROM replay_guard WHERE key = ? AND expires_at >= ?", (key, to_db(now))
        )
        return found is not None

    async def prune(self, now: datetime) -> int:
        changed, _ = await self._run("DELETE FROM replay_guard WHERE expires_at < ?", (to_db(now),))
        return changed
