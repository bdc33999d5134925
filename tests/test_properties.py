"""Property tests (hypothesis): the command parser never fails with anything but a clear
LicenseError, and seat accounting holds for any sequence of approvals, assignments,
revocations and pool changes run through bot/services on a real SQLite file."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from slow import size

from bot.licensing import parsing
from bot.licensing.catalog import load_catalog
from bot.licensing.entities import Assignment
from bot.licensing.errors import LicenseError
from bot.licensing.policy import Policy, allowed_overage, grace_ends_at
from bot.licensing.requests import Person, RequestStatus, SeatRequest
from bot.services.ledger import Rules
from bot.services.requests import approve_request, file_request
from bot.services.seats import assign_seat, revoke_seat, set_pool
from bot.store.db import Database
from bot.store.unit import Store

CATALOG = load_catalog()
COMMANDS = get_args(parsing.Command)

# --- the parser ---------------------------------------------------------------------------

WORDS = [
    "help",
    "request",
    "requests",
    "cancel",
    "pool",
    "set",
    "assign",
    "revoke",
    "users",
    "check",
    "audit",
    "report",
    "trial",
    "start",
    "convert",
    "status",
    "inactive",
    "premium",
    "standard",
    "partner",
    "agent",
    "supervisor",
    "executive",
    "Agent",
    "PREMIUM",
    "+wfo",
    "+qm",
    "+chat",
    "+social",
    "+nope",
    "+",
    "dept:Support",
    "dept:R&D",
    "dept:",
    "start:2026-12-07",
    "start:2026-13-45",
    "start:",
    "price:150",
    "price:-1",
    "price:1e9",
    "price:abc",
    "from:2026-01-01",
    "to:2025-01-01",
    "<@U07NINA|nina>",
    "<@U07NINA>",
    "<@>",
    "<@W1|x>",
    "<mailto:a@b.co|a@b.co>",
    "nina@example.com",
    "a@b",
    "@here",
    "<!channel>",
    "<!subteam^S1>",
    "<https://evil.example|x>",
    "#12",
    "12",
    "0",
    "-3",
    "1000001",
    "99999999999999999999",
    "status",
    "billing",
    "grace",
    "modules",
    "assignments",
    "é",
    "👍",
    "<",
    ">",
    "|",
    "*bold*",
    "\u200d",
    "\u202e",
    "\x00",
    "\t",
    "\n",
]
structured = st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=12).map(
    lambda words: " ".join(words)
)
near_the_limit = st.tuples(structured, st.integers(2900, 3100)).map(
    lambda pair: (pair[0] + " ") * (pair[1] // max(1, len(pair[0]) + 1))
)
any_text = st.text(max_size=400) | structured | near_the_limit


@settings(
    max_examples=size(300, 20_000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(any_text)
def test_any_text_parses_to_a_command_or_a_clear_error(text: str) -> None:
    try:
        command = parsing.parse_command(text, CATALOG)
    except LicenseError as error:
        assert str(error).strip(), f"an empty error for {text!r}"
        return
    assert isinstance(command, COMMANDS), type(command)
    assert parsing.parse_command(text, CATALOG) == command  # the same text, the same answer


# --- seat accounting ----------------------------------------------------------------------

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
POLICY = Policy()
RULES = Rules(POLICY, CATALOG, UTC)
PEOPLE = [f"p{i}@example.com" for i in range(8)]
EDITIONS = ("premium", "standard")
SEATS = ("agent", "supervisor")
MODULES = {"premium": ("wfo", "qm"), "standard": ("qm",)}


@st.composite
def seat(draw: st.DrawFn) -> tuple[str, str, tuple[str, ...]]:
    edition = draw(st.sampled_from(EDITIONS))
    modules = draw(st.lists(st.sampled_from(MODULES[edition]), unique=True, max_size=2))
    return edition, draw(st.sampled_from(SEATS)), tuple(sorted(modules))


POOLS = [(e, item) for e in EDITIONS for item in (*SEATS, *MODULES[e])]
set_pool_op = st.tuples(
    st.just("pool"),
    st.sampled_from(EDITIONS),
    st.sampled_from(SEATS + ("wfo", "qm")),
    st.integers(0, 6),
)
take = st.sampled_from(["approve", "approve", "assign"])
operation = st.one_of(
    set_pool_op,
    st.tuples(take, st.sampled_from(PEOPLE), seat()),
    st.tuples(take, st.sampled_from(PEOPLE), seat()),
    st.tuples(st.just("revoke"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("advance"), st.integers(0, 40)),
)
# Every pool starts with a few seats, so that most sequences reach overage and refusals.
opening = st.tuples(*(st.integers(1, 3) for _ in POOLS)).map(
    lambda seats: [("pool", e, item, n) for (e, item), n in zip(POOLS, seats, strict=True)]
)


@settings(max_examples=size(40, 1500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(opening, st.lists(operation, min_size=1, max_size=size(30, 80)))
def test_seat_accounting_holds_for_any_sequence(
    opening: list[tuple], operations: list[tuple]
) -> None:
    asyncio.run(_run(opening + operations))


async def _run(operations: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "licensebot.db")
        try:
            now = T0
            for op in operations:
                if op[0] == "advance":
                    now += timedelta(days=op[1])
                    continue
                before = await _state(db)
                added = await _apply(db, op, now)
                after = await _state(db)
                await _check_counts(db)
                if added is None and op[0] != "pool" and op[0] != "revoke":
                    assert after == before, f"a refused {op} changed seats or pools"
                if added is not None:
                    await _check_within_policy(db, added, now)
                event(f"{op[0]} {'took a seat' if added else 'changed no seat'}")
            await _check_replay(db)
            assert await db.integrity_check() == "ok"
        finally:
            await db.close()


async def _apply(db: Database, op: tuple, now: datetime) -> tuple[str, str, tuple] | None:
    """Runs one operation; returns the seat taken (edition, seat type, modules) or None."""
    kind = op[0]
    try:
        if kind == "pool":
            await set_pool(
                db,
                RULES,
                edition=op[1],
                item=op[2],
                seats=op[3],
                price=None,
                admin_id="U0ADMIN",
                now=now,
            )
        elif kind == "revoke":
            await revoke_seat(db, email=op[1], actor="U0ADMIN", now=now)
        elif kind == "assign":
            edition, seat_type, modules = op[2]
            await assign_seat(
                db,
                RULES,
                _seat(op[1], op[2]),
                email=op[1],
                name=op[1],
                slack_user_id=None,
                admin_id="U0ADMIN",
                now=now,
            )
            return edition, seat_type, modules
        elif kind == "approve":
            async with db.read() as tx:
                pending = await tx.requests.pending_for_email(op[1])
            if pending is None:
                pending = await file_request(
                    db,
                    RULES,
                    _seat(op[1], op[2]),
                    requester_id="U0MANAGER",
                    email=op[1],
                    name=op[1],
                    slack_user_id=None,
                    approvals_channel="C0APPROVALS",
                    now=now,
                )
            decision = await approve_request(db, RULES, pending.id, "U0ADMIN", now)
            if decision.won:
                return pending.edition, pending.seat_type, pending.modules
    except LicenseError:
        pass
    return None


def _seat(email: str, drawn: tuple[str, str, tuple[str, ...]]) -> SeatRequest:
    edition, seat_type, modules = drawn
    return SeatRequest(Person(email=email), seat_type, edition, modules, department="Support")


async def _state(db: Database) -> tuple:
    async with db.read() as tx:
        seats = sorted((a.id, a.status) for a in await _all_seats(tx))
        pools = sorted(
            (p.edition, p.item, p.purchased, p.used, p.over_since)
            for p in await tx.pools.all_states()
        )
    return seats, pools


async def _all_seats(tx: Store) -> list[Assignment]:
    return [a for e in PEOPLE for a in await tx.assignments.history_for_email(e)]


async def _check_counts(db: Database) -> None:
    """used = active assignments, and a pool is in an overage period exactly when over."""
    async with db.read() as tx:
        active = await tx.assignments.list_active()
        pools = await tx.pools.all_states()
    held: Counter[tuple[str, str]] = Counter()
    for a in active:
        held[(a.edition, a.seat_type)] += 1
        for module in a.modules:
            held[(a.edition, module)] += 1
    for pool in pools:
        assert pool.used == held[(pool.edition, pool.item)], pool
        assert (pool.over_since is not None) == (pool.used > pool.purchased), pool


async def _check_within_policy(db: Database, added: tuple, now: datetime) -> None:
    """A seat just taken left every pool it draws on within purchased + allowed overage,
    and over purchased only inside a running grace period (SPEC 1.1)."""
    edition, seat_type, modules = added
    async with db.read() as tx:
        for item in (seat_type, *modules):
            pool = await tx.pools.state(edition, item)
            assert pool is not None and pool.purchased > 0, (edition, item)
            assert pool.used <= pool.purchased + allowed_overage(pool.purchased, POLICY), pool
            if pool.used > pool.purchased:
                event("a seat taken in overage")
                assert pool.over_since is not None and now < grace_ends_at(
                    pool.over_since, POLICY, edition
                ), pool


async def _check_replay(db: Database) -> None:
    """Replaying the audit log, oldest first, rebuilds the assignments, the pools'
    purchased seats and the requests' states exactly."""
    seats: dict[int, dict] = {}
    purchased: dict[str, int] = {}
    statuses: dict[str, str] = {}
    async with db.read() as tx:
        entries = list(reversed(await tx.audit.recent(limit=None)))
        stored = await _all_seats(tx)
        pools = await tx.pools.all_states()
        requests = [await tx.requests.get(i) for i in range(1, 1 + len(entries))]
    for entry in entries:
        if entry.action in ("assignment.created", "assignment.imported", "assignment.revoked"):
            seats[entry.after["id"]] = entry.after
        elif entry.action == "pool.set":
            purchased[entry.subject] = entry.after["purchased"]
        elif entry.action.startswith("request."):
            statuses[entry.subject] = entry.after["status"]
    assert seats == {a.id: a.snapshot() for a in stored}
    assert purchased == {f"pool:{p.edition}/{p.item}": p.purchased for p in pools}
    assert statuses == {f"request:{r.id}": r.status.value for r in requests if r is not None}
    assert all(s in {x.value for x in RequestStatus} for s in statuses.values())
