"""Steps the job and alert tests share: seats through the real app, job runs, and what
the alerts channel shows."""

from __future__ import annotations

import json
from typing import Any

from conftest import ADMIN, ALERTS, Bot

from bot.jobs.runner import Rendered, RunResult, execute, run_jobs


async def assign(bot: Bot, text: str) -> None:
    reply = await bot.command(f"assign {text}", user=ADMIN)
    assert "now holds" in reply.text, reply.text


async def revoke(bot: Bot, who: str) -> None:
    reply = await bot.command(f"revoke {who}", user=ADMIN)
    assert "Revoked" in reply.text, reply.text


async def run(bot: Bot, *names: str, dry_run: bool = False) -> list[Rendered]:
    """Run jobs as of the bot's clock, as `licensebot jobs run` and the scheduler do."""
    return await run_jobs(bot.deps, names or None, dry_run=dry_run)


async def run_result(bot: Bot, *names: str) -> RunResult:
    return await execute(bot.deps, names or None)


def alerts(bot: Bot) -> list[dict[str, Any]]:
    """Messages posted in the alerts channel (updates are `bot.slack.updates(ALERTS)`)."""
    return bot.slack.messages(ALERTS)


def shown(message: dict[str, Any]) -> str:
    return (
        message.get("text", "") + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)
    )


def payload(message: dict[str, Any]) -> dict[str, Any]:
    """What was posted, in the shape `Rendered.payload()` has."""
    return {"text": message["text"], "blocks": message["blocks"]}


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(action_id, value) of every button in the message."""
    found = []
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                found.append((element["action_id"], element.get("value", "")))
    return found


async def outbox_pending(bot: Bot) -> int:
    async with bot.db.read() as tx:
        return await tx.outbox.pending_count()
