"""Retry on a failed delivery's line in the App Home (admins): the message goes back in
the queue, due now, and is delivered at once; the Home is published again (by the
outbox, queued with the retry)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks.base import simple
from bot.blocks.delivery import RETRY_ACTION
from bot.commands.common import notify
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.services.delivery import retry_delivery

NOT_ADMIN = "Only license admins can retry deliveries: nothing was changed."


async def retry_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_retry(deps, incoming.body)


ROUTES = (Route.action(RETRY_ACTION, retry_clicked),)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


async def on_retry(deps: Deps, body: dict[str, Any]) -> None:
    user_id = body["user"]["id"]
    if not await deps.admins.is_admin(user_id):
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    try:
        message_id = int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return
    # Queues the message again (when still failed) and the admin's Home refresh: both go
    # out now (a retried alert, bulk, with the scheduler's delivery when one is running).
    await retry_delivery(deps.db, message_id, user_id, deps.clock.now())
    await deps.deliver()
