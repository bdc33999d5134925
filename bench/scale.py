"""licensebot at a million rows (SPEC 7, issue 11): reports, imports, acks beside a report,
the outbox, and `limits` folding.

    python bench/scale.py [--assignments 1000000] [--audit 1000000] [--keep DIR]

1. Builds a database of `--assignments` active seats in `--pools` (2,000) pools (bench/scan.py's
   builder) and `--audit` audit entries (`--keep DIR` builds it once and reuses it).
2. Every report kind from the CLI (`licensebot report KIND -o FILE`) in a fresh process:
   wall time and that process's peak RSS (VmHWM).
3. `licensebot import assignments` of 100,000 rows into an empty database, then
   `licensebot import activity` of 100,000 rows: wall time of each.
4. `licensebot serve --http` on the big database with the fake Slack: `/license report
   assignments` while a stream of commands is acked; the ack latencies until the report's
   reply arrives.
5. bench/outbox.py (when present) in a subprocess: its outbox_rate_ratio and card_wait_s.
6. `limits` over 200 pools going over at once: the channel messages it queues.

Last line: `report_1m_s= report_peak_mb= import_100k_s= ack_p99_during_report_ms=
outbox_rate_ratio= card_wait_s= limits_messages_200=` (report_1m_s and report_peak_mb:
the slowest and the largest over every report kind).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _procs import (
    ADMIN,
    ALERTS,
    APPROVALS,
    BENCH,
    SECRET,
    TESTS,
    TOKEN,
    Child,
    free_port,
    peak_mb,
    percentile,
    start_fake_slack,
    start_licensebot,
)
from aiohttp import web
from scan import AS_OF, build, settings_for, write_catalog

sys.path.insert(0, str(TESTS))
from signing import SlackClient  # noqa: E402 - tests/ is not a package

from bot.clock import FixedClock  # noqa: E402
from bot.licensing.commands import REPORT_KINDS  # noqa: E402
from bot.store.assignments import NewSeat  # noqa: E402
from bot.store.db import Database  # noqa: E402

BATCH = 50_000
IMPORT_ROWS = 100_000


# --------------------------------------------------------------------------- building


async def add_audit(database: Path, count: int, seed: int) -> None:
    """`count` audit entries shaped like the bot's own (seat snapshots, pool changes)."""
    rng = random.Random(seed)
    db = await Database.open(database)
    try:
        for start in range(0, count, BATCH):
            entries: list[
                tuple[datetime, str, str, str, dict[str, Any] | None, dict[str, Any]]
            ] = []
            for n in range(start, min(count, start + BATCH)):
                at = AS_OF - timedelta(minutes=(count - n))
                email = f"user{n}@example.com"
                if n % 10 == 0:
                    entries.append(
                        (
                            at,
                            ADMIN,
                            "pool.set",
                            f"pool:e{n % 20:03d}/agent",
                            {"purchased": rng.randint(1, 500)},
                            {"purchased": rng.randint(1, 500)},
                        )
                    )
                else:
                    entries.append(
                        (
                            at,
                            ADMIN,
                            "assignment.assigned",
                            email,
                            None,
                            {
                                "id": n,
                                "email": email,
                                "name": f"User {n}",
                                "edition": "e001",
                                "seat_type": "agent",
                                "modules": ["wfo"],
                                "status": "active",
                                "department": "Support",
                                "assigned_at": at.isoformat(),
                            },
                        )
                    )
            async with db.transaction() as tx:
                await tx.audit.add_many(entries)
    finally:
        await db.close()


def env_for(
    database: Path, catalog: Path | None, slack_url: str = "http://127.0.0.1:9/api/"
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_url,
        "LICENSEBOT_DATABASE": str(database),
        "LICENSEBOT_APPROVALS_CHANNEL": APPROVALS,
        "LICENSEBOT_ALERTS_CHANNEL": ALERTS,
        "LICENSEBOT_ADMINS": ADMIN,
        "LICENSEBOT_SLACK_POST_RATE": "1000",  # the fake Slack does not pace
    }
    if catalog is not None:
        env["LICENSEBOT_CATALOG"] = str(catalog)
    return env


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run a process to its end: (wall seconds, its own peak RSS in MiB, stderr tail).

    The peak is the process's VmHWM (read every 10 ms until it exits): wait4's ru_maxrss
    would also count this bench's own memory, which the child had before its exec."""
    started = time.perf_counter()
    err_file = cwd / "timed.err"
    with err_file.open("wb") as err_out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter
            argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err_out
        )
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, peak_mb(process.pid, default=0.0))
            time.sleep(0.01)
    elapsed = time.perf_counter() - started
    err = err_file.read_text(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:])} exited {process.returncode}:\n{err}")
    return elapsed, peak, err.strip().splitlines()[-1] if err.strip() else ""


# --------------------------------------------------------------------------- measuring


def reports(database: Path, catalog: Path, workdir: Path) -> dict[str, tuple[float, float]]:
    found = {}
    for kind in [k for k in REPORT_KINDS if k != "reconcile"]:  # reconcile reads Genesys
        out = workdir / f"{kind}.csv"
        took, peak, said = timed(
            [
                sys.executable,
                "-m",
                "bot",
                "report",
                kind,
                "-o",
                str(out),
                "--as-of",
                AS_OF.isoformat(),
            ],
            env_for(database, catalog),
            workdir,
        )
        size = out.stat().st_size / 2**20
        out.unlink()
        found[kind] = (took, peak)
        print(
            f"report {kind:<11} {took:6.2f}s peak {peak:5.0f} MiB  {size:6.1f} MB CSV  "
            f"| {said.split(': ', 2)[-1]}",
            flush=True,
        )
    return found


def imports(workdir: Path) -> tuple[float, float]:
    database = workdir / "import.db"
    seats = workdir / "seats.csv"
    activity = workdir / "activity.csv"
    editions = (
        ("premium", ("wfo", "qm", "chat")),
        ("standard", ("qm", "chat")),
        ("partner", ("chat",)),
    )
    rng = random.Random(11)
    with seats.open("w") as out:
        out.write("email,name,edition,seat_type,modules,department,assigned_at\n")
        for n in range(IMPORT_ROWS):
            edition, modules = editions[n % 3]
            mods = " ".join(rng.sample(modules, k=rng.randint(0, len(modules))))
            out.write(
                f"imp{n}@example.com,Imported {n},{edition},"
                f"{('agent', 'supervisor', 'executive')[n % 3]},{mods},Support,"
                f"2026-{1 + n % 10:02d}-{1 + n % 28:02d}\n"
            )
    with activity.open("w") as out:
        out.write("email,last_active\n")
        for n in range(IMPORT_ROWS):
            out.write(f"imp{n}@example.com,2026-11-{1 + n % 28:02d}\n")
    asyncio.run(_migrate(database))
    env = env_for(database, None)
    took, peak, said = timed(
        [sys.executable, "-m", "bot", "import", "assignments", str(seats)], env, workdir
    )
    print(
        f"import assignments {IMPORT_ROWS:,} rows: {took:.2f}s peak {peak:.0f} MiB | {said}",
        flush=True,
    )
    took2, peak2, said2 = timed(
        [sys.executable, "-m", "bot", "import", "activity", str(activity)], env, workdir
    )
    print(
        f"import activity {IMPORT_ROWS:,} rows: {took2:.2f}s peak {peak2:.0f} MiB | {said2}",
        flush=True,
    )
    return took, took2


async def _migrate(database: Path) -> None:
    db = await Database.open(database)
    await db.close()


async def ack_during_report(
    database: Path, catalog: Path, workdir: Path, concurrency: int
) -> tuple[float, float, int, float]:
    """(p99 ms, max ms, acks, report seconds) of commands acked while a report runs."""
    children: list[Child] = []
    done = asyncio.Event()

    async def responded(request: web.Request) -> web.Response:
        if request.match_info["tag"] == "report":
            done.set()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/response/{tag}", responded)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    replies = f"http://127.0.0.1:{port}/response"
    try:
        fake, slack_url = start_fake_slack(workdir)
        children.append(fake)
        os.environ["LICENSEBOT_CATALOG"] = str(catalog)  # start_licensebot passes os.environ
        bot, url = start_licensebot(workdir, slack_url, database)
        children.append(bot)
        client = SlackClient(url, SECRET)
        # Each request is its own (a distinct response_url): identical bodies signed in
        # the same second are replays, which the bot refuses.
        for k in range(20):  # warm: Bolt's first requests
            await client.slash("help", ADMIN, response_url=f"{replies}/warm{k}")
        baseline: list[float] = []
        for k in range(100):
            started = time.perf_counter()
            await client.slash("help", ADMIN, response_url=f"{replies}/base{k}")
            baseline.append((time.perf_counter() - started) * 1000)
        started_report = time.perf_counter()
        await client.slash("report assignments", ADMIN, response_url=f"{replies}/report")
        latencies: list[float] = []
        errors = 0

        async def worker(n: int) -> None:
            nonlocal errors
            other = SlackClient(url, SECRET)
            try:
                commands = ("help", "pool", "requests")
                i = 0
                while not done.is_set():
                    started = time.perf_counter()
                    response = await other.slash(
                        commands[(n + i) % 3], ADMIN, response_url=f"{replies}/x{n}-{i}"
                    )
                    latencies.append((time.perf_counter() - started) * 1000)
                    errors += response.status != 200
                    i += 1
                    await asyncio.sleep(0.02)
            finally:
                await other.close()

        async with asyncio.timeout(300):
            await asyncio.gather(*(worker(n) for n in range(concurrency)))
        took = time.perf_counter() - started_report
        await client.close()
        for line in bot.logged_errors():
            errors += 1
            print(f"licensebot logged: {line[:200]}")
        print(
            f"serve: report assignments replied after {took:.1f}s; {len(latencies)} acks "
            f"meanwhile p50={percentile(latencies, 50):.1f}ms "
            f"p99={percentile(latencies, 99):.1f}ms max={max(latencies):.1f}ms "
            f"errors={errors}; idle before: p50={percentile(baseline, 50):.1f}ms "
            f"p99={percentile(baseline, 99):.1f}ms; licensebot peak RSS "
            f"{peak_mb(bot.process.pid):.0f} MiB",
            flush=True,
        )
        return percentile(latencies, 99), max(latencies), errors, took
    finally:
        for child in reversed(children):
            child.stop()
        await runner.cleanup()


def outbox_figures() -> tuple[str, str]:
    script = BENCH / "outbox.py"
    if not script.exists():
        print("bench/outbox.py: not here (the delivery work brings it)")
        return "n/a", "n/a"
    # Its own settings only: the million-seat catalog set for `serve` above is not its.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSEBOT_")}
    out = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,  # noqa: S603
        timeout=900,
        check=False,
    )
    lines = out.stdout.strip().splitlines()
    print(f"bench/outbox.py: {lines[-1] if lines else out.stderr[-300:]}")
    figures = dict(p.split("=", 1) for p in (lines[-1].split() if lines else []) if "=" in p)
    return figures.get("outbox_rate_ratio", "n/a"), figures.get("card_wait_s", "n/a")


async def limits_messages(workdir: Path, pools: int = 200) -> int:
    """Every pool over its limit at once: how many channel messages `limits` queues."""
    from bot.app import build_deps
    from bot.jobs.runner import execute

    folder = workdir / "limits"
    folder.mkdir()
    catalog, chosen = write_catalog(folder, pools)
    database = folder / "limits.db"
    db = await Database.open(database)
    seats = [s for e, s, kind in chosen if kind == "seat"]
    editions = sorted({e for e, _, _ in chosen})
    modules = {e: tuple(i for ed, i, k in chosen if ed == e and k == "module") for e in editions}
    async with db.transaction() as tx:
        await tx.assignments.add_many(
            [
                NewSeat(
                    email=f"{e}.{s}.{n}@example.com",
                    name="x",
                    edition=e,
                    seat_type=s,
                    assigned_at=AS_OF - timedelta(days=40),
                    modules=modules[e],
                )
                for e in editions
                for s in sorted(set(seats))
                for n in range(2)
            ]
        )
        for edition, item, kind in chosen:
            await tx.pools.set(edition, item, kind, 1, None, AS_OF)
    await db.close()
    deps = await build_deps(settings_for(database, catalog), FixedClock(AS_OF))
    try:
        sent = (await execute(deps, ["limits"], deliver=False)).messages
    finally:
        await deps.db.close()
    channel = [m for m in sent if m.target == "channel"]
    print(
        f"limits: {pools} pools over at once -> {len(channel)} channel message(s), "
        f"{sum(len(m.blocks) for m in channel)} blocks"
    )
    return len(channel)


# --------------------------------------------------------------------------- main


def machine() -> str:
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
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--pools", type=int, default=2000)
    parser.add_argument(
        "--concurrency", type=int, default=4, help="command senders while the report runs"
    )
    parser.add_argument("--keep", type=Path, help="build the big database here once, reuse it")
    parser.add_argument("--skip", default="", help="comma-separated: reports,import,ack,outbox")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="licensebot-scale-") as tmp:
        workdir = Path(tmp)
        folder = args.keep or workdir
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / f"scale-{args.assignments}-{args.audit}.db"
        catalog, pools = write_catalog(folder, args.pools)
        if not database.exists():
            started = time.perf_counter()
            partial = database.with_suffix(".building")
            partial.unlink(missing_ok=True)
            asyncio.run(build(partial, catalog, pools, args.assignments, seed=7))
            asyncio.run(add_audit(partial, args.audit, seed=7))
            partial.rename(database)
            print(
                f"built {args.assignments:,} seats in {len(pools)} pools and {args.audit:,} "
                f"audit entries in {time.perf_counter() - started:.0f}s "
                f"({database.stat().st_size / 2**20:.0f} MB)",
                flush=True,
            )
        slowest = peak = float("nan")
        if "reports" not in skip:
            found = reports(database, catalog, workdir)
            slowest = max(t for t, _ in found.values())
            peak = max(p for _, p in found.values())
        import_s = float("nan")
        if "import" not in skip:
            import_s, _ = imports(workdir)
        ack_p99 = float("nan")
        if "ack" not in skip:
            ack_p99, _, _, _ = asyncio.run(
                ack_during_report(database, catalog, workdir, args.concurrency)
            )
        ratio, wait = ("n/a", "n/a") if "outbox" in skip else outbox_figures()
        folded = asyncio.run(limits_messages(workdir))
    print(
        f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
        " MiB"
    )
    print(
        f"report_1m_s={slowest:.2f} report_peak_mb={peak:.0f} import_100k_s={import_s:.2f} "
        f"ack_p99_during_report_ms={ack_p99:.1f} outbox_rate_ratio={ratio} "
        f"card_wait_s={wait} limits_messages_200={folded}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
