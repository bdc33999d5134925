"""The inactive-seats summary (Reclaim / Keep per holder) and the holder's DM (Keep /
Release). Both re-render from their stored data when someone acts on them."""

from __future__ import annotations

from datetime import tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    HeaderBlock,
)

from bot.blocks.base import MAX_BLOCKS, Message, context, day, escape, section
from bot.licensing.messages import Done, InactiveDm, InactiveRow, InactiveSeatsSummary
from bot.licensing.requests import LicenseRequest

RECLAIM_ACTION = "inactive_reclaim"
KEEP_ACTION = "inactive_keep"
DM_KEEP_ACTION = "inactive_dm_keep"
DM_RELEASE_ACTION = "inactive_dm_release"

_DONE = {
    "reclaimed": ":recycle: Reclaimed",
    "kept": ":pushpin: Kept",
    "released": ":wave: Released by the holder",
    "gone": ":heavy_minus_sign: No longer holds this seat",
}


def inactive_summary(_: LicenseRequest | None, data: InactiveSeatsSummary, tz: tzinfo) -> Message:
    total, days = data.total, data.inactive_days
    rows = data.rows
    freed = f"*{total:,} seat{'s' if total != 1 else ''}*"
    if data.monthly_cost is not None and data.monthly_cost > 0:
        freed += f" and *${float(data.monthly_cost):,.2f}/month*"
        if data.unpriced:
            freed += f" ({data.unpriced:,} seats without a price)"
    pools = " · ".join(f"{s.pool} {s.count:,}" for s in data.seats)
    if data.pools > len(data.seats):
        pools += f" · and {data.pools - len(data.seats)} more pools"
    headline = (
        f":zzz: *{total:,} seat holder{'s' if total != 1 else ''}* have had no activity for "
        f"{days}+ days. Reclaiming them would free {freed}."
    )
    blocks: list[Block] = [
        HeaderBlock(text=f"Inactive seats: {total:,}"),
        section(f"{headline}\nBy pool: {pools}"),
    ]
    for row in rows:
        if len(blocks) > MAX_BLOCKS - 4:
            break
        blocks += _row_blocks(row, tz)
    footer = (
        f"The {len(rows)} longest idle of {total:,} are listed; see all with "
        "`/license users inactive`. Keep snoozes a holder for 30 days."
    )
    acted = data.acted
    if acted:
        footer += " Since posted: " + ", ".join(f"{n} {state}" for state, n in acted.items())
        footer += "."
    blocks.append(context(footer))
    return Message(f"{total:,} inactive seat holders ({days}+ days without activity)", blocks)


def _row_blocks(row: InactiveRow, tz: tzinfo) -> list[Block]:
    since = day(row.last, tz)
    idle = f"never active, assigned {since}" if row.never else f"last active {since}"
    line = (
        f"*{escape(row.name)}* ({escape(row.email)}) · {row.seat} · {row.days} days idle ({idle})"
    )
    done = row.done
    if done:
        line += f"\n{_done_line(done, tz)}"
        return [section(line)]
    seat_id = str(row.id)
    return [
        section(line),
        ActionsBlock(
            block_id=f"inactive:{seat_id}",
            elements=[
                ButtonElement(
                    text="Reclaim",
                    action_id=RECLAIM_ACTION,
                    value=seat_id,
                    style="danger",
                    confirm=ConfirmObject(
                        title="Reclaim this seat?",
                        text=f"Revoke the {row.seat} seat of {escape(row.email)}.",
                        confirm="Reclaim",
                        deny="Cancel",
                    ),
                ),
                ButtonElement(text="Keep", action_id=KEEP_ACTION, value=seat_id),
            ],
        ),
    ]


def _done_line(done: Done, tz: tzinfo) -> str:
    line = _DONE.get(done.state, done.state)
    if done.by and done.state != "released":
        line += f" by <@{done.by}>"
    if done.at:
        line += f" on {day(done.at, tz)}"
    if done.until:
        line += f", not listed again before {day(done.until, tz)}"
    return line


def inactive_dm(_: LicenseRequest | None, data: InactiveDm, tz: tzinfo) -> Message:
    seat = data.seat
    since = day(data.last, tz)
    done = data.done
    if done and done.state == "kept":
        until = day(done.until, tz)
        text = (
            f":white_check_mark: You kept your {seat} seat. We will not ask again before {until}."
        )
        return Message(text, [section(text)])
    if done and done.state == "released":
        text = f":white_check_mark: You released your {seat} seat: it is back in the pool. Thanks!"
        return Message(text, [section(text)])
    if done:
        text = f"Your {seat} seat: {_done_line(done, tz)}."
        return Message(text, [section(text)])
    question = f"Do you still need your {seat} seat?"
    idle = "since it was assigned" if data.never else "since your last activity"
    text = (
        f":wave: Hi {escape(data.name)}! licensebot has seen no activity on your *{seat}* "
        f"seat for {data.days} days ({idle} on {since}).\n*{question}*"
    )
    seat_id = str(data.id)
    blocks: list[Block] = [
        section(text),
        ActionsBlock(
            block_id=f"inactive_dm:{seat_id}",
            elements=[
                ButtonElement(
                    text="Keep", action_id=DM_KEEP_ACTION, value=seat_id, style="primary"
                ),
                ButtonElement(
                    text="Release",
                    action_id=DM_RELEASE_ACTION,
                    value=seat_id,
                    style="danger",
                    confirm=ConfirmObject(
                        title="Release your seat?",
                        text=f"Your {seat} seat goes back to the pool.",
                        confirm="Release",
                        deny="Cancel",
                    ),
                ),
            ],
        ),
        context(
            f"Keep: we will not ask again for {data.snooze_days} days. "
            "Release: the seat goes back to the pool for someone else."
        ),
    ]
    return Message(f"{question} ({data.days} days without activity)", blocks)
