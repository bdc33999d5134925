"""Seat lifecycle (SPEC 9): `/license change`, `offboard`, `extend`, `quota`, Slack's
`user_change` for a deactivated holder, and the Reclaim / Extend buttons on their alerts."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.base import escape, simple
from bot.blocks.lifecycle import (
    DEACTIVATED_RECLAIM_ACTION,
    EXTEND_ACTION,
    extended_reply,
    offboarded_reply,
    quota_set_reply,
    quotas_message,
)
from bot.blocks.requests import filed_reply
from bot.commands.common import handles, notify, reply, reply_error
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.licensing.commands import Extend, FileChange, Offboard, SetQuota, ShowQuotas
from bot.licensing.errors import LicenseError
from bot.services import lifecycle, queries
from bot.services.requests import file_change, file_offboarding
from bot.services.seats import extend_seat, set_quota
from bot.slack import PersonNotFound, resolve_person

log = logging.getLogger(__name__)

NOT_ADMIN = "Only license admins can do that: nothing was changed."


async def user_changed(deps: Deps, incoming: Incoming) -> None:
    await on_user_change(deps, incoming.event)


async def reclaim_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_reclaim_clicked(deps, incoming.body)


async def extend_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_extend_clicked(deps, incoming.body)


ROUTES = (
    Route.event("user_change", user_changed),
    Route.action(DEACTIVATED_RECLAIM_ACTION, reclaim_clicked),
    Route.action(EXTEND_ACTION, extend_clicked),
)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


@handles(FileChange)
async def change(deps: Deps, command: FileChange, body: dict, respond: AsyncRespond) -> None:
    try:
        person = await resolve_person(deps.client, command.change.person)
    except PersonNotFound as error:
        await reply_error(respond, str(error))
        return
    assert person.email
    request = await file_change(
        deps.db,
        deps.rules,
        command.change,
        requester_id=body["user_id"],
        email=person.email,
        name=person.name or person.email,
        slack_user_id=person.slack_user_id,
        approvals_channel=deps.settings.approvals_channel,
        now=deps.clock.now(),
    )
    await deps.deliver()
    await reply(respond, filed_reply(request, deps.settings.approvals_channel))


@handles(Offboard)
async def offboard(deps: Deps, command: Offboard, body: dict, respond: AsyncRespond) -> None:
    try:
        person = await resolve_person(deps.client, command.person)
    except PersonNotFound as error:
        await reply_error(respond, str(error))
        return
    assert person.email
    user_id = body["user_id"]
    now = deps.clock.now()
    if await deps.admins.is_admin(user_id):
        done = await lifecycle.offboard_now(
            deps.db,
            email=person.email,
            slack_user_id=None,
            actor=user_id,
            reason=command.reason,
            now=now,
        )
        await deps.deliver()
        await reply(respond, offboarded_reply(done.seat, done.cancelled))
        return
    request = await file_offboarding(
        deps.db,
        requester_id=user_id,
        email=person.email,
        reason=command.reason,
        approvals_channel=deps.settings.approvals_channel,
        now=now,
    )
    await deps.deliver()
    await reply(respond, filed_reply(request, deps.settings.approvals_channel))


@handles(Extend)
async def extend(deps: Deps, command: Extend, body: dict, respond: AsyncRespond) -> None:
    try:
        person = await resolve_person(deps.client, command.person)
    except PersonNotFound as error:
        await reply_error(respond, str(error))
        return
    held, before = await extend_seat(
        deps.db,
        deps.rules,
        email=person.email,
        until=command.until,
        actor=body["user_id"],
        now=deps.clock.now(),
    )
    await reply(respond, extended_reply(held, before))


@handles(ShowQuotas)
async def show_quotas(deps: Deps, command: ShowQuotas, body: dict, respond: AsyncRespond) -> None:
    quotas = await queries.quotas(deps.db)
    await reply(respond, quotas_message(quotas))


@handles(SetQuota)
async def change_quota(deps: Deps, command: SetQuota, body: dict, respond: AsyncRespond) -> None:
    before, quota = await set_quota(
        deps.db,
        deps.rules,
        department=command.department,
        edition=command.edition,
        item=command.item,
        seats=command.seats,
        admin_id=body["user_id"],
        now=deps.clock.now(),
    )
    await reply(respond, quota_set_reply(before, quota))


async def on_user_change(deps: Deps, event: dict) -> None:
    user = event.get("user") or {}
    if not user.get("deleted") or not user.get("id"):
        return
    if await lifecycle.on_deactivated(
        deps.db,
        slack_user_id=user["id"],
        reclaim=deps.settings.reclaim_on_deactivation,
        alerts_channel=deps.settings.alerts_channel,
        now=deps.clock.now(),
    ):
        await deps.deliver()


def _where(body: dict) -> tuple[int, str, str | None, str | None]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return int(body["actions"][0]["value"]), body["user"]["id"], channel, ts


async def on_reclaim_clicked(deps: Deps, body: dict) -> None:
    seat_id, user_id, channel, ts = _where(body)
    if not await deps.admins.is_admin(user_id):
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    try:
        revoked = await lifecycle.reclaim_deactivated(
            deps.db, seat_id, user_id, deps.clock.now(), channel=channel, ts=ts
        )
    except LicenseError as error:
        await deps.deliver()
        await notify(deps, body, simple(f":warning: {error}"))
        return
    await deps.deliver()
    await notify(
        deps,
        body,
        simple(
            f":recycle: Reclaimed the {revoked.seat} seat of {escape(revoked.name)} "
            f"({escape(revoked.email)})."
        ),
    )


async def on_extend_clicked(deps: Deps, body: dict) -> None:
    seat_id, user_id, channel, ts = _where(body)
    if not await deps.admins.is_admin(user_id):
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    try:
        held, before = await lifecycle.extend_from_summary(
            deps.db, deps.rules, seat_id, user_id, deps.clock.now(), channel=channel, ts=ts
        )
    except LicenseError as error:
        await notify(deps, body, simple(f":warning: {error}"))
        return
    await deps.deliver()
    await notify(deps, body, extended_reply(held, before))
