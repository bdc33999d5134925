"""What the listeners share: the command dispatch table and how to answer a person."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.blocks.base import Message, error_reply
from bot.context import Deps
from bot.db_health import CANNOT_WRITE, is_storage_error
from bot.licensing.commands import Command
from bot.slack import open_dm

__all__ = ["CANNOT_WRITE", "storage_failed"]

log = logging.getLogger(__name__)

# (deps, the parsed command, the slash command body, respond) -> None
Handler = Callable[[Deps, Any, dict, AsyncRespond], Awaitable[None]]
HANDLERS: dict[type, Handler] = {}


def handles(command_type: type) -> Callable[[Handler], Handler]:
    """Register the handler of one parsed `/license` command."""

    def register(handler: Handler) -> Handler:
        HANDLERS[command_type] = handler
        return handler

    return register


def handler_for(command: Command) -> Handler | None:
    return HANDLERS.get(type(command))


class KeepAliveRespond(AsyncRespond):
    """Bolt's `respond` over the service's keep-alive session. Bolt's own opens a new
    session (an SSL context and a connection) per reply, which costs the event loop, and so
    every ack waiting on it, more than the reply itself."""

    def __init__(self, response_url: str, session: Any) -> None:
        super().__init__(response_url=response_url)
        self._session = session

    async def __call__(  # type: ignore[override]
        self, text: str | dict = "", **fields: Any
    ) -> WebhookResponse:
        assert self.response_url is not None
        client = AsyncWebhookClient(url=self.response_url, session=self._session)
        message = dict(text) if isinstance(text, dict) else {"text": text, **fields}
        # Bolt's own respond sends neither unset fields nor empty block lists.
        return await client.send_dict(
            {k: v for k, v in message.items() if v is not None and v != []}
        )


def keep_alive(respond: AsyncRespond, deps: Deps) -> AsyncRespond:
    session = deps.client.session
    if session is None or session.closed or not respond.response_url:
        return respond
    return KeepAliveRespond(respond.response_url, session)


async def reply(respond: AsyncRespond, message: Message) -> None:
    """An ephemeral answer to a slash command, through its response_url."""
    await respond(**message.payload(), response_type="ephemeral", replace_original=False)


async def reply_error(respond: AsyncRespond, problem: str, usage: str | None = None) -> None:
    await reply(respond, error_reply(problem, usage))


async def dm(deps: Deps, user_id: str, message: Message) -> None:
    payload = message.payload()
    await deps.dm_channels.send(
        user_id,
        lambda user: open_dm(deps.client, user),
        lambda channel: deps.client.chat_postMessage(channel=channel, **payload),
    )


async def notify(deps: Deps, body: dict, message: Message) -> None:
    """Tell the person who clicked: ephemeral where they clicked, else by DM (App Home)."""
    user_id = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    container = body.get("container") or {}
    try:
        if channel:
            thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
            kwargs = {"thread_ts": thread_ts} if thread_ts else {}
            await deps.client.chat_postEphemeral(
                channel=channel, user=user_id, **message.payload(), **kwargs
            )
        else:
            await dm(deps, user_id, message)
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user_id, error.response.get("error"))


def storage_failed(deps: Deps, error: BaseException) -> bool:
    """True when `error` is the storage refusing a write (read-only file, full disk): it is
    recorded for the readiness probe and logged once, and the person is told CANNOT_WRITE
    by the caller instead of "failed on our side"."""
    if not is_storage_error(error):
        return False
    deps.store_health.failed(error, deps.clock.now())
    return True
