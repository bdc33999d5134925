"""The `limits` + `inactive` scan at size (SPEC 7): time and peak memory of a run that
writes its alerts and messages (`--dry-run`: the read-only figure).

    python bench/scan.py [--assignments 100000] [--pools 200] [--repeat 3] [--dry-run]
    python bench/scan.py --assignments 1000000 --pools 2000      # the SPEC 7 bar
    python bench/scan.py --assignments 10000,100000,1000000     # growth

Builds a temporary database through the store (pools.set, assignments.add_many, pools
.refresh_overage; a catalog with enough editions for `--pools` pools), then runs the jobs
(`execute(["limits", "inactive"], deliver=False)`: delivery is bench/outbox.py's) in a
fresh process, `--repeat` times, each on a fresh copy of the database (a run that writes
finds nothing new the second time), timing each run and reading the process's peak RSS.
The last line, for the last size: `scan_s=<slowest run> peak_mb=<MiB> alerts=<n> messages=<n>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _procs import ADMIN, ALERTS, APPROVALS, TOKEN

from bot.clock import FixedClock
from bot.licensing.catalog import load_catalog
from bot.settings import Settings, load_settings
from bot.store.assignments import NewSeat
from bot.store.db import Database

SEAT_TYPES = ("agent", "supervisor", "executive")
MODULES = ("wfo", "qm", "insights", "analytics", "chat", "social", "voice")
AS_OF = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BATCH = 50_000  # seats per transaction while building


def write_catalog(folder: Path, pools: int) -> tuple[Path, list[tuple[str, str, str]]]:
    """A catalog whose editions × (seat types + modules) make `pools` pools."""
    per_edition = len(SEAT_TYPES) + len(MODULES)
    editions = [f"e{i:03d}" for i in range(max(1, -(-pools // per_edition)))]
    lines = [f'[seat_types.{s}]\nlabel = "{s.title()}"\ndescription = "{s}"\n' for s in SEAT_TYPES]
    lines += [f'[modules.{m}]\nlabel = "{m.title()}"\nprice = 20\n' for m in MODULES]
    chosen: list[tuple[str, str, str]] = []
    for edition in editions:
        items = [(s, "seat") for s in SEAT_TYPES] + [(m, "module") for m in MODULES]
        chosen += [(edition, item, kind) for item, kind in items]
        lines.append(
            f'[editions.{edition}]\nlabel = "{edition.upper()}"\n'
            f"modules = {json.dumps(list(MODULES))}\n"
            "prices = { agent = 150, supervisor = 175, executive = 60 }\n"
        )
    path = folder / "catalog.toml"
    path.write_text("\n".join(lines))
    return path, chosen[:pools]


def settings_for(database: Path, catalog: Path) -> Settings:
    return load_settings(
        _env_file=None,
        slack_bot_token=TOKEN,
        slack_api_url="http://127.0.0.1:9/",
        database=database,
        approvals_channel=APPROVALS,
        alerts_channel=ALERTS,
        admins=ADMIN,
        catalog=catalog,
    )


async def build(
    database: Path, catalog_path: Path, pools: list[tuple[str, str, str]], count: int, seed: int
) -> dict[str, int]:
    """`count` active seats over the seat pools (modules on some), through the store."""
    load_catalog(catalog_path)  # the same validation the bot does at start
    rng = random.Random(seed)
    seat_pools = [(e, i) for e, i, kind in pools if kind == "seat"]
    module_pools: dict[str, list[str]] = {}
    for edition, item, kind in pools:
        if kind == "module":
            module_pools.setdefault(edition, []).append(item)
    used: Counter[tuple[str, str]] = Counter()
    db = await Database.open(database)
    try:
        for start in range(0, count, BATCH):
            seats = []
            for n in range(start, min(count, start + BATCH)):
                edition, seat_type = seat_pools[n % len(seat_pools)]
                modules = tuple(
                    sorted(
                        rng.sample(
                            module_pools.get(edition, []),
                            k=min(rng.choice((0, 0, 1, 2)), len(module_pools.get(edition, []))),
                        )
                    )
                )
                assigned = AS_OF - timedelta(days=rng.randint(1, 400))
                # ~15 % idle for over 30 days, ~3 % never active since assigned.
                roll = rng.random()
                last = (
                    None
                    if roll < 0.03
                    else AS_OF - timedelta(days=rng.randint(31, 200))
                    if roll < 0.15
                    else AS_OF - timedelta(hours=rng.randint(1, 24 * 29))
                )
                if last is not None and last < assigned:
                    last = assigned
                seats.append(
                    NewSeat(
                        email=f"user{n}@example.com",
                        name=f"User {n}",
                        edition=edition,
                        seat_type=seat_type,
                        assigned_at=assigned,
                        modules=modules,
                        slack_user_id=f"U{n:09d}" if n % 4 == 0 else None,
                        department="Support",
                        license_group=f"Support_{seat_type.title()}_LicenseGroup",
                        last_active_at=last,
                    )
                )
                used[(edition, seat_type)] += 1
                for module in modules:
                    used[(edition, module)] += 1
            async with db.transaction() as tx:
                await tx.assignments.add_many(seats)
        # Purchased seats: most pools in band (77-91 %), one in ten nearly full, one in ten
        # over its limit (in grace), one in ten over-provisioned.
        async with db.transaction() as tx:
            for i, (edition, item, kind) in enumerate(pools):
                held = used[(edition, item)]
                factor = (1.15, 1.2, 1.1, 1.3, 1.12, 1.5, 1.18, 1.25, 1.0, 0.97)[i % 10]
                purchased = max(1, round(held * factor)) if held else 10
                await tx.pools.set(edition, item, kind, purchased, None, AS_OF - timedelta(days=5))
                await tx.pools.refresh_overage(edition, item, AS_OF - timedelta(days=5))
    finally:
        await db.close()
    return {"pools": len(pools), "assignments": count}


async def scan(database: Path, catalog: Path, repeat: int, dry_run: bool) -> dict:
    """In the measuring process: the run, `repeat` times."""
    from bot.app import build_deps
    from bot.jobs.runner import execute

    deps = await build_deps(settings_for(database, catalog), FixedClock(AS_OF))
    times, messages = [], []
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            # The jobs' own work (their reads and writes); delivering what they queued is
            # the outbox's (bench/outbox.py), and this bench has no Slack to deliver to.
            result = await execute(deps, ["limits", "inactive"], dry_run=dry_run, deliver=False)
            if result.failed:
                raise RuntimeError(f"jobs failed: {result.failed}")
            messages = result.messages
            times.append(time.perf_counter() - started)
    finally:
        await deps.db.close()
    by_kind = Counter(f"{m.job}:{m.target}" for m in messages)
    summaries = [m for m in messages if m.job == "inactive" and m.target == "channel"]
    return {
        "times": times,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "alerts": sum(1 for m in messages if m.target == "channel"),
        "messages": len(messages),
        "by_kind": dict(by_kind),
        "summary_blocks": [len(m.blocks) for m in summaries],
    }


def measure(database: Path, catalog: Path, repeat: int, dry_run: bool) -> dict:
    """Runs `scan` in a fresh interpreter so that its peak memory is the scan's own; a run
    that writes gets a fresh copy of the database each time."""
    if dry_run:
        return _measure_once(database, catalog, repeat, dry_run)
    results = []
    for _ in range(repeat):
        copy = database.with_name("run.db")
        shutil.copyfile(database, copy)
        results.append(_measure_once(copy, catalog, 1, dry_run))
        copy.unlink()
    merged = dict(results[-1])
    merged["times"] = [t for r in results for t in r["times"]]
    merged["peak_mb"] = max(r["peak_mb"] for r in results)
    return merged


def _measure_once(database: Path, catalog: Path, repeat: int, dry_run: bool) -> dict:
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [
            sys.executable,
            __file__,
            "--scan-only",
            str(database),
            "--catalog",
            str(catalog),
            "--repeat",
            str(repeat),
            *(["--dry-run"] if dry_run else []),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"scan failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--assignments", default="100000", help="active seats; a comma-separated list shows growth"
    )
    parser.add_argument("--pools", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="scans per size (slowest shown)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dry-run", action="store_true", help="measure the read-only run (writes nothing)"
    )
    parser.add_argument("--scan-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--catalog", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scan_only:
        print(
            json.dumps(asyncio.run(scan(args.scan_only, args.catalog, args.repeat, args.dry_run)))
        )
        return 0
    sizes = [int(s.replace("_", "")) for s in args.assignments.split(",")]
    if not all(1 <= s <= 5_000_000 for s in sizes) or not 1 <= args.pools <= 5000:
        parser.error("--assignments must be 1..5000000 and --pools 1..5000")
    result: dict = {}
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="licensebot-scan-") as tmp:
            folder = Path(tmp)
            catalog, pools = write_catalog(folder, args.pools)
            database = folder / "scan.db"
            started = time.perf_counter()
            asyncio.run(build(database, catalog, pools, count, args.seed))
            built = time.perf_counter() - started
            size_mb = database.stat().st_size / 2**20
            result = measure(database, catalog, args.repeat, args.dry_run)
        runs = ", ".join(f"{t:.3f}" for t in result["times"])
        mode = "dry run" if args.dry_run else "writing"
        print(
            f"{count:>9,} seats in {len(pools)} pools ({mode}): built in {built:.1f}s "
            f"({size_mb:.0f} MB); "
            f"scan runs {runs} s; peak {result['peak_mb']:.0f} MiB; {result['by_kind']}; "
            f"inactive summary blocks {result['summary_blocks']}"
        )
    print(
        f"scan_s={max(result['times']):.3f} peak_mb={result['peak_mb']:.0f} "
        f"alerts={result['alerts']} messages={result['messages']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
