"""Seat lifecycle and approval policy (SPEC 9, 10): the replies to `change`, `offboard`,
`extend` and `quota`, the deactivated-holder alert, and the expiring-seat messages."""

from __future__ import annotations

from datetime import date, tzinfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject, HeaderBlock

from bot.blocks.base import MAX_BLOCKS, Message, context, day, escape, section
from bot.licensing.entities import Assignment, Quota
from bot.licensing.messages import (
    Deactivated,
    ExpiringDm,
    ExpiringSummary,
    RequestEscalation,
)
from bot.licensing.requests import LicenseRequest

DEACTIVATED_RECLAIM_ACTION = "deactivated_reclaim"
EXTEND_ACTION = "expiring_extend"
EXTEND_DAYS = 30


def holder_label(name: str, email: str) -> str:
    return f"{escape(name)} ({escape(email)})"


def ends_text(ends_on: date | None) -> str:
    """How a time-bound seat's end shows next to it (check, users, Home, replies)."""
    return f"until {ends_on.isoformat()}" if ends_on else ""


def offboarded_reply(revoked: Assignment, cancelled: int = 0) -> Message:
    text = (
        f":wave: Offboarded {holder_label(revoked.name, revoked.email)}: their "
        f"{revoked.seat} seat is revoked and back in its pool."
    )
    if cancelled:
        text += f" {cancelled} pending request{'s' if cancelled != 1 else ''} for them cancelled."
    return Message(text, [section(text)])


def extended_reply(held: Assignment, before: date | None) -> Message:
    was = f" (was {before.isoformat()})" if before else " (it had no end before)"
    text = (
        f":calendar: {holder_label(held.name, held.email)} keeps {held.seat} until "
        f"{held.ends_on.isoformat() if held.ends_on else '—'}{was}; it is revoked the day after."
    )
    return Message(text, [section(text)])


def quotas_message(quotas: list[Quota]) -> Message:
    if not quotas:
        text = (
            "No department quotas: every department draws from the pools as they are. "
            "Set one with `/license quota set <Department> <edition> <seat-type|module> <seats>`."
        )
        return Message(text, [section(text)])
    lines = []
    for quota in quotas:
        line = f"*{escape(quota.department)}* {quota.label} `{quota.used}/{quota.seats}`"
        if quota.used > quota.seats:
            line += f" · :warning: {quota.used - quota.seats} over"
        elif quota.used == quota.seats:
            line += " · full"
        lines.append(line)
    blocks: list[Block] = [HeaderBlock(text="Department quotas")]
    for start in range(0, len(lines), 40):
        if len(blocks) >= MAX_BLOCKS - 1:
            blocks.append(context(f"and {len(lines) - start} more"))
            break
        blocks.append(section("\n".join(lines[start : start + 40])))
    summary = "\n".join(f"{q.department} {q.label} {q.used}/{q.seats}" for q in quotas)
    return Message(f"Department quotas\n{summary}"[:3000], blocks)


def quota_set_reply(before: int | None, quota: Quota) -> Message:
    was = f" (was {before})" if before is not None else " (new quota)"
    text = (
        f":white_check_mark: {escape(quota.department)} may hold {quota.seats} "
        f"{quota.label} seats{was}; it uses {quota.used} now."
    )
    if quota.used > quota.seats:
        text += (
            f"\n:warning: That is below what {escape(quota.department)} uses now "
            f"({quota.used}/{quota.seats}): nobody loses a seat, but approvals into "
            f"{quota.label} for {escape(quota.department)} are refused until it is back under."
        )
    return Message(text, [section(text)])


# --- deactivated holder (SPEC 9) ------------------------------------------------------


def deactivated_alert(_: LicenseRequest | None, data: Deactivated, tz: tzinfo) -> Message:
    who = f"<@{data.user}> · {holder_label(data.name, data.email)}"
    if data.revoked:
        text = (
            f":wave: *Slack deactivated {who}*: their {data.seat} seat was revoked at once "
            "(LICENSEBOT_RECLAIM_ON_DEACTIVATION)."
        )
        return Message(text.replace("*", ""), [section(text), context("licensebot lifecycle")])
    done = data.done
    head = f":warning: *Slack deactivated {who}*, who still holds {data.seat}."
    blocks: list[Block] = [section(head)]
    if done:
        state = {
            "reclaimed": f":recycle: Reclaimed by <@{done.by}> on {day(done.at, tz)}",
            "gone": ":heavy_minus_sign: No longer holds this seat",
        }.get(done.state, "")
        blocks.append(section(state))
    else:
        blocks.append(
            ActionsBlock(
                block_id=f"deactivated:{data.id}",
                elements=[
                    ButtonElement(
                        text="Reclaim",
                        action_id=DEACTIVATED_RECLAIM_ACTION,
                        value=str(data.id),
                        style="danger",
                        confirm=ConfirmObject(
                            title="Reclaim this seat?",
                            text=f"Revoke {data.seat} from {escape(data.email)}.",
                            confirm="Reclaim",
                            deny="Cancel",
                        ),
                    )
                ],
            )
        )
    blocks.append(context("licensebot lifecycle · admins only"))
    return Message(head.replace("*", ""), blocks)


# --- expiring seats (SPEC 9) ------------------------------------------------------------


def expiring_dm(_: LicenseRequest | None, data: ExpiringDm, tz: tzinfo) -> Message:
    left = data.days_left
    when = "today is its last day" if left == 0 else f"its last day is {data.ends_on}"
    whose = "Your" if data.holder else f"{holder_label(data.name, data.email)}'s"
    text = (
        f":hourglass: {whose} {data.seat} seat is time-bound: {when}"
        f"{'' if left == 0 else f' ({left} day' + ('s' if left != 1 else '') + ' left)'}. "
        "It is revoked the day after. Ask a license admin to `/license extend` it if it is "
        "still needed."
    )
    return Message(text, [section(text)])


def expired_dm(_: LicenseRequest | None, data: ExpiringDm, tz: tzinfo) -> Message:
    whose = "Your" if data.holder else f"{holder_label(data.name, data.email)}'s"
    text = (
        f":wave: {whose} time-bound {data.seat} seat ended after {data.ends_on} and is "
        "revoked. File `/license request` if it is needed again."
    )
    return Message(text, [section(text)])


def expiring_summary(_: LicenseRequest | None, data: ExpiringSummary, tz: tzinfo) -> Message:
    rows = data.rows
    ended = data.ended
    head = (
        f":hourglass: *{len(rows)} time-bound seat{'s' if len(rows) != 1 else ''} end within "
        f"{data.warning_days} days*"
    )
    blocks: list[Block] = [HeaderBlock(text="Time-bound seats ending"), section(head)]
    for row in rows:
        if len(blocks) > MAX_BLOCKS - 4:
            break
        line = f"{holder_label(row.name, row.email)} · {row.seat} · last day *{row.ends_on}*"
        done = row.done
        if done:
            line += f"\n:calendar: Extended to {done.until} by <@{done.by}>"
            blocks.append(section(line))
            continue
        blocks.append(section(line))
        blocks.append(
            ActionsBlock(
                block_id=f"extend:{row.id}",
                elements=[
                    ButtonElement(
                        text=f"Extend {EXTEND_DAYS} days",
                        action_id=EXTEND_ACTION,
                        value=str(row.id),
                    )
                ],
            )
        )
    if ended:
        names = ", ".join(holder_label(e.name, e.email) for e in ended[:20])
        more = f" and {len(ended) - 20} more" if len(ended) > 20 else ""
        blocks.append(section(f":wave: Ended and revoked today: {names}{more}"))
    blocks.append(context("licensebot `expiring` · admins only · or `/license extend`"))
    return Message(head.replace("*", ""), blocks)


def request_escalation(
    request: LicenseRequest | None, data: RequestEscalation, tz: tzinfo
) -> Message:
    """The DM to each approver of a request's stage once it waited twice the reminder hours."""
    assert request is not None
    who = "finance approval" if data.stage == "finance" else "an admin's decision"
    link = ""
    if data.channel and data.ts:
        link = (
            f" <https://slack.com/archives/{data.channel}/p{data.ts.replace('.', '')}"
            f"|Open the card>"
        )
    elif data.channel:
        link = f" See <#{data.channel}>."
    text = (
        f":rotating_light: {request.title} #{request.id} ({escape(request.email)}: "
        f"{request.edition} {request.seat_type}) has waited {data.hours} hours for {who}."
        f"{link} Approve or deny it on its card or in its thread."
    )
    return Message(f"{request.title} #{request.id} is waiting for you", [section(text)])
