"""Genesys Cloud messages (SPEC 8): the drift summary with Adopt / Remove / Provision per
row, provisioning alerts (refused, waiting for the Genesys user), the thread reply under a
request's card, and the `/license drift` reply."""

from __future__ import annotations

import json
from datetime import tzinfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject, HeaderBlock

from bot.blocks.base import MAX_BLOCKS, Message, context, day, escape, section
from bot.licensing.messages import DriftLine, GenesysAlert, GenesysDrift, GenesysStatus
from bot.licensing.requests import LicenseRequest

ADOPT_ACTION = "genesys_adopt"
REMOVE_ACTION = "genesys_remove"
PROVISION_ACTION = "genesys_provision"

KIND_TEXT = {
    "unmanaged": "unmanaged",
    "missing": "missing in Genesys",
    "deleted": "deleted in Genesys",
    "inactive": "deactivated in Genesys",
}
STATE_TEXT = {
    "pending": ":hourglass: queued for Genesys Cloud",
    "provisioned": ":white_check_mark: licenses assigned in Genesys Cloud",
    "waiting_user": ":hourglass_flowing_sand: waiting for the Genesys user",
    "refused": ":x: not provisioned: Genesys Cloud refused",
    "unmapped": ":ledger: ledger only (no Genesys license mapped to this seat)",
    "removed": ":heavy_minus_sign: licenses removed in Genesys Cloud",
    "remove_refused": ":warning: licenses still held in Genesys Cloud",
}
_DONE = {
    "adopted": ":inbox_tray: Adopted into the ledger",
    "removed": ":heavy_minus_sign: Removed in Genesys",
    "revoked": ":recycle: Seat revoked (licenses removed in Genesys)",
    "provisioning": ":arrows_counterclockwise: Provisioning queued",
    "still-held": ":warning: Genesys still shows it",
    "gone": ":heavy_minus_sign: Nothing left to do",
}


def genesys_state_line(state: str | None, detail: str | None) -> str | None:
    """One line for `/license check` and the App Home; None when nothing is known."""
    if not state:
        return None
    line = STATE_TEXT.get(state, state)
    if detail and state in ("refused", "remove_refused", "waiting_user"):
        line += f": {escape(detail, formatting=False)}"
    return f"Genesys Cloud: {line}"


def genesys_status(_: LicenseRequest | None, data: GenesysStatus, tz: tzinfo) -> Message:
    icon = STATE_TEXT.get(data.state, "").split(" ", 1)[0] or ":information_source:"
    text = f"{icon} Genesys Cloud: {escape(data.text, formatting=False)}"
    return Message(f"Genesys Cloud: {data.text}", [section(text)])


def genesys_alert(_: LicenseRequest | None, data: GenesysAlert, tz: tzinfo) -> Message:
    who = f"*{escape(data.name)}* ({escape(data.email)}) · {data.seat}"
    kind = data.kind
    resolved = data.resolved
    if resolved:
        text = (
            f":white_check_mark: *Resolved* {day(resolved.at, tz)}: "
            f"{escape(resolved.text, formatting=False)}"
        )
        return Message(f"Resolved: {resolved.text}", [section(text), context(who)])
    if kind == "waiting":
        head = ":hourglass_flowing_sand: *Waiting for the Genesys user*"
        body = (
            f"{who}\nThe seat is approved, but {escape(data.email)} is not in "
            "Genesys Cloud yet. licensebot assigns the licenses once the user exists "
            "(checked daily); create the user in Genesys Cloud to speed it up."
        )
    else:
        removing = kind == "remove-refused"
        head = (
            ":warning: *Genesys Cloud did not remove the licenses*"
            if removing
            else ":x: *Genesys Cloud refused the licenses: the seat is not provisioned*"
        )
        body = f"{who}\nGenesys said: `{escape(data.message, formatting=False)}`\n" + (
            "Licenses follow roles: remove the role that implies it in Genesys Cloud, "
            "then check with `/license drift`."
            if removing
            else "Fix it in Genesys Cloud (role, permission, the user), then press "
            "*Provision* on the drift summary or run `licensebot genesys sync`."
        )
    return Message(
        head.replace("*", ""), [section(f"{head}\n{body}"), context("licensebot `genesys` alert")]
    )


def genesys_drift(_: LicenseRequest | None, data: GenesysDrift, tz: tzinfo) -> Message:
    return drift_message(data, tz, buttons=True)


def drift_message(data: GenesysDrift, tz: tzinfo, *, buttons: bool = True) -> Message:
    total = data.total
    resolved = data.resolved
    if resolved:
        text = (
            f":white_check_mark: *Resolved* {day(resolved.at, tz)}: "
            f"{escape(resolved.text, formatting=False)}"
        )
        return Message(f"Resolved: {resolved.text}", [section(text)])
    if not total:
        text = ":white_check_mark: Genesys Cloud and the ledger agree: no drift."
        return Message(text, [section(text)])
    counts = data.counts
    by_kind = " · ".join(f"{KIND_TEXT.get(k, k)} {n}" for k, n in counts.items())
    blocks: list[Block] = [
        HeaderBlock(text=f"Genesys drift: {total} difference{'s' if total != 1 else ''}"),
        section(
            f":mag: *Genesys Cloud and the ledger disagree on {total} seat"
            f"{'s' if total != 1 else ''}.* {by_kind}"
        ),
    ]
    rows = data.rows
    for row in rows:
        if len(blocks) > MAX_BLOCKS - 4:
            break
        blocks += _row(row, tz, buttons)
    footer = (
        "Adopt records a license given by hand in the ledger; Remove takes it away in "
        "Genesys (or ends a seat whose holder is gone); Provision assigns it again."
    )
    if total > len(rows):
        footer = f"The first {len(rows)} of {total} are listed. " + footer
    blocks.append(context(footer))
    return Message(
        f"Genesys drift: {total} differences between Genesys Cloud and the ledger", blocks
    )


def _row(row: DriftLine, tz: tzinfo, buttons: bool) -> list[Block]:
    kind = row.kind
    seat = f" · {row.seat}" if row.seat else ""
    line = (
        f"*{KIND_TEXT.get(kind, kind)}* · {escape(row.name)} "
        f"({escape(row.email)}){seat}\n{escape(row.detail, formatting=False)}"
    )
    done = row.done
    if done:
        text = _DONE.get(done.state, done.state)
        if done.by:
            text += f" by <@{done.by}>"
        if done.at:
            text += f" on {day(done.at, tz)}"
        if done.text:
            text += f": {escape(done.text, formatting=False)}"
        return [section(f"{line}\n{text}")]
    if not buttons:
        return [section(line)]
    elements = []
    if kind == "unmanaged":
        value = json.dumps(
            {
                "k": kind,
                "e": row.email,
                "n": row.name,
                "u": row.user_id,
                "l": list(row.licenses),
            },
            separators=(",", ":"),
        )
        elements = [
            ButtonElement(text="Adopt", action_id=ADOPT_ACTION, value=value, style="primary"),
            ButtonElement(
                text="Remove",
                action_id=REMOVE_ACTION,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Remove in Genesys?",
                    text=f"Take {', '.join(row.licenses)} away from "
                    f"{escape(row.email)} in Genesys Cloud.",
                    confirm="Remove",
                    deny="Cancel",
                ),
            ),
        ]
    else:
        value = json.dumps(
            {"k": kind, "a": row.assignment_id, "e": row.email}, separators=(",", ":")
        )
        if kind == "missing":
            elements.append(
                ButtonElement(
                    text="Provision", action_id=PROVISION_ACTION, value=value, style="primary"
                )
            )
        elements.append(
            ButtonElement(
                text="Remove",
                action_id=REMOVE_ACTION,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="End this seat?",
                    text=f"Revoke the {row.seat} seat of {escape(row.email)} "
                    "here and remove its licenses in Genesys Cloud.",
                    confirm="Remove",
                    deny="Cancel",
                ),
            )
        )
    block_id = f"genesys:{row.key or kind}"[:255]
    return [section(line), ActionsBlock(block_id=block_id, elements=elements)]
