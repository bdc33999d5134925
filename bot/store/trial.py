"""The organization trial (one row)."""

from __future__ import annotations

from datetime import date, datetime

from bot.licensing.policy import Trial
from bot.store.base import Repository
from bot.store.codec import date_from_db, from_db, to_db


class TrialRepository(Repository):
    async def get(self) -> Trial | None:
        row = await self._one("SELECT * FROM trial WHERE id = 1")
        if row is None:
            return None
        start = date_from_db(row["start_date"])
        assert start is not None
        return Trial(start, from_db(row["converted_at"]))

    async def start(self, start: date, by: str, at: datetime) -> None:
        await self._run(
            "INSERT INTO trial (id, start_date, converted_at, updated_by, updated_at) "
            "VALUES (1, ?, NULL, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "start_date = excluded.start_date, converted_at = NULL, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (start.isoformat(), by, to_db(at)),
        )

    async def convert(self, by: str, at: datetime) -> bool:
        changed, _ = await self._run(
            "UPDATE trial SET converted_at = ?, updated_by = ?, updated_at = ? "
            "WHERE id = 1 AND converted_at IS NULL",
            (to_db(at), by, to_db(at)),
        )
        return changed == 1
