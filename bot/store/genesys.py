"""Genesys Cloud provisioning state on assignments (migration 007)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiosqlite import Row

from bot.store.base import Repository
from bot.store.codec import from_db, to_db

WAITING_USER = "waiting_user"


@dataclass(frozen=True)
class GenesysState:
    assignment_id: int
    email: str
    status: str  # the assignment's: active | revoked
    state: str | None
    user_id: str | None
    detail: str | None
    at: datetime | None


_SELECT = (
    "SELECT id, email, status, genesys_state, genesys_user_id, genesys_detail, genesys_at "
    "FROM assignments"
)


class GenesysRepository(Repository):
    async def set_state(
        self,
        assignment_id: int,
        state: str,
        at: datetime,
        *,
        user_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Record where provisioning stands; a known Genesys user id is kept."""
        await self._run(
            "UPDATE assignments SET genesys_state = ?, genesys_detail = ?, genesys_at = ?, "
            "genesys_user_id = COALESCE(?, genesys_user_id) WHERE id = ?",
            (state, detail, to_db(at), user_id, assignment_id),
        )

    async def record_activity(self, seen: list[tuple[int, datetime]]) -> None:
        """Last activity from Genesys for many seats in one statement; it only moves
        forward (an older instant than the one stored changes nothing)."""
        await self._many(
            "UPDATE assignments SET last_active_at = ? WHERE id = ? AND status = 'active' "
            "AND (last_active_at IS NULL OR last_active_at < ?)",
            [(to_db(at), assignment_id, to_db(at)) for assignment_id, at in seen],
        )

    async def get(self, assignment_id: int) -> GenesysState | None:
        row = await self._one(f"{_SELECT} WHERE id = ?", (assignment_id,))
        return _state(row) if row else None

    async def active(self) -> dict[int, GenesysState]:
        rows = await self._all(f"{_SELECT} WHERE status = 'active'")
        return {r["id"]: _state(r) for r in rows}

    async def for_request(self, request_id: int) -> GenesysState | None:
        """The seat a request gave (its latest), with its provisioning state."""
        row = await self._one(
            f"{_SELECT} WHERE request_id = ? ORDER BY id DESC LIMIT 1", (request_id,)
        )
        return _state(row) if row else None

    async def waiting(self) -> list[GenesysState]:
        rows = await self._all(
            f"{_SELECT} WHERE status = 'active' AND genesys_state = ? ORDER BY id",
            (WAITING_USER,),
        )
        return [_state(r) for r in rows]


def _state(row: Row) -> GenesysState:
    return GenesysState(
        row["id"],
        row["email"],
        row["status"],
        row["genesys_state"],
        row["genesys_user_id"],
        row["genesys_detail"],
        from_db(row["genesys_at"]),
    )
