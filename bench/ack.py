"""Ack latency of `licensebot serve --http` against a bare Bolt app (SPEC 7).

    python bench/ack.py [--requests 1000] [--concurrency 50] [--rounds 4] [--seed 7]
                        [--assignments 100000] [--audit 100000]

Starts, as real processes on 127.0.0.1: the fake Slack (tests/fakeslack.py), licensebot on
a database of `--assignments` active seats with `--audit` audit entries of history, and
bench/bare_app.py (a Bolt app that only acks). Both apps are started, then warmed with
the same first requests (their cold start is reported on a line of its own); then the
same signed mix — help, pool, requests, request filing, approve clicks on cards filed
beforehand, users, check, report — is fired at each in `--rounds` interleaved rounds
(bare then licensebot, then the other way round), `--concurrency` requests in flight,
measuring the time from sending a request to its HTTP response (the ack). During
licensebot's middle round every scheduled job runs inside the measured process (SIGUSR1:
`licensebot jobs run` in `serve`, then its delivery); that round goes on (help, pool,
requests, users, check, a report in every 51) until the jobs have run, and those acks
count as licensebot's too (the bare app gets none: the ratio is the harder one for
licensebot). Afterwards licensebot must finish the work it started after each ack (every
approval decided, the outbox drained, no error in its log: a listener that fails after
its ack answers 200 all the same).
Last line (warm figures): `ack_p99_ms=<x> bare_p99_ms=<y> ack_p99_ratio=<x/y>
ack_max_ms=<m> errors=<n>`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _procs import (
    ADMIN,
    ADMIN2,
    APPROVALS,
    MANAGER,
    SECRET,
    TESTS,
    Child,
    free_port,
    peak_mb,
    percentile,
    spawn,
    start_fake_slack,
    start_licensebot,
    wait_http,
)

sys.path.insert(0, str(TESTS))
from signing import Response, SlackClient  # noqa: E402 - tests/ is not a package

from bot.licensing.requests import RequestStatus  # noqa: E402
from bot.store.assignments import NewSeat  # noqa: E402
from bot.store.db import Database  # noqa: E402

KINDS = ("help", "pool", "requests", "file", "approve", "users", "check", "report")
WARM_KINDS = ("help", "pool", "requests", "users", "check")
JOBS_KINDS = (*WARM_KINDS * 10, "report")  # while the jobs run: a report in every 51
JOBS_EXTRA_MAX = 1000  # requests the jobs round may go on for
REQUEST_TIMEOUT_S = 10.0
SETTLE_TIMEOUT_S = 120.0


class TimedClient(SlackClient):
    """tests/signing.py's client (signed exactly as Slack signs), timing each POST."""

    def __init__(self, url: str) -> None:
        super().__init__(url, SECRET)
        self.latencies_ms: list[float] = []
        self.errors: list[str] = []

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> Response:
        started = time.perf_counter()
        response = await super().post_raw(body, headers)
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            self.errors.append(f"HTTP {response.status}: {response.text[:100]}")
        return response


Shot = tuple[str, Callable[[SlackClient], Awaitable[object]]]


@dataclass
class Mix:
    shots: list[Shot] = field(default_factory=list)
    approvals: int = 0


def build_mix(
    count: int,
    seed: int,
    slack_base: str,
    request_ids: list[tuple[int, str, str]],
    tag: str,
    kinds_used: tuple[str, ...] = KINDS,
) -> Mix:
    rng = random.Random(seed)
    kinds = [kinds_used[i % len(kinds_used)] for i in range(count)]
    rng.shuffle(kinds)
    mix = Mix()
    ids = iter(request_ids)
    for i, kind in enumerate(kinds):
        url = f"{slack_base}/response/{tag}{i}"
        if kind == "approve":
            request_id, card_channel, card_ts = next(ids)
            admin = ADMIN if i % 2 else ADMIN2
            # The click comes from the request's own card (a click naming another
            # card's request is refused).
            message = {"ts": card_ts, "channel": card_channel or APPROVALS}
            mix.shots.append((kind, _click(admin, request_id, message)))
            mix.approvals += 1
        else:
            text = {
                "help": "help",
                "pool": "pool",
                "requests": "requests",
                "file": f"request {tag}{i}@example.com agent premium dept:Support bench hire",
                "users": "users",
                "check": "check nina@example.com",
                "report": "report status",
            }[kind]
            user = MANAGER if kind in ("help", "requests", "file") else ADMIN
            mix.shots.append((kind, _slash(text, user, url)))
    return mix


def _slash(text: str, user: str, url: str) -> Callable[[SlackClient], Awaitable[object]]:
    return lambda client: client.slash(text, user, response_url=url)


def _click(user: str, request_id: int, message: dict) -> Callable[[SlackClient], Awaitable[object]]:
    return lambda client: client.block_action(
        user, "approve_request", str(request_id), message=message
    )


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    warm_ms: list[float] = field(default_factory=list)  # after the first 2 x concurrency
    errors: list[str] = field(default_factory=list)


async def fire(url: str, shots: list[Shot], concurrency: int) -> Results:
    """Send every shot, `concurrency` at a time (one keep-alive connection per worker)."""
    results = Results()
    queue: asyncio.Queue[tuple[int, Shot]] = asyncio.Queue()
    for index, shot in enumerate(shots):
        queue.put_nowait((index, shot))

    async def worker() -> None:
        client = TimedClient(url)
        try:
            while not queue.empty():
                index, (kind, send) = queue.get_nowait()
                sent = len(client.latencies_ms)
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT_S):
                        await send(client)
                except (TimeoutError, OSError) as error:
                    client.errors.append(f"{type(error).__name__}: {error}")
                if len(client.latencies_ms) > sent:
                    results.by_kind.setdefault(kind, []).append(client.latencies_ms[-1])
                    if index >= 2 * concurrency:
                        results.warm_ms.append(client.latencies_ms[-1])
        finally:
            await client.close()
        results.latencies_ms += client.latencies_ms
        results.errors += client.errors

    # The sender's own garbage collections are not either app's latency: a full one here
    # (tens of ms with the seeded data around) held 50 requests in flight and set the p99
    # of whichever app it fell on. Collected before the round, not during it.
    gc.collect()
    gc.disable()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        gc.enable()
    return results


async def seed(database: Path, assignments: int, audit: int) -> None:
    """A ledger at size: `assignments` active seats (standard and partner editions, so the
    premium agent pool the cards draw on stays free) and `audit` entries of history."""
    db = await Database.open(database)
    now = datetime.now(UTC)
    try:
        held: dict[tuple[str, str], int] = {}
        for start in range(0, assignments, 50_000):
            seats = []
            for n in range(start, min(assignments, start + 50_000)):
                edition = ("standard", "partner")[n % 2]
                seat_type = ("agent", "supervisor", "executive")[n % 3]
                modules = ("chat",) if n % 4 == 0 else ()
                seats.append(
                    NewSeat(
                        email=f"seat{n}@example.com",
                        name=f"Seat {n}",
                        edition=edition,
                        seat_type=seat_type,
                        assigned_at=now - timedelta(days=1 + n % 300),
                        modules=modules,
                        department="Support",
                        license_group=f"Support_{seat_type.title()}_LicenseGroup",
                        last_active_at=now - timedelta(days=n % 45),
                    )
                )
                for item in (seat_type, *modules):
                    held[(edition, item)] = held.get((edition, item), 0) + 1
            async with db.transaction() as tx:
                await tx.assignments.add_many(seats)
        async with db.transaction() as tx:
            for (edition, item), count in sorted(held.items()):
                kind = "module" if item == "chat" else "seat"
                await tx.pools.set(edition, item, kind, int(count * 1.2) + 1, None, now)
        for start in range(0, audit, 50_000):
            entries = [
                (
                    now - timedelta(minutes=audit - n),
                    ADMIN,
                    "assignment.assigned",
                    f"seat{n % max(1, assignments)}@example.com",
                    None,
                    {"id": n, "edition": "standard", "seat_type": "agent", "status": "active"},
                )
                for n in range(start, min(audit, start + 50_000))
            ]
            async with db.transaction() as tx:
                await tx.audit.add_many(entries)
    finally:
        await db.close()


async def prefile(
    url: str, slack_base: str, count: int, database: Path
) -> list[tuple[int, str, str]]:
    """File `count` requests (untimed) and wait until their cards are posted."""
    client = SlackClient(url, SECRET)
    try:
        await client.slash(
            "pool set premium agent 100000", ADMIN, response_url=f"{slack_base}/response/setup"
        )
        sem = asyncio.Semaphore(10)

        async def one(i: int) -> None:
            async with sem:
                await client.slash(
                    f"request card{i}@example.com agent premium dept:Support",
                    MANAGER,
                    response_url=f"{slack_base}/response/setup{i}",
                )

        await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        await client.close()
    db = await Database.open(database)
    try:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            async with db.read() as tx:
                pending = await tx.requests.pending()
            if len(pending) >= count and all(r.card_ts for r in pending):
                return [(r.id, r.card_channel or "", r.card_ts or "") for r in pending][:count]
            await asyncio.sleep(0.2)
        raise RuntimeError(f"only {len(pending)} of {count} cards were filed and posted")
    finally:
        await db.close()


async def settle(database: Path, expected: int) -> tuple[int, int, float]:
    """Wait for licensebot's post-ack work: the approvals decided and the outbox drained."""
    started = time.monotonic()
    db = await Database.open(database)
    try:
        while True:
            async with db.read() as tx:
                approved = len(
                    [
                        r
                        for r in await tx.requests.for_requester(MANAGER, limit=10**6)
                        if r.status is RequestStatus.APPROVED
                    ]
                )
                waiting = await tx.outbox.pending_count()
            elapsed = time.monotonic() - started
            if (approved >= expected and waiting == 0) or elapsed > SETTLE_TIMEOUT_S:
                return approved, waiting, elapsed
            await asyncio.sleep(0.2)
    finally:
        await db.close()


def report(name: str, results: Results) -> float:
    values = results.latencies_ms
    p50, p99 = percentile(values, 50), percentile(values, 99)
    print(
        f"{name:<10} n={len(values)} p50={p50:.1f}ms p90={percentile(values, 90):.1f}ms "
        f"p99={p99:.1f}ms max={max(values, default=float('nan')):.1f}ms "
        f"errors={len(results.errors)}"
    )
    kinds = "  ".join(
        f"{kind} {percentile(v, 50):.0f}/{percentile(v, 99):.0f}"
        for kind, v in sorted(results.by_kind.items())
    )
    print(f"{'':<10} p50/p99 ms by kind: {kinds}")
    print(
        f"{'':<10} warm (after the first {len(values) - len(results.warm_ms)} requests): "
        f"p50={percentile(results.warm_ms, 50):.1f}ms "
        f"p99={percentile(results.warm_ms, 99):.1f}ms"
    )
    for error in results.errors[:5]:
        print(f"  {name} error: {error}")
    return p99


def merge(into: Results, more: Results) -> None:
    into.latencies_ms += more.latencies_ms
    into.warm_ms += more.latencies_ms  # every measured round is warm
    into.errors += more.errors
    for kind, values in more.by_kind.items():
        into.by_kind.setdefault(kind, []).extend(values)


async def run(args: argparse.Namespace, workdir: Path) -> int:
    children: list[Child] = []
    jobs_said = "not run"
    try:
        fake, slack_url = start_fake_slack(workdir)
        children.append(fake)
        slack_base = slack_url.removesuffix("/api/")
        database = workdir / "licensebot.db"
        started = time.monotonic()
        await seed(database, args.assignments, args.audit)
        print(
            f"seeded {args.assignments:,} seats and {args.audit:,} audit entries in "
            f"{time.monotonic() - started:.0f}s",
            flush=True,
        )
        # Cards to click are filed by a first licensebot process; the one measured starts
        # afresh on that database, beside a freshly started bare app.
        filer, filer_url = start_licensebot(workdir, slack_url, database)
        children.append(filer)
        kinds = tuple(args.kinds.split(","))
        approvals = sum(1 for i in range(args.requests) if kinds[i % len(kinds)] == "approve")
        ids = await prefile(filer_url, slack_base, approvals, database)
        filer.stop()
        bot, bot_url = start_licensebot(workdir, slack_url, database, wrap_ok=True)
        children.append(bot)
        port = free_port()
        bare = spawn(
            "bare",
            [
                sys.executable,
                str(Path(__file__).parent / "bare_app.py"),
                "--port",
                str(port),
                "--slack-url",
                slack_url,
            ],
            {},
            workdir,
        )
        children.append(bare)
        wait_http(bare, f"http://127.0.0.1:{port}/healthz")
        bare_url = f"http://127.0.0.1:{port}/slack/events"

        # Cold start: the same first requests at each fresh process, then warm.
        warm = build_mix(args.warmup, args.seed + 1, slack_base, [], "warm", WARM_KINDS)
        bare_cold = await fire(bare_url, warm.shots, args.concurrency)
        bot_cold = await fire(bot_url, warm.shots, args.concurrency)

        mix = build_mix(args.requests, args.seed, slack_base, ids, "bench", kinds)
        size = -(-len(mix.shots) // args.rounds)
        rounds = [mix.shots[i : i + size] for i in range(0, len(mix.shots), size)]
        bare_results, bot_results, during_jobs = Results(), Results(), Results()
        cpu = {c.name: c.cpu_seconds() for c in children}
        bare_cpu_s = bot_cpu_s = 0.0
        for number, shots in enumerate(rounds):
            order = ("bare", "bot") if number % 2 == 0 else ("bot", "bare")
            for name in order:
                before = {c.name: c.cpu_seconds() for c in children}
                if name == "bare":
                    merge(bare_results, await fire(bare_url, shots, args.concurrency))
                    bare_cpu_s += children[-1].cpu_seconds() - before["bare"]
                    continue
                jobs_now = number == len(rounds) // 2 and not args.no_jobs
                if jobs_now:
                    # Every scheduled job, in the measured process, during this round.
                    bot.process.send_signal(signal.SIGUSR1)
                    signalled = time.monotonic()
                merge(bot_results, await fire(bot_url, shots, args.concurrency))
                if jobs_now:
                    # The round goes on while the jobs run (not their delivery): more of
                    # the same commands, a report in every 51, up to JOBS_EXTRA_MAX.
                    extra = 0
                    while _jobs_line(bot) is None and extra < JOBS_EXTRA_MAX:
                        more = build_mix(
                            100,
                            args.seed + 100 + extra,
                            slack_base,
                            [],
                            f"jobs{extra}-",
                            JOBS_KINDS,
                        )
                        during = await fire(bot_url, more.shots, args.concurrency)
                        merge(bot_results, during)
                        merge(during_jobs, during)
                        extra += len(more.shots)
                bot_cpu_s += bot.cpu_seconds() - before["licensebot"]
                if jobs_now:
                    round_s = time.monotonic() - signalled
                    jobs_said = f"{await _jobs_ran(bot)} (the round took {round_s:.1f} s)"
        bot_cpu = {c.name: c.cpu_seconds() for c in children}
        approved, waiting, took = await settle(database, mix.approvals)
        settled_cpu = {c.name: c.cpu_seconds() for c in children}
        bot_peak_mb = peak_mb(bot.process.pid)
        integrity = await _integrity(database)
        logged = bot.logged_errors()
        if bot.process.poll() is not None:
            print(f"licensebot died:\n{bot.tail()}")
    finally:
        for child in reversed(children):
            child.stop()

    print(f"machine: {_machine()}")
    print(f"database: {args.assignments:,} active seats, {args.audit:,} audit entries")
    print(
        f"mix: {args.requests} requests ({args.kinds.replace(',', ', ')}) in "
        f"{len(rounds)} interleaved rounds, concurrency {args.concurrency}; "
        f"jobs during licensebot's round {len(rounds) // 2 + 1}, which went on for "
        f"{len(during_jobs.latencies_ms)} more requests while they ran: {jobs_said}"
    )
    bare_p99 = report("bare", bare_results)
    bot_p99 = report("licensebot", bot_results)
    if during_jobs.latencies_ms:
        report("while the jobs ran (part of licensebot's)", during_jobs)
    n, bot_n = args.requests, max(1, len(bot_results.latencies_ms))
    after = _ms(bot_cpu, settled_cpu, "licensebot", bot_n)
    print(
        f"CPU ms per request: bare {bare_cpu_s * 1000 / n:.2f} | licensebot "
        f"{bot_cpu_s * 1000 / bot_n:.2f} (+{after} after the burst); fake Slack overall "
        f"{_ms(cpu, bot_cpu, 'fakeslack', n + bot_n)}"
    )
    print(
        f"licensebot after the burst: {approved}/{mix.approvals} approvals decided, "
        f"outbox pending {waiting}, settled in {took:.1f}s, integrity {integrity}, "
        f"peak RSS {bot_peak_mb:.0f} MiB"
    )
    errors = len(bare_results.errors) + len(bot_results.errors) + (mix.approvals - approved)
    errors += len(bare_cold.errors) + len(bot_cold.errors)
    errors += 0 if integrity == "ok" else 1
    errors += len(logged)
    for line in logged[:5]:
        print(f"licensebot logged: {line[:200]}")
    errors += 0 if jobs_said.startswith(("ok", "not run")) and "failed" not in jobs_said else 1
    print(
        f"cold start ({args.warmup} requests at each fresh process): "
        f"ack_cold_p99_ms={percentile(bot_cold.latencies_ms, 99):.1f} "
        f"ack_cold_max_ms={max(bot_cold.latencies_ms, default=float('nan')):.1f} "
        f"bare_cold_p99_ms={percentile(bare_cold.latencies_ms, 99):.1f} "
        f"bare_cold_max_ms={max(bare_cold.latencies_ms, default=float('nan')):.1f}"
    )
    print(
        f"ack_p99_ms={bot_p99:.1f} bare_p99_ms={bare_p99:.1f} "
        f"ack_p99_ratio={bot_p99 / bare_p99:.2f} "
        f"ack_max_ms={max(bot_results.latencies_ms, default=float('nan')):.1f} "
        f"errors={errors}"
    )
    return 0


def _jobs_line(bot: Child) -> str | None:
    """What licensebot logged when the jobs SIGUSR1 asked for had run (None: not yet)."""
    for line in bot.log.read_text(errors="replace").splitlines():
        if "job limits, " in line:
            return "ok: " + line.split("job limits, ", 1)[1].split(":", 1)[1].strip(' "}')
    return None


async def _jobs_ran(bot: Child) -> str:
    """`_jobs_line`, waited for (their delivery may still run when the round ends)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        said = _jobs_line(bot)
        if said is not None:
            return said
        await asyncio.sleep(0.05)
    return "failed: no end of the jobs run in the log"


def _ms(before: dict[str, float], after: dict[str, float], name: str, requests: int) -> str:
    return f"{(after[name] - before[name]) * 1000 / requests:.2f}"


async def _integrity(database: Path) -> str:
    db = await Database.open(database)
    try:
        return await db.integrity_check()
    finally:
        await db.close()


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, load {os.getloadavg()[0]:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="requests per app")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--seed", type=int, default=7, help="shuffles the mix")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per app")
    parser.add_argument("--warmup", type=int, default=200, help="cold-start requests per app")
    parser.add_argument("--assignments", type=int, default=100_000, help="seats in the db")
    parser.add_argument("--audit", type=int, default=100_000, help="audit entries in the db")
    parser.add_argument("--no-jobs", action="store_true", help="no scheduled jobs mid-burst")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"the mix, in equal parts (default {','.join(KINDS)})",
    )
    args = parser.parse_args()
    if not args.kinds or set(args.kinds.split(",")) - set(KINDS):
        parser.error(f"--kinds takes a comma-separated subset of {','.join(KINDS)}")
    if not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 1000:
        parser.error("--requests must be 1..100000 and --concurrency 1..1000")
    if not 1 <= args.rounds <= args.requests or args.warmup < 1:
        parser.error("--rounds must be 1..requests and --warmup at least 1")
    keep = os.environ.get("BENCH_KEEP")  # a directory: its logs stay there
    if keep:
        return asyncio.run(run(args, Path(keep)))
    with tempfile.TemporaryDirectory(prefix="licensebot-ack-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
