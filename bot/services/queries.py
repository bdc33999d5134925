"""The read side: every query a listener needs, as functions of the Database.

Listeners (bot/commands) never open a transaction or call a repository: they call these
and hand the values (domain entities from bot/licensing, read-side views below) to
bot/blocks. Nothing here changes state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Generic, TypeVar

from bot.licensing.catalog import Catalog
from bot.licensing.entities import Assignment, AuditEntry, AuditFilter, OpenAlert, Quota
from bot.licensing.forecast import Forecast
from bot.licensing.policy import PoolState
from bot.licensing.requests import LicenseRequest, Stage
from bot.licensing.views import Diagnosis, FailedDelivery
from bot.services.delivery import failed_deliveries
from bot.services.genesys import add_genesys_finding
from bot.services.insight import PoolKey, diagnose_person, pool_forecasts
from bot.services.ledger import Rules
from bot.store.db import Database
from bot.store.genesys import GenesysState

T = TypeVar("T")


@dataclass(frozen=True)
class Pools:
    """The pools with each one's 30-day forecast (`/license pool`, the admin Home)."""

    states: list[PoolState]
    forecasts: dict[PoolKey, Forecast]


@dataclass(frozen=True)
class AdminHome:
    pools: Pools
    pending: list[LicenseRequest]
    pending_total: int
    alerts: list[OpenAlert]
    alerts_total: int
    ending: list[Assignment]
    failed: list[FailedDelivery] = field(default_factory=list)  # undelivered messages
    failed_total: int = 0


@dataclass(frozen=True)
class RequesterHome:
    requests: list[LicenseRequest]
    finance_pending: list[LicenseRequest] | None  # None: not a finance approver
    genesys: dict[int, GenesysState] = field(default_factory=dict)  # request id -> state


@dataclass(frozen=True)
class Paged(Generic[T]):
    items: list[T]
    total: int


async def pools(db: Database, catalog: Catalog, now: datetime, tz: tzinfo) -> Pools:
    """Every pool, priced (PoolState.seat_price), with its forecast."""
    async with db.read() as tx:
        states = [catalog.price_pool(s) for s in await tx.pools.all_states()]
        return Pools(states, await pool_forecasts(tx, states, now, tz))


async def admin_home(
    db: Database,
    catalog: Catalog,
    now: datetime,
    tz: tzinfo,
    ending_by: date,
    max_pending: int,
    max_alerts: int,
) -> AdminHome:
    async with db.read() as tx:
        states = [catalog.price_pool(s) for s in await tx.pools.all_states()]
        forecasts = await pool_forecasts(tx, states, now, tz)
        pending = await tx.requests.pending(limit=max_pending)
        pending_total = await tx.reports.pending_count()
        alerts, alerts_total = await tx.reports.open_alerts(max_alerts)
        ending = await tx.assignments.ending_by(ending_by, limit=max_alerts)
    failed, failed_total = await failed_deliveries(db)
    return AdminHome(
        Pools(states, forecasts),
        pending,
        pending_total,
        alerts,
        alerts_total,
        ending,
        failed,
        failed_total,
    )


async def requester_home(
    db: Database,
    user_id: str,
    *,
    finance: bool,
    max_pending: int,
    genesys_for: int = 0,
) -> RequesterHome:
    """The person's own requests; a finance approver also sees what waits for finance;
    with Genesys on, where provisioning stands for the first `genesys_for` requests."""
    async with db.read() as tx:
        requests = await tx.requests.for_requester(user_id)
        waiting = (
            await tx.requests.pending_at_stage(Stage.FINANCE, max_pending) if finance else None
        )
        genesys: dict[int, GenesysState] = {}
        for request in requests[:genesys_for]:
            state = await tx.genesys.for_request(request.id)
            if state is not None:
                genesys[request.id] = state
    return RequesterHome(requests, waiting, genesys)


async def requests_of(db: Database, user_id: str) -> list[LicenseRequest]:
    async with db.read() as tx:
        return await tx.requests.for_requester(user_id)


async def request(db: Database, request_id: int) -> LicenseRequest | None:
    async with db.read() as tx:
        return await tx.requests.get(request_id)


async def request_on_card(db: Database, channel: str, ts: str) -> LicenseRequest | None:
    async with db.read() as tx:
        return await tx.requests.by_card(channel, ts)


async def active_seats(
    db: Database,
    *,
    edition: str | None,
    seat_type: str | None,
    inactive_before: datetime | None,
    limit: int,
    offset: int,
) -> Paged[Assignment]:
    """One page of `/license users` and the count of all that match."""
    async with db.read() as tx:
        total = await tx.reports.count_active(
            edition=edition, seat_type=seat_type, inactive_before=inactive_before
        )
        seats = await tx.assignments.list_active(
            edition=edition,
            seat_type=seat_type,
            inactive_before=inactive_before,
            limit=limit,
            offset=offset,
        )
    return Paged(seats, total)


async def audit(db: Database, where: AuditFilter, limit: int, offset: int) -> Paged[AuditEntry]:
    async with db.read() as tx:
        total = await tx.reports.audit_count(where)
        entries = await tx.reports.audit(where, limit=limit, offset=offset)
    return Paged(entries, total)


async def check(
    db: Database,
    rules: Rules,
    email: str,
    slack_user_id: str | None,
    now: datetime,
    *,
    genesys: bool,
) -> Diagnosis:
    """`/license check`: the diagnosis, with where the seat stands in Genesys Cloud."""
    async with db.read() as tx:
        diagnosis = await diagnose_person(tx, rules, email, slack_user_id, now)
        if genesys and diagnosis.holding is not None:  # SPEC 8
            add_genesys_finding(diagnosis, await tx.genesys.get(diagnosis.holding.id))
    return diagnosis


async def quotas(db: Database) -> list[Quota]:
    async with db.read() as tx:
        return await tx.quotas.all()


async def genesys_state(db: Database, assignment_id: int) -> GenesysState | None:
    async with db.read() as tx:
        return await tx.genesys.get(assignment_id)


async def seats_with_genesys(
    db: Database,
) -> tuple[list[Assignment], dict[int, GenesysState]]:
    """Every active seat and where each stands in Genesys (the drift comparison)."""
    async with db.read() as tx:
        return await tx.assignments.list_active(), await tx.genesys.active()
