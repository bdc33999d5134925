"""`licensebot try [--as NAME]`: the bot in a terminal, no Slack workspace needed (SPEC 12).
bot.cli registers it (`COMMANDS["try"]`) and imports this module only when it runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.cli.common import fail
from bot.settings import SettingsError
from bot.tryout import cast


def add_arguments(parser: argparse.ArgumentParser) -> None:
    names = ", ".join(m.name for m in cast.CAST)
    parser.add_argument(
        "--as",
        dest="as_name",
        default="maya",
        metavar="NAME",
        help=f"who you are at the start: {names} (default maya, a manager)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="ANSI colours and bold (auto: at a terminal, unless NO_COLOR is set)",
    )


def run_try(args: argparse.Namespace) -> int:
    member = cast.by_name(args.as_name)
    if member is None:
        names = ", ".join(m.name for m in cast.CAST)
        return fail(f"--as {args.as_name}: nobody by that name here; choose from {names}")
    if not getattr(args, "verbose", False):
        # What the bot logs belongs to `serve`; here the transcript is the output.
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("slack_bolt").setLevel(logging.ERROR)
    stdout = sys.stdout
    if hasattr(stdout, "reconfigure"):
        stdout.reconfigure(errors="replace")  # emoji on a terminal that cannot show them
    # A person at the keyboard gets a live prompt and line editing; a script's lines are
    # echoed after their prompt instead, so the output reads as a transcript.
    interactive = sys.stdin.isatty()
    if args.color == "auto":
        color = stdout.isatty() and not os.environ.get("NO_COLOR")
    else:
        color = args.color == "always"
    try:
        verbose = bool(getattr(args, "verbose", False))
        return asyncio.run(_run(member, interactive=interactive, color=color, verbose=verbose))
    except SettingsError as error:
        return fail(str(error))


async def _run(member: cast.Member, *, interactive: bool, color: bool, verbose: bool) -> int:
    from bot.tryout.session import LineReader, TrySession, database_from_environment

    reader = LineReader(sys.stdin, interactive=interactive)
    session = TrySession(
        reader,
        sys.stdout,
        start_as=member,
        color=color,
        database=database_from_environment(),
        verbose=verbose,
    )
    try:
        await session.start()
        return await session.run()
    finally:
        sys.stdout.flush()
        await session.close()
