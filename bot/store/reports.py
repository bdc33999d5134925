"""Read queries for reports, insight commands, the App Home and the forecast.

Nothing here changes state: these are the set-based reads that the report builders
(bot/reports), `/license users|audit|check` and the App Home page through.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiosqlite import Row

from bot.licensing.entities import AuditFilter, OpenAlert  # the store maps rows to them
from bot.store.audit import AuditEntry
from bot.store.base import Repository
from bot.store.codec import from_db, to_db
from bot.store.usage import UsageCounts


@dataclass(frozen=True)
class Flow:
    """Seats taken from and given back to one pool in a window."""

    added: int = 0
    removed: int = 0


# Seats assigned and revoked between two times, counted seat by seat: module flows count
# the module's holders (a seat with +wfo moves the wfo pool too). Used for the two partial
# days at the ends of a window; the whole days between come from `pool_flow_days`
# (bot/store/usage.py). Ranges are inclusive, in stored time text; a NULL range is empty.
_IN = "(({col} >= :lo1 AND {col} <= :hi1) OR ({col} >= :lo2 AND {col} <= :hi2))"
_ADDED, _REMOVED = _IN.format(col="a.assigned_at"), _IN.format(col="a.revoked_at")
_FLOWS = f"""
    SELECT a.edition AS edition, a.seat_type AS item,
           SUM(CASE WHEN {_ADDED} THEN 1 ELSE 0 END) AS added,
           SUM(CASE WHEN {_REMOVED} THEN 1 ELSE 0 END) AS removed
    FROM assignments a
    WHERE {_ADDED} OR {_REMOVED}
    GROUP BY a.edition, a.seat_type
    UNION ALL
    SELECT a.edition, m.module,
           SUM(CASE WHEN {_ADDED} THEN 1 ELSE 0 END),
           SUM(CASE WHEN {_REMOVED} THEN 1 ELSE 0 END)
    FROM assignments a JOIN assignment_modules m ON m.assignment_id = a.id
    WHERE {_ADDED} OR {_REMOVED}
    GROUP BY a.edition, m.module
"""
_FLOW_DAYS = """
    SELECT edition, item, SUM(added), SUM(removed) FROM pool_flow_days
    WHERE day > ? AND day < ? GROUP BY edition, item
"""


# Streaming reads (SPEC 7): keyset pages in one read transaction, so a report over a
# million rows never holds more than a page; the caller writes each page out as it comes.
STREAM_PAGE = 5000
# Positions in an `active_seat_pages` row.
SEAT_COLUMNS = (
    "id",
    "email",
    "name",
    "slack_user_id",
    "edition",
    "seat_type",
    "department",
    "license_group",
    "assigned_at",
    "last_active_at",
    "request_id",
    "ends_on",
)
# Positions in an `audit_pages` row: the stored text (times ISO 8601 UTC, JSON).
AUDIT_COLUMNS = ("id", "at", "actor", "action", "subject", "before", "after")


@dataclass(frozen=True)
class SeatPage:
    """Active seats in email order (columns: SEAT_COLUMNS) and their modules by seat id."""

    rows: list[Row]
    modules: dict[int, list[str]]


class _Streams(Repository):
    """The pages behind the long reports: assignments and the audit export."""

    async def active_seat_pages(self, page: int | None = None) -> AsyncIterator[SeatPage]:
        page = page or STREAM_PAGE
        after = ""
        columns = ", ".join(f"a.{c}" for c in SEAT_COLUMNS)
        while True:
            rows = await self._all(
                f"SELECT {columns} FROM assignments a WHERE a.status = 'active' "
                "AND a.email > ? ORDER BY a.email LIMIT ?",
                (after, int(page)),
            )
            if not rows:
                return
            last = rows[-1][1]
            modules: dict[int, list[str]] = {}
            for seat_id, module in await self._all(
                "SELECT m.assignment_id, m.module FROM assignment_modules m "
                "JOIN assignments a ON a.id = m.assignment_id "
                "WHERE a.status = 'active' AND a.email > ? AND a.email <= ? "
                "ORDER BY m.assignment_id, m.module",
                (after, last),
            ):
                modules.setdefault(seat_id, []).append(module)
            yield SeatPage(rows, modules)
            if len(rows) < page:
                return
            after = last

    async def audit_pages(
        self, where: AuditFilter, page: int | None = None
    ) -> AsyncIterator[list[Row]]:
        """Oldest first, as a log reads."""
        page = page or STREAM_PAGE
        clause, params = _audit_where(where)
        after = 0
        while True:
            rows = await self._all(
                f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit WHERE {clause} AND id > ? "
                "ORDER BY id LIMIT ?",
                [*params, after, int(page)],
            )
            if not rows:
                return
            yield rows
            if len(rows) < page:
                return
            after = int(rows[-1][0])


class ReportRepository(_Streams):
    async def pool_flows(self, since: datetime, until: datetime) -> dict[tuple[str, str], Flow]:
        """(edition, seat type or module) -> seats assigned and revoked in [since, until]:
        the whole UTC days inside from the daily counts, the two ends seat by seat."""
        first, last = to_db(since) or "", to_db(until) or ""
        first_day, last_day = first[:10], last[:10]
        if first_day == last_day:
            ends: dict[str, str | None] = {"lo1": first, "hi1": last, "lo2": None, "hi2": None}
        else:
            ends = {
                "lo1": first,
                "hi1": f"{first_day}T23:59:59+00:00",
                "lo2": f"{last_day}T00:00:00+00:00",
                "hi2": last,
            }
        found: dict[tuple[str, str], Flow] = {}
        for r in [
            *await self._all(_FLOW_DAYS, (first_day, last_day)),
            *await self._all(_FLOWS, ends),
        ]:
            before = found.get((r[0], r[1]), Flow())
            found[(r[0], r[1])] = Flow(
                before.added + int(r[2] or 0), before.removed + int(r[3] or 0)
            )
        return found

    async def inactive_holders(self, cutoff: datetime) -> dict[tuple[str, str], int]:
        """(edition, seat type or module) -> active holders idle since before `cutoff`."""
        rows = await self._all(
            "SELECT a.edition, a.seat_type, COUNT(*) FROM assignments a "
            "WHERE a.status = 'active' AND COALESCE(a.last_active_at, a.assigned_at) < ?1 "
            "GROUP BY a.edition, a.seat_type "
            "UNION ALL SELECT a.edition, m.module, COUNT(*) FROM assignments a "
            "JOIN assignment_modules m ON m.assignment_id = a.id "
            "WHERE a.status = 'active' AND COALESCE(a.last_active_at, a.assigned_at) < ?1 "
            "GROUP BY a.edition, m.module",
            (to_db(cutoff),),
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    async def active_by_edition(self) -> dict[str, int]:
        rows = await self._all(
            "SELECT edition, SUM(n) FROM pool_usage WHERE kind = 'seat' AND n > 0 GROUP BY edition"
        )
        return {r[0]: int(r[1]) for r in rows}

    async def module_holders(self) -> dict[tuple[str, str], int]:
        """(edition, module) -> active seats holding the module."""
        rows = await self._all(
            "SELECT edition, item, n FROM pool_usage WHERE kind = 'module' AND n > 0"
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    async def count_active(
        self,
        *,
        edition: str | None = None,
        seat_type: str | None = None,
        inactive_before: datetime | None = None,
    ) -> int:
        """The count behind AssignmentRepository.list_active with the same filters."""
        if inactive_before is None:
            # The per-pool counts (bot/store/usage.py): no count over every seat.
            return await UsageCounts(self._db).seats_in_use(edition=edition, seat_type=seat_type)
        where: list[str] = ["status = 'active'"]
        params: list[str | None] = []
        if edition:
            where.append("edition = ?")
            params.append(edition)
        if seat_type:
            where.append("seat_type = ?")
            params.append(seat_type)
        if inactive_before is not None:
            where.append("COALESCE(last_active_at, assigned_at) < ?")
            params.append(to_db(inactive_before))
        sql = f"SELECT COUNT(*) FROM assignments WHERE {' AND '.join(where)}"
        return int(await self._scalar(sql, params))

    async def pending_count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM requests WHERE status = 'pending'"))

    async def audit(
        self, where: AuditFilter, *, limit: int | None = None, offset: int = 0
    ) -> list[AuditEntry]:
        """Newest first."""
        clause, params = _audit_where(where)
        sql = f"SELECT * FROM audit WHERE {clause} ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return [_entry(r) for r in await self._all(sql, params)]

    async def audit_count(self, where: AuditFilter) -> int:
        clause, params = _audit_where(where)
        return int(await self._scalar(f"SELECT COUNT(*) FROM audit WHERE {clause}", params))

    async def open_alerts(self, limit: int = 10) -> tuple[list[OpenAlert], int]:
        """Channel alerts whose situation has not cleared, newest first, and their count.

        The alert jobs keep one `alerts` row per alert (open until `resolved_at`); on a
        database without that table every channel message in the outbox counts as open.
        """
        tables = {r[0] for r in await self._all("SELECT name FROM sqlite_master")}
        if "alerts" in tables:
            where = "al.resolved_at IS NULL"
            rows = await self._all(
                "SELECT al.summary, al.opened_at, o.delivered_channel, o.delivered_ts "
                "FROM alerts al LEFT JOIN outbox o ON o.key = COALESCE(al.message_key, al.key) "
                f"WHERE {where} "
                "ORDER BY al.opened_at DESC, al.key LIMIT ?",
                (int(limit),),
            )
            total = await self._scalar(f"SELECT COUNT(*) FROM alerts al WHERE {where}")
        else:
            where = "target = 'channel' AND status != 'failed'"
            rows = await self._all(
                "SELECT template, created_at, delivered_channel, delivered_ts FROM outbox "
                f"WHERE {where} ORDER BY id DESC LIMIT ?",
                (int(limit),),
            )
            total = await self._scalar(f"SELECT COUNT(*) FROM outbox WHERE {where}")
        alerts = [OpenAlert(r[0], from_db(r[1]), r[2], r[3]) for r in rows]
        return alerts, int(total or 0)


def _audit_where(where: AuditFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1 = 1"]
    params: list[str | None] = []
    about = []
    if where.email:
        about.append("subject = ?")
        params.append(where.email.lower())
        about.append("subject IN (SELECT 'request:' || id FROM requests WHERE email = ?)")
        params.append(where.email.lower())
    if where.slack_user_id:
        about.append("actor = ?")
        params.append(where.slack_user_id)
        about.append("subject IN (SELECT 'request:' || id FROM requests WHERE slack_user_id = ?)")
        params.append(where.slack_user_id)
    if about:
        clauses.append(f"({' OR '.join(about)})")
    if where.since is not None:
        clauses.append("at >= ?")
        params.append(to_db(where.since))
    if where.until is not None:
        clauses.append("at < ?")
        params.append(to_db(where.until))
    return " AND ".join(clauses), params


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(
        row["id"],
        from_db(row["at"]),  # type: ignore[arg-type]
        row["actor"],
        row["action"],
        row["subject"],
        json.loads(row["before"]) if row["before"] else None,
        json.loads(row["after"]) if row["after"] else None,
    )
