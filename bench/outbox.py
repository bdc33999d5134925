"""Outbox delivery under Slack's pacing (issue 11, SPEC 7).

A fake Slack (tests/fakeslack.py, in this process) allows chat.postMessage at RATE per
second per channel and answers 429 + Retry-After beyond it. 1,000 bulk alerts are queued
across CHANNELS channels and the deliverer (bot.delivery, as `serve` runs it) delivers
them in the background; meanwhile, every few seconds a new request is filed and its card
delivered as a listener does. Printed:

- the delivered rate over the window against the rate Slack allowed in it
  (channels x (burst + rate x seconds)): outbox_rate_ratio;
- the longest time a card waited (filed to posted) while the alerts were queued:
  card_wait_s.

    .venv/bin/python bench/outbox.py [--seconds 20] [--channels 4] [--rate 1]

The last line is exactly `outbox_rate_ratio=<x.xx> card_wait_s=<x.xx>`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fakeslack import FakeSlack  # noqa: E402 - tests/ is not a package

from bot.app import build_deps  # noqa: E402
from bot.licensing.messages import DeliveryFailed, FailedItem, MessageKind  # noqa: E402
from bot.licensing.requests import Person, SeatRequest  # noqa: E402
from bot.services.requests import file_request  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.store.outbox import OutboxTarget  # noqa: E402

APPROVALS = "C0APPROVALS"
ALERTS = "C0ALERTS"
FAKE_BURST = 1.0  # Slack's tolerance for bursts is not documented: assume none


async def measure(
    seconds: float = 20.0, channels: int = 4, rate: float = 1.0, alerts: int = 1000
) -> tuple[float, float]:
    """(outbox_rate_ratio, card_wait_s): see the module docstring."""
    fake = FakeSlack()
    await fake.start()
    fake.rate_limit("chat.postMessage", rate, burst=FAKE_BURST)
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            _env_file=None,
            slack_bot_token="xoxb-bench-token",
            slack_signing_secret="bench-secret",
            slack_api_url=fake.url,
            database=Path(folder) / "outbox.db",
            approvals_channel=APPROVALS,
            alerts_channel=ALERTS,
            admins="U0ADMIN",
        )
        deps = await build_deps(settings)
        bulk = [ALERTS] + [f"C0DIGEST{i}" for i in range(1, channels)]
        async with deps.db.transaction() as tx:
            for i in range(alerts):
                await tx.outbox.enqueue(
                    OutboxTarget.CHANNEL,
                    MessageKind.DELIVERY_FAILED,
                    deps.clock.now(),
                    channel=bulk[i % len(bulk)],
                    key=f"bench:{i}",
                    data=DeliveryFailed(count=1, failures=(FailedItem(what="bench", where="C1"),)),
                )
        started = time.monotonic()
        background = asyncio.create_task(deps.deliverer.flush())
        waits: list[float] = []
        filed = 0
        while time.monotonic() - started < seconds - 2:
            await asyncio.sleep(2.5)
            filed += 1
            at = time.monotonic()
            request = await file_request(
                deps.db,
                deps.rules,
                SeatRequest(
                    Person(f"hire{filed}@example.com", None, f"Hire {filed}"), "agent", "premium"
                ),
                requester_id="U0MANAGER",
                email=f"hire{filed}@example.com",
                name=f"Hire {filed}",
                slack_user_id=None,
                approvals_channel=APPROVALS,
                now=deps.clock.now(),
            )
            await deps.deliver()  # what the listener does after filing
            await fake.wait_for(
                "chat.postMessage",
                lambda c, rid=request.id: (
                    c.args.get("channel") == APPROVALS and f"#{rid}:" in str(c.args.get("text", ""))
                ),
                timeout=30,
            )
            waits.append(time.monotonic() - at)
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
        elapsed = time.monotonic() - started
        posted = [
            c
            for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") in bulk and not c.faulted
        ]
        limited = sum(1 for c in fake.calls_to("chat.postMessage") if c.faulted)
        background.cancel()
        try:
            await background
        except asyncio.CancelledError:
            pass
        await deps.db.close()
        await fake.stop()
    allowed = len(bulk) * (FAKE_BURST + rate * elapsed)
    ratio = len(posted) / allowed
    print(
        f"{len(posted)} alerts delivered in {elapsed:.1f}s over {len(bulk)} channels "
        f"(allowed {allowed:.0f} at {rate:g}/s/channel; {limited} answered 429); "
        f"{len(waits)} cards, waits {', '.join(f'{w:.2f}' for w in waits)} s"
    )
    return ratio, max(waits) if waits else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--rate", type=float, default=1.0, help="posts per second per channel")
    parser.add_argument("--alerts", type=int, default=1000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    ratio, wait = asyncio.run(measure(args.seconds, args.channels, args.rate, args.alerts))
    print(f"outbox_rate_ratio={ratio:.2f} card_wait_s={wait:.2f}")


if __name__ == "__main__":
    main()
