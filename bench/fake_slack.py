"""tests/fakeslack.py in a process of its own, for the benches: `python bench/fake_slack.py
--port P` serves the fake Web API at http://127.0.0.1:P/api/ until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fakeslack import FakeSlack  # noqa: E402 - tests/ is not a package

USERS = (
    ("U0ADMIN", "ada@example.com", "Ada Admin"),
    ("U0ADMIN2", "bob@example.com", "Bob Admin"),
    ("U0MANAGER", "maya@example.com", "Maya Manager"),
    ("U0OUTSIDER", "otto@example.com", "Otto Outsider"),
    ("U07NINA", "nina@example.com", "Nina Novak"),
)


async def main(port: int) -> None:
    fake = FakeSlack()
    await fake.start(port)
    for user_id, email, name in USERS:
        fake.add_user(user_id, email, name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        # Nobody reads the calls back here: forget them instead of growing without bound.
        fake.calls.clear()
        fake.uploads.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=5)
    await fake.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
