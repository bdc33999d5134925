"""Admin insight: `/license report`, `users`, `audit`, `check`, and the page buttons."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.base import Message, simple
from bot.blocks.insight import (
    PAGE_ACTION,
    PAGE_SIZE,
    Page,
    audit_page,
    check_reply,
    report_comment,
    report_queued,
    report_sent,
    users_page,
)
from bot.commands.common import handles, notify, reply, reply_error
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.licensing.commands import USAGE, Check, ListUsers, Report, ShowAudit
from bot.licensing.entities import AuditFilter
from bot.licensing.errors import LicenseError
from bot.licensing.policy import inactive_since_cutoff
from bot.licensing.requests import Person
from bot.reports.stream import remove_file, write_report_from
from bot.services import queries
from bot.services.insight import day_range
from bot.slack import PersonNotFound, open_dm, resolve_person

log = logging.getLogger(__name__)


async def page_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_page(deps, incoming.body, incoming.respond)  # type: ignore[arg-type]


ROUTES = (Route.action(PAGE_ACTION, page_clicked),)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


async def _person_filter(deps: Deps, person: Person | None) -> tuple[str | None, str | None]:
    """(email, Slack id) for a person filter; a mention Slack cannot resolve keeps its id."""
    if person is None:
        return None, None
    try:
        found = await resolve_person(deps.client, person)
        return found.email, found.slack_user_id
    except PersonNotFound:
        return person.email, person.slack_user_id


async def _audit_filter(
    deps: Deps, person: Person | None, since: date | None, until: date | None
) -> AuditFilter:
    email, slack_user_id = await _person_filter(deps, person)
    start, end = day_range(since, until, deps.rules.tz)
    return AuditFilter(email, slack_user_id, start, end)


@handles(Report)
async def report(deps: Deps, command: Report, body: dict, respond: AsyncRespond) -> None:
    if command.kind == "reconcile":  # against Genesys Cloud: bot/commands/genesys.py
        from bot.commands.genesys import reconcile_report

        await reconcile_report(deps, body, respond)
        return
    if command.kind != "audit" and (command.person or command.since or command.until):
        raise LicenseError(
            "a person, `from:` and `to:` filter the audit report only: nothing was uploaded",
            USAGE["report"],
        )
    now = deps.clock.now()
    where = await _audit_filter(deps, command.person, command.since, command.until)
    # A report over a large ledger reads for seconds: streamed to a temporary file by a
    # process of its own on a connection of its own (WAL lets it read beside writers), so the
    # event loop keeps acking and approvals on the bot's connection never wait.
    # One report is built at a time: a second one is told it follows, then waits its turn.
    written = await write_report_from(
        deps.db,
        deps.rules,
        command.kind,
        now,
        where,
        queued=lambda: reply(respond, report_queued(command.kind)),
    )
    try:
        assert written.path is not None
        path, size = written.path, written.size
        await deps.dm_channels.send(
            body["user_id"],
            lambda user_id: open_dm(deps.client, user_id),
            lambda channel: upload_file(
                deps.client,
                path,
                size,
                channel=channel,
                filename=written.filename(now.astimezone(deps.rules.tz).date()),
                title=f"licensebot {command.kind} report",
                initial_comment=report_comment(command.kind, written.summary, now, deps.rules.tz),
            ),
        )
    except (SlackApiError, SlackRequestError) as error:
        detail = error.response.get("error") if isinstance(error, SlackApiError) else error
        log.warning("report upload failed: %s", detail)
        await reply_error(
            respond,
            f"the {command.kind} report could not be uploaded ({detail}): try again in a "
            f"minute, or run `licensebot report {command.kind}` on the server",
        )
        return
    finally:
        await remove_file(written.path)
    await reply(respond, report_sent(command.kind, written.summary))


async def upload_file(
    client: AsyncWebClient,
    path: Path,
    size: int,
    *,
    channel: str,
    filename: str,
    title: str,
    initial_comment: str,
) -> None:
    """files upload v2, streaming the file from disk (a million-row CSV is ~125 MB):
    getUploadURLExternal, the bytes POSTed from the file, completeUploadExternal."""
    target = await client.files_getUploadURLExternal(filename=filename, length=size)
    wait = client.timeout
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=wait, sock_read=wait)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            with path.open("rb") as data:
                async with session.post(
                    target["upload_url"], data=data, proxy=client.proxy, ssl=client.ssl or True
                ) as response:
                    if response.status != 200:
                        raise SlackRequestError(f"file upload answered HTTP {response.status}")
    except (aiohttp.ClientError, TimeoutError) as error:
        raise SlackRequestError(f"file upload failed: {error}") from error
    await client.files_completeUploadExternal(
        files=[{"id": target["file_id"], "title": title}],
        channel_id=channel,
        initial_comment=initial_comment,
    )


async def _users_message(deps: Deps, filter_word: str | None, offset: int) -> Message:
    now = deps.clock.now()
    catalog = deps.rules.catalog
    edition = filter_word if filter_word in catalog.editions else None
    seat_type = filter_word if filter_word in catalog.seat_types else None
    cutoff = inactive_since_cutoff(now, deps.rules.policy) if filter_word == "inactive" else None
    found = await queries.active_seats(
        deps.db,
        edition=edition,
        seat_type=seat_type,
        inactive_before=cutoff,
        limit=PAGE_SIZE,
        offset=offset,
    )
    seats, total = found.items, found.total
    label = {None: "all active seats", "inactive": "inactive seats"}.get(
        filter_word, f"{filter_word} seats"
    )
    page = Page("users", {"f": filter_word}, offset, total)
    return users_page(seats, page, label, now, deps.rules.policy, deps.rules.tz)


@handles(ListUsers)
async def users(deps: Deps, command: ListUsers, body: dict, respond: AsyncRespond) -> None:
    await reply(respond, await _users_message(deps, command.filter, 0))


async def _audit_message(deps: Deps, where: AuditFilter, label: str, offset: int) -> Message:
    found = await queries.audit(deps.db, where, PAGE_SIZE, offset)
    entries, total = found.items, found.total
    state = {
        "e": where.email,
        "u": where.slack_user_id,
        "s": where.since.isoformat() if where.since else None,
        "t": where.until.isoformat() if where.until else None,
        "l": label,
    }
    return audit_page(entries, Page("audit", state, offset, total), label, deps.rules.tz)


@handles(ShowAudit)
async def audit(deps: Deps, command: ShowAudit, body: dict, respond: AsyncRespond) -> None:
    where = await _audit_filter(deps, command.person, command.since, command.until)
    parts = []
    if command.person is not None:
        parts.append(f"for {command.person.describe()}")
    if command.since:
        parts.append(f"from {command.since.isoformat()}")
    if command.until:
        parts.append(f"to {command.until.isoformat()}")
    label = (" " + " ".join(parts)) if parts else ""
    await reply(respond, await _audit_message(deps, where, label, 0))


@handles(Check)
async def check(deps: Deps, command: Check, body: dict, respond: AsyncRespond) -> None:
    try:
        person = await resolve_person(deps.client, command.person)
    except PersonNotFound as error:
        await reply_error(respond, str(error))
        return
    assert person.email
    diagnosis = await queries.check(
        deps.db,
        deps.rules,
        person.email,
        person.slack_user_id,
        deps.clock.now(),
        genesys=deps.genesys is not None,
    )
    await reply(respond, check_reply(diagnosis, deps.rules.tz))


async def on_page(deps: Deps, body: dict, respond: AsyncRespond) -> None:
    """Previous / Next on a paged answer: the same page builder, in place."""
    if not await deps.admins.is_admin(body["user"]["id"]):
        await notify(deps, body, simple(":no_entry: Only license admins can page this list."))
        return
    try:
        state = json.loads(body["actions"][0]["value"])
        offset = max(0, int(state["o"]))
        if state["k"] == "users":
            message = await _users_message(deps, state.get("f"), offset)
        else:
            where = AuditFilter(
                state.get("e"),
                state.get("u"),
                _instant(state.get("s")),
                _instant(state.get("t")),
            )
            message = await _audit_message(deps, where, state.get("l") or "", offset)
    except (KeyError, TypeError, ValueError):
        log.warning("malformed page button value: %r", body["actions"][0].get("value"))
        return
    if body.get("response_url"):
        await respond(**message.payload(), replace_original=True)
    else:
        await notify(deps, body, message)


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
