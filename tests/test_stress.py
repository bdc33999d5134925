"""Concurrent decisions through HTTP: many pending requests, 8 simultaneous actions on
each (approve and deny, buttons, the deny modal and thread replies, admins and not) →
each request decided exactly once, seat counts exact, one thread reply and one DM per
decision, and never a seat past the overage allowance."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from conftest import ADMIN, ADMIN2, APPROVALS, MANAGER, OUTSIDER, Bot
from flows import card, dms, ephemerals, has_buttons, pool, set_pool, text_of, thread
from slow import size

from bot.licensing.requests import RequestStatus

pytestmark = pytest.mark.heavy  # `pytest -m heavy` (CI runs it)

ADMINS = (ADMIN, ADMIN2)
Action = Callable[[], Awaitable[object]]


async def _file_many(bot: Bot, count: int, prefix: str) -> list[int]:
    """`count` requests filed concurrently by the manager; returns their ids."""
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with sem:
            response = await bot.client.slash(
                f"request {prefix}{i}@example.com agent premium dept:Support",
                MANAGER,
                response_url=bot.slack.response_url(f"f{i}"),
            )
            assert response.status == 200

    await asyncio.gather(*(one(i) for i in range(count)))
    await bot.settle()
    async with bot.db.read() as tx:
        pending = await tx.requests.pending()
    assert len(pending) == count and all(r.card_ts for r in pending)
    return [r.id for r in pending]


async def _fire(bot: Bot, actions: list[Action], concurrency: int = 64) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(action: Action) -> None:
        async with sem:
            response = await action()
            assert getattr(response, "status", 200) == 200, response

    await asyncio.gather(*(one(a) for a in actions))
    await bot.settle()
    await bot.deps.deliver()


def _actions(bot: Bot, request_id: int, rng: random.Random) -> tuple[list[Action], bool]:
    """Eight simultaneous actions on one request; the first is always an admin's decision.
    Returns them and whether any admin denies."""
    posted = card(bot.slack, request_id)
    client = bot.client

    def approve(user: str) -> Action:
        return lambda: client.block_action(user, "approve_request", str(request_id), message=posted)

    def deny(user: str) -> Action:
        values = {"reason": {"value": {"type": "plain_text_input", "value": "over budget"}}}
        return lambda: client.view_submission(
            user, "deny_reason", values, private_metadata=str(request_id)
        )

    def deny_click(user: str) -> Action:
        return lambda: client.block_action(user, "deny_request", str(request_id), message=posted)

    def reply(user: str, text: str) -> Action:
        event = {
            "type": "message",
            "channel": APPROVALS,
            "user": user,
            "text": text,
            "ts": f"1800000000.{rng.randrange(10**6):06d}",
            "thread_ts": posted["ts"],
        }
        return lambda: client.event(event)

    kinds = [rng.choice(("approve", "deny"))] + [
        rng.choice(("approve", "deny", "deny_click", "reply_approve", "reply_deny"))
        for _ in range(7)
    ]
    actions: list[Action] = []
    admin_denies = False
    for i, kind in enumerate(kinds):
        user = rng.choice(ADMINS) if i == 0 or rng.random() < 0.7 else OUTSIDER
        admin_denies |= user != OUTSIDER and kind in ("deny", "reply_deny")
        actions.append(
            {
                "approve": lambda u=user: approve(u),
                "deny": lambda u=user: deny(u),
                "deny_click": lambda u=user: deny_click(u),
                "reply_approve": lambda u=user: reply(u, "approve"),
                "reply_deny": lambda u=user: reply(u, "deny over budget"),
            }[kind]()
        )
    return actions, admin_denies


async def test_concurrent_mixed_decisions_decide_each_request_exactly_once(bot: Bot) -> None:
    count = size(100, 500)
    await set_pool(bot, f"premium agent {count}")
    ids = await _file_many(bot, count, "hire")
    rng = random.Random(20261130)
    actions = [a for request_id in ids for a in _actions(bot, request_id, rng)[0]]
    rng.shuffle(actions)
    await _fire(bot, actions)

    async with bot.db.read() as tx:
        stored = [await tx.requests.get(i) for i in ids]
        decisions = Counter(
            e.subject
            for e in await tx.audit.recent(limit=None)
            if e.action in ("request.approved", "request.denied")
        )
        active = await tx.assignments.list_active()
    assert all(
        r is not None and r.status in (RequestStatus.APPROVED, RequestStatus.DENIED) for r in stored
    )
    assert decisions == Counter({f"request:{i}": 1 for i in ids})
    assert all(r.decided_by in ADMINS for r in stored if r)
    approved = {r.email for r in stored if r and r.status is RequestStatus.APPROVED}
    assert {a.email for a in active} == approved
    assert (await pool(bot, "premium", "agent")).used == len(approved)

    dm_ids = Counter(
        int(m)
        for d in dms(bot.slack, MANAGER)
        for m in re.findall(r"Your request #(\d+)", d["text"])
    )
    assert dm_ids == Counter({i: 1 for i in ids})
    for request in stored:
        assert request is not None
        posted = card(bot.slack, request.id)
        replies = [
            m
            for m in thread(bot.slack, posted)
            if f"Request #{request.id} {request.status.value}" in m["text"]
        ]
        assert len(replies) == 1, (request.id, thread(bot.slack, posted))
        final = [u for u in bot.slack.updates(APPROVALS) if u["ts"] == posted["ts"]][-1]
        assert not has_buttons(final) and request.status.value in text_of(final).lower()
    assert all("Only license admins" in e["text"] for e in ephemerals(bot.slack, OUTSIDER))


async def test_concurrent_approvals_never_pass_the_overage_allowance(bot: Bot) -> None:
    # 20 seats and the minimum 10 % allowance (2): 22 seats at most, whatever the race.
    await set_pool(bot, "premium agent 20")
    ids = await _file_many(bot, size(30, 120), "tight")
    actions = []
    for request_id in ids:
        posted = card(bot.slack, request_id)
        actions += [
            lambda r=request_id, p=posted, u=ADMINS[k % 2]: bot.client.block_action(
                u, "approve_request", str(r), message=p
            )
            for k in range(8)
        ]
    random.Random(7).shuffle(actions)
    await _fire(bot, actions)

    async with bot.db.read() as tx:
        stored = [await tx.requests.get(i) for i in ids]
        approvals = Counter(
            e.subject for e in await tx.audit.recent(limit=None) if e.action == "request.approved"
        )
    approved = [r for r in stored if r and r.status is RequestStatus.APPROVED]
    assert len(approved) == 22
    assert all(r and r.status is RequestStatus.PENDING for r in stored if r not in approved)
    assert set(approvals.values()) == {1} and len(approvals) == 22
    assert (await pool(bot, "premium", "agent")).used == 22
    told = [e["text"] for e in ephemerals(bot.slack, ADMIN) + ephemerals(bot.slack, ADMIN2)]
    assert any("overage allowance of 2" in t for t in told)
