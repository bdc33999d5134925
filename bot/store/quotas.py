"""Department allocations inside a pool (SPEC 10)."""

from __future__ import annotations

from datetime import datetime

from bot.licensing.entities import Quota  # the store maps rows to them
from bot.store.base import Repository
from bot.store.codec import to_db


class QuotaRepository(Repository):
    async def get(self, department: str, edition: str, item: str) -> int | None:
        value = await self._scalar(
            "SELECT seats FROM quotas WHERE department = ? AND edition = ? AND item = ?",
            (department, edition, item),
        )
        return None if value is None else int(value)

    async def set(
        self, department: str, edition: str, item: str, seats: int, by: str, at: datetime
    ) -> int | None:
        """Set the allocation; returns the one it replaced (None: new)."""
        before = await self.get(department, edition, item)
        await self._run(
            "INSERT INTO quotas (department, edition, item, seats, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (department, edition, item) DO UPDATE SET "
            "seats = excluded.seats, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at",
            (department, edition, item, seats, by, to_db(at)),
        )
        return before

    async def all(self) -> list[Quota]:
        """Every allocation with the department's active seats in that pool."""
        rows = await self._all(
            "SELECT q.department, q.edition, q.item, q.seats, "
            "(SELECT COUNT(*) FROM assignments a WHERE a.status = 'active' "
            " AND a.department = q.department AND a.edition = q.edition "
            " AND (a.seat_type = q.item OR EXISTS (SELECT 1 FROM assignment_modules m "
            "  WHERE m.assignment_id = a.id AND m.module = q.item))) AS used "
            "FROM quotas q ORDER BY q.department, q.edition, q.item"
        )
        return [
            Quota(r["department"], r["edition"], r["item"], int(r["seats"]), int(r["used"]))
            for r in rows
        ]
