"""`/license`: parse, check the role, hand to the command's handler."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.admin import help_message
from bot.blocks.base import error_reply
from bot.commands.common import (
    CANNOT_WRITE,
    handler_for,
    handles,
    keep_alive,
    reply,
    reply_error,
    storage_failed,
)
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.licensing.commands import ADMIN_ONLY, USAGE, Help
from bot.licensing.errors import LicenseError
from bot.licensing.parsing import parse_command

log = logging.getLogger(__name__)


async def license_command(deps: Deps, incoming: Incoming) -> None:
    await handle_license(deps, incoming.ack, incoming.body, incoming.respond)  # type: ignore[arg-type]


ROUTES = (Route.command("/license", license_command),)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


async def handle_license(deps: Deps, ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
    text = body.get("text") or ""
    try:
        command = parse_command(text, deps.rules.catalog)
    except LicenseError as error:
        # Parsing is pure and fast: the error is the ack itself, nothing else happens.
        await ack(**error_reply(str(error), error.usage).payload())
        return
    await ack()
    respond = keep_alive(respond, deps)
    user_id = body["user_id"]
    try:
        if command.name in ADMIN_ONLY and not await deps.admins.is_admin(user_id):
            await reply_error(
                respond,
                f"only license admins can use `/license {command.name}`: nothing was changed. "
                "Ask an admin, or file a request with `/license request`.",
            )
            return
        handler = handler_for(command)
        if handler is None:
            await reply_error(
                respond, f"`/license {command.name}` is not available yet", USAGE["help"]
            )
            return
        await handler(deps, command, body, respond)
    except LicenseError as error:
        await reply_error(respond, str(error), error.usage or USAGE.get(command.name))
    except Exception as error:
        if storage_failed(deps, error):
            await reply_error(respond, CANNOT_WRITE)
            return
        log.exception("/license %s failed", command.name)
        await reply_error(
            respond,
            "sorry, that failed on our side and was logged. "
            "Check `/license requests` and try again in a minute.",
        )


@handles(Help)
async def show_help(deps: Deps, command: Help, body: dict, respond: AsyncRespond) -> None:
    await reply(respond, help_message(await deps.admins.is_admin(body["user_id"])))
