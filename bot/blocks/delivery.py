"""Failed deliveries, as admins see them: App Home lines with Retry, and the alert."""

from __future__ import annotations

from datetime import tzinfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock

from bot.blocks.base import Message, clip, context, escape, section, when
from bot.licensing.messages import DeliveryFailed, MessageKind
from bot.licensing.requests import LicenseRequest
from bot.licensing.views import FailedDelivery

RETRY_ACTION = "retry_delivery"

_WHAT: dict[str, str] = {
    MessageKind.REQUEST_CARD: "request card",
    MessageKind.DECISION_REPLY: "decision reply",
    MessageKind.DECISION_DM: "decision DM",
    "home": "App Home refresh",
}


def _what(template: str, request_id: int | None) -> str:
    label = _WHAT.get(template, template.replace("_", " "))
    return f"{label} for #{request_id}" if request_id is not None else label


def _where(where: str) -> str:
    if not where:
        return "the approvals channel"
    if where[:1] in ("U", "W"):
        return f"<@{where}>"
    return f"<#{where}>"


def failed_line(failed: FailedDelivery, tz: tzinfo) -> str:
    reason = "left Slack" if failed.gone else escape(failed.error, formatting=False)
    return clip(
        f"• {_what(failed.what, failed.request_id)} to {_where(failed.where)}: {reason} · "
        f"{when(failed.failed_at, tz)}",
        280,
    )


def failed_deliveries_blocks(failed: list[FailedDelivery], total: int, tz: tzinfo) -> list[Block]:
    """The App Home section: one line per failed message, Retry under the ones that may
    go through after a fix (a gone recipient never will)."""
    if not total:
        return []
    blocks: list[Block] = [HeaderBlock(text=f"Messages not delivered ({total})")]
    for item in failed:
        blocks.append(section(failed_line(item, tz)))
        if not item.gone:
            blocks.append(
                ActionsBlock(
                    block_id=f"retry_delivery:{item.id}",
                    elements=[
                        ButtonElement(text="Retry", action_id=RETRY_ACTION, value=str(item.id))
                    ],
                )
            )
    if total > len(failed):
        blocks.append(context(f"and {total - len(failed)} more"))
    return blocks


def delivery_failed_alert(_: LicenseRequest | None, data: DeliveryFailed, tz: tzinfo) -> Message:
    """The alerts-channel message for messages Slack refused for good."""
    count = data.count
    lines = []
    for item in data.failures:
        where = _where(item.where)
        lines.append(
            f"• {_what(item.what, None)} to {where}: {escape(item.error, formatting=False)}"
        )
    if count > len(lines):
        lines.append(f"and {count - len(lines)} more")
    head = f":warning: *{count} message{'s' if count != 1 else ''} could not be delivered*"
    return Message(
        f"{count} message(s) could not be delivered",
        [
            section(head + "\n" + "\n".join(lines)),
            context("Kept in the outbox: fix the cause, then Retry them from the App Home."),
        ],
    )
