"""Decisions per second and ack latency: one replica on SQLite, one and three replicas on
PostgreSQL (SPEC 7 and 11).

    python bench/replicas.py [--requests 300] [--concurrency 30] [--postgres URL]

Starts, as real processes on 127.0.0.1: the fake Slack (tests/fakeslack.py) and, per
setup, `licensebot serve --http` replicas on a fresh store (a SQLite file; a throwaway
PostgreSQL database `lb_bench_<random>`, dropped afterwards, on the server `--postgres`
or LICENSEBOT_TEST_POSTGRES names). Files `--requests` requests (untimed, cards posted),
then double-clicks Approve on every card — both clicks at once, on two different replicas
where there are several — with `--concurrency` clicks in flight, spread round-robin over
the replicas, and measures each click's ack and the time until every request is decided.
Counts double decisions (a request approved twice in the audit log) over every setup.
Last line: `sqlite_dps= pg1_dps= pg3_dps= pg3_ack_p99_ms= double_decisions= errors=` (errors:
clicks not answered 200, and requests left undecided).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _procs import (
    ADMIN,
    ADMIN2,
    APPROVALS,
    MANAGER,
    SECRET,
    TESTS,
    Child,
    bot_env,
    free_port,
    percentile,
    spawn,
    start_fake_slack,
    wait_http,
)

sys.path.insert(0, str(TESTS))
from signing import SlackClient  # noqa: E402 - tests/ is not a package

from bot.store.db import Database  # noqa: E402

SETTLE_TIMEOUT_S = 180.0


def start_replicas(
    workdir: Path, slack_url: str, store: str, count: int, tag: str
) -> list[tuple[Child, str]]:
    started = []
    for n in range(count):
        port = free_port()
        child = spawn(
            f"{tag}-{n}",
            [
                sys.executable,
                "-m",
                "bot",
                "serve",
                "--http",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            bot_env(slack_url, store),  # type: ignore[arg-type]
            workdir,
        )
        started.append((child, f"http://127.0.0.1:{port}/slack/events"))
    for child, url in started:
        wait_http(child, url.replace("/slack/events", "/healthz"), timeout=60)
    return started


Card = tuple[int, str, str]  # a pending request: id, its card's channel and ts


async def prefile(urls: list[str], slack_base: str, count: int, store: str) -> list[Card]:
    clients = [SlackClient(u, SECRET) for u in urls]
    try:
        await clients[0].slash(
            "pool set premium agent 100000", ADMIN, response_url=f"{slack_base}/response/setup"
        )
        sem = asyncio.Semaphore(10)

        async def one(i: int) -> None:
            async with sem:
                await clients[i % len(clients)].slash(
                    f"request r{i}@example.com agent premium dept:Support",
                    MANAGER,
                    response_url=f"{slack_base}/response/setup{i}",
                )

        await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        for client in clients:
            await client.close()
    db = await Database.open(store)
    try:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            async with db.read() as tx:
                pending = await tx.requests.pending()
            if len(pending) >= count and all(r.card_ts for r in pending):
                return [(r.id, r.card_channel or APPROVALS, r.card_ts or "") for r in pending][
                    :count
                ]
            await asyncio.sleep(0.2)
        raise RuntimeError(f"only {len(pending)} of {count} cards were filed and posted")
    finally:
        await db.close()


async def click_burst(
    urls: list[str], cards: list[Card], concurrency: int
) -> tuple[list[float], int, float]:
    """Two clicks per request on two replicas, each on the request's own card (a click
    naming another card's request is refused); returns ack latencies (ms), errors, and
    the monotonic time of the first click."""
    shots = []
    for k, (request_id, channel, ts) in enumerate(cards):
        message = {"ts": ts, "channel": channel}
        for j, admin in enumerate((ADMIN, ADMIN2)):
            shots.append((k + j, admin, request_id, message))
    queue: asyncio.Queue[tuple[int, str, int, dict]] = asyncio.Queue()
    for shot in shots:
        queue.put_nowait(shot)
    latencies: list[float] = []
    errors = 0
    clients = [SlackClient(u, SECRET) for u in urls]

    async def worker() -> None:
        nonlocal errors
        while not queue.empty():
            replica, admin, request_id, message = queue.get_nowait()
            started = time.perf_counter()
            try:
                response = await clients[replica % len(clients)].block_action(
                    admin, "approve_request", str(request_id), message=message
                )
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status != 200
            except (OSError, TimeoutError):
                errors += 1

    started = time.monotonic()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        for client in clients:
            await client.close()
    return latencies, errors, started


async def settle(store: str, ids: list[int], started: float) -> tuple[float, int, int]:
    """Seconds until every request is decided (from `started`), how many were, and how many
    were decided twice (more than one decision in the audit log)."""
    db = await Database.open(store)
    wanted = {f"request:{i}" for i in ids}
    try:
        while True:
            async with db.read() as tx:
                decided = [
                    e.subject
                    for e in await tx.audit.recent(limit=None)
                    if e.action in ("request.approved", "request.denied") and e.subject in wanted
                ]
            counts = Counter(decided)
            if len(counts) >= len(ids) or time.monotonic() - started > SETTLE_TIMEOUT_S:
                took = time.monotonic() - started
                return took, len(counts), sum(1 for n in counts.values() if n > 1)
            await asyncio.sleep(0.05)
    finally:
        await db.close()


async def pg_database(admin_url: str, create: bool, name: str) -> None:
    import asyncpg

    from bot.store.pg import repair_url

    connection = await asyncpg.connect(repair_url(admin_url), timeout=5)
    try:
        if create:
            await connection.execute(
                f"CREATE DATABASE {name} TEMPLATE template0 "
                "ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            )
        else:
            await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await connection.close()


async def one_setup(
    args: argparse.Namespace, workdir: Path, slack_url: str, name: str, store: str, replicas: int
) -> tuple[float, float, int, int]:
    slack_base = slack_url.removesuffix("/api/")
    running = start_replicas(workdir, slack_url, store, replicas, name)
    try:
        urls = [url for _, url in running]
        cards = await prefile(urls, slack_base, args.requests, store)
        ids = [request_id for request_id, _, _ in cards]
        latencies, errors, started = await click_burst(urls, cards, args.concurrency)
        took, decided, doubles = await settle(store, ids, started)
        errors += len(ids) - decided  # a request left undecided is an error
    finally:
        for child, _ in running:
            child.stop()
    dps = decided / took if took else float("nan")
    p99 = percentile(latencies, 99)
    print(
        f"{name:<6} replicas={replicas} requests={len(ids)} clicks={len(latencies)} "
        f"decided={decided} in {took:.2f}s ({dps:.1f}/s) ack p50="
        f"{percentile(latencies, 50):.1f}ms p99={p99:.1f}ms errors={errors} "
        f"double_decisions={doubles}"
    )
    return dps, p99, doubles, errors


async def run(args: argparse.Namespace, workdir: Path) -> int:
    fake, slack_url = start_fake_slack(workdir)
    results: dict[str, tuple[float, float, int, int]] = {}
    created: list[str] = []
    try:
        results["sqlite"] = await one_setup(
            args, workdir, slack_url, "sqlite", str(workdir / "bench.db"), 1
        )
        if args.postgres:
            base = args.postgres.rsplit("/", 1)[0]
            for label, count in (("pg1", 1), ("pg3", 3)):
                name = f"lb_bench_{secrets.token_hex(4)}"
                await pg_database(args.postgres, True, name)
                created.append(name)
                results[label] = await one_setup(
                    args, workdir, slack_url, label, f"{base}/{name}", count
                )
        else:
            print("PostgreSQL not configured: set LICENSEBOT_TEST_POSTGRES or --postgres")
    finally:
        fake.stop()
        for name in created:
            await pg_database(args.postgres, False, name)
    nan = (float("nan"), float("nan"), 0, 0)
    doubles = sum(r[2] for r in results.values())
    errors = sum(r[3] for r in results.values())
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(
        f"sqlite_dps={results['sqlite'][0]:.1f} pg1_dps={results.get('pg1', nan)[0]:.1f} "
        f"pg3_dps={results.get('pg3', nan)[0]:.1f} "
        f"pg3_ack_p99_ms={results.get('pg3', nan)[1]:.1f} double_decisions={doubles} "
        f"errors={errors}"
    )
    return 0 if doubles == 0 and errors == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="requests to decide")
    parser.add_argument("--concurrency", type=int, default=30, help="clicks in flight")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LICENSEBOT_TEST_POSTGRES"),
        help="PostgreSQL server (an admin URL: a database is created there)",
    )
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 1000:
        parser.error("--requests must be 1..100000 and --concurrency 1..1000")
    with tempfile.TemporaryDirectory(prefix="licensebot-replicas-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
