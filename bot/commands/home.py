"""App Home: published here when a person opens it; after a decision that changes it, by
the outbox (a `home` message queued with the decision, bot/delivery/home.py).

The pending requests' Approve / Deny buttons carry the card's action ids, so the
listeners in bot/commands/approval.py decide them exactly as on the card (compare-and-set
included); with no channel to answer in, `notify()` tells the clicker by DM.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.blocks.home import NEW_REQUEST_ACTION
from bot.blocks.modals import request_modal
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.delivery.home import home_view

log = logging.getLogger(__name__)


async def home_opened(deps: Deps, incoming: Incoming) -> None:
    event = incoming.event
    if event.get("tab", "home") == "home" and event.get("user"):
        await publish_home(deps, event["user"])


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


async def publish_home(deps: Deps, user_id: str | None) -> None:
    """Publish the person's Home as they open it. A failure is logged, never raised: the
    Home is a view of the store, and the next open or decision publishes it again."""
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
