"""Genesys Cloud in Slack (SPEC 8): `/license drift`, `/license report reconcile`, and the
Adopt / Remove / Provision buttons of the drift summary (admins only)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.base import MAX_BLOCKS, Message, context, simple
from bot.blocks.genesys import (
    ADOPT_ACTION,
    PROVISION_ACTION,
    REMOVE_ACTION,
    drift_message,
    genesys_state_line,
)
from bot.blocks.insight import report_comment, report_sent
from bot.commands.common import handles, notify, reply, reply_error
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.genesys import LEDGER_ONLY
from bot.genesys.client import GenesysError, GenesysUnavailable, succeeded
from bot.genesys.reconcile import reconcile_table
from bot.genesys.sync import compare, drift_data, read_org
from bot.licensing.commands import ShowDrift
from bot.licensing.errors import LicenseError
from bot.licensing.messages import Done
from bot.services import genesys as service
from bot.services import queries
from bot.services import seats as seat_service
from bot.slack import open_dm

log = logging.getLogger(__name__)

NOT_ADMIN = "Only license admins can act on Genesys drift: nothing was changed."


async def adopt_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_drift_action(deps, incoming.body, "adopt")


async def remove_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_drift_action(deps, incoming.body, "remove")


async def provision_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_drift_action(deps, incoming.body, "provision")


ROUTES = (
    Route.action(ADOPT_ACTION, adopt_clicked),
    Route.action(REMOVE_ACTION, remove_clicked),
    Route.action(PROVISION_ACTION, provision_clicked),
)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


async def genesys_outcome(deps: Deps, message: Message, assignment_id: int) -> None:
    """Add to an admin's reply where the seat stands in Genesys Cloud (after delivery)."""
    if deps.genesys is None or len(message.blocks) >= MAX_BLOCKS:
        return
    state = await queries.genesys_state(deps.db, assignment_id)
    line = genesys_state_line(state.state, state.detail) if state else None
    if line:
        message.blocks.append(context(line))


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return channel, ts


async def on_drift_action(deps: Deps, body: dict[str, Any], action: str) -> None:
    user_id = body["user"]["id"]
    if not await deps.admins.is_admin(user_id):
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    if deps.genesys is None:
        await notify(deps, body, simple(f":warning: {LEDGER_ONLY}."))
        return
    value: dict[str, Any] = json.loads(body["actions"][0]["value"])
    now = deps.clock.now()
    kind, email = value.get("k", ""), str(value.get("e", ""))
    state, text = "", None
    try:
        if action == "adopt":
            seat = await service.adopt(
                deps.db,
                deps.rules,
                email=email,
                name=str(value.get("n") or email),
                user_id=str(value.get("u")),
                licenses=tuple(value.get("l") or ()),
                actor=user_id,
                now=now,
            )
            state = "adopted"
            told = f":inbox_tray: Adopted: {email} now holds a {seat.seat} seat in the ledger."
        elif action == "provision":
            await service.provision_again(deps.db, int(value["a"]), user_id, now)
            state = "provisioning"
            told = f":arrows_counterclockwise: Provisioning of {email} queued in Genesys Cloud."
        elif kind == "unmanaged":
            licenses = tuple(value.get("l") or ())
            uid = str(value.get("u"))
            results = await deps.genesys.change_licenses(uid, remove=licenses)
            failed = [
                f"{r.get('licenseId')}: {r.get('result')}" for r in results if not succeeded(r)
            ]
            still = sorted(await deps.genesys.user_licenses(uid) & set(licenses))
            if failed or still:
                state = "still-held"
                text = "; ".join(failed) or (
                    f"{', '.join(still)} still held (a role implies it: licenses follow roles)"
                )
                told = f":warning: Genesys still shows {email}'s license: {text}"
            else:
                state = "removed"
                told = f":heavy_minus_sign: Removed {', '.join(licenses)} from {email} in Genesys."
        else:
            revoked = await seat_service.revoke_for_drift(deps.db, int(value["a"]), user_id, now)
            state = "revoked"
            told = (
                f":recycle: Revoked the {revoked.seat} seat of {email}; "
                "its licenses are removed in Genesys."
            )
    except LicenseError as error:
        await notify(deps, body, simple(f":warning: {error}"))
        return
    except GenesysError as error:
        await notify(deps, body, simple(f":warning: Genesys Cloud: {error}. Nothing was changed."))
        return
    channel, ts = _where(body)
    done = Done(state=state, by=user_id, at=now, text=text)
    await service.note_on_drift(deps.db, channel, ts, f"{kind}:{email}", done, now)
    await deps.deliver()
    await notify(deps, body, simple(told))


@handles(ShowDrift)
async def show_drift(
    deps: Deps, command: ShowDrift, body: dict[str, Any], respond: AsyncRespond
) -> None:
    if deps.genesys is None:
        await reply_error(respond, f"{LEDGER_ONLY}: there is nothing to compare")
        return
    await reply(respond, simple(":hourglass_flowing_sand: Reading Genesys Cloud…"))
    try:
        org = await read_org(deps.genesys)
    except GenesysError as error:
        await reply_error(respond, f"Genesys Cloud could not be read: {error}. Try again later.")
        return
    seats, states = await queries.seats_with_genesys(deps.db)
    rows = compare(seats, states, org, deps.rules.catalog)
    await reply(respond, drift_message(drift_data(rows), deps.rules.tz, buttons=True))


async def reconcile_report(deps: Deps, body: dict[str, Any], respond: AsyncRespond) -> None:
    """`/license report reconcile`: the CSV in the caller's DMs, like the other reports."""
    if deps.genesys is None:
        await reply_error(respond, f"{LEDGER_ONLY}: there is nothing to reconcile against")
        return
    now = deps.clock.now()
    try:
        table = await reconcile_table(deps.db, deps.rules, deps.genesys, now)
    except GenesysUnavailable as error:
        await reply_error(respond, f"Genesys Cloud is unavailable ({error}): try again later")
        return
    except GenesysError as error:
        await reply_error(respond, f"Genesys Cloud refused the reconcile report: {error}")
        return
    content = await asyncio.to_thread(table.csv_bytes)
    await deps.dm_channels.send(
        body["user_id"],
        lambda user_id: open_dm(deps.client, user_id),
        lambda channel: deps.client.files_upload_v2(
            channel=channel,
            filename=table.filename(now.astimezone(deps.rules.tz).date()),
            content=content,
            title="licensebot reconcile report",
            initial_comment=report_comment("reconcile", table.summary, now, deps.rules.tz),
        ),
    )
    await reply(respond, report_sent("reconcile", table.summary))
