"""The append-only audit log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.licensing.entities import AuditEntry  # the store maps rows to them
from bot.store.base import Repository
from bot.store.codec import dumps, from_db_at, to_db

AuditRow = tuple[str | None, str, str, str, str | None, str | None]


class AuditRepository(Repository):
    async def add(
        self,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        before: Any = None,
        after: Any = None,
    ) -> None:
        await self._run(
            "INSERT INTO audit (at, actor, action, subject, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (to_db(at), actor, action, subject, dumps(before), dumps(after)),
        )

    async def add_many(self, entries: Sequence[tuple[datetime, str, str, str, Any, Any]]) -> None:
        """Many entries (at, actor, action, subject, before, after) in one statement."""
        await self.add_rows(self.rows(entries))

    @staticmethod
    def rows(entries: Sequence[tuple[datetime, str, str, str, Any, Any]]) -> list[AuditRow]:
        """The entries as stored (`add_rows` writes them): built apart, the encoding can
        run while the database writes something else."""
        times: dict[datetime, str | None] = {}  # an import stamps every entry alike

        def stamp(at: datetime) -> str | None:
            if at not in times:
                times[at] = to_db(at)
            return times[at]

        return [
            (stamp(at), actor, action, subject, dumps(before), dumps(after))
            for at, actor, action, subject, before, after in entries
        ]

    async def add_rows(self, rows: Sequence[AuditRow]) -> None:
        await self._many(
            "INSERT INTO audit (at, actor, action, subject, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    async def recent(
        self,
        *,
        subjects: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 50,
    ) -> list[AuditEntry]:
        """Newest first; `subjects` keeps entries about any of them."""
        where: list[str] = ["1 = 1"]
        params: list[str | None] = []
        if subjects:
            where.append(f"subject IN ({','.join('?' * len(subjects))})")
            params += subjects
        if since:
            where.append("at >= ?")
            params.append(to_db(since))
        if until:
            where.append("at < ?")
            params.append(to_db(until))
        sql = f"SELECT * FROM audit WHERE {' AND '.join(where)} ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = await self._all(sql, params)
        return [
            AuditEntry(
                r["id"],
                from_db_at(r["at"]),
                r["actor"],
                r["action"],
                r["subject"],
                json.loads(r["before"]) if r["before"] else None,
                json.loads(r["after"]) if r["after"] else None,
            )
            for r in rows
        ]

    async def count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM audit"))
