"""Pools, their usage counts and their overage periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from aiosqlite import Row

from bot.licensing.policy import PoolState
from bot.store.base import Repository
from bot.store.codec import cents, from_cents, from_db, to_db

# Seats in use per pool: the `pool_usage` row kept as seats change (bot/store/usage.py),
# so reading every pool costs a row per pool and not a count over every active seat (35 ms
# a read at 100,000 seats, on every `/license pool`).
_USED = """
    COALESCE((SELECT u.n FROM pool_usage u
              WHERE u.kind = p.kind AND u.edition = p.edition AND u.item = p.item), 0)
"""
_ALL_STATES = """
    SELECT p.*, COALESCE(u.n, 0) AS used, o.started_at AS over_since
    FROM pools p
    LEFT JOIN pool_usage u ON u.kind = p.kind AND u.edition = p.edition AND u.item = p.item
    LEFT JOIN overage_periods o ON o.pool_id = p.id AND o.ended_at IS NULL
"""
_STATE = f"""
    SELECT p.*, {_USED} AS used, o.started_at AS over_since
    FROM pools p LEFT JOIN overage_periods o ON o.pool_id = p.id AND o.ended_at IS NULL
"""


@dataclass(frozen=True)
class OveragePeriod:
    pool_id: int
    edition: str
    item: str
    started_at: datetime
    ended_at: datetime | None
    peak_overage: int


class PoolRepository(Repository):
    async def state(self, edition: str, item: str) -> PoolState | None:
        row = await self._one(f"{_STATE} WHERE p.edition = ? AND p.item = ?", (edition, item))
        return _pool_state(row) if row else None

    async def all_states(self) -> list[PoolState]:
        rows = await self._all(f"{_ALL_STATES} ORDER BY p.edition, p.kind DESC, p.item")
        return [_pool_state(r) for r in rows]

    async def set(
        self,
        edition: str,
        item: str,
        kind: str,
        purchased: int,
        price: Decimal | None,
        at: datetime,
    ) -> tuple[PoolState | None, PoolState]:
        """Create or change a pool; returns (before, after). A price of None keeps the old one."""
        before = await self.state(edition, item)
        await self._run(
            "INSERT INTO pools (edition, item, kind, purchased, price_cents, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (edition, item) DO UPDATE SET "
            "purchased = excluded.purchased, "
            "price_cents = COALESCE(excluded.price_cents, pools.price_cents), "
            "updated_at = excluded.updated_at",
            (edition, item, kind, purchased, cents(price), to_db(at)),
        )
        after = await self.state(edition, item)
        assert after is not None
        return before, after

    async def refresh_overage(self, edition: str, item: str, at: datetime) -> str | None:
        """Open, update or close the pool's overage period; returns 'started', 'ended' or None."""
        row = await self._one(
            f"SELECT p.id, p.purchased, {_USED} AS used, o.id AS period_id, o.peak_overage "
            "FROM pools p LEFT JOIN overage_periods o ON o.pool_id = p.id AND o.ended_at IS NULL "
            "WHERE p.edition = ? AND p.item = ?",
            (edition, item),
        )
        if row is None:
            return None
        overage = row["used"] - row["purchased"]
        if overage > 0 and row["period_id"] is None:
            await self._run(
                "INSERT INTO overage_periods (pool_id, started_at, peak_overage) VALUES (?, ?, ?)",
                (row["id"], to_db(at), overage),
            )
            return "started"
        if overage > 0 and overage > row["peak_overage"]:
            await self._run(
                "UPDATE overage_periods SET peak_overage = ? WHERE id = ?",
                (overage, row["period_id"]),
            )
        elif overage <= 0 and row["period_id"] is not None:
            await self._run(
                "UPDATE overage_periods SET ended_at = ? WHERE id = ?",
                (to_db(at), row["period_id"]),
            )
            return "ended"
        return None

    async def overage_periods(self) -> list[OveragePeriod]:
        rows = await self._all(
            "SELECT o.*, p.edition, p.item FROM overage_periods o JOIN pools p ON p.id = o.pool_id "
            "ORDER BY o.started_at, o.id"
        )
        return [
            OveragePeriod(
                r["pool_id"],
                r["edition"],
                r["item"],
                from_db(r["started_at"]),  # type: ignore[arg-type]
                from_db(r["ended_at"]),
                r["peak_overage"],
            )
            for r in rows
        ]


def _pool_state(row: Row) -> PoolState:
    return PoolState(
        edition=row["edition"],
        item=row["item"],
        purchased=row["purchased"],
        used=row["used"],
        over_since=from_db(row["over_since"]),
        price=from_cents(row["price_cents"]),
    )
