"""Seat requests and their compare-and-set decisions."""

from __future__ import annotations

from datetime import datetime

from aiosqlite import Row

from bot.licensing.requests import LicenseRequest, RequestKind, RequestStatus, SeatRequest, Stage
from bot.store.base import Repository
from bot.store.codec import date_from_db, from_db, modules_from_db, modules_to_db, to_db


class RequestRepository(Repository):
    async def count_by_status(self) -> dict[str, int]:
        rows = await self._all("SELECT status, COUNT(*) FROM requests GROUP BY status")
        return {row[0]: int(row[1]) for row in rows}

    async def add(
        self,
        seat: SeatRequest,
        *,
        requester_id: str,
        email: str,
        name: str,
        slack_user_id: str | None,
        at: datetime,
        kind: RequestKind = RequestKind.NEW,
        assignment_id: int | None = None,
    ) -> LicenseRequest:
        _, new_id = await self._run(
            "INSERT INTO requests (requester_id, email, name, slack_user_id, seat_type, edition, "
            "modules, department, start_date, reason, status, created_at, kind, assignment_id, "
            "until_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            (
                requester_id,
                email.lower(),
                name,
                slack_user_id,
                seat.seat_type,
                seat.edition,
                modules_to_db(seat.modules),
                seat.department,
                seat.start_date.isoformat() if seat.start_date else None,
                seat.reason,
                to_db(at),
                kind.value,
                assignment_id,
                seat.until.isoformat() if seat.until else None,
            ),
        )
        created = await self.get(int(new_id or 0))
        assert created is not None
        return created

    async def get(self, request_id: int) -> LicenseRequest | None:
        row = await self._one("SELECT * FROM requests WHERE id = ?", (request_id,))
        return _request(row) if row else None

    async def by_card(self, channel: str, ts: str) -> LicenseRequest | None:
        """The request of a card: its primary card or any other card recorded for it."""
        row = await self._one(
            "SELECT * FROM requests WHERE card_channel = ? AND card_ts = ?", (channel, ts)
        )
        if row is None:
            row = await self._one(
                "SELECT r.* FROM requests r JOIN request_cards c ON c.request_id = r.id "
                "WHERE c.channel = ? AND c.ts = ?",
                (channel, ts),
            )
        return _request(row) if row else None

    async def add_card(self, request_id: int, channel: str, ts: str, at: datetime) -> bool:
        """Record a card posted for the request (one of possibly two); True when new."""
        changed, _ = await self._run(
            "INSERT INTO request_cards (request_id, channel, ts, posted_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (channel, ts) DO NOTHING",
            (request_id, channel, ts, to_db(at)),
        )
        return changed == 1

    async def cards(self, request_id: int) -> list[tuple[str, str]]:
        """Every card (channel, ts) recorded for the request, the primary one first."""
        rows = await self._all(
            "SELECT c.channel, c.ts FROM request_cards c JOIN requests r ON r.id = c.request_id "
            "WHERE c.request_id = ? ORDER BY CASE WHEN c.ts = r.card_ts THEN 0 ELSE 1 END, "
            "c.posted_at, c.ts",
            (request_id,),
        )
        return [(str(r["channel"]), str(r["ts"])) for r in rows]

    async def for_requester(self, requester_id: str, limit: int = 20) -> list[LicenseRequest]:
        rows = await self._all(
            "SELECT * FROM requests WHERE requester_id = ? ORDER BY id DESC LIMIT ?",
            (requester_id, limit),
        )
        return [_request(r) for r in rows]

    async def pending_for_email(self, email: str) -> LicenseRequest | None:
        row = await self._one(
            "SELECT * FROM requests WHERE email = ? AND status = 'pending' ORDER BY id LIMIT 1",
            (email.lower(),),
        )
        return _request(row) if row else None

    async def all_pending_for_email(self, email: str) -> list[LicenseRequest]:
        rows = await self._all(
            "SELECT * FROM requests WHERE email = ? AND status = 'pending' ORDER BY id",
            (email.lower(),),
        )
        return [_request(r) for r in rows]

    async def pending_at_stage(self, stage: Stage, limit: int = 15) -> list[LicenseRequest]:
        rows = await self._all(
            "SELECT * FROM requests WHERE status = 'pending' AND stage = ? "
            f"ORDER BY id LIMIT {int(limit)}",
            (stage.value,),
        )
        return [_request(r) for r in rows]

    async def advance_stage(self, request_id: int, stage: Stage, by: str, at: datetime) -> bool:
        """Compare-and-set: the admin stage's approval moves a pending request on to
        `stage` once; True for the one caller that wins."""
        changed, _ = await self._run(
            "UPDATE requests SET stage = ?, stage_approved_by = ?, stage_approved_at = ? "
            "WHERE id = ? AND status = 'pending' AND (stage IS NULL OR stage = 'admin')",
            (stage.value, by, to_db(at), request_id),
        )
        return changed == 1

    async def mark_escalated(self, request_id: int, stage: Stage) -> bool:
        """Once per stage: True for the one caller that escalates it."""
        changed, _ = await self._run(
            "UPDATE requests SET escalated_stage = ? WHERE id = ? AND status = 'pending' "
            "AND (escalated_stage IS NULL OR escalated_stage <> ?)",
            (stage.value, request_id, stage.value),
        )
        return changed == 1

    async def pending(
        self, *, created_before: datetime | None = None, limit: int | None = None
    ) -> list[LicenseRequest]:
        sql, params = "SELECT * FROM requests WHERE status = 'pending'", []
        if created_before is not None:
            sql += " AND created_at < ?"
            params.append(to_db(created_before))
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_request(r) for r in await self._all(sql, params)]

    async def decide(
        self,
        request_id: int,
        status: RequestStatus,
        by: str,
        at: datetime,
        reason: str | None = None,
    ) -> bool:
        """Compare-and-set from pending: True for the one caller that wins."""
        changed, _ = await self._run(
            "UPDATE requests SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ? "
            "WHERE id = ? AND status = 'pending'",
            (status.value, by, to_db(at), reason, request_id),
        )
        return changed == 1

    async def set_card(self, request_id: int, channel: str, ts: str) -> None:
        await self._run(
            "UPDATE requests SET card_channel = ?, card_ts = ? WHERE id = ? AND card_ts IS NULL",
            (channel, ts, request_id),
        )

    async def mark_nudged(self, request_id: int, at: datetime) -> bool:
        changed, _ = await self._run(
            "UPDATE requests SET nudged_at = ? WHERE id = ? AND nudged_at IS NULL "
            "AND status = 'pending'",
            (to_db(at), request_id),
        )
        return changed == 1


def _request(row: Row) -> LicenseRequest:
    return LicenseRequest(
        id=row["id"],
        requester_id=row["requester_id"],
        email=row["email"],
        name=row["name"],
        slack_user_id=row["slack_user_id"],
        seat_type=row["seat_type"],
        edition=row["edition"],
        modules=modules_from_db(row["modules"]),
        department=row["department"],
        start_date=date_from_db(row["start_date"]),
        reason=row["reason"],
        status=RequestStatus(row["status"]),
        created_at=from_db(row["created_at"]),  # type: ignore[arg-type]
        decided_at=from_db(row["decided_at"]),
        decided_by=row["decided_by"],
        decision_reason=row["decision_reason"],
        card_channel=row["card_channel"],
        card_ts=row["card_ts"],
        nudged_at=from_db(row["nudged_at"]),
        kind=RequestKind(row["kind"] or "new"),
        assignment_id=row["assignment_id"],
        until_date=date_from_db(row["until_date"]),
        stage=Stage(row["stage"] or "admin"),
        stage_approved_by=row["stage_approved_by"],
        stage_approved_at=from_db(row["stage_approved_at"]),
        escalated_stage=row["escalated_stage"],
    )
