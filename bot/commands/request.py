"""Requesters: `/license request` (text and modal), `/license requests`, `/license cancel`."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.base import error_reply, simple
from bot.blocks.modals import FIELD, REQUEST_MODAL, request_modal
from bot.blocks.requests import already_decided, filed_reply, requests_list
from bot.commands.common import CANNOT_WRITE, dm, handles, reply, reply_error, storage_failed
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.licensing.commands import CancelRequest, FileRequest, ListRequests, OpenRequestModal
from bot.licensing.errors import LicenseError
from bot.licensing.forms import RequestForm, validate_request_form
from bot.licensing.requests import LicenseRequest, SeatRequest
from bot.services import queries
from bot.services.requests import cancel_request, file_request
from bot.slack import PersonNotFound, resolve_person

log = logging.getLogger(__name__)


async def request_submitted(deps: Deps, incoming: Incoming) -> None:
    await on_request_submitted(deps, incoming.ack, incoming.body)


ROUTES = (Route.view(REQUEST_MODAL, request_submitted),)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


@handles(OpenRequestModal)
async def open_request_modal(
    deps: Deps, command: OpenRequestModal, body: dict, respond: AsyncRespond
) -> None:
    await deps.client.views_open(
        trigger_id=body["trigger_id"], view=request_modal(deps.rules.catalog)
    )


@handles(FileRequest)
async def file_from_text(
    deps: Deps, command: FileRequest, body: dict, respond: AsyncRespond
) -> None:
    try:
        request = await submit(deps, command.request, body["user_id"])
    except PersonNotFound as error:
        await reply_error(respond, str(error))
        return
    await reply(respond, filed_reply(request, deps.settings.approvals_channel))


async def submit(deps: Deps, seat: SeatRequest, requester_id: str) -> LicenseRequest:
    """Resolve the new hire, store the request with its card queued, deliver the card."""
    person = await resolve_person(deps.client, seat.person)
    assert person.email
    request = await file_request(
        deps.db,
        deps.rules,
        seat,
        requester_id=requester_id,
        email=person.email,
        name=person.name or person.email,
        slack_user_id=person.slack_user_id,
        approvals_channel=deps.settings.approvals_channel,
        now=deps.clock.now(),
    )
    await deps.deliver()
    return request


def read_form(values: dict) -> RequestForm:
    """Slack's view.state.values -> the form's plain values."""

    def field(block: str) -> dict:
        return (values.get(block) or {}).get(FIELD) or {}

    def selected(block: str) -> str | None:
        option = field(block).get("selected_option")
        return option.get("value") if option else None

    return RequestForm(
        slack_user_id=field("hire_user").get("selected_user"),
        name=field("hire_name").get("value") or "",
        email=field("hire_email").get("value") or "",
        seat_type=selected("seat_type"),
        edition=selected("edition"),
        modules=tuple(o["value"] for o in field("modules").get("selected_options") or []),
        department=field("department").get("value") or "",
        start_date=field("start_date").get("selected_date"),
        reason=field("reason").get("value") or "",
        until_date=field("until_date").get("selected_date"),
    )


async def on_request_submitted(deps: Deps, ack: AsyncAck, body: dict) -> None:
    form = read_form(body["view"]["state"]["values"])
    seat, errors = validate_request_form(form, deps.rules.catalog)
    if errors or seat is None:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    user_id = body["user"]["id"]
    try:
        request = await submit(deps, seat, user_id)
    except (LicenseError, PersonNotFound) as error:
        await dm(deps, user_id, error_reply(f"your request was not filed: {error}"))
        return
    except Exception as error:
        if not storage_failed(deps, error):
            raise
        await dm(deps, user_id, error_reply(f"your request was not filed: {CANNOT_WRITE}"))
        return
    await dm(deps, user_id, filed_reply(request, deps.settings.approvals_channel))


@handles(ListRequests)
async def list_requests(
    deps: Deps, command: ListRequests, body: dict, respond: AsyncRespond
) -> None:
    requests = await queries.requests_of(deps.db, body["user_id"])
    await reply(respond, requests_list(requests, deps.rules.tz))


@handles(CancelRequest)
async def cancel(deps: Deps, command: CancelRequest, body: dict, respond: AsyncRespond) -> None:
    decision = await cancel_request(deps.db, command.request_id, body["user_id"], deps.clock.now())
    if not decision.won:
        await reply(respond, already_decided(decision.request, deps.rules.tz))
        return
    await deps.deliver()
    await reply(
        respond,
        simple(
            f":heavy_multiplication_x: Request #{command.request_id} is "
            "cancelled; its card is updated."
        ),
    )
