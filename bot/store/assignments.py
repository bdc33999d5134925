"""Assignments: who holds which seat, with which modules, since when, last active when."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from aiosqlite import Row

from bot.licensing.entities import Assignment, Seat  # the store maps rows to them
from bot.store.base import Repository
from bot.store.codec import date_from_db, from_db, to_db
from bot.store.usage import Counted, UsageCounts

_SELECT = (
    "SELECT a.*, (SELECT group_concat(m.module, ',') FROM "
    "(SELECT module FROM assignment_modules WHERE assignment_id = a.id ORDER BY module) m) "
    "AS modules FROM assignments a"
)


@dataclass(frozen=True)
class NewSeat:
    """One active seat to add in bulk (`AssignmentRepository.add_many`)."""

    email: str
    name: str
    edition: str
    seat_type: str
    assigned_at: datetime
    modules: tuple[str, ...] = ()
    slack_user_id: str | None = None
    department: str | None = None
    license_group: str | None = None
    last_active_at: datetime | None = None
    request_id: int | None = None


class AssignmentRepository(Repository):
    """The one writer of seats and their modules: each change keeps the per-pool counts
    (bot/store/usage.py) in its transaction."""

    @property
    def _counts(self) -> UsageCounts:
        return UsageCounts(self._db)

    async def add_many(self, seats: Sequence[NewSeat], first: int | None = None) -> int:
        """Add many active seats with one statement per table (imports, benchmarks); the
        caller audits and refreshes the pools. Returns how many were added. Ids follow the
        current largest (`first`: `next_id()`, read by the caller in the same write
        transaction, which keeps it stable)."""
        if first is None:
            first = await self.next_id()
        rows = [
            (
                first + i,
                s.email.lower(),
                s.name,
                s.slack_user_id,
                s.edition,
                s.seat_type,
                s.department,
                s.license_group,
                to_db(s.assigned_at),
                to_db(s.last_active_at),
                s.request_id,
            )
            for i, s in enumerate(seats)
        ]
        await self._many(
            "INSERT INTO assignments (id, email, name, slack_user_id, edition, seat_type, "
            "department, license_group, status, assigned_at, last_active_at, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
            rows,
        )
        await self._many(
            "INSERT INTO assignment_modules (assignment_id, module) VALUES (?, ?)",
            [(first + i, m) for i, s in enumerate(seats) for m in s.modules],
        )
        # Seats alike counted once, with their number (100,000 seats are a few thousand).
        alike = Counter(
            (seat.edition, seat.seat_type, seat.modules, str(row[8]))
            for row, seat in zip(rows, seats, strict=True)
        )
        await self._counts.count_alike(
            (
                (Counted(edition, seat_type, modules, at), n)
                for (edition, seat_type, modules, at), n in alike.items()
            ),
            1,
        )
        return len(seats)

    async def next_id(self) -> int:
        """The id `add_many` gives its first seat (stable inside a write transaction)."""
        return int(await self._scalar("SELECT COALESCE(MAX(id), 0) FROM assignments")) + 1

    async def active_for_emails(self, emails: Sequence[str]) -> dict[str, Assignment]:
        """email (lower-case) -> its active seat, for the emails that hold one."""
        found: dict[str, Assignment] = {}
        wanted = sorted({e.lower() for e in emails})
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            rows = await self._all(
                f"{_SELECT} WHERE a.status = 'active' "
                f"AND a.email IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update((r["email"], _assignment(r)) for r in rows)
        return found

    async def add(
        self,
        seat: Seat,
        *,
        license_group: str | None,
        assigned_at: datetime,
        request_id: int | None = None,
        last_active_at: datetime | None = None,
    ) -> Assignment:
        _, new_id = await self._run(
            "INSERT INTO assignments (email, name, slack_user_id, edition, seat_type, department, "
            "license_group, status, assigned_at, last_active_at, request_id, ends_on) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
            (
                seat.email.lower(),
                seat.name,
                seat.slack_user_id,
                seat.edition,
                seat.seat_type,
                seat.department,
                license_group,
                to_db(assigned_at),
                to_db(last_active_at),
                request_id,
                seat.ends_on.isoformat() if seat.ends_on else None,
            ),
        )
        await self._many(
            "INSERT INTO assignment_modules (assignment_id, module) VALUES (?, ?)",
            [(new_id, m) for m in seat.modules],
        )
        created = await self.get(int(new_id or 0))
        assert created is not None
        await self._counts.count([_counted(created)], 1)
        return created

    async def get(self, assignment_id: int) -> Assignment | None:
        row = await self._one(f"{_SELECT} WHERE a.id = ?", (assignment_id,))
        return _assignment(row) if row else None

    async def active_for_email(self, email: str) -> Assignment | None:
        row = await self._one(
            f"{_SELECT} WHERE a.email = ? AND a.status = 'active'", (email.lower(),)
        )
        return _assignment(row) if row else None

    async def active_for_slack_user(self, user_id: str) -> Assignment | None:
        row = await self._one(
            f"{_SELECT} WHERE a.slack_user_id = ? AND a.status = 'active' LIMIT 1", (user_id,)
        )
        return _assignment(row) if row else None

    async def revoke(self, assignment_id: int, at: datetime) -> bool:
        """Compare-and-set: only an active seat can be revoked, once."""
        before = await self.get(assignment_id)
        changed, _ = await self._run(
            "UPDATE assignments SET status = 'revoked', revoked_at = ? "
            "WHERE id = ? AND status = 'active'",
            (to_db(at), assignment_id),
        )
        if changed != 1 or before is None:
            return False
        gone = Counted(
            before.edition,
            before.seat_type,
            before.modules,
            _stored(before.assigned_at),
            _stored(at),
            active=False,
        )
        await self._counts.count_alike([(_counted(before), -1), (gone, 1)], 1)
        return True

    async def change(
        self,
        assignment_id: int,
        *,
        edition: str,
        seat_type: str,
        modules: tuple[str, ...],
        license_group: str | None,
        ends_on: date | None,
    ) -> bool:
        """Change an active seat in place (SPEC 9): its pool, modules and end."""
        before = await self.get(assignment_id)
        changed, _ = await self._run(
            "UPDATE assignments SET edition = ?, seat_type = ?, license_group = ?, ends_on = ? "
            "WHERE id = ? AND status = 'active'",
            (
                edition,
                seat_type,
                license_group,
                ends_on.isoformat() if ends_on else None,
                assignment_id,
            ),
        )
        if changed != 1 or before is None:
            return False
        await self._run("DELETE FROM assignment_modules WHERE assignment_id = ?", (assignment_id,))
        await self._many(
            "INSERT INTO assignment_modules (assignment_id, module) VALUES (?, ?)",
            [(assignment_id, m) for m in modules],
        )
        moved = Counted(edition, seat_type, tuple(modules), _stored(before.assigned_at))
        await self._counts.count_alike([(_counted(before), -1), (moved, 1)], 1)
        return True

    async def set_ends_on(self, assignment_id: int, ends_on: date | None) -> bool:
        changed, _ = await self._run(
            "UPDATE assignments SET ends_on = ? WHERE id = ? AND status = 'active'",
            (ends_on.isoformat() if ends_on else None, assignment_id),
        )
        return changed == 1

    async def ending_by(self, last_day: date, limit: int = 500) -> list[Assignment]:
        """Active time-bound seats whose last day is on or before `last_day`, soonest first."""
        rows = await self._all(
            f"{_SELECT} WHERE a.status = 'active' AND a.ends_on IS NOT NULL "
            f"AND a.ends_on <= ? ORDER BY a.ends_on, a.email LIMIT {int(limit)}",
            (last_day.isoformat(),),
        )
        return [_assignment(r) for r in rows]

    async def count_department(
        self, department: str, edition: str, item: str, *, module: bool
    ) -> int:
        """Active seats of one department drawing on one pool (a seat type or a module)."""
        if module:
            sql = (
                "SELECT COUNT(*) FROM assignments a JOIN assignment_modules m "
                "ON m.assignment_id = a.id WHERE a.status = 'active' AND a.department = ? "
                "AND a.edition = ? AND m.module = ?"
            )
        else:
            sql = (
                "SELECT COUNT(*) FROM assignments a WHERE a.status = 'active' "
                "AND a.department = ? AND a.edition = ? AND a.seat_type = ?"
            )
        return int(await self._scalar(sql, (department, edition, item)))

    async def count_active(self) -> int:
        return await self._counts.seats_in_use()  # the per-pool counts: no pass over seats

    async def list_active(
        self,
        *,
        edition: str | None = None,
        seat_type: str | None = None,
        inactive_before: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Assignment]:
        """Active seats, oldest activity first when filtering for inactivity."""
        where: list[str] = ["a.status = 'active'"]
        params: list[str | None] = []
        if edition:
            where.append("a.edition = ?")
            params.append(edition)
        if seat_type:
            where.append("a.seat_type = ?")
            params.append(seat_type)
        order = "a.email"
        if inactive_before is not None:
            where.append("COALESCE(a.last_active_at, a.assigned_at) < ?")
            params.append(to_db(inactive_before))
            order = "COALESCE(a.last_active_at, a.assigned_at), a.email"
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return [_assignment(r) for r in await self._all(sql, params)]

    async def history_for_email(self, email: str) -> list[Assignment]:
        rows = await self._all(f"{_SELECT} WHERE a.email = ? ORDER BY a.id DESC", (email.lower(),))
        return [_assignment(r) for r in rows]


def _assignment(row: Row) -> Assignment:
    return Assignment(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        slack_user_id=row["slack_user_id"],
        edition=row["edition"],
        seat_type=row["seat_type"],
        modules=tuple(m for m in (row["modules"] or "").split(",") if m),
        department=row["department"],
        license_group=row["license_group"],
        status=row["status"],
        assigned_at=from_db(row["assigned_at"]),  # type: ignore[arg-type]
        revoked_at=from_db(row["revoked_at"]),
        last_active_at=from_db(row["last_active_at"]),
        snoozed_until=from_db(row["snoozed_until"]),
        request_id=row["request_id"],
        ends_on=date_from_db(row["ends_on"]),
    )


def _stored(at: datetime) -> str:
    stored = to_db(at)
    assert stored is not None
    return stored


def _counted(seat: Assignment) -> Counted:
    return Counted(
        seat.edition,
        seat.seat_type,
        seat.modules,
        _stored(seat.assigned_at),
        to_db(seat.revoked_at),
        active=seat.status == "active",
    )
