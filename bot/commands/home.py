"""App Home: published when a person opens it, and again after decisions that change it.

The pending requests' Approve / Deny buttons carry the card's action ids, so the
listeners in bot/commands/approval.py decide them exactly as on the card (compare-and-set
included); with no channel to answer in, `notify()` tells the clicker by DM.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.blocks import home as home_blocks
from bot.blocks.genesys import genesys_state_line
from bot.blocks.home import MAX_ALERTS, MAX_PENDING, NEW_REQUEST_ACTION, admin_home, requester_home
from bot.blocks.modals import request_modal
from bot.context import Deps
from bot.licensing.requests import Stage
from bot.services.insight import pool_forecasts

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict) -> None:
        async with deps.inflight.track():
            if event.get("tab", "home") == "home" and event.get("user"):
                await refresh_home(deps, event["user"])

    @app.action(NEW_REQUEST_ACTION)
    async def new_request_clicked(ack: AsyncAck, body: dict) -> None:
        async with deps.inflight.track():
            await ack()
            await deps.client.views_open(
                trigger_id=body["trigger_id"], view=request_modal(deps.rules.catalog)
            )


async def home_view(deps: Deps, user_id: str) -> View:
    now = deps.clock.now()
    tz = deps.rules.tz
    if not await deps.admins.is_admin(user_id):
        finance = await deps.is_finance(user_id)
        async with deps.db.read() as tx:
            requests = await tx.requests.for_requester(user_id)
            waiting = (
                await tx.requests.pending_at_stage(Stage.FINANCE, MAX_PENDING) if finance else None
            )
            genesys: dict[int, str] = {}
            if deps.genesys is not None:  # SPEC 8: where provisioning of each seat stands
                for request in requests[: home_blocks.MAX_OWN_REQUESTS]:
                    state = await tx.genesys.for_request(request.id)
                    line = genesys_state_line(state.state, state.detail) if state else None
                    if line:
                        genesys[request.id] = line
        return requester_home(requests, now, tz, finance_pending=waiting, genesys=genesys)
    async with deps.db.read() as tx:
        pools = await tx.pools.all_states()
        forecasts = await pool_forecasts(tx, pools, now, tz)
        pending = await tx.requests.pending(limit=MAX_PENDING)
        pending_total = await tx.reports.pending_count()
        alerts, alerts_total = await tx.reports.open_alerts(MAX_ALERTS)
        soon = now.astimezone(tz).date() + timedelta(days=deps.rules.policy.expiry_warning_days)
        ending = await tx.assignments.ending_by(soon, limit=MAX_ALERTS)
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
