"""The SQLite connection: WAL, busy timeout, numbered migrations, units of work."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

from bot.store.unit import Store

BUSY_TIMEOUT_MS = 10_000


class Database:
    """One connection per process; an asyncio lock keeps coroutines from sharing a transaction.

    Writes run in `BEGIN IMMEDIATE` transactions so that two processes on one file
    serialise on SQLite's write lock instead of failing at commit.
    """

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        path = Path(path)
        connection = await aiosqlite.connect(path, isolation_level=None)
        connection.row_factory = aiosqlite.Row
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA synchronous = NORMAL")
        await connection.execute("PRAGMA foreign_keys = ON")
        database = cls(connection, path)
        await database.migrate()
        return database

    async def close(self) -> None:
        async with self._lock:
            await self._connection.close()

    async def migrate(self) -> list[str]:
        """Apply the numbered files in bot/store/migrations not applied yet, in order."""
        applied: list[str] = []
        async with self._lock:
            conn = self._connection
            await conn.execute("BEGIN IMMEDIATE")
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL "
                    "DEFAULT CURRENT_TIMESTAMP)"
                )
                async with conn.execute("SELECT version FROM schema_migrations") as cursor:
                    done = {row[0] for row in await cursor.fetchall()}
                for version, name, sql in _migrations():
                    if version in done:
                        continue
                    for statement in _statements(sql):
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                        (version, name),
                    )
                    applied.append(name)
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """A unit of work: everything inside commits together or not at all."""
        async with self._lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Store(self._connection)
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Store]:
        """Reads that see one consistent snapshot."""
        async with self._lock:
            await self._connection.execute("BEGIN")
            try:
                yield Store(self._connection)
            finally:
                await self._connection.execute("COMMIT")

    async def ping(self) -> bool:
        try:
            async with self._lock, self._connection.execute("SELECT 1") as cursor:
                return (await cursor.fetchone()) is not None
        except (aiosqlite.Error, ValueError):
            return False

    async def integrity_check(self) -> str:
        async with self._lock, self._connection.execute("PRAGMA integrity_check") as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else "no answer"


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    folder = resources.files("bot.store").joinpath("migrations")
    for entry in folder.iterdir():
        match = re.match(r"^(\d+)_.*\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found)


def _statements(sql: str) -> list[str]:
    # Migrations hold plain DDL/DML without semicolons inside literals or triggers.
    without_comments = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in without_comments.split(";") if s.strip()]
