"""The store's databases: SQLite (the embedded default: WAL, busy timeout, numbered
migrations, units of work) and PostgreSQL (`LICENSEBOT_DATABASE=postgresql://...`, for
several replicas), behind one contract: `transaction()`, `read()`, `ping()`,
`writable()`, `claim_period()`."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store import pg
from bot.store.cost import track
from bot.store.turn import WriteTurn, holding
from bot.store.unit import Store

BUSY_TIMEOUT_MS = 10_000
READERS = 2  # reading connections per Database (SQLite)
PACE_STEPS = 20_000  # SQLite VM steps between a paced read's pauses (well under 1 ms)
BULK_CACHE_KIB = 65_536  # a bulk write's page cache (SQLite's default: 2,000 KiB)

log = logging.getLogger(__name__)


class Database:
    """One connection per process; an asyncio lock keeps coroutines from sharing a transaction.

    Writes run in `BEGIN IMMEDIATE` transactions so that two processes on one file
    serialise on SQLite's write lock instead of failing at commit.
    """

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = WriteTurn()
        self.path = path
        # Reads (`read()`) go through connections of their own (READERS, opened as needed):
        # a long read (a pool count over 100,000 seats) never holds up a write, the writes
        # never queue up the reads, and two reads run at once (WAL: readers see the last
        # commit).
        self._readers: list[aiosqlite.Connection] = []  # every reading connection opened
        self._idle_readers: list[aiosqlite.Connection] = []
        self._read_slots = asyncio.Semaphore(READERS)
        self._pause_for: Callable[[float], float] | None = None  # `pace_reads`

    dialect = "sqlite"

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """SQLite at a path, or PostgreSQL when given a postgresql:// URL."""
        if pg.is_postgres_url(path):
            return await PostgresDatabase.connect(pg.repair_url(path))
        path = Path(path)
        connection = track(await aiosqlite.connect(path, isolation_level=None))
        connection.row_factory = aiosqlite.Row
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _wal(connection)
        await connection.execute("PRAGMA synchronous = NORMAL")
        await connection.execute("PRAGMA foreign_keys = ON")
        database = cls(connection, path)
        await database.migrate()
        return database

    async def close(self) -> None:
        for reader in self._readers:
            await reader.close()
        self._readers.clear()
        self._idle_readers.clear()
        async with self._lock:
            await self._connection.close()

    async def migrate(self) -> list[str]:
        """Apply the numbered files in bot/store/migrations not applied yet, in order."""
        applied: list[str] = []
        wanted = _migrations("migrations")
        if await self._has_applied(wanted):
            # Another connection to a store in use (a report's, a second process's): no
            # write lock taken, so nothing that writes meanwhile waits on it.
            return applied
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
                for version, name, sql in wanted:
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

    async def _has_applied(self, wanted: tuple[Migration, ...]) -> bool:
        try:
            rows = await self._connection.execute_fetchall("SELECT version FROM schema_migrations")
        except sqlite3.OperationalError:  # a new store: no such table yet
            return False
        return _all_applied(wanted, rows)

    @asynccontextmanager
    async def transaction(self, *, bulk: bool = False) -> AsyncIterator[Store]:
        """A unit of work: everything inside commits together or not at all. `bulk` (an
        import's 100,000 rows): the page cache holds the indexes being written for the
        transaction (BULK_CACHE_KIB), instead of spilling them to the WAL mid-way."""
        with holding():  # from the wait for the turn on (bot/store/turn.py)
            async with self._lock:
                if bulk:
                    await self._connection.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
                try:
                    await self._begin("BEGIN IMMEDIATE")
                    try:
                        yield Store(self._connection)
                    except BaseException:
                        await self._rollback()
                        raise
                    await self._connection.execute("COMMIT")
                finally:
                    if bulk:
                        await asyncio.shield(self._connection.execute("PRAGMA cache_size = -2000"))

    async def _begin(self, statement: str) -> None:
        """BEGIN, and never leave the connection inside a transaction: a cancel that lands
        while aiosqlite's thread runs the BEGIN lets it complete there, so roll it back."""
        try:
            await self._connection.execute(statement)
        except BaseException:
            await self._rollback()
            raise

    async def _rollback(self) -> None:
        # Shielded: the rollback must reach the connection even when its caller is being
        # cancelled. Queued behind the statement it undoes; harmless with none open.
        try:
            await asyncio.shield(self._connection.execute("ROLLBACK"))
        except aiosqlite.OperationalError:
            pass  # no transaction was open (the BEGIN itself failed)

    def urgent_turn(self) -> AbstractAsyncContextManager[None]:
        """The next turn to write, ahead of the transactions waiting (bot/store/turn.py):
        for the ack path's one small write on a connection of its own."""
        return self._lock.urgent()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Store]:
        """Reads that see one consistent snapshot (the last commit when they start), on
        the reading connection: beside the writes, not behind them."""
        async with self._read_slots:
            reader = self._idle_readers.pop() if self._idle_readers else await self._reading()
            try:
                await reader.execute("BEGIN")
            except BaseException:
                await _quietly_end(reader)
                self._idle_readers.append(reader)
                raise
            try:
                yield Store(reader)
            finally:
                await _quietly_end(reader)
                self._idle_readers.append(reader)

    async def pace_reads(self, pause_for: Callable[[float], float]) -> None:
        """Let the reading connections' long statements pause in their thread: every
        PACE_STEPS virtual-machine steps, `pause_for(cpu seconds run since the last
        pause)` says how long to sleep (0: go on). A scan of 100,000 seats takes a core
        for 100 ms, from the acks and whatever else runs on the machine; paced, it
        yields (bot/ack_first.py). Only reads: a write holds the lock other writers wait
        for."""
        self._pause_for = pause_for
        for reader in self._readers:
            await reader.set_progress_handler(_pausing(pause_for), PACE_STEPS)

    async def _reading(self) -> aiosqlite.Connection:
        """A new reading connection (READERS at most: reads run side by side, each in its
        connection's thread, SQLite letting go of the GIL while it reads)."""
        reader = track(await aiosqlite.connect(self.path, isolation_level=None))
        try:
            reader.row_factory = aiosqlite.Row
            await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await reader.execute("PRAGMA foreign_keys = ON")
            await reader.execute("PRAGMA query_only = ON")  # it only ever reads
            if self._pause_for is not None:
                await reader.set_progress_handler(_pausing(self._pause_for), PACE_STEPS)
        except BaseException:
            await reader.close()
            raise
        self._readers.append(reader)
        return reader

    async def ping(self) -> bool:
        try:
            with holding():
                async with self._lock, self._connection.execute("SELECT 1") as cursor:
                    return (await cursor.fetchone()) is not None
        except (aiosqlite.Error, ValueError):
            return False

    async def integrity_check(self) -> str:
        async with self._lock, self._connection.execute("PRAGMA integrity_check") as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else "no answer"

    async def writable(self) -> str | None:
        """None when a write commits now; else why not (for readiness)."""
        try:
            async with self.transaction() as tx:
                await tx.connection.execute(
                    "INSERT INTO store_health (id, checked_at) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                    (_now_text(),),
                )
        except Exception as error:  # any failure is the reason readiness reports
            return f"the store cannot be written: {type(error).__name__}: {error}"
        return None

    async def claim_period(self, job: str, period: str, owner: str) -> bool:
        """True for the one process (replica) that runs this job's period; every other
        caller, now or later, gets False. The claim is a row (job, period)."""
        async with self.transaction() as tx:
            return await _claim(tx, job, period, owner)


async def _quietly_end(reader: aiosqlite.Connection) -> None:
    """End a read transaction, even for a caller being cancelled (none open: harmless)."""
    try:
        await asyncio.shield(reader.execute("COMMIT"))
    except aiosqlite.OperationalError:
        pass


async def _wal(connection: aiosqlite.Connection) -> None:
    """Switch to WAL. Two processes opening a new file at once can find it locked: the
    switch does not wait on the busy timeout, so wait here, as long as that timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await connection.execute("PRAGMA journal_mode = WAL")
            return
        except aiosqlite.OperationalError as error:
            if "locked" not in str(error) or loop.time() > deadline:
                raise
            await asyncio.sleep(0.02)


async def _claim(tx: Store, job: str, period: str, owner: str) -> bool:
    async with tx.connection.execute(
        "INSERT INTO job_periods (job, period, owner, claimed_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (job, period) DO NOTHING",
        (job, period, owner, _now_text()),
    ) as cursor:
        return cursor.rowcount == 1


def _now_text() -> str:
    # Bookkeeping only (when a health write or a claim happened), never business time.
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


class PostgresDatabase(Database):
    """PostgreSQL through an asyncpg pool. Write units of work serialise on one advisory
    lock (see bot/store/pg.py), reads take a REPEATABLE READ snapshot; the repositories'
    SQL is translated, not rewritten."""

    dialect = "postgresql"

    def __init__(self, pool: Any, url: str) -> None:
        self._pool = pool
        self._ids: frozenset[str] = frozenset()
        self._lock = WriteTurn()
        self.url = url
        # Not a file: `Database.open(db.path)` opens the same store again, as on SQLite.
        self.path = Path(url)

    @classmethod
    async def connect(cls, url: str, *, max_size: int = 10) -> PostgresDatabase:
        pool = await pg.open_pool(url, max_size=max_size)
        database = cls(pool, url)
        await database.migrate()
        return database

    async def close(self) -> None:
        await self._pool.close()

    async def pace_reads(self, pause_for: Callable[[float], float]) -> None:
        """Nothing to pace here: the statements run in the PostgreSQL server."""

    async def migrate(self) -> list[str]:
        """Apply bot/store/migrations_pg in order; replicas starting together take turns
        (an advisory lock), so each file is applied once."""
        applied: list[str] = []
        wanted = _migrations("migrations_pg")
        async with self._pool.acquire() as raw:
            if await _pg_has_applied(raw, wanted):  # no write lock for a store in use
                self._ids = await pg.id_tables(raw)
                await _warn_unless_c_collation(raw)
                return applied
        async with self._pool.acquire() as raw, raw.transaction():
            await raw.execute("SELECT pg_advisory_xact_lock($1)", pg.WRITE_LOCK)
            await raw.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (now()::text))"
            )
            done = {r[0] for r in await raw.fetch("SELECT version FROM schema_migrations")}
            for version, name, sql in wanted:
                if version in done:
                    continue
                for statement in _statements(sql):
                    await raw.execute(statement)
                await raw.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
                applied.append(name)
            self._ids = await pg.id_tables(raw)
            await _warn_unless_c_collation(raw)
        return applied

    @asynccontextmanager
    async def transaction(self, *, bulk: bool = False) -> AsyncIterator[Store]:
        # From the wait for a connection on (bot/store/turn.py): the replay guard's
        # transaction needs one, and the write lock.
        with holding():
            async with self._pool.acquire() as raw, pg.write_transaction(raw):
                yield Store(pg.PgConnection(raw, self._ids))  # type: ignore[arg-type]

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Store]:
        with holding():  # a pooled connection, which the replay guard may wait for
            async with self._pool.acquire() as raw, pg.read_transaction(raw):
                yield Store(pg.PgConnection(raw, self._ids))  # type: ignore[arg-type]

    async def ping(self) -> bool:
        try:
            with holding():
                async with self._pool.acquire() as raw:
                    return bool(await raw.fetchval("SELECT 1") == 1)
        except Exception:
            return False

    async def integrity_check(self) -> str:
        # PostgreSQL has no PRAGMA integrity_check: it checksums and WAL-protects its own
        # pages. Answer SQLite's "ok" once the catalog and every table can be read.
        async with self.read() as tx:
            async with tx.connection.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ) as cursor:
                tables = [r[0] for r in await cursor.fetchall()]
            for table in tables:
                await tx.connection.execute(f'SELECT 1 FROM "{table}" LIMIT 1')
        return "ok"

    async def claim_period(self, job: str, period: str, owner: str) -> bool:
        """As on SQLite, plus a non-blocking advisory lock per (job, period): a replica
        that finds another one claiming the same period right now steps aside at once."""
        key = zlib.crc32(f"{job}:{period}".encode()) - 2**31
        async with self._pool.acquire() as raw, raw.transaction():
            if not await raw.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, $2)", pg.JOB_LOCK_SPACE, key
            ):
                return False
            await raw.execute("SELECT pg_advisory_xact_lock($1)", pg.WRITE_LOCK)
            return await _claim(Store(pg.PgConnection(raw, self._ids)), job, period, owner)  # type: ignore[arg-type]


Migration = tuple[int, str, str]  # version, file name, SQL


@cache
def _migrations(folder: str) -> tuple[Migration, ...]:
    """The numbered files of bot/store/`folder`, in order (read once per process)."""
    found = []
    for entry in resources.files("bot.store").joinpath(folder).iterdir():
        match = re.match(r"^(\d+)_.*\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return tuple(sorted(found))


def _all_applied(wanted: tuple[Migration, ...], rows: Iterable[Any]) -> bool:
    return {version for version, _, _ in wanted} <= {row[0] for row in rows}


async def _warn_unless_c_collation(raw: Any) -> None:
    collation = await raw.fetchval(
        "SELECT datcollate FROM pg_database WHERE datname = current_database()"
    )
    if str(collation) not in ("C", "POSIX", "C.UTF-8", "C.utf8"):
        log.warning(
            "the PostgreSQL database sorts text by %s: lists sort as on SQLite only with "
            "the C collation (CREATE DATABASE ... LC_COLLATE 'C' LC_CTYPE 'C')",
            collation,
        )


async def _pg_has_applied(raw: Any, wanted: tuple[Migration, ...]) -> bool:
    exists = await raw.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return False
    return _all_applied(wanted, await raw.fetch("SELECT version FROM schema_migrations"))


def _statements(sql: str) -> list[str]:
    # Migrations hold plain DDL/DML without semicolons inside literals or triggers.
    without_comments = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def _pausing(pause_for: Callable[[float], float]) -> Callable[[], int]:
    """A progress handler (run in the connection's thread): sleeps as `pause_for` says,
    given the thread's CPU time since its last pause. Returns 0: the statement goes on."""
    last: float | None = None  # the thread's CPU clock: read in that thread only

    def progress() -> int:
        nonlocal last
        now = time.thread_time()
        pause = pause_for(0.0 if last is None else now - last)
        if pause > 0:
            time.sleep(pause)
            now = time.thread_time()
        last = now
        return 0

    return progress
