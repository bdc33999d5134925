"""App Home: published when a person opens it, and again after decisions that change it.

The pending requests' Approve / Deny buttons carry the card's action ids, so the
listeners in bot/commands/approval.py decide them exactly as on the card (compare-and-set
included); with no channel to answer in, `notify()` tells the clicker by DM.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.blocks import home as home_blocks
from bot.blocks.genesys import genesys_state_line
from bot.blocks.home import MAX_ALERTS, MAX_PENDING, NEW_REQUEST_ACTION, admin_home, requester_home
from bot.blocks.modals import request_modal
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.services import queries

log = logging.getLogger(__name__)


async def home_opened(deps: Deps, incoming: Incoming) -> None:
    event = incoming.event
    if event.get("tab", "home") == "home" and event.get("user"):
        await refresh_home(deps, event["user"])


async def new_request_clicked(deps: Deps, incoming: Incoming) -> None:
    await deps.client.views_open(
        trigger_id=incoming.body["trigger_id"], view=request_modal(deps.rules.catalog)
    )


ROUTES = (
    Route.event("app_home_opened", home_opened),
    Route.action(NEW_REQUEST_ACTION, new_request_clicked),
)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


async def home_view(deps: Deps, user_id: str) -> View:
    now = deps.clock.now()
    tz = deps.rules.tz
    if not await deps.admins.is_admin(user_id):
        mine = await queries.requester_home(
            deps.db,
            user_id,
            finance=await deps.is_finance(user_id),
            max_pending=MAX_PENDING,
            # SPEC 8: where provisioning of each seat stands
            genesys_for=home_blocks.MAX_OWN_REQUESTS if deps.genesys is not None else 0,
        )
        genesys: dict[int, str] = {}
        for request_id, state in mine.genesys.items():
            line = genesys_state_line(state.state, state.detail)
            if line:
                genesys[request_id] = line
        return requester_home(
            mine.requests, now, tz, finance_pending=mine.finance_pending, genesys=genesys
        )
    soon = now.astimezone(tz).date() + timedelta(days=deps.rules.policy.expiry_warning_days)
    shown = await queries.admin_home(deps.db, now, tz, soon, MAX_PENDING, MAX_ALERTS)
    pools, forecasts = shown.pools.states, shown.pools.forecasts
    pending, pending_total = shown.pending, shown.pending_total
    alerts, alerts_total, ending = shown.alerts, shown.alerts_total, shown.ending
    failed, failed_total = shown.failed, shown.failed_total
    return admin_home(
        pools,
        forecasts,
        pending,
        pending_total,
        alerts,
        alerts_total,
        deps.rules.policy,
        now,
        tz,
        ending=ending,
        failed=failed,
        failed_total=failed_total,
    )


async def refresh_home(deps: Deps, user_id: str | None) -> None:
    """Publish the person's Home. A failure is logged, never raised: the Home is a view of
    the store, and the next open or decision publishes it again."""
    if not user_id or user_id[:1] not in ("U", "W"):
        return

    async def publish(user: str) -> None:
        await deps.client.views_publish(user_id=user, view=await home_view(deps, user))

    try:
        await deps.homes.run(user_id, publish)
    except SlackApiError as error:
        log.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("views.publish for %s failed: %s", user_id, error)
