"""The scheduled alerts (SPEC 3): limits, trial, request nudges, the monthly digest, and
the `/license trial` replies. Importing this module registers every alert template
(the inactive-seats ones live in bot/blocks/inactive.py)."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import TypeVar

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.blocks.base import MAX_BLOCKS, Message, context, day, section, when
from bot.licensing.messages import (
    AlertPayload,
    Digest,
    LimitsAlert,
    LimitsLine,
    LimitsSummary,
    RequestNudge,
    TrialAlert,
)
from bot.licensing.requests import LicenseRequest

T = TypeVar("T")


def _alert(head: str, body: str, data: AlertPayload, tz: tzinfo, job: str) -> Message:
    """An alert, or once resolved, the same message saying so (updated in place)."""
    resolved = data.resolved
    if resolved:
        text = f":white_check_mark: *Resolved* {day(resolved.at, tz)}: {resolved.text}"
        return Message(f"Resolved: {resolved.text}", [section(text), context(f"Was: {head}")])
    return Message(
        head.replace("*", ""), [section(f"{head}\n{body}"), context(f"licensebot `{job}` alert")]
    )


def limits_alert(_: LicenseRequest | None, data: LimitsAlert, tz: tzinfo) -> Message:
    pool, kind = data.pool, data.kind
    counts = f"`{data.used}/{data.purchased}`"
    remedy = (
        f"Buy seats with `/license pool set {pool} <seats>` or reclaim inactive seats "
        "(`/license users inactive`)."
    )
    if kind == "over":
        ends = day(_required(data.grace_ends), tz)
        head = f":rotating_light: *{pool} is over its limit*: {counts}, {data.overage} over"
        body = (
            f"Grace period until {ends}: up to {data.allowance} over is allowed until then. "
            + remedy
        )
    elif kind == "grace-ending":
        ends = day(_required(data.grace_ends), tz)
        left = data.days_left
        head = (
            f":hourglass_flowing_sand: *{pool} grace period ends {ends}* "
            f"({left} day{'s' if left != 1 else ''} left)"
        )
        body = (
            f"The pool is still {data.overage} over ({counts}). After {ends}, approvals and "
            f"assignments into {pool} are refused. {remedy}"
        )
    elif kind == "grace-ended":
        ends = day(_required(data.grace_ends), tz)
        head = f":no_entry: *{pool} grace period ended on {ends}*"
        body = (
            f"The pool is still {data.overage} over ({counts}): approvals and assignments "
            f"into {pool} are refused now. {remedy}"
        )
    else:
        left = data.left
        head = (
            f":large_orange_circle: *{pool} is nearly full*: {counts} "
            f"({_required(data.utilization):.0%}), {left} seat{'s' if left != 1 else ''} left"
        )
        body = (
            f"At or above the {_required(data.high):.0%} mark. Buy seats before it runs out: "
            f"`/license pool set {pool} <seats>`."
        )
    return _alert(head, body, data, tz, "limits")


def _required(value: T | None) -> T:
    """A field its kind always has (a stored row without it fails here, loudly)."""
    if value is None:
        raise ValueError("a field this alert needs is missing")
    return value


_LINE_MARK = {
    "grace-ended": ":no_entry:",
    "grace-ending": ":hourglass_flowing_sand:",
    "over": ":rotating_light:",
}


def _limits_line(line: LimitsLine, tz: tzinfo) -> str:
    """One troubled pool in a `limits` summary: what is wrong, or how it resolved."""
    pool, kind = line.pool, line.kind
    resolved = line.resolved
    if resolved:
        return f":white_check_mark: ~{pool}~ resolved {day(resolved.at, tz)}: {resolved.text}"
    counts = f"`{line.used}/{line.purchased}`"
    mark = _LINE_MARK.get(kind, ":large_orange_circle:")
    if kind == "over":
        what = f"{line.overage} over, grace until {day(_required(line.grace_ends), tz)}"
    elif kind == "grace-ending":
        what = f"grace period ends {day(_required(line.grace_ends), tz)}: {line.overage} over"
    elif kind == "grace-ended":
        what = f"grace period ended {day(_required(line.grace_ends), tz)}: approvals refused"
    else:
        what = f"nearly full, {line.left} left"
    return f"{mark} *{pool}* {counts} {what}"


def limits_summary(_: LicenseRequest | None, data: LimitsSummary, tz: tzinfo) -> Message:
    """Many troubled pools found in one `limits` run: one message, worst first; each line
    is updated in place when its pool is resolved."""
    lines = data.lines
    open_lines = [line for line in lines if not line.resolved]
    pools = len({line.pool for line in lines})
    if open_lines:
        still = len({line.pool for line in open_lines})
        head = f":rotating_light: *{still} pool{'s' if still != 1 else ''} need attention*"
        if still != pools:
            head += f" ({pools - still} of {pools} resolved since)"
        text = f"{still} pools need attention: worst first"
    else:
        head = f":white_check_mark: *All {pools} pools resolved*"
        text = f"Resolved: all {pools} pools"
    blocks: list[Block] = [section(head)]
    blocks += _chunks("*Worst first*", [_limits_line(x, tz) for x in lines], MAX_BLOCKS - 3)
    blocks.append(
        context(
            "Buy seats with `/license pool set <edition> <item> <seats>` or reclaim inactive "
            "seats (`/license users inactive`). licensebot `limits` alert"
        )
    )
    return Message(text, blocks)


def trial_alert(_: LicenseRequest | None, data: TrialAlert, tz: tzinfo) -> Message:
    total, last = data.trial_days, data.last_day
    seats = f"{data.active}/{data.max_users} trial seats in use"
    if data.kind == "expired":
        head = f":no_entry: *The trial expired*: its last day was {last} (day {total})"
        body = f"Convert to a paid plan, then run `/license trial convert`. {seats}."
    else:
        left = data.days_left
        if left == 0:
            head = ":hourglass: *Trial: last day: convert to a paid plan today*"
        else:
            plural = "s" if left != 1 else ""
            head = (
                f":hourglass: *Trial: {left} day{plural} left: "
                f"convert to a paid plan before day {total}*"
            )
        body = (
            f"Today is day {data.day} of {total}; the trial ends on {last}. {seats}. "
            "After converting, run `/license trial convert`."
        )
    return _alert(head, body, data, tz, "trial")


def request_nudge(request: LicenseRequest | None, data: RequestNudge, tz: tzinfo) -> Message:
    assert request is not None
    who = " ".join(data.mentions) or "Admins"
    text = (
        f":bell: Request #{request.id} has waited {data.hours} hours for a decision. {who}: "
        "approve or deny it with the buttons above, or reply `approve` or "
        "`deny &lt;reason&gt;` in this thread."
    )
    return Message(f"Request #{request.id} is waiting for a decision", [section(text)])


def digest(_: LicenseRequest | None, data: Digest, tz: tzinfo) -> Message:
    band = f"{data.low:.0%}–{data.high:.0%}"
    lines = []
    for p in data.pools:
        share = f"{p.utilization:.1%}" if p.utilization is not None else "—"
        lines.append(f"{p.pool} `{p.used}/{p.purchased}` {share} · {p.band}")
    blocks: list[Block] = [HeaderBlock(text=f"License digest {data.month}")]
    blocks += _chunks(f"*Utilization per pool* (target {band})", lines, MAX_BLOCKS - 5)
    idle = [p for p in data.pools if p.idle is not None]
    if idle:
        over = "\n".join(
            f"{p.pool}: {p.idle} idle"
            + (f" · ${float(p.idle_cost):,.2f}/month" if p.idle_cost is not None else "")
            for p in idle[:30]
        )
        if len(idle) > 30:
            over += f"\n…and {len(idle) - 30} more"
        cost = float(data.idle_cost or 0)
        blocks.append(
            section(
                f"*Over-provisioned pools* (below {data.low:.0%})\n{over}\n"
                f"Idle seats cost *${cost:,.2f}/month*."
            )
        )
    else:
        blocks.append(section("*Over-provisioned pools*: none."))
    active, inactive = data.active, data.inactive
    share = f"{inactive / active:.1%}" if active else "—"
    blocks.append(section(f"*Inactive*: {inactive:,} of {active:,} active seats ({share})"))
    adoption = " · ".join(
        f"{m.module} {m.holders:,}/{m.eligible:,}"
        + (f" ({m.holders / m.eligible:.0%})" if m.eligible else "")
        for m in data.modules
    )
    blocks.append(
        section(
            f"*Module adoption* (holders / seats in editions that include it)\n{adoption or '—'}"
        )
    )
    blocks.append(context(f"licensebot monthly digest · as of {when(data.as_of, tz)}"))
    return Message(f"License digest {data.month}", blocks)


def _chunks(title: str, lines: list[str], max_blocks: int) -> list[Block]:
    blocks: list[Block] = []
    chunk, size, shown = [title], len(title), 0
    for line in lines:
        if size + len(line) > 2800:
            if len(blocks) == max_blocks - 1:
                break
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(lines):
        chunk.append(f"…and {len(lines) - shown} more pools: `/license report status`")
    blocks.append(section("\n".join(chunk)))
    return blocks


# --- `/license trial` replies -------------------------------------------------------


def trial_reply(
    state: str,
    start: date | None,
    day_number: int | None,
    last_day: date | None,
    active: int,
    max_users: int,
    converted_at: datetime | None,
    tz: tzinfo,
) -> Message:
    if state == "none":
        text = "No trial is set. Start one with `/license trial start <YYYY-MM-DD>`."
    elif state == "converted":
        text = (
            f":white_check_mark: The trial that started {start} was converted to a paid "
            f"plan on {day(converted_at, tz)}. No trial limits apply."
        )
    elif state == "scheduled":
        text = f":calendar: The trial starts on {start} and runs until {last_day}."
    elif state == "expired":
        text = (
            f":no_entry: The trial that started {start} expired after {last_day}. "
            "Convert with `/license trial convert` once the plan is bought."
        )
    else:
        text = (
            f":hourglass: Trial day {day_number}: it started {start} and ends {last_day}. "
            f"{active}/{max_users} trial seats in use."
        )
    return Message(text, [section(text)])
