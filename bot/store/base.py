"""A repository's access to the unit of work's connection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aiosqlite

# `?` (or `?1`) placeholders with a sequence, or `:name` ones with a mapping.
Params = Sequence[Any] | Mapping[str, Any]


class Repository:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    @property
    def _dialect(self) -> str:
        """ "sqlite" or "postgresql" (bot/store/pg.py's connection), for the rare statement
        that must differ; everything else is written once in portable SQL."""
        return getattr(self._db, "dialect", "sqlite")

    async def _one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """The first row (the statements here name one row, or LIMIT 1). One call into the
        database's thread, as `_all`: execute, fetchone and the cursor's close were three,
        each waiting for the event loop to take its answer."""
        rows = await self._db.execute_fetchall(sql, params)
        for row in rows:
            return row
        return None

    async def _all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        # One call into the database's thread (execute, fetch, done), not three: each call
        # waits for the event loop to take its answer, and a write's lock (an INSERT ...
        # RETURNING) is held until the statement is done.
        return list(await self._db.execute_fetchall(sql, params))

    async def _scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self._one(sql, params)
        return None if row is None else row[0]

    async def _run(self, sql: str, params: Params = ()) -> tuple[int, int | None]:
        """Execute; returns (rows changed, last row id)."""
        async with self._db.execute(sql, params) as cursor:
            return cursor.rowcount, cursor.lastrowid

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._db.executemany(sql, rows)
