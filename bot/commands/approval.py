"""Admins decide: Approve / Deny buttons (Deny asks a reason in a modal), or `approve` /
`deny <reason>` typed in the card's thread. Every path ends in the same services."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.base import Message, simple
from bot.blocks.modals import DENY_MODAL, FIELD, deny_modal
from bot.blocks.requests import APPROVE_ACTION, DENY_ACTION, already_decided, refusal_reply
from bot.commands.common import CANNOT_WRITE, notify, storage_failed
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.licensing.errors import LicenseError
from bot.licensing.parsing import check_text
from bot.licensing.requests import LicenseRequest, RequestStatus, Stage
from bot.services import queries
from bot.services.cards import adopt_card, request_of_card
from bot.services.requests import Approver, Decision, approve_request, deny_request

_APPROVE = re.compile(r"^\s*approved?\s*[.!]?\s*$", re.IGNORECASE)
_DENY = re.compile(r"^\s*(?:deny|denied)\b[\s:,-]*(.*)$", re.IGNORECASE | re.DOTALL)

log = logging.getLogger(__name__)

Tell = Callable[[Message], Awaitable[None]]

NOT_ADMIN = "Only license admins can decide requests: nothing was changed."


async def approve_clicked(deps: Deps, incoming: Incoming) -> None:
    body = incoming.body
    await _telling_storage_errors(deps, body, on_approve_clicked(deps, body))


async def deny_clicked(deps: Deps, incoming: Incoming) -> None:
    body = incoming.body
    await _telling_storage_errors(deps, body, on_deny_clicked(deps, body))


async def deny_submitted(deps: Deps, incoming: Incoming) -> None:
    body = incoming.body
    await _telling_storage_errors(deps, body, on_deny_submitted(deps, incoming.ack, body))


async def thread_reply(deps: Deps, incoming: Incoming) -> None:
    event = incoming.event
    try:
        await on_thread_reply(deps, event)
    except Exception as error:
        if not storage_failed(deps, error) or not event.get("user"):
            raise
        await deps.client.chat_postEphemeral(
            channel=event["channel"],
            user=event["user"],
            thread_ts=event.get("thread_ts"),
            text=f":warning: {CANNOT_WRITE}.",
        )


ROUTES = (
    Route.action(APPROVE_ACTION, approve_clicked),
    Route.action(DENY_ACTION, deny_clicked),
    Route.view(DENY_MODAL, deny_submitted),
    Route.event("message", thread_reply),
)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


async def _telling_storage_errors(deps: Deps, body: dict, work: Awaitable[None]) -> None:
    """A click the store cannot record is told so (and recorded for readiness)."""
    try:
        await work
    except Exception as error:
        if not storage_failed(deps, error):
            raise
        await notify(deps, body, simple(f":warning: {CANNOT_WRITE}."))


def _request_id(body: dict) -> int:
    return int(body["actions"][0]["value"])


async def _clicked_where_shown(deps: Deps, body: dict) -> bool:
    """The request a button names must be the one of the message it was clicked in: a
    card (its channel and ts), or the App Home (which lists pending requests). A click
    carrying another request's id is refused (told, nothing changes)."""
    request_id = _request_id(body)
    container = body.get("container") or {}
    channel: Any = None  # the message clicked in, when it is one
    ts: Any = None
    request = await queries.request(deps.db, request_id)
    if request is None:
        return True  # the decision says there is no such request
    if container.get("type") == "message":
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        ts = container.get("message_ts")
        shown = bool(channel and ts) and (
            (request.card_channel, request.card_ts) == (channel, ts)
            or getattr(await queries.request_on_card(deps.db, str(channel), str(ts)), "id", None)
            == request_id
        )
    elif container.get("type") == "view":
        # The App Home lists pending requests with their buttons: the view clicked in
        # must be a Home that shows a decision button for this very request.
        view = body.get("view") or {}
        shown = view.get("type", "home") == "home" and _shows_request(view, request_id)
    else:
        shown = False
    if not shown and container.get("type") == "message" and channel and ts:
        # A copy of the card the bot never learned the ts of (issue 9 item 3).
        # The click's message carries the card's metadata; if Slack left it out, the
        # message is read back.
        now = deps.clock.now()
        adopted = await adopt_card(deps.db, str(channel), str(ts), body.get("message"), now)
        if adopted is None:
            adopted = await request_of_card(deps.db, deps.client, str(channel), str(ts), now)
        shown = adopted is not None and adopted.id == request_id
    if not shown:
        log.warning("refused a click naming request #%s outside its card", request_id)
        await notify(
            deps,
            body,
            simple(
                f":no_entry: That button is not on request #{request_id}'s card: "
                "nothing was changed."
            ),
        )
    return shown


def _shows_request(view: dict, request_id: int) -> bool:
    for block in view.get("blocks") or []:
        for element in block.get("elements") or [] if isinstance(block, dict) else []:
            if (
                isinstance(element, dict)
                and element.get("action_id") in (APPROVE_ACTION, DENY_ACTION)
                and element.get("value") == str(request_id)
            ):
                return True
    return False


async def approver(deps: Deps, user_id: str) -> Approver | None:
    """The clicker's roles: an admin, a finance-group member (SPEC 10), or neither (None)."""
    is_admin = await deps.admins.is_admin(user_id)
    is_finance = await deps.is_finance(user_id)
    return Approver(user_id, is_admin, is_finance) if is_admin or is_finance else None


def may_deny(who: Approver | None, request: LicenseRequest) -> bool:
    """Admins deny at any stage; finance members at the finance stage."""
    if who is None:
        return False
    return who.is_admin or (who.is_finance and request.stage is Stage.FINANCE)


async def on_approve_clicked(deps: Deps, body: dict) -> None:
    user_id = body["user"]["id"]
    who = await approver(deps, user_id)
    if who is None:
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    if not await _clicked_where_shown(deps, body):
        return
    try:
        decision = await approve_request(
            deps.db, deps.rules, _request_id(body), who, deps.clock.now()
        )
    except LicenseError as error:
        await notify(deps, body, simple(f":warning: {error}"))
        return
    await _after(deps, decision, lambda message: notify(deps, body, message))


async def on_deny_clicked(deps: Deps, body: dict) -> None:
    user_id = body["user"]["id"]
    who = await approver(deps, user_id)
    if who is None:
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    if not await _clicked_where_shown(deps, body):
        return
    request_id = _request_id(body)
    request = await queries.request(deps.db, request_id)
    if request is not None and not may_deny(who, request):
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    if request is None or request.status is not RequestStatus.PENDING:
        if request is not None:
            await notify(deps, body, already_decided(request, deps.rules.tz))
        return
    await deps.client.views_open(trigger_id=body["trigger_id"], view=deny_modal(request_id))


async def on_deny_submitted(deps: Deps, ack: AsyncAck, body: dict) -> None:
    values = body["view"]["state"]["values"]
    reason = ((values.get("reason") or {}).get(FIELD) or {}).get("value") or ""
    try:
        check_text(reason)
        if not reason.strip():
            raise LicenseError("say why the request is denied")
    except LicenseError as error:
        await ack(response_action="errors", errors={"reason": str(error)})
        return
    await ack()
    user_id = body["user"]["id"]
    request_id = int(body["view"]["private_metadata"])
    found = await queries.request(deps.db, request_id)
    if found is None or not may_deny(await approver(deps, user_id), found):
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    decision = await deny_request(deps.db, request_id, user_id, reason.strip(), deps.clock.now())
    await _after(deps, decision, lambda message: _tell_on_card(deps, decision, user_id, message))


async def on_thread_reply(deps: Deps, event: dict) -> None:
    thread_ts = event.get("thread_ts")
    if not thread_ts or event.get("bot_id") or event.get("subtype") or thread_ts == event.get("ts"):
        return
    text = event.get("text") or ""
    approve, deny = _APPROVE.match(text), _DENY.match(text)
    if not approve and not deny:
        return  # ordinary conversation in the thread
    request = await request_of_card(
        deps.db, deps.client, event["channel"], thread_ts, deps.clock.now()
    )
    if request is None:
        return
    user_id = event["user"]

    async def tell(message: Message) -> None:
        await deps.client.chat_postEphemeral(
            channel=event["channel"], user=user_id, thread_ts=thread_ts, **message.payload()
        )

    who = await approver(deps, user_id)
    if who is None or (deny and not may_deny(who, request)):
        await tell(simple(f":no_entry: {NOT_ADMIN}"))
        return
    now = deps.clock.now()
    if approve:
        decision = await approve_request(deps.db, deps.rules, request.id, who, now)
    else:
        assert deny is not None
        reason = deny.group(1).strip()
        try:
            check_text(reason)
        except LicenseError as error:
            await tell(simple(f":warning: {error}"))
            return
        if not reason:
            await tell(simple(":warning: say why: `deny <reason>`"))
            return
        decision = await deny_request(deps.db, request.id, user_id, reason, now)
    await _after(deps, decision, tell)


async def _after(deps: Deps, decision: Decision, tell: Tell) -> None:
    """Tell the admin why nothing happened, if so; then deliver what the decision queued:
    the card, replies and DMs, and the refresh of the admin's App Home (whatever happened,
    so a stale Home catches up) and, when decided now, of the requester's."""
    if decision.refused:
        await tell(refusal_reply(decision.request, decision.refused))
    elif not decision.won:
        await tell(already_decided(decision.request, deps.rules.tz))
    await deps.deliver()


async def _tell_on_card(deps: Deps, decision: Decision, user_id: str, message: Message) -> None:
    request = decision.request
    if request.card_channel:
        await deps.client.chat_postEphemeral(
            channel=request.card_channel, user=user_id, **message.payload()
        )
