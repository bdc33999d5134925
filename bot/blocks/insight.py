"""Admin insight replies: `users`, `audit` (paged), `check`, and the report upload."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.blocks.base import Message, clip, context, day, escape, section, when
from bot.licensing.entities import Assignment, AuditEntry
from bot.licensing.policy import Policy, inactive_days, is_inactive
from bot.licensing.views import Diagnosis

PAGE_ACTION = "insight_page"
PAGE_SIZE = 30
LINES_PER_SECTION = 10  # keeps each section far under 3,000 characters


@dataclass(frozen=True)
class Page:
    """Where a paged answer is: `state` goes back into the Previous/Next buttons."""

    kind: str  # users | audit
    state: dict
    offset: int
    total: int

    def button(self, label: str, offset: int) -> ButtonElement:
        value = json.dumps({**self.state, "k": self.kind, "o": offset}, sort_keys=True)
        return ButtonElement(text=label, action_id=PAGE_ACTION, value=value[:2000])


def _paged(title: str, lines: list[str], page: Page, report: str, empty: str) -> Message:
    if not lines:
        return Message(empty, [section(empty)])
    last = page.offset + len(lines)
    heading = f"*{title}* — {page.offset + 1}–{last} of {page.total}"
    blocks: list[Block] = [section(heading)]
    for start in range(0, len(lines), LINES_PER_SECTION):
        blocks.append(section("\n".join(lines[start : start + LINES_PER_SECTION])))
    more = page.total - last
    if more > 0:
        blocks.append(context(f"and {more} more — see `{report}`"))
    buttons = []
    if page.offset > 0:
        buttons.append(page.button("Previous", max(0, page.offset - PAGE_SIZE)))
    if more > 0:
        buttons.append(page.button(f"Next {min(PAGE_SIZE, more)}", last))
    if buttons:
        blocks.append(ActionsBlock(block_id=f"page:{page.kind}", elements=buttons))
    return Message(f"{title}: {page.offset + 1}–{last} of {page.total}", blocks)


def holder_line(seat: Assignment, now: datetime, policy: Policy, tz: tzinfo) -> str:
    who = f"*{escape(seat.email)}* · {escape(seat.name)}"
    if seat.slack_user_id:
        who += f" · <@{seat.slack_user_id}>"
    line = f"{who} · {seat.seat}"
    if seat.department:
        line += f" · {escape(seat.department)}"
    line += f" · since {day(seat.assigned_at, tz)}"
    if seat.ends_on:
        line += f" · :hourglass: until {seat.ends_on.isoformat()}"
    days = inactive_days(seat.last_active_at, seat.assigned_at, now)
    last = day(seat.last_active_at, tz) if seat.last_active_at else "never"
    line += f" · last active {last}"
    if is_inactive(seat.last_active_at, seat.assigned_at, now, policy):
        line += f" · :zzz: inactive {days} days"
    return clip(line, 290)


def users_page(
    seats: list[Assignment],
    page: Page,
    label: str,
    now: datetime,
    policy: Policy,
    tz: tzinfo,
) -> Message:
    lines = [holder_line(s, now, policy, tz) for s in seats]
    empty = f"No {label}." if page.total == 0 else f"No {label} on this page."
    return _paged(f"Seat holders: {label}", lines, page, "/license report assignments", empty)


def _actor(actor: str) -> str:
    return f"<@{actor}>" if actor[:1] in ("U", "W") and actor.isalnum() else escape(actor)


def _detail(entry: AuditEntry) -> str:
    after = entry.after if isinstance(entry.after, dict) else {}
    before = entry.before if isinstance(entry.before, dict) else {}
    if "purchased" in after:
        was = f"{before.get('purchased')} → " if before else ""
        return f"purchased {was}{after['purchased']}"
    if "status" in after:
        seat = f"{after.get('edition', '')} {after.get('seat_type', '')}".strip()
        return f"{after['status']} {seat}".strip()
    return ""


def audit_line(entry: AuditEntry, tz: tzinfo) -> str:
    detail = _detail(entry)
    line = (
        f"{when(entry.at, tz)} · {_actor(entry.actor)} · `{escape(entry.action, formatting=False)}`"
        f" · {escape(entry.subject)}"
    )
    return clip(line + (f" · {escape(detail)}" if detail else ""), 290)


def audit_page(entries: list[AuditEntry], page: Page, label: str, tz: tzinfo) -> Message:
    lines = [audit_line(e, tz) for e in entries]
    empty = f"No audit entries{label}."
    report = "/license report audit"
    return _paged(f"Audit log{label}", lines, page, report, empty)


def check_reply(diagnosis: Diagnosis, tz: tzinfo) -> Message:
    lines = [f"*Check: {escape(diagnosis.email)}*"]
    seat = diagnosis.holding
    if seat is not None:
        held = f"Holds {seat.seat} since {day(seat.assigned_at, tz)}"
        if seat.license_group:
            held += f" · `{seat.license_group}`"
        if seat.ends_on:
            held += f" · :hourglass: time-bound until {seat.ends_on.isoformat()}"
        lines.append(held)
    for finding in diagnosis.findings:
        # Findings quote emails and commands: neutralise markup, keep the code marks.
        problem = escape(finding.problem, formatting=False)
        if finding.ok:
            lines.append(f":white_check_mark: {problem}")
        else:
            lines.append(f":x: {problem}\n      → {escape(finding.resolution, formatting=False)}")
    text = "\n".join(lines)
    return Message(f"Check {diagnosis.email}", [section(text)])


def report_comment(kind: str, summary: str, as_of: datetime, tz: tzinfo) -> str:
    return f"licensebot {kind} report as of {when(as_of, tz)}: {summary}"


def report_queued(kind: str) -> Message:
    return Message(
        f"The {kind} report follows the one being built",
        [
            section(
                f":hourglass_flowing_sand: Another report is being built: the *{kind}* "
                "report follows it (reports are built one at a time) and comes to your DMs."
            )
        ],
    )


def report_sent(kind: str, summary: str) -> Message:
    return Message(
        f"The {kind} report is in your DMs",
        [section(f":page_facing_up: The *{kind}* report (CSV) is in your DMs — {summary}")],
    )
