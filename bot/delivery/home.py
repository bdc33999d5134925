"""The App Home, built from the read side and published: when a person opens it
(bot/commands/home.py) and as the outbox's `home` side effect, queued with a decision
that changes it (bot/services/outcomes.refresh_homes). Built when delivered, so a late
delivery shows the current state, never the one of the decision that queued it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from slack_sdk.models.views import View

from bot.blocks import home as home_blocks
from bot.blocks.genesys import genesys_state_line
from bot.blocks.home import MAX_ALERTS, MAX_PENDING, admin_home, requester_home
from bot.clock import Clock
from bot.delivery.slack import Attempt, Sent, SlackTarget
from bot.services import queries
from bot.services.ledger import Rules
from bot.store.db import Database


class Directory(Protocol):
    async def is_admin(self, user_id: str) -> bool: ...


class HomeSource(Protocol):
    """What a Home is built from (bot.context.Deps is one)."""

    @property
    def db(self) -> Database: ...
    @property
    def rules(self) -> Rules: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def admins(self) -> Directory: ...
    @property
    def genesys(self) -> Any: ...  # None in ledger-only mode

    async def is_finance(self, user_id: str) -> bool: ...


async def home_view(source: HomeSource, user_id: str) -> View:
    now = source.clock.now()
    tz = source.rules.tz
    if not await source.admins.is_admin(user_id):
        mine = await queries.requester_home(
            source.db,
            user_id,
            finance=await source.is_finance(user_id),
            max_pending=MAX_PENDING,
            # SPEC 8: where provisioning of each seat stands
            genesys_for=home_blocks.MAX_OWN_REQUESTS if source.genesys is not None else 0,
        )
        genesys: dict[int, str] = {}
        for request_id, state in mine.genesys.items():
            line = genesys_state_line(state.state, state.detail)
            if line:
                genesys[request_id] = line
        return requester_home(
            mine.requests, now, tz, finance_pending=mine.finance_pending, genesys=genesys
        )
    soon = now.astimezone(tz).date() + timedelta(days=source.rules.policy.expiry_warning_days)
    shown = await queries.admin_home(
        source.db, source.rules.catalog, now, tz, soon, MAX_PENDING, MAX_ALERTS
    )
    return admin_home(
        shown.pools.states,
        shown.pools.forecasts,
        shown.pending,
        shown.pending_total,
        shown.alerts,
        shown.alerts_total,
        source.rules.policy,
        now,
        tz,
        ending=shown.ending,
        failed=shown.failed,
        failed_total=shown.failed_total,
    )


def home_destination(user_id: str | None) -> str:
    """One person's Home refreshes go out one at a time, in order."""
    return f"home:{user_id}"


class HomeTarget:
    """The `home` outbox target: views.publish of `user_id`'s Home, built now. A failure
    is the outbox's like any message's (retried with backoff; a queued refresh is never
    lost). Paced and rate-limited through the Slack target's calls."""

    def __init__(self, slack: SlackTarget, source: HomeSource) -> None:
        self._slack = slack
        self._source = source

    async def deliver(self, attempt: Attempt) -> Sent:
        user_id = attempt.message.user_id
        if not user_id:
            raise LookupError("a home refresh without a user")
        view = await home_view(self._source, user_id)
        await attempt.fence()
        await self._slack.call(
            "views.publish", home_destination(user_id), user_id=user_id, view=view
        )
        return Sent(None, None)
