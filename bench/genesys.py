"""Genesys Cloud sync at scale (SPEC 7, 8): 50,000 users and their licenses.

    python bench/genesys.py [--users 50000] [--rate 300] [--concurrency 10]

Starts, as real processes on 127.0.0.1: the fake Genesys Cloud (tests/fakegenesys.py,
`--users` users: most hold the license their ledger seat maps to, some only sign in with
SSO tokens, 2 % are missing a license, 1 % hold one by hand), the fake Slack, and
`licensebot serve --http` on a ledger of the same seats. The serve process's scheduler runs
the `genesys` job at start (its hourly period is made due), while this process fires signed
`/license help` commands at it and times each ack. When the job has run, the fake's own
record of the calls gives the requests used and the busiest 60-second window.

The budget is GENESYS_RATE_PER_MINUTE (`--rate`, default the real 300). A sync of 50,000
users needs about 600 requests, so at 300/minute it takes a little over two minutes; pass a
larger `--rate` to make it shorter (the limiter is the same; the window stays 60 s).
Last line: `genesys_requests_per_1000=<n> busiest_window=<n>/<budget> ack_p99_during_sync_ms=<x>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sqlite3
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _procs import (
    ADMIN,
    SECRET,
    TESTS,
    bot_env,
    free_port,
    percentile,
    spawn,
    start_fake_slack,
    wait_http,
)

sys.path.insert(0, str(TESTS))
from fakegenesys import CLIENT_ID, CLIENT_SECRET, FakeGenesys  # noqa: E402
from genesys_env import mapped_catalog  # noqa: E402
from signing import SlackClient  # noqa: E402

from bot.store.assignments import NewSeat  # noqa: E402
from bot.store.db import Database  # noqa: E402

NOW = datetime.now(UTC)


def seat_modules(i: int) -> tuple[str, ...]:
    return ("wfo",) if i % 10 == 0 else ()


# --- the fake, in a process of its own ----------------------------------------------


async def serve_fake(port: int, users: int) -> None:
    fake = FakeGenesys()
    recent = (NOW - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    for i in range(users):
        held: tuple[str, ...] = () if i % 50 == 0 else ("cloudCX3",)  # 2 % missing
        if seat_modules(i) and held:
            held += ("wem",)
        sso = i % 2 == 0
        fake.add_user(
            f"g{i:06d}",
            f"user{i:06d}@bench.example",
            f"User {i}",
            last_login=None if sso else recent,
            last_token=recent if sso else None,
            licenses=held,
        )
    for i in range(users // 100):  # 1 %: licenses given by hand, no seat in the ledger
        fake.add_user(f"h{i:06d}", f"hand{i:06d}@bench.example", licenses=("cloudCX3",))
    await fake.start(port)
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.stop()


# --- the ledger ------------------------------------------------------------------------


async def seed(database: Path, users: int) -> None:
    db = await Database.open(database)
    try:
        async with db.transaction() as tx:
            await tx.pools.set("premium", "agent", "seat", users + 1000, None, NOW)
            await tx.pools.set("premium", "wfo", "module", users // 10 + 100, None, NOW)
            await tx.assignments.add_many(
                [
                    NewSeat(
                        f"user{i:06d}@bench.example",
                        f"User {i}",
                        "premium",
                        "agent",
                        NOW - timedelta(days=90),
                        modules=seat_modules(i),
                    )
                    for i in range(users)
                ]
            )
            # The hourly `genesys` job has a missed period: serve runs it at start.
            await tx.job_runs.seen("genesys", NOW - timedelta(hours=2))
    finally:
        await db.close()


def genesys_ran(database: Path) -> tuple[bool, str | None]:
    """Read-only, without migrating or locking: the serve process owns the database."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        row = connection.execute(
            "SELECT last_attempt_at, last_status FROM job_runs WHERE name = 'genesys'"
        ).fetchone()
    finally:
        connection.close()
    if row is None or row[0] is None:
        return False, None
    return True, row[1]


def stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_stats?window=60", timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


# --- the load while it syncs -------------------------------------------------------------


async def fire(url: str, slack_api: str, concurrency: int, done: asyncio.Event) -> list[float]:
    client = SlackClient(url, SECRET)
    latencies: list[float] = []
    response_url = slack_api.replace("/api/", "/response/bench")

    async def worker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            with contextlib.suppress(Exception):
                response = await client.slash("help", ADMIN, response_url=response_url)
                if response.status == 200:
                    latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.02)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.close()
    return latencies


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-genesys-") as folder:
        workdir = Path(folder)
        database = workdir / "bench.db"
        started = time.monotonic()
        await seed(database, args.users)
        print(f"ledger: {args.users:,} seats seeded in {time.monotonic() - started:.1f}s")
        port = free_port()
        fake = spawn(
            "fakegenesys",
            [sys.executable, __file__, "--serve-fake", str(port), "--users", str(args.users)],
            {},
            workdir,
        )
        genesys_url = f"http://127.0.0.1:{port}"
        slack, slack_api = start_fake_slack(workdir)
        bot = None
        try:
            wait_http(fake, f"{genesys_url}/_stats", timeout=300)
            print(f"fake Genesys: {stats(genesys_url)['users']:,} users")
            bot_port = free_port()
            env = {
                **bot_env(slack_api, database),
                "GENESYS_CLIENT_ID": CLIENT_ID,
                "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
                "GENESYS_API_URL": genesys_url,
                "GENESYS_LOGIN_URL": genesys_url,
                "GENESYS_RATE_PER_MINUTE": str(args.rate),
                "LICENSEBOT_CATALOG": str(mapped_catalog(workdir)),
            }
            bot = spawn(
                "licensebot",
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "serve",
                    "--http",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(bot_port),
                ],
                env,
                workdir,
            )
            wait_http(bot, f"http://127.0.0.1:{bot_port}/healthz", timeout=120)
            sync_started = time.monotonic()
            done = asyncio.Event()
            load = asyncio.create_task(
                fire(f"http://127.0.0.1:{bot_port}/slack/events", slack_api, args.concurrency, done)
            )
            status = None
            while time.monotonic() - sync_started < args.timeout:
                ran, status = genesys_ran(database)
                if ran:
                    break
                await asyncio.sleep(1.0)
            done.set()
            latencies = await load
            took = time.monotonic() - sync_started
            if status != "ok":
                print(f"genesys job did not finish ok: {status}\n{bot.tail()}", file=sys.stderr)
                return 1
            found = stats(genesys_url)
        finally:
            if bot is not None:
                bot.stop()
            slack.stop()
            fake.stop()
        warm = latencies[20:] or latencies
        per_1000 = found["api_calls"] / (args.users / 1000)
        p99 = percentile(warm, 99)
        print(
            f"sync: {took:.1f}s, {found['api_calls']} API requests + {found['token_calls']} "
            f"token request(s), {found['rate_limited']} answered 429"
        )
        usable = args.rate - args.rate // 10  # the sync leaves a tenth to provisioning
        windows = max(1, -(-(found["api_calls"] + found["token_calls"]) // usable))
        print(
            f"requests per 1,000 users: {per_1000:.1f}; at {usable} of the {args.rate}/minute "
            f"budget the sync of {args.users:,} users needs {windows} window(s) of 60 s"
        )
        print(
            f"busiest 60-second window: {found['busiest_window']} requests "
            f"(budget {args.rate}/minute{'' if args.rate == 300 else ', scaled up from 300'})"
        )
        print(
            f"acks during the sync: {len(latencies)} (first 20 dropped as warm-up), "
            f"p50 {percentile(warm, 50):.1f} ms, p99 {p99:.1f} ms"
        )
        print(
            f"genesys_requests_per_1000={per_1000:.1f} "
            f"busiest_window={found['busiest_window']}/{args.rate} "
            f"ack_p99_during_sync_ms={p99:.1f}"
        )
        return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=300, help="GENESYS_RATE_PER_MINUTE")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--serve-fake", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_fake:
        asyncio.run(serve_fake(arguments.serve_fake, arguments.users))
        raise SystemExit(0)
    raise SystemExit(asyncio.run(main(arguments)))
