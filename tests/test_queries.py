"""The read side (bot/services/queries.py) as functions of a real database: what the
listeners are handed — domain entities, paged with their totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.licensing.entities import Assignment, AuditEntry, AuditFilter, Seat
from bot.licensing.requests import Person, SeatRequest
from bot.services import queries
from bot.store.db import Database

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(store_target):
    database = await Database.open(store_target)
    yield database
    await database.close()


async def _seat(db: Database, email: str, edition: str) -> None:
    async with db.transaction() as tx:
        given = Seat(
            email=email,
            name=email.split("@")[0].title(),
            edition=edition,
            seat_type="agent",
            department="Support",
        )
        seat = await tx.assignments.add(
            given, license_group=None, assigned_at=T0 - timedelta(days=90)
        )
        await tx.audit.add(T0, "U0ADMIN", "seat.assigned", f"assignment:{seat.id}", None, {})


async def test_active_seats_are_paged_with_their_total(db: Database) -> None:
    for name in ("ann", "bob", "cid"):
        await _seat(db, f"{name}@example.com", "premium")
    await _seat(db, "dan@example.com", "standard")

    first = await queries.active_seats(
        db, edition="premium", seat_type=None, inactive_before=None, limit=2, offset=0
    )
    rest = await queries.active_seats(
        db, edition="premium", seat_type=None, inactive_before=None, limit=2, offset=2
    )
    assert first.total == rest.total == 3
    assert [s.email for s in first.items + rest.items] == [
        "ann@example.com",
        "bob@example.com",
        "cid@example.com",
    ]
    assert all(isinstance(s, Assignment) for s in first.items)


async def test_audit_pages_and_counts_what_the_filter_selects(db: Database) -> None:
    for name in ("ann", "bob"):
        await _seat(db, f"{name}@example.com", "premium")
    found = await queries.audit(db, AuditFilter(), limit=1, offset=0)
    assert found.total == 2 and len(found.items) == 1
    assert isinstance(found.items[0], AuditEntry) and found.items[0].action == "seat.assigned"
    none = await queries.audit(db, AuditFilter(since=T0 + timedelta(days=1)), limit=5, offset=0)
    assert none.total == 0 and none.items == []


async def test_a_requester_sees_their_own_requests(db: Database) -> None:
    seat = SeatRequest(Person(email="nina@example.com"), "agent", "premium", (), None, None, "")
    async with db.transaction() as tx:
        mine = await tx.requests.add(
            seat,
            requester_id="U0MGR",
            email="nina@example.com",
            name="Nina",
            slack_user_id=None,
            at=T0,
        )
        await tx.requests.add(
            seat,
            requester_id="U0OTHER",
            email="nina@example.com",
            name="Nina",
            slack_user_id=None,
            at=T0,
        )
    home = await queries.requester_home(db, "U0MGR", finance=False, max_pending=5)
    assert [r.id for r in home.requests] == [mine.id]
    assert home.finance_pending is None and home.genesys == {}
    assert (await queries.request(db, mine.id)) == home.requests[0]
    assert [r.id for r in await queries.requests_of(db, "U0MGR")] == [mine.id]
