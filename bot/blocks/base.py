"""What every message shares: escaping of user text and the 50-block limit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.clock import local_day

MAX_BLOCKS = 50  # Slack's per-message limit; slack_sdk does not check it
MAX_SECTION_TEXT = 3000

_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_FORMATTING = re.compile(r"([*_~`])")


def escape(text: str | None, *, formatting: bool = True) -> str:
    """User text made inert for mrkdwn: no mentions, links, broadcasts (or formatting)."""
    if not text:
        return ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _BROADCAST.sub(lambda m: "@\u200b" + m.group(1), text)
    if not formatting:
        return text
    # A zero-width space after each formatting mark keeps `*x*` or `_x_` from pairing up.
    return _FORMATTING.sub("\\1\u200b", text)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(at: datetime | None, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if at else "—"


def day(at: datetime | str | None, tz: tzinfo) -> str:
    return local_day(at, tz)


@dataclass
class Message:
    """A message or ephemeral reply: fallback text plus Block Kit blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.blocks) > MAX_BLOCKS:
            raise ValueError(f"{len(self.blocks)} blocks: Slack allows {MAX_BLOCKS} per message")

    def payload(self) -> dict[str, Any]:
        return {"text": clip(self.text, 3000), "blocks": [b.to_dict() for b in self.blocks]}


def section(markdown: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(markdown, MAX_SECTION_TEXT)))


def context(markdown: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(markdown, MAX_SECTION_TEXT))])


def simple(markdown: str) -> Message:
    """A one-section reply."""
    return Message(markdown, [section(markdown)])


def error_reply(problem: str, usage: str | None = None) -> Message:
    # Errors quote what was typed: mentions and links are neutralised, code marks kept.
    text = f":warning: {escape(problem, formatting=False)}"
    if usage:
        text += f"\nUsage: `{escape(usage, formatting=False)}`"
    return simple(text)
