"""The one listener pipeline (bot/commands/pipeline.py) and `app.error`: an unexpected
error is logged once with its request and the person is told briefly, where Slack gives a
response_url; the work after the ack is tracked until it ends."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from conftest import MANAGER, Bot

from bot.commands.pipeline import UNEXPECTED, Incoming, Route, mount
from bot.context import Deps


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("listener failed")]


async def test_an_unexpected_error_is_logged_once_and_told(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.slack.fail("views.open", error="internal_error")
    with caplog.at_level(logging.ERROR):
        response = await bot.client.block_action(
            MANAGER, "home_new_request", "new", response_url=bot.slack.response_url("boom")
        )
        await bot.settle()
    assert response.status == 200  # acked before the failure
    assert [r.get("text") for r in bot.slack.responses("boom")] == [UNEXPECTED]
    assert "nothing was changed" in UNEXPECTED
    [record] = _failures(caplog)
    assert record.exc_info is not None and "internal_error" in record.getMessage()


async def test_without_a_response_url_the_error_is_only_logged(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.slack.fail("views.open", error="internal_error")
    with caplog.at_level(logging.ERROR):
        response = await bot.client.block_action(MANAGER, "home_new_request", "new")
        await bot.settle()
    assert response.status == 200
    assert bot.slack.responses() == []
    assert len(_failures(caplog)) == 1


async def test_an_error_in_a_middleware_reaches_app_error(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(body: dict, next: object) -> None:  # noqa: A002 - Bolt's name
        raise RuntimeError("middleware broke")

    bot.service.app.middleware(broken)
    with caplog.at_level(logging.ERROR):
        await bot.client.block_action(
            MANAGER, "home_new_request", "new", response_url=bot.slack.response_url("mw")
        )
        await bot.settle()
    assert [r.get("text") for r in bot.slack.responses("mw")] == [UNEXPECTED]
    assert [r.getMessage() for r in _failures(caplog)] == ["listener failed: middleware broke"]
    assert bot.slack.calls_to("views.open") == []  # the listener never ran


async def test_work_after_the_ack_is_in_flight_until_it_ends(bot: Bot) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(deps: Deps, incoming: Incoming) -> None:
        started.set()
        await release.wait()

    mount(bot.service.app, bot.deps, [Route.action("test_slow", slow)])
    response = await bot.client.block_action(MANAGER, "test_slow", "x")
    assert response.status == 200  # acked while the listener still works
    await asyncio.wait_for(started.wait(), 5)
    idle = asyncio.ensure_future(bot.deps.inflight.wait_idle())
    await asyncio.sleep(0)
    assert not idle.done()
    release.set()
    await asyncio.wait_for(idle, 5)


async def test_the_work_after_an_ack_waits_while_requests_wait_for_theirs(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acks first (bot/ack_first.py) on the real app: with another request waiting for
    its ack and the work's share spent, `/license help` is acked at once and its reply
    waits; once the requests are acked the reply comes."""
    first = bot.deps.ack_first
    now = [time.perf_counter()]
    monkeypatch.setattr(first, "_now", lambda: now[0])  # the injected clock, frozen
    with first.arriving():  # a request still waiting for its ack
        first.spent(1.0)  # the work's share is spent
        response = await bot.client.slash(
            "help", MANAGER, response_url=bot.slack.response_url("held")
        )
        assert response.status == 200  # acked
        for _ in range(1000):
            if first.waiting:
                break
            await asyncio.sleep(0)
        assert first.waiting == 1  # the reply's first step after the ack, held
        assert bot.slack.responses("held") == []
    now[0] += first.QUIET_S  # nothing arriving nor waiting since
    first.wake()
    await bot.settle()
    [reply] = bot.slack.responses("held")
    assert "/license request" in str(reply)
