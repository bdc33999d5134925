"""The PostgreSQL store (asyncpg): the repositories' SQL runs unchanged through a connection
that speaks aiosqlite's small API (`execute` as an awaitable or an async context manager
with a cursor, `executemany`), translating SQLite's placeholders and the few dialect words
that differ.

Units of work follow the SQLite semantics exactly: a write transaction takes one
transaction-scoped advisory lock (`pg_advisory_xact_lock(WRITE_LOCK)`) first, so writers
on every replica serialise the way `BEGIN IMMEDIATE` serialises processes on one SQLite
file; reads see one REPEATABLE READ snapshot and never wait for writers.
"""

from __future__ import annotations

import datetime as _dt
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

try:  # asyncpg is only needed when LICENSEBOT_DATABASE names a PostgreSQL server
    import asyncpg
except ModuleNotFoundError:  # pragma: no cover - the dependency is declared
    asyncpg = None

# Every write transaction holds this lock (the "BEGIN IMMEDIATE" of PostgreSQL).
WRITE_LOCK = 0x4C42_0001
# Job periods: pg_try_advisory_xact_lock(JOB_LOCK_SPACE, hashtext(job:period)).
JOB_LOCK_SPACE = 0x4C42


def is_postgres_url(target: object) -> bool:
    return re.match(r"^postgres(ql)?:/", str(target)) is not None


def repair_url(target: object) -> str:
    """`Path("postgresql://u@h/db")` collapses the `//`: put it back."""
    return re.sub(r"^(postgres(?:ql)?):/+", r"\1://", str(target))


# --- translation -----------------------------------------------------------------------

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    # SQLite's group_concat(x, sep) is PostgreSQL's string_agg(x, sep).
    (re.compile(r"\bgroup_concat\(", re.I), "string_agg("),
    # The unary `+` that keeps SQLite's planner off an index means nothing on text.
    (re.compile(r"(GROUP BY\s+|,\s*)\+(?=[A-Za-z_][\w]*\.)", re.I), r"\1"),
    # The schema catalog.
    (
        re.compile(r"SELECT name FROM sqlite_master", re.I),
        "SELECT table_name AS name FROM information_schema.tables "
        "WHERE table_schema = current_schema()",
    ),
)


@lru_cache(maxsize=2048)
def _translate(sql: str) -> tuple[str, tuple[str, ...]]:
    """SQLite SQL -> PostgreSQL SQL; returns the text and the names of `:name` parameters
    in their $n order (empty when the statement uses `?` or `?N`)."""
    out: list[str] = []
    names: list[str] = []
    count = 0
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in ("'", '"'):
            j = i + 1
            while True:
                k = sql.find(c, j)
                if k == -1:
                    k = n - 1
                    break
                if k + 1 < n and sql[k + 1] == c:  # a doubled quote inside the literal
                    j = k + 2
                    continue
                break
            out.append(sql[i : k + 1])
            i = k + 1
            continue
        if c == "?":
            m = re.match(r"\?(\d+)", sql[i:])
            if m:
                out.append(f"${m.group(1)}")
                i += len(m.group(0))
            else:
                count += 1
                out.append(f"${count}")
                i += 1
            continue
        if c == ":" and i + 1 < n and sql[i + 1] == ":":
            out.append("::")
            i += 2
            continue
        if c == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            m = re.match(r":([A-Za-z_]\w*)", sql[i:])
            assert m is not None
            name = m.group(1)
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i += len(m.group(0))
            continue
        out.append(c)
        i += 1
    text = "".join(out)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text, tuple(names)


_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+([A-Za-z_]\w*)", re.I)


def _bind(names: tuple[str, ...], params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    if names:
        assert isinstance(params, Mapping), "named parameters need a mapping"
        return [params[name] for name in names]
    return list(params)


def _coerce(value: Any, pg_type: str) -> Any:
    """Make a value fit the type PostgreSQL inferred for its parameter (SQLite takes any)."""
    if value is None:
        return None
    if pg_type in ("text", "varchar", "bpchar", "name", "unknown"):
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, _dt.datetime | _dt.date):
            return value.isoformat()
        return value if isinstance(value, str) else str(value)
    if pg_type in ("int2", "int4", "int8"):
        return int(value)
    if pg_type == "bool":
        return bool(int(value)) if isinstance(value, str) and value.isdigit() else bool(value)
    if pg_type in ("float4", "float8"):
        return float(value)
    return value


class PgCursor:
    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self._at = 0

    async def fetchone(self) -> Any:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    async def fetchall(self) -> list[Any]:
        rows, self._at = self._rows[self._at :], len(self._rows)
        return rows

    async def close(self) -> None:
        return None


class _Execution:
    """What `execute` returns: awaitable (a cursor) and an async context manager."""

    def __init__(self, connection: PgConnection, sql: str, params: Any) -> None:
        self._connection = connection
        self._sql = sql
        self._params = params

    def __await__(self) -> Any:
        return self._connection._execute(self._sql, self._params).__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._connection._execute(self._sql, self._params)

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConnection:
    """One asyncpg connection inside a unit of work, with aiosqlite's calling convention.

    Errors keep the DB-API classes callers already catch: a constraint violation is
    sqlite3.IntegrityError (aiosqlite.IntegrityError), any other server error
    sqlite3.OperationalError, each with the asyncpg error as its __cause__.

    Rows are asyncpg Records: addressable by column name and by index, like
    aiosqlite.Row. `_run`'s (rowcount, lastrowid) comes from the command tag and, for an
    INSERT into a table with an `id` column, from an appended `RETURNING id`."""

    dialect = "postgresql"

    def __init__(self, raw: Any, id_tables: frozenset[str]) -> None:
        self.raw = raw
        self._id_tables = id_tables

    def execute(self, sql: str, params: Any = ()) -> _Execution:
        return _Execution(self, sql, params)

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[Any]:
        cursor = await self._execute(sql, params)
        return await cursor.fetchall()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self._executemany(sql, rows)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise sqlite3.IntegrityError(str(error)) from error
        except asyncpg.PostgresError as error:
            raise sqlite3.OperationalError(str(error)) from error

    async def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        text, names = _translate(sql)
        batch = [_bind(names, r) for r in rows]
        if not batch:
            return
        try:
            await self.raw.executemany(text, batch)
        except asyncpg.DataError:
            types = await self._types(text)
            batch = [[_coerce(v, t) for v, t in zip(r, types, strict=False)] for r in batch]
            await self.raw.executemany(text, batch)
        match = _INSERT.match(sql)
        if match and re.search(r"\(\s*id\s*,", sql, re.I):
            await self.sync_ids(match.group(1))

    async def sync_ids(self, table: str) -> None:
        """Rows inserted with explicit ids: move the table's id sequence past them."""
        if table.lower() in self._id_tables:
            await self.raw.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
            )

    async def _types(self, text: str) -> list[str]:
        statement = await self.raw.prepare(text)
        return [t.name for t in statement.get_parameters()]

    async def _execute(self, sql: str, params: Any) -> PgCursor:
        try:
            return await self._execute_raw(sql, params)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise sqlite3.IntegrityError(str(error)) from error
        except asyncpg.PostgresError as error:
            raise sqlite3.OperationalError(str(error)) from error

    async def _execute_raw(self, sql: str, params: Any) -> PgCursor:
        text, names = _translate(sql)
        values = _bind(names, params)
        insert = _INSERT.match(sql)
        returning = re.search(r"\bRETURNING\b", sql, re.I) is not None
        added_returning = False
        if insert and not returning and insert.group(1).lower() in self._id_tables:
            text += " RETURNING id"
            returning = added_returning = True
        is_query = returning or re.match(r"^\s*(SELECT|WITH|VALUES|SHOW)\b", sql, re.I)
        try:
            return await self._run(text, values, bool(is_query), added_returning)
        except asyncpg.DataError:
            types = await self._types(text)
            values = [_coerce(v, t) for v, t in zip(values, types, strict=False)]
            return await self._run(text, values, bool(is_query), added_returning)

    async def _run(
        self, text: str, values: list[Any], is_query: bool, added_returning: bool
    ) -> PgCursor:
        if is_query:
            rows = await self.raw.fetch(text, *values)
            lastrowid = rows[-1][0] if added_returning and rows else None
            return PgCursor([] if added_returning else list(rows), len(rows), lastrowid)
        status = await self.raw.execute(text, *values)
        tail = status.rsplit(" ", 1)[-1]
        return PgCursor([], int(tail) if tail.isdigit() else -1, None)


# --- the database ----------------------------------------------------------------------


async def open_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> Any:
    if asyncpg is None:  # pragma: no cover
        raise RuntimeError("LICENSEBOT_DATABASE names PostgreSQL: install asyncpg")
    return await asyncpg.create_pool(
        repair_url(url), min_size=min_size, max_size=max_size, statement_cache_size=512
    )


async def id_tables(raw: Any) -> frozenset[str]:
    rows = await raw.fetch(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name = 'id' "
        "AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')"
    )
    return frozenset(r[0].lower() for r in rows)


@asynccontextmanager
async def write_transaction(raw: Any) -> AsyncIterator[None]:
    async with raw.transaction():
        await raw.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
        yield


@asynccontextmanager
async def read_transaction(raw: Any) -> AsyncIterator[None]:
    async with raw.transaction(isolation="repeatable_read"):
        yield
