"""The approvals card, its decision reply and DM, and the requester's replies."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.base import Message, clip, context, day, escape, section, when
from bot.licensing.messages import DecisionPayload, StagePayload
from bot.licensing.policy import Outcome, SeatCheck
from bot.licensing.requests import LicenseRequest, RequestKind, RequestStatus, Stage
from bot.licensing.views import Impact

APPROVE_ACTION = "approve_request"
DENY_ACTION = "deny_request"

_OUTCOME = {
    RequestStatus.APPROVED: ":white_check_mark: Approved",
    RequestStatus.DENIED: ":x: Denied",
    RequestStatus.CANCELLED: ":heavy_multiplication_x: Cancelled",
    RequestStatus.EXPIRED: ":hourglass: Expired",
    RequestStatus.PENDING: ":hourglass_flowing_sand: Pending",
}


def seat_label(request: LicenseRequest) -> str:
    modules = "".join(f" +{m}" for m in request.modules)
    return f"{request.edition} {request.seat_type}{modules}"


def new_hire(request: LicenseRequest) -> str:
    who = f"{escape(request.name)} ({escape(request.email)})"
    return f"<@{request.slack_user_id}> · {who}" if request.slack_user_id else who


def check_line(check: SeatCheck, tz: tzinfo) -> str:
    purchased = check.pool.purchased if check.pool else 0
    used = check.pool.used if check.pool else 0
    move = f"{check.label} {used}/{purchased} → {check.used_after}/{purchased}"
    if check.outcome is Outcome.WITHIN:
        return move
    if check.outcome is Outcome.OVERAGE:
        verb = "enters grace period" if check.grace_starts else "in grace period"
        return (
            f":warning: {move}: {check.overage_after} over, {verb} until "
            f"{day(check.grace_ends_at, tz)}"
        )
    return f":no_entry: {check.label}: {check.reason}"


def impact_lines(impact: Impact, tz: tzinfo) -> list[str]:
    lines = [
        f"leaves {p.label} {p.used}/{p.purchased} → {max(0, p.used - 1)}/{p.purchased}"
        " (a seat freed)"
        for p in impact.leaving
    ]
    entering = [check_line(c, tz) for c in impact.checks]
    if impact.leaving:
        entering = [f"enters {line}" for line in entering]
    lines += entering
    for quota in impact.quotas:
        lines.append(f":no_entry: {quota.line()}" if quota.over else quota.line())
    for reason in (impact.holder_refusal, impact.trial_refusal):
        if reason:
            lines.append(f":no_entry: {reason}")
    return lines


def decision_buttons(request_id: int, block_id: str) -> ActionsBlock:
    """Approve / Deny: the same actions on the card and on App Home."""
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(
                text="Approve", action_id=APPROVE_ACTION, value=str(request_id), style="primary"
            ),
            ButtonElement(
                text="Deny", action_id=DENY_ACTION, value=str(request_id), style="danger"
            ),
        ],
    )


def request_card(request: LicenseRequest, impact: Impact | None, tz: tzinfo) -> Message:
    """The approvals-channel card: everything an admin needs to decide, and the buttons."""
    department = "—"
    if request.department:
        department = f"{escape(request.department)} → `{request.license_group}`"
    person = {
        RequestKind.NEW: "New hire",
        RequestKind.CHANGE: "Holder",
        RequestKind.OFFBOARD: "Leaving",
    }[request.kind]
    seat = "Seat" if request.kind is RequestKind.NEW else "Seat after the change"
    if request.kind is RequestKind.OFFBOARD:
        seat = "Seat to revoke"
    fields = [
        f"*{person}*\n{new_hire(request)}",
        f"*{seat}*\n{request.seat_type.capitalize()} · {request.edition.capitalize()}",
        f"*Modules*\n{' '.join('+' + m for m in request.modules) or '—'}",
        f"*Department / license group*\n{department}",
        f"*Requested by*\n<@{request.requester_id}>",
    ]
    if request.kind is RequestKind.NEW:
        fields.append(f"*Start date*\n{_date(request.start_date)}")
    if request.until_date:
        fields.append(f"*Until*\n{request.until_date.isoformat()} (time-bound seat)")
    blocks: list[Block] = [
        HeaderBlock(text=f"{request.title} #{request.id}"),
        SectionBlock(fields=[MarkdownTextObject(text=clip(f, 2000)) for f in fields]),
    ]
    if request.reason:
        blocks.append(section(f"*Reason*\n{escape(request.reason)}"))
    if request.status is RequestStatus.PENDING:
        if impact is not None and request.kind is not RequestKind.OFFBOARD:
            blocks.append(section("*Pool impact*\n" + "\n".join(impact_lines(impact, tz))))
        elif impact is not None and impact.holder_refusal:
            blocks.append(section(f":no_entry: {impact.holder_refusal}"))
        stages = stage_line(request, impact)
        if stages:
            blocks.append(section(stages))
        blocks.append(decision_buttons(request.id, f"decide:{request.id}"))
        blocks.append(
            context(
                f"Filed {when(request.created_at, tz)} · admins may reply `approve` or "
                "`deny &lt;reason&gt;` in this thread"
            )
        )
    else:
        blocks.append(section(outcome_line(request, tz)))
    text = f"{request.title} #{request.id}: {seat_label(request)} for {escape(request.email)}"
    return Message(f"{text} ({request.status.value})", blocks)


def stage_line(request: LicenseRequest, impact: Impact | None) -> str | None:
    """The approval stages (SPEC 10): who approved, and who it waits for."""
    if request.stage is Stage.FINANCE:
        return (
            f":white_check_mark: approved by <@{request.stage_approved_by}> — "
            "waiting for finance (a member of the finance group approves or denies)"
        )
    if impact is not None and impact.finance:
        return (
            f"*Approval*: an admin, then finance (monthly cost ${impact.cost:,.2f} reaches the "
            "finance threshold)"
        )
    return None


def stage_reply(request: LicenseRequest, data: StagePayload, tz: tzinfo) -> Message:
    """The thread reply when the admin stage approves and finance is next."""
    text = (
        f":white_check_mark: Approved by <@{data.by}> — waiting for finance. "
        f"Monthly cost ${float(data.cost or 0):,.2f}: a member of the finance group "
        "approves or denies it here."
    )
    return Message(f"Request #{request.id} waits for finance", [section(text)])


def outcome_line(request: LicenseRequest, tz: tzinfo) -> str:
    line = f"*{_OUTCOME[request.status]}*"
    if request.decided_by and request.decided_by != "licensebot":
        line += f" by <@{request.decided_by}>"
        if request.stage is Stage.FINANCE:
            line += " (finance)"
    line += f" on {when(request.decided_at, tz)}"
    if request.stage is Stage.FINANCE and request.stage_approved_by:
        line += (
            f" · admin approval by <@{request.stage_approved_by}> on "
            f"{when(request.stage_approved_at, tz)}"
        )
    if request.decision_reason:
        line += f"\nReason: {escape(request.decision_reason)}"
    return line


def decision_reply(request: LicenseRequest, data: DecisionPayload, tz: tzinfo) -> Message:
    """The thread reply that records a decision."""
    lines = [outcome_line(request, tz)]
    lines += _usage_lines(data, tz)
    if request.status is RequestStatus.EXPIRED:
        lines.append("No admin decided within the expiry period; the requester was told.")
    return Message(f"Request #{request.id} {request.status.value}", [section("\n".join(lines))])


def decision_dm(request: LicenseRequest, data: DecisionPayload, tz: tzinfo) -> Message:
    """What the requester is told."""
    status = request.status
    subject = f"Your request #{request.id} for {seat_label(request)} for {escape(request.email)}"
    if request.kind is RequestKind.CHANGE:
        subject = (
            f"Your change #{request.id} of {escape(request.email)}'s seat to {seat_label(request)}"
        )
    elif request.kind is RequestKind.OFFBOARD:
        subject = f"Your offboarding #{request.id} of {escape(request.email)}"
    if status is RequestStatus.APPROVED:
        text = f"{subject} was approved by <@{request.decided_by}>."
        if request.kind is RequestKind.OFFBOARD:
            text += " The seat is revoked."
        elif request.license_group:
            text += f" Add them to `{request.license_group}`."
        if request.until_date and request.kind is not RequestKind.OFFBOARD:
            text += f" The seat ends after {request.until_date.isoformat()}."
    elif status is RequestStatus.DENIED:
        text = f"{subject} was denied by <@{request.decided_by}>."
        if request.decision_reason:
            text += f"\nReason: {escape(request.decision_reason)}"
    elif status is RequestStatus.EXPIRED:
        text = f"{subject} expired without a decision. File it again if the seat is still needed."
    else:
        text = f"{subject} is {status.value}."
        if request.decision_reason:
            text += f"\nReason: {escape(request.decision_reason)}"
    return Message(text, [section(text)])


def _usage_lines(data: DecisionPayload, tz: tzinfo) -> list[str]:
    lines = []
    for freed in data.freed:
        lines.append(f"{freed.pool} now {freed.used}/{freed.purchased} (a seat freed)")
    for usage in data.usage:
        lines.append(f"{usage.pool} now {usage.used}/{usage.purchased}")
    for over in data.overage:
        ends = day(over.grace_ends_at, tz)
        verb = "enters grace period" if over.grace_starts else "grace period runs"
        lines.append(f":warning: {over.pool} is {over.overage} over: {verb} until {ends}")
    return lines


def filed_reply(request: LicenseRequest, approvals_channel: str) -> Message:
    what = {
        RequestKind.NEW: f"Filed request #{request.id}: {seat_label(request)} for",
        RequestKind.CHANGE: f"Filed change #{request.id}: {seat_label(request)} for",
        RequestKind.OFFBOARD: f"Filed offboarding #{request.id}: revoke {seat_label(request)} of",
    }[request.kind]
    until = f" until {request.until_date.isoformat()}" if request.until_date else ""
    text = (
        f":inbox_tray: {what} "
        f"{escape(request.name)} ({escape(request.email)}){until}. Admins decide in "
        f"<#{approvals_channel}>; you will get a DM."
    )
    return Message(text, [section(text)])


def requests_list(requests: list[LicenseRequest], tz: tzinfo) -> Message:
    if not requests:
        return Message(
            "You have no requests.",
            [section("You have no requests. File one with `/license request`.")],
        )
    lines = [
        f"#{r.id} · {'' if r.kind is RequestKind.NEW else r.kind.value + ' · '}"
        f"{seat_label(r)} for {escape(r.email)} · *{r.status.value}*"
        f" · filed {day(r.created_at, tz)}"
        for r in requests
    ]
    return Message("Your requests", [section("*Your requests*\n" + "\n".join(lines))])


def refusal_reply(request: LicenseRequest, reasons: list[str]) -> Message:
    text = (
        f":no_entry: Request #{request.id} cannot be approved now:\n"
        + "\n".join(f"• {r}" for r in reasons)
        + "\nIt stays pending."
    )
    return Message(text, [section(text)])


def already_decided(request: LicenseRequest, tz: tzinfo) -> Message:
    text = f"Request #{request.id} was already decided: {outcome_line(request, tz)}"
    return Message(text, [section(text)])


def _date(value: date | datetime | None) -> str:
    return value.isoformat() if value else "—"


def stage_dm(request: LicenseRequest, data: StagePayload, tz: tzinfo) -> Message:
    """The requester's DM when the admin stage approves and finance is next."""
    text = (
        f"Your {request.title.lower()} #{request.id} for {seat_label(request)} for "
        f"{escape(request.email)} was approved by <@{data.by}> and now waits for finance "
        "(its monthly cost reaches the finance threshold). You get a DM when it is decided."
    )
    return Message(text, [section(text)])
