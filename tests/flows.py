"""Steps the flow tests share: what a manager, an admin and Slack would do."""

from __future__ import annotations

import json
from typing import Any

from conftest import ADMIN, APPROVALS, MANAGER, Bot
from fakeslack import FakeSlack


async def set_pool(bot: Bot, text: str) -> None:
    reply = await bot.command(f"pool set {text}", user=ADMIN)
    assert "now has" in reply.text, reply.text


async def file_request(bot: Bot, text: str, user: str = MANAGER) -> int:
    """Files `/license request <text>` and returns the new request's id."""
    reply = await bot.command(f"request {text}", user=user)
    assert "Filed request #" in reply.text, reply.text
    return int(reply.text.split("Filed request #", 1)[1].split(":", 1)[0])


def cards(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.messages(APPROVALS) if not m.get("thread_ts")]


def card(slack: FakeSlack, request_id: int) -> dict[str, Any]:
    found = [m for m in cards(slack) if f"Seat request #{request_id}:" in m.get("text", "")]
    assert len(found) == 1, f"expected one card for #{request_id}, got {len(found)}"
    return found[0]


def thread(slack: FakeSlack, card_message: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in slack.messages(APPROVALS) if m.get("thread_ts") == card_message["ts"]]


def dms(slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    return slack.messages(f"D{user}")


def ephemerals(slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [
        c.parsed
        for c in slack.calls_to("chat.postEphemeral")
        if c.parsed.get("user") == user and not c.faulted
    ]


def text_of(message: dict[str, Any]) -> str:
    """What a person sees of a message: its text and every block's text."""
    return (
        message.get("text", "") + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)
    )


def has_buttons(message: dict[str, Any]) -> bool:
    return any(b.get("type") == "actions" for b in message.get("blocks") or [])


async def approve(bot: Bot, request_id: int, user: str = ADMIN) -> None:
    await bot.click("approve_request", str(request_id), user, message=card(bot.slack, request_id))


async def request_row(bot: Bot, request_id: int) -> Any:
    async with bot.db.read() as tx:
        return await tx.requests.get(request_id)


async def pool(bot: Bot, edition: str, item: str) -> Any:
    async with bot.db.read() as tx:
        return await tx.pools.state(edition, item)
