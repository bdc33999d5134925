"""Acting on alerts: Reclaim / Keep on the inactive summary (admins), Keep / Release in the
holder's DM (the holder), and `/license trial start|convert|status` (admins)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.alerts import trial_reply
from bot.blocks.base import day, escape, simple
from bot.blocks.inactive import DM_KEEP_ACTION, DM_RELEASE_ACTION, KEEP_ACTION, RECLAIM_ACTION
from bot.commands.common import handles, notify, reply
from bot.commands.pipeline import Incoming, Route, mount
from bot.context import Deps
from bot.licensing.commands import Trial
from bot.licensing.errors import LicenseError
from bot.licensing.messages import Done
from bot.services import inactive
from bot.services.trial import convert_trial, start_trial, trial_status

NOT_ADMIN = "Only license admins can reclaim or keep seats from this list: nothing was changed."
NOT_HOLDER = "Only the person holding this seat can answer: nothing was changed."


async def reclaim_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_summary_action(deps, incoming.body, reclaim=True)


async def keep_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_summary_action(deps, incoming.body, reclaim=False)


async def dm_keep_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_dm_action(deps, incoming.body, release=False)


async def dm_release_clicked(deps: Deps, incoming: Incoming) -> None:
    await on_dm_action(deps, incoming.body, release=True)


ROUTES = (
    Route.action(RECLAIM_ACTION, reclaim_clicked),
    Route.action(KEEP_ACTION, keep_clicked),
    Route.action(DM_KEEP_ACTION, dm_keep_clicked),
    Route.action(DM_RELEASE_ACTION, dm_release_clicked),
)


def register(app: AsyncApp, deps: Deps) -> None:
    mount(app, deps, ROUTES)


def _clicked(body: dict) -> tuple[int, str, str | None, str | None]:
    """(assignment id, who clicked, the message's channel and ts)."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return int(body["actions"][0]["value"]), body["user"]["id"], channel, ts


async def on_summary_action(deps: Deps, body: dict, *, reclaim: bool) -> None:
    seat_id, user_id, channel, ts = _clicked(body)
    if not await deps.admins.is_admin(user_id):
        await notify(deps, body, simple(f":no_entry: {NOT_ADMIN}"))
        return
    now = deps.clock.now()
    try:
        if reclaim:
            revoked = await inactive.reclaim(deps.db, seat_id, user_id, now)
            done = Done(state="reclaimed", by=user_id, at=now)
            told = (
                f":recycle: Reclaimed the {revoked.seat} seat of {escape(revoked.name)} "
                f"({escape(revoked.email)})."
            )
        else:
            until = await inactive.snooze(deps.db, seat_id, user_id, now)
            done = Done(state="kept", by=user_id, at=now, until=until)
            told = f":pushpin: Kept: not listed again before {day(until, deps.rules.tz)}."
    except LicenseError as error:
        await inactive.note_on_summary(
            deps.db, seat_id, Done(state="gone"), now, channel=channel, ts=ts
        )
        await deps.deliver()
        await notify(deps, body, simple(f":warning: {error}"))
        return
    await inactive.note_on_summary(deps.db, seat_id, done, now, channel=channel, ts=ts)
    await deps.deliver()
    await notify(deps, body, simple(told))


async def on_dm_action(deps: Deps, body: dict, *, release: bool) -> None:
    seat_id, user_id, channel, ts = _clicked(body)
    held = await inactive.holder(deps.db, seat_id)
    if held is None or held.slack_user_id != user_id:
        await notify(deps, body, simple(f":no_entry: {NOT_HOLDER}"))
        return
    now = deps.clock.now()
    try:
        if release:
            await inactive.reclaim(deps.db, seat_id, user_id, now)
            done = Done(state="released", by=user_id, at=now)
        else:
            until = await inactive.snooze(deps.db, seat_id, user_id, now)
            done = Done(state="kept", by=user_id, at=now, until=until)
    except LicenseError as error:
        await inactive.answer_dm(deps.db, channel, ts, Done(state="gone"), now)
        await deps.deliver()
        await notify(deps, body, simple(f":warning: {error}"))
        return
    await inactive.answer_dm(deps.db, channel, ts, done, now)
    await inactive.note_on_summary(deps.db, seat_id, done, now)
    await deps.deliver()


@handles(Trial)
async def trial(deps: Deps, command: Trial, body: dict, respond: AsyncRespond) -> None:
    now, user_id = deps.clock.now(), body["user_id"]
    if command.action == "start":
        assert command.start is not None
        started = await start_trial(deps.db, command.start, user_id, now)
        await deps.deliver()
        last = started.last_day(deps.rules.policy)
        await reply(
            respond,
            simple(
                f":white_check_mark: The trial starts {started.start} and runs "
                f"{deps.rules.policy.trial_days} days, until {last}: at most "
                f"{deps.rules.policy.trial_max_users} active seats meanwhile. The alerts channel "
                f"gets a reminder on day {deps.rules.policy.trial_reminder_day}."
            ),
        )
        return
    if command.action == "convert":
        await convert_trial(deps.db, user_id, now)
        await deps.deliver()
        await reply(
            respond,
            simple(
                ":white_check_mark: The trial is converted to a paid plan: the trial seat cap and "
                "trial alerts no longer apply."
            ),
        )
        return
    status = await trial_status(deps.db, deps.rules, now)
    found = status.trial
    await reply(
        respond,
        trial_reply(
            status.state,
            found.start if found else None,
            status.day,
            found.last_day(deps.rules.policy) if found else None,
            status.active_seats,
            status.max_users,
            found.converted_at if found else None,
            deps.rules.tz,
        ),
    )
