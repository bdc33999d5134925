"""The `licensebot` command line (SPEC 4). Wiring only: the work lives in the packages."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from bot.settings import Settings, SettingsError, load_settings, unknown_names

log = logging.getLogger("licensebot")

# Sub-commands register here: name -> (add its arguments, run it). Returns the exit code.
Runner = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Runner, str]] = {}
PLUGINS = ("bot.jobs.cli", "bot.reports.cli", "bot.genesys.cli")


def fail(message: str, code: int = 2) -> int:
    print(f"licensebot: {message}", file=sys.stderr)
    return code


def settings_or_exit(*, database_only: bool = False, **overrides: object) -> Settings:
    """The settings, or every problem with them on stderr (one `licensebot:` line each)
    and exit 2. Unknown LICENSEBOT_* names are warned about either way."""
    for warning in unknown_names():
        print(f"licensebot: {warning}", file=sys.stderr)
    try:
        return load_settings(database_only=database_only, **overrides)
    except SettingsError as error:
        for problem in error.problems:
            fail(problem)
        raise SystemExit(2) from None


# --- serve ------------------------------------------------------------------------------


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http",
        action="store_true",
        help="serve HTTP (POST /slack/events, GET /healthz) instead of Socket Mode",
    )
    parser.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    parser.add_argument("--host", default="0.0.0.0", help="HTTP address (default 0.0.0.0)")
    parser.add_argument(
        "--health-port",
        type=int,
        default=None,
        help="Socket Mode: serve GET /healthz, /readyz and /metrics on this port",
    )


def run_serve(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    if args.http and settings.slack_signing_secret is None:
        return fail("setting SLACK_SIGNING_SECRET is missing: --http needs it to verify requests")
    if not args.http and settings.slack_app_token is None:
        return fail(
            "setting SLACK_APP_TOKEN is missing: set it for Socket Mode, or serve HTTP with --http"
        )
    from bot.serve import serve  # heavy imports only when serving

    return asyncio.run(
        serve(
            settings,
            http=args.http,
            host=args.host,
            port=args.port,
            health_port=getattr(args, "health_port", None),
        )
    )


# --- manifest ---------------------------------------------------------------------------


def _manifest_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help="public base URL (e.g. https://bot.example.com): HTTP "
        "request URLs instead of Socket Mode",
    )


def run_manifest(args: argparse.Namespace) -> int:
    from bot.manifest import manifest_json

    print(manifest_json(args.url))
    return 0


# --- try ----------------------------------------------------------------------------


def _try_args(parser: argparse.ArgumentParser) -> None:
    from bot.tryout.cli import add_arguments

    add_arguments(parser)


def run_try(args: argparse.Namespace) -> int:
    from bot.tryout.cli import run_try as run  # the stand-in for Slack only when trying

    return run(args)


COMMANDS["serve"] = (_serve_args, run_serve, "run the bot (Socket Mode, or --http)")
COMMANDS["manifest"] = (_manifest_args, run_manifest, "print the Slack app manifest (JSON)")
COMMANDS["try"] = (_try_args, run_try, "the bot in this terminal, with no Slack workspace")


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(
        prog="licensebot", description="Contact-center license seats from Slack."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (configure, _, help_text) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def _load_plugins() -> None:
    # Command groups that live beside their subject (jobs, import, report) register
    # themselves in COMMANDS when imported.
    for module in PLUGINS:
        try:
            __import__(module)
        except ModuleNotFoundError as error:
            if not (error.name and module.startswith(error.name)):
                raise  # a plugin that exists but is broken must say so


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from bot.logs import configure

    configure(verbose=args.verbose)  # LICENSEBOT_LOG_FORMAT=json: one object a line
    if not args.command:
        parser.print_help()
        return 2
    _, run, _ = COMMANDS[args.command]
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
