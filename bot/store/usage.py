"""Per-pool counts kept as seats change (issue 11, migrations/012_pool_usage.sql).

`pool_usage` holds each pool's seats in use and `pool_flow_days` each pool's seats
assigned and revoked per UTC day, so the reads behind `/license pool`, the App Home, the
forecast, `report status` and the limits scan cost a row per pool (and day), not a pass
over every seat. AssignmentRepository, the one writer of seats and their modules, calls
`UsageCounts` in the same transaction as each change: out with what the seat counted for
before, in with what it counts for now. A bulk import is one statement per table,
whatever its size (database triggers, tried first, took a 100,000-row import from 4.6 s
to 9.2 s).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.store.base import Repository

Key = tuple[str, str, str]  # (kind, edition, item)


@dataclass(frozen=True)
class Counted:
    """What one seat counts for: its pools while active, its assignment and revocation
    days (stored times, ISO 8601 UTC) in those pools' flows."""

    edition: str
    seat_type: str
    modules: tuple[str, ...]
    assigned_at: str
    revoked_at: str | None = None
    active: bool = True

    def pools(self) -> list[Key]:
        return [("seat", self.edition, self.seat_type)] + [
            ("module", self.edition, module) for module in self.modules
        ]


class UsageCounts(Repository):
    async def count(self, seats: Iterable[Counted], sign: int) -> None:
        """Add these seats to the counts (`sign` 1), or take them out (-1)."""
        await self.count_alike(((seat, 1) for seat in seats), sign)

    async def count_alike(self, groups: Iterable[tuple[Counted, int]], sign: int) -> None:
        """`count` for groups of `n` seats alike (a bulk import's); a negative `n` takes a
        seat's old state out as its new state goes in (a revoke, a change)."""
        used: Counter[Key] = Counter()
        added: Counter[tuple[str, str, str]] = Counter()  # (day, edition, item)
        removed: Counter[tuple[str, str, str]] = Counter()
        for seat, n in groups:
            for kind, edition, item in seat.pools():
                if seat.active:
                    used[(kind, edition, item)] += sign * n
                added[(seat.assigned_at[:10], edition, item)] += sign * n
                if seat.revoked_at is not None:
                    removed[(seat.revoked_at[:10], edition, item)] += sign * n
        rows = [(*key, n) for key, n in sorted(used.items()) if n]
        if rows:
            await self._many(
                "INSERT INTO pool_usage (kind, edition, item, n) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, edition, item) DO UPDATE SET n = pool_usage.n + excluded.n",
                rows,
            )
        days = sorted(set(added) | set(removed))
        flows = [(*day, added[day], removed[day]) for day in days if added[day] or removed[day]]
        if flows:
            await self._many(
                "INSERT INTO pool_flow_days (day, edition, item, added, removed) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, edition, item) DO UPDATE SET "
                "added = pool_flow_days.added + excluded.added, "
                "removed = pool_flow_days.removed + excluded.removed",
                flows,
            )

    async def seats_in_use(
        self, *, edition: str | None = None, seat_type: str | None = None
    ) -> int:
        """Active seats, of one edition and/or seat type if named."""
        sql = "SELECT COALESCE(SUM(n), 0) FROM pool_usage WHERE kind = 'seat'"
        params: list[str] = []
        if edition:
            sql += " AND edition = ?"
            params.append(edition)
        if seat_type:
            sql += " AND item = ?"
            params.append(seat_type)
        return int(await self._scalar(sql, params))
