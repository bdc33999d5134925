"""Activity and inactivity: set-based scans for the jobs, snoozes, DM asks, imports.

The scans never load every assignment: they count and group in SQL and fetch only the
first rows a message shows (SPEC 7: 100,000 assignments in well under 2 s).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.store.assignments import _SELECT, Assignment, _assignment
from bot.store.base import Repository
from bot.store.codec import from_cents, from_db, to_db

_LAST = "COALESCE(a.last_active_at, a.assigned_at)"
# Active, idle since before the cutoff (?1), and not snoozed at the moment (?2).
_INACTIVE = (
    f"a.status = 'active' AND {_LAST} < ?1 AND (a.snoozed_until IS NULL OR a.snoozed_until <= ?2)"
)
# Not asked by DM during this inactive spell: a later activity or a snooze starts a new one.
_NOT_ASKED = (
    f"(a.inactive_asked_at IS NULL OR a.inactive_asked_at < {_LAST} "
    "OR (a.snoozed_until IS NOT NULL AND a.inactive_asked_at < a.snoozed_until))"
)


@dataclass(frozen=True)
class InactiveSummary:
    total: int
    by_seat: dict[tuple[str, str], int]  # (edition, seat type) -> holders
    by_module: dict[tuple[str, str], int]  # (edition, module) -> holders
    first: list[Assignment]  # the longest idle first


@dataclass(frozen=True)
class Activity:
    assignment_id: int
    email: str
    last_active_at: datetime | None


class ActivityRepository(Repository):
    async def inactive_summary(
        self, cutoff: datetime, now: datetime, *, limit: int = 20
    ) -> InactiveSummary:
        params = (to_db(cutoff), to_db(now))
        # The unary `+` keeps SQLite from walking every active seat in (edition, seat type)
        # order to group them: the range on the activity index reads only the idle ones
        # (10x faster at 100,000 seats with 15 % idle).
        seats = await self._all(
            f"SELECT a.edition, a.seat_type, COUNT(*) AS n FROM assignments a WHERE {_INACTIVE} "
            "GROUP BY +a.edition, +a.seat_type",
            params,
        )
        modules = await self._all(
            "SELECT a.edition, m.module, COUNT(*) AS n FROM assignments a "
            f"JOIN assignment_modules m ON m.assignment_id = a.id WHERE {_INACTIVE} "
            "GROUP BY +a.edition, m.module",
            params,
        )
        by_seat = {(r[0], r[1]): int(r[2]) for r in seats}
        first: list[Assignment] = []
        if by_seat and limit > 0:
            rows = await self._all(
                f"{_SELECT} WHERE {_INACTIVE} ORDER BY {_LAST}, a.id LIMIT {int(limit)}", params
            )
            first = [_assignment(r) for r in rows]
        return InactiveSummary(
            total=sum(by_seat.values()),
            by_seat=by_seat,
            by_module={(r[0], r[1]): int(r[2]) for r in modules},
            first=first,
        )

    async def to_ask(self, cutoff: datetime, now: datetime, *, limit: int) -> list[Assignment]:
        """Inactive holders in Slack not asked yet during this spell, longest idle first."""
        rows = await self._all(
            f"{_SELECT} WHERE {_INACTIVE} AND a.slack_user_id IS NOT NULL AND {_NOT_ASKED} "
            f"ORDER BY {_LAST}, a.id LIMIT {int(limit)}",
            (to_db(cutoff), to_db(now)),
        )
        return [_assignment(r) for r in rows]

    async def mark_asked(self, assignment_id: int, cutoff: datetime, at: datetime) -> bool:
        """Compare-and-set, so two runs at once ask a holder once, and only while still
        idle since before `cutoff` (the job finds them in a snapshot read before)."""
        changed, _ = await self._run(
            f"UPDATE assignments AS a SET inactive_asked_at = ?2 WHERE a.id = ?3 "
            f"AND {_INACTIVE} AND {_NOT_ASKED}",
            (to_db(cutoff), to_db(at), assignment_id),
        )
        return changed == 1

    async def snooze(self, assignment_id: int, until: datetime) -> bool:
        changed, _ = await self._run(
            "UPDATE assignments SET snoozed_until = ? WHERE id = ? AND status = 'active'",
            (to_db(until), assignment_id),
        )
        return changed == 1

    async def prices(self) -> dict[tuple[str, str], Decimal | None]:
        """(edition, item) -> the pool's own monthly price (None: use the catalog's)."""
        rows = await self._all("SELECT edition, item, price_cents FROM pools")
        return {(r[0], r[1]): from_cents(r[2]) for r in rows}

    async def for_emails(self, emails: Iterable[str]) -> dict[str, Activity]:
        """The active seats of these emails (lower-case), with their last activity."""
        found: dict[str, Activity] = {}
        wanted = sorted({e.lower() for e in emails})
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            rows = await self._all(
                "SELECT id, email, last_active_at FROM assignments WHERE status = 'active' "
                f"AND email IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for r in rows:
                found[r["email"]] = Activity(r["id"], r["email"], from_db(r["last_active_at"]))
        return found

    async def set_last_active_many(self, changes: Iterable[tuple[int, datetime]]) -> None:
        """`set_last_active` for many seats in one statement (imports)."""
        await self._many(
            "UPDATE assignments SET last_active_at = ? WHERE id = ? AND status = 'active' "
            "AND (last_active_at IS NULL OR last_active_at < ?)",
            [(to_db(at), seat_id, to_db(at)) for seat_id, at in changes],
        )

    async def set_last_active(self, assignment_id: int, at: datetime) -> bool:
        """Activity only moves forward: an older date than the one stored changes nothing."""
        changed, _ = await self._run(
            "UPDATE assignments SET last_active_at = ? WHERE id = ? AND status = 'active' "
            "AND (last_active_at IS NULL OR last_active_at < ?)",
            (to_db(at), assignment_id, to_db(at)),
        )
        return changed == 1
