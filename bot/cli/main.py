"""The `licensebot` command line (SPEC 4): the command table and the entry point. Wiring
only: each sub-command is a module of this package, the work lives in the packages."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from bot.cli import genesys, jobs, manifest, report, serve, tryout
from bot.cli.common import Command

# The whole command line, in the order `licensebot --help` lists it.
TABLE: tuple[Command, ...] = (
    serve.COMMAND,
    jobs.JOBS,
    jobs.IMPORT,
    report.COMMAND,
    genesys.COMMAND,
    manifest.COMMAND,
    tryout.COMMAND,
)
COMMANDS: dict[str, Command] = {command.name: command for command in TABLE}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="licensebot", description="Contact-center license seats from Slack."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in TABLE:
        command.configure(sub.add_parser(command.name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from bot.logs import configure

    configure(verbose=args.verbose)  # LICENSEBOT_LOG_FORMAT=json: one object a line
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        return 130
