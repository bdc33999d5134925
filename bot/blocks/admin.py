"""Help, the pool table, and the replies to admin commands."""

from __future__ import annotations

from datetime import datetime, tzinfo

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.blocks.base import MAX_BLOCKS, Message, context, day, escape, section
from bot.blocks.requests import impact_lines
from bot.licensing.commands import USAGE
from bot.licensing.entities import Assignment
from bot.licensing.forecast import Forecast
from bot.licensing.policy import Policy, PoolState, utilization_band
from bot.licensing.views import Impact

_EVERYONE = ("help", "request", "requests", "cancel", "change", "offboard")
_ADMIN: tuple[str, ...] = (
    "pool",
    "pool set",
    "assign",
    "revoke",
    "users",
    "check",
    "audit",
    "report",
    "trial",
)
_ADMIN_LIFECYCLE = ("extend", "quota", "quota set")
_ADMIN += ("drift",)  # Genesys Cloud (SPEC 8)


def help_message(is_admin: bool) -> Message:
    lines = ["*licensebot* — contact-center seats from Slack", ""]
    lines += [f"`{escape(USAGE[k], formatting=False)}`" for k in _EVERYONE]
    lines.append("`/license request` with nothing after it opens a form.")
    lines.append(
        "`change` asks to upgrade, downgrade or add/drop modules for someone who holds a seat; "
        "`offboard` says a holder has left; `until:YYYY-MM-DD` makes a seat time-bound."
    )
    blocks: list[Block] = [section("\n".join(lines))]
    if is_admin:
        admin = ["*Admin commands*"] + [
            f"`{escape(USAGE[k], formatting=False)}`" for k in _ADMIN + _ADMIN_LIFECYCLE
        ]
        admin.append(
            "Approve or deny on the request card, or reply `approve` / "
            "`deny <reason>` in its thread."
        )
        blocks.append(section("\n".join(admin)))
    return Message("licensebot help", blocks)


def pool_line(
    pool: PoolState,
    policy: Policy,
    now: datetime,
    tz: tzinfo,
    forecast: Forecast | None = None,
) -> str:
    utilization = f"{pool.utilization:.1%}" if pool.utilization is not None else "—"
    band = utilization_band(pool, policy).value
    line = f"*{pool.edition} {pool.item}* `{pool.counts()}` · {utilization} · {band}"
    if pool.overage:
        line += f" · :warning: {pool.overage} over"
        ends = pool.grace_ends_at(policy)
        if ends is not None:
            state = "grace ends" if now < ends else "grace ended, approvals refused since"
            line += f", {state} {day(ends, tz)}"
    if pool.seat_price is not None:  # worked out by the domain (Catalog.price_pool)
        line += f" · ${pool.seat_price:,.2f}/seat{' (list)' if pool.list_price else ''}"
    if forecast is not None:
        line += f"\n      forecast: {forecast.describe()}"
    return line


def pools_message(
    pools: list[PoolState],
    policy: Policy,
    now: datetime,
    tz: tzinfo,
    forecasts: dict[tuple[str, str], Forecast] | None = None,
) -> Message:
    if not pools:
        text = (
            "No pools yet. Add one with `/license pool set <edition> <seat-type|module> <seats>`."
        )
        return Message(text, [section(text)])
    blocks: list[Block] = [HeaderBlock(text="License pools")]
    forecasts = forecasts or {}
    lines = [pool_line(p, policy, now, tz, forecasts.get((p.edition, p.item))) for p in pools]
    chunk: list[str] = []
    size = shown = 0
    for line in lines:
        if chunk and (size + len(line) > 2800 or len(chunk) == 25):
            blocks.append(section("\n".join(chunk)))
            shown += len(chunk)
            chunk, size = [], 0
        if len(blocks) >= MAX_BLOCKS - 2:
            break
        chunk.append(line)
        size += len(line) + 1
    if chunk and len(blocks) < MAX_BLOCKS - 1:
        blocks.append(section("\n".join(chunk)))
        shown += len(chunk)
    if shown < len(lines):
        blocks.append(context(f"and {len(lines) - shown} more — see `/license report status`"))
    total = "\n".join(f"{p.edition} {p.item} {p.counts()}" for p in pools)
    return Message(f"License pools\n{total}"[:3000], blocks)


def pool_set_reply(
    before: PoolState | None,
    after: PoolState,
    policy: Policy,
    now: datetime,
    tz: tzinfo,
) -> Message:
    was = f" (was {before.purchased})" if before else " (new pool)"
    text = (
        f":white_check_mark: {after.edition} {after.item} now has {after.purchased} seats"
        f"{was}.\n{pool_line(after, policy, now, tz)}"
    )
    return Message(text, [section(text)])


def assigned_reply(assignment: Assignment, impact: Impact, tz: tzinfo) -> Message:
    lines = [
        f":white_check_mark: {escape(assignment.name)} ({escape(assignment.email)}) now "
        f"holds {assignment.seat}."
    ]
    if assignment.license_group:
        lines.append(f"License group: `{assignment.license_group}`")
    lines += impact_lines(impact, tz)
    return Message(lines[0], [section("\n".join(lines))])


def revoked_reply(assignment: Assignment) -> Message:
    text = (
        f":white_check_mark: Revoked {assignment.seat} from {escape(assignment.name)} "
        f"({escape(assignment.email)})."
    )
    return Message(text, [section(text)])
